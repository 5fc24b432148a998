package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"

	"herald/store"
	"herald/tgemu"
)

// Acceptance (issue 18): a new admin goes from /start to a delivered first campaign —
// a text with a variable and a URL button, a 20-row CSV, a new sender bot pasted as
// BotFather's whole message, send now — in at most 10 inputs, then repeats it with
// "Same as last time" in at most 5; every text Herald sends them on the way (the
// progress, the report, its CSV caption and header included) is checked against the
// catalogues to be in their language.
func TestGuidedFirstCampaignRussian(t *testing.T) {
	t.Parallel()
	testGuidedFirstCampaign(t, guidedCase{lang: "ru", name: "Иван",
		text:   "Привет, {{first_name}}! Распродажа начинается сегодня.",
		button: "Открыть магазин - https://example.com/shop", greeting: "Привет, "})
}

func TestGuidedFirstCampaignEnglish(t *testing.T) {
	t.Parallel()
	testGuidedFirstCampaign(t, guidedCase{lang: "en", name: "John",
		text:   "Hello, {{first_name}}! The sale starts today.",
		button: "Open the shop - https://example.com/shop", greeting: "Hello, "})
}

type guidedCase struct {
	lang, name, text, button string
	greeting                 string // how the rendered campaign message begins: the admin's words, not Herald's
}

// Input budgets of the issue.
const (
	firstCampaignInputs  = 10
	repeatCampaignInputs = 5
)

func testGuidedFirstCampaign(t *testing.T, c guidedCase) {
	b := setup(t)
	box := b.withSecrets(t)
	b.withDelivery(t, box)
	b.start(t)
	admin := b.user(t, c.name, c.lang)
	b.addAdmin(t, admin, store.RoleAdmin)
	sender, err := b.srv.CreateBotSpec(tgemu.BotSpec{Username: "shop_sender_bot", FirstName: "Shop"})
	require.NoError(t, err)
	seen := b.watchTexts(t, admin)

	// The list: 19 people who started the sender bot, one who did not.
	csv := "chat_id;first_name\n"
	for i := range 20 {
		u := b.srv.CreateUser(tgemu.UserSpec{FirstName: fmt.Sprintf("Client%d", i), LanguageCode: c.lang})
		if i < 19 {
			b.srv.SetStarted(sender.Token, u)
		}
		csv += fmt.Sprintf("%d;%s\n", u.ID, u.FirstName)
	}

	in := &inputs{b: b, u: admin}
	in.command(t, "/start")
	in.press(t, b.waitButton(t, admin, "kn:"), "kn:")           // 🚀 New campaign: no template yet, its builder opens
	in.send(t, c.text)                                          // the message; its name comes from the first line
	b.waitButton(t, admin, ":skip")                             // the buttons step
	in.send(t, c.button)                                        // one URL button
	in.press(t, b.waitButton(t, admin, ":save"), ":save")       // saved: on to the sender bot, which is missing too
	b.waitButton(t, admin, ":howto")                            // the token step
	in.send(t, botFatherMessage(sender))                        // registered at 30/s: on to the list
	b.waitButton(t, admin, ":cancel")                           // the file step
	in.document(t, "clients.csv", []byte(csv))                  // imported: on to the summary
	in.press(t, b.waitButton(t, admin, ":confirm"), ":confirm") // Send now
	first := in.n
	t.Logf("%s: first campaign in %d inputs", c.lang, first)
	require.LessOrEqual(t, first, firstCampaignInputs)
	b.waitReported(t, 1)
	require.Equal(t, 19, b.count(t, `SELECT count(*) FROM deliveries WHERE status = 'sent'`))
	var name string
	require.NoError(t, b.st.Pool().QueryRow(b.ctx, `SELECT name FROM templates`).Scan(&name))
	require.Equal(t, strings.NewReplacer("{{", "", "}}", "").Replace(c.text), name, "the template is named after its first line")
	require.Equal(t, 30, b.count(t, `SELECT rate_per_second FROM channels`))

	// The repeat: the same template, list and bot.
	in.n = 0
	in.command(t, "/menu")
	in.press(t, b.waitButton(t, admin, "kn:last"), "kn:last") // 🔁 Same as last time: straight to the summary
	in.press(t, b.waitButton(t, admin, ":confirm"), ":confirm")
	t.Logf("%s: repeat in %d inputs", c.lang, in.n)
	require.LessOrEqual(t, in.n, repeatCampaignInputs)
	b.waitReported(t, 2)
	require.Equal(t, 1, b.count(t, `SELECT count(DISTINCT (template_id, batch_id, channel_id)) FROM campaigns`))

	// The repeat is on the campaigns screen too (not counted: another way to it).
	b.command(t, admin, "/campaigns")
	b.waitButton(t, admin, "kn:last")

	b.checkLanguage(t, admin, c, seen())
}

// inputs sends what the admin does and counts it: every message and button press.
type inputs struct {
	b *testBundle
	u *tgemu.User
	n int
}

func (in *inputs) command(t *testing.T, cmd string) {
	t.Helper()
	in.n++
	in.b.command(t, in.u, cmd)
}

func (in *inputs) send(t *testing.T, text string) {
	t.Helper()
	in.n++
	in.b.send(t, in.u, text)
}

func (in *inputs) document(t *testing.T, name string, data []byte) {
	t.Helper()
	in.n++
	_, err := in.u.SendDocument(in.b.token, name, "text/csv", data, "")
	require.NoError(t, err)
}

// press presses m's button whose callback data contains data.
func (in *inputs) press(t *testing.T, m telego.Message, data string) {
	t.Helper()
	in.n++
	for _, row := range m.ReplyMarkup.InlineKeyboard {
		for _, btn := range row {
			if strings.Contains(btn.CallbackData, data) {
				in.b.pressData(t, in.u, m.MessageID, btn.CallbackData)
				return
			}
		}
	}
	t.Fatalf("no button %q in %q", data, m.Text)
}

// waitButton skips the bot's messages to u until one has a button whose callback data
// contains data (whatever its label says, in whichever language).
func (b *testBundle) waitButton(t *testing.T, u *tgemu.User, data string) telego.Message {
	t.Helper()
	for {
		m := b.next(t, u)
		if m.ReplyMarkup == nil {
			continue
		}
		for _, row := range m.ReplyMarkup.InlineKeyboard {
			for _, btn := range row {
				if strings.Contains(btn.CallbackData, data) {
					return m
				}
			}
		}
	}
}

func (b *testBundle) waitReported(t *testing.T, n int) {
	t.Helper()
	eventually2(t, patient(30*time.Second), func() bool {
		return b.count(t, `SELECT count(*) FROM campaigns WHERE reported_at IS NOT NULL`) == n
	})
}

func botFatherMessage(sender *tgemu.Bot) string {
	return "Done! Congratulations on your new bot. You will find it at t.me/" + sender.Username + ". " +
		"You can now add a description, about section and profile picture for your bot, see /help for a list of commands.\n\n" +
		"Use this token to access the HTTP API:\n" + sender.Token + "\nKeep your token secure and store it safely, " +
		"it can be used by anyone to control your bot.\n\nFor a description of the Bot API, see this page: https://core.telegram.org/bots/api"
}

// received is one text Herald showed the admin: a message's text or caption (every
// version of it, edits included) or a button's label.
type received struct {
	text   string
	button bool
}

// watchTexts records every text the bot shows u from now on, every edit of the
// progress message included; the returned function stops and returns them.
func (b *testBundle) watchTexts(t *testing.T, u *tgemu.User) func() []received {
	w := u.WatchChats(b.token)
	ctx, cancel := context.WithCancel(b.ctx)
	var (
		mu  sync.Mutex
		out []received
		wg  sync.WaitGroup
	)
	wg.Add(1)
	go func() { // owned by the returned function (or the cleanup), which cancels and waits
		defer wg.Done()
		for {
			events, err := w.Next(ctx)
			if err != nil {
				return
			}
			mu.Lock()
			for _, ev := range events {
				if !ev.FromBot || ev.Kind == tgemu.EventDelete {
					continue
				}
				out = append(out, received{text: ev.Message.Text}, received{text: ev.Message.Caption})
				if ev.Message.ReplyMarkup != nil {
					for _, row := range ev.Message.ReplyMarkup.InlineKeyboard {
						for _, btn := range row {
							out = append(out, received{text: btn.Text, button: true})
						}
					}
				}
			}
			mu.Unlock()
		}
	}()
	stop := func() []received {
		cancel()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return out
	}
	t.Cleanup(func() { stop() })
	return func() []received {
		time.Sleep(100 * time.Millisecond) // the watcher's last look (not a speed figure)
		return stop()
	}
}

// linePattern is one line of a catalogue text as a pattern over rendered text: the
// literal parts quoted, each template action any text.
type linePattern struct {
	key string
	re  *regexp.Regexp
}

var (
	actionRE = regexp.MustCompile(`\{\{.*?\}\}`)
	tagRE    = regexp.MustCompile(`<[^>]+>`)
)

// cataloguePatterns reads a catalogue and makes a pattern of every line with at
// least four letters of its own (a line of variables alone says nothing of language).
func cataloguePatterns(t *testing.T, lang string) []linePattern {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "i18n", "locales", lang+".json"))
	require.NoError(t, err)
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(data, &raw))
	var out []linePattern
	add := func(key, text string) {
		text = actionRE.ReplaceAllString(text, "\x00")
		text = html.UnescapeString(tagRE.ReplaceAllString(text, ""))
		for line := range strings.SplitSeq(text, "\n") {
			line = strings.TrimSpace(line)
			letters := 0
			for _, r := range line {
				if unicode.IsLetter(r) {
					letters++
				}
			}
			if letters < 4 {
				continue
			}
			parts := strings.Split(line, "\x00")
			for i, p := range parts {
				parts[i] = regexp.QuoteMeta(p)
			}
			out = append(out, linePattern{key: key, re: regexp.MustCompile(`^(?s:` + strings.Join(parts, ".*?") + `)$`)})
		}
	}
	for key, v := range raw {
		var s string
		if json.Unmarshal(v, &s) == nil {
			add(key, s)
			continue
		}
		var forms map[string]string
		require.NoError(t, json.Unmarshal(v, &forms), key)
		for _, s := range forms {
			add(key, s)
		}
	}
	return out
}

// matches are the keys of the patterns line matches.
func matches(patterns []linePattern, line string) []string {
	var keys []string
	for _, p := range patterns {
		if p.re.MatchString(line) {
			keys = append(keys, p.key)
		}
	}
	return keys
}

// checkLanguage: no line Herald sent the admin is a catalogue text of the other
// language only; every message has a line of the admin's catalogue (but for the
// rendered campaign message, which is the admin's own words); the progress, the
// report and its CSV (caption and header) are among them, in the admin's language.
func (b *testBundle) checkLanguage(t *testing.T, u *tgemu.User, c guidedCase, texts []received) {
	t.Helper()
	other := map[string]string{"ru": "en", "en": "ru"}[c.lang]
	own, foreign := cataloguePatterns(t, c.lang), cataloguePatterns(t, other)
	used := map[string]bool{}
	messages := 0
	for _, r := range texts {
		if strings.TrimSpace(r.text) == "" || strings.HasPrefix(r.text, c.greeting) {
			continue
		}
		recognised := false
		for line := range strings.SplitSeq(r.text, "\n") {
			line = strings.TrimSpace(line)
			if line == "" {
				continue
			}
			mine := matches(own, line)
			if len(mine) == 0 {
				theirs := matches(foreign, line)
				require.Empty(t, theirs, "a %s admin got a %s text (%v): %q", c.lang, other, theirs, line)
			}
			for _, k := range mine {
				used[k] = true
			}
			recognised = recognised || len(mine) > 0
		}
		if !r.button {
			messages++
			require.True(t, recognised, "a %s admin got a text that is in no %s catalogue entry: %q", c.lang, c.lang, r.text)
		}
	}
	t.Logf("%s: %d message versions checked, %d catalogue keys used", c.lang, messages, len(used))
	var delivery []string
	for k := range used {
		if strings.HasPrefix(k, "delivery.") {
			delivery = append(delivery, k)
		}
	}
	slices.Sort(delivery)
	t.Logf("%s: the delivery engine's texts seen: %v", c.lang, delivery)
	b.checkScript(t, c, texts)
	for _, key := range []string{"delivery.report", "delivery.report.csv", "guide.intro_template", "guide.intro_batch",
		"guide.intro_channel", "guide.channel_registered", "cmp.summary", "button.repeat_campaign", "button.send_now_go"} {
		require.True(t, used[key], "no %s text of %s seen", c.lang, key)
	}
	cat := catalogueTexts(t, c.lang)
	header, rows := b.lastCSV(t, u, map[string]rune{"ru": ';', "en": ','}[c.lang])
	require.Equal(t, []string{"chat_id", "first_name", cat["delivery.csv.status"], cat["delivery.csv.reason"]}, header)
	require.Len(t, rows, 1, "the repeat's report: its one unreached recipient")
}

// catalogueTexts is a catalogue's plain texts by key.
func catalogueTexts(t *testing.T, lang string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "i18n", "locales", lang+".json"))
	require.NoError(t, err)
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(data, &raw))
	out := map[string]string{}
	for k, v := range raw {
		var s string
		if json.Unmarshal(v, &s) == nil {
			out[k] = s
		}
	}
	return out
}

// TestSubDialogCancelKeepsChoices: Cancel in a piece's sub-dialog returns to the
// campaign wizard, the choices made so far kept, with a button that opens it again;
// what the sub-dialog then makes is chosen, and the wizard goes on to the next piece.
func TestSubDialogCancelKeepsChoices(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)
	owner := b.owner
	b.createTemplate(t, "Welcome")
	b.createTemplate(t, "Coupon")
	draft := func() (flow string, d map[string]any) {
		var raw []byte
		require.NoError(t, b.st.Pool().QueryRow(b.ctx, `SELECT flow, draft FROM dialog_sessions`).Scan(&flow, &raw))
		require.NoError(t, json.Unmarshal(raw, &d))
		return flow, d
	}

	b.command(t, owner, "/newcampaign")
	b.press(t, owner, b.nextContaining(t, owner, "step 1"), "Coupon")
	require.Contains(t, b.next(t, owner).Text, "Now the sender bot")
	token := b.nextContaining(t, owner, "token")
	flow, d := draft()
	require.Equal(t, "chan_add", flow)
	require.Contains(t, d, "_caller", "the wizard waits in the sub-dialog's session")

	b.press(t, owner, token, "Cancel")
	step := b.nextContaining(t, owner, "There is no enabled sender bot")
	flow, d = draft()
	require.Equal(t, "cmp_new", flow)
	require.NotZero(t, d["template_id"], "the template chosen before stays chosen")
	require.NotContains(t, d, "_caller")

	b.press(t, owner, step, "Register a bot")
	b.nextContaining(t, owner, "token")
	flow, d = draft()
	require.Equal(t, "chan_add", flow)
	caller := d["_caller"].(map[string]any)
	require.Equal(t, "cmp_new", caller["flow"])
	require.NotZero(t, caller["draft"].(map[string]any)["template_id"], "the template is still chosen")
}

// TestOnlyOptionChosenAndChangeable: the only list and bot are chosen by themselves;
// the summary says so and offers to change each, which shows its step.
func TestOnlyOptionChosenAndChangeable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	box := b.withSecrets(t)
	b.withQueue(t)
	b.start(t)
	owner := b.owner
	b.campaignFixture(t, box)

	b.command(t, owner, "/newcampaign")
	b.pick(t, owner, "Welcome")
	// Step numbers count the screens seen: the template was step 1, the summary 2.
	summary := b.nextContaining(t, owner, "Step 2: check and confirm")
	require.Contains(t, summary.Text, "Chosen by itself, being the only one: the sender bot, the recipient list.")
	b.press(t, owner, summary, "✏️ Recipient list")
	step := b.nextContaining(t, owner, "Step 2\nTo which recipient list?")
	require.Equal(t, "👥 Clients · 2", step.ReplyMarkup.InlineKeyboard[0][0].Text)
	b.press(t, owner, step, "Clients")
	summary = b.nextContaining(t, owner, "Step 3: check and confirm")
	require.Contains(t, summary.Text, "Chosen by itself, being the only one: the sender bot.")
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM campaigns`))
	b.press(t, owner, summary, "Send now")
	b.nextContaining(t, owner, "is confirmed and starts now")
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM campaigns`))
}

// TestListDroppedInWizardJoinsTheCampaign: a CSV sent where the wizard wants a
// template is imported in the upload dialog opened for the wizard, which keeps its
// place and has the list chosen.
func TestListDroppedInWizardJoinsTheCampaign(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)
	owner := b.owner
	b.createTemplate(t, "Welcome")
	b.createTemplate(t, "Coupon")

	b.command(t, owner, "/newcampaign")
	b.nextContaining(t, owner, "step 1")
	_, err := owner.SendDocument(b.token, "Clients.csv", "text/csv", []byte(fmt.Sprintf("chat_id\n%d\n", owner.ID)), "")
	require.NoError(t, err)
	offer := b.nextContaining(t, owner, "the campaign keeps what you chose")
	b.press(t, owner, offer, "Import this file")
	b.press(t, owner, b.nextContaining(t, owner, "Clients.csv"), "Use «Clients»")
	b.nextContaining(t, owner, "is ready")
	step := b.nextContaining(t, owner, "step 1") // back at the template, the list chosen
	require.Contains(t, buttonData(t, step, "Coupon"), ":t:")
	var raw []byte
	require.NoError(t, b.st.Pool().QueryRow(b.ctx, `SELECT draft FROM dialog_sessions WHERE flow = 'cmp_new'`).Scan(&raw))
	var d map[string]any
	require.NoError(t, json.Unmarshal(raw, &d))
	require.NotZero(t, d["batch_id"])
}

// checkScript: beside the catalogue, the letters themselves. An en admin gets no
// Cyrillic at all; a ru admin gets Latin words only for names (the sender bot's, the
// clients', Herald's and Telegram's) and for file formats and column names.
func (b *testBundle) checkScript(t *testing.T, c guidedCase, texts []received) {
	t.Helper()
	latin := regexp.MustCompile(`[A-Za-z][A-Za-z0-9_]{2,}`)
	urlRE := regexp.MustCompile(`(https?://|t\.me/)\S*`) // links are addresses, not words
	names := map[string]bool{}
	for _, w := range strings.Fields("Herald Telegram Shop shop_sender_bot first_name chat_id user_id telegram_id city CSV XLSX GIF AAE clients csv BotFather") {
		names[w] = true
	}
	for _, r := range texts {
		if strings.HasPrefix(r.text, c.greeting) {
			continue
		}
		if c.lang == "en" {
			require.False(t, regexp.MustCompile(`\p{Cyrillic}`).MatchString(r.text), "Cyrillic in an en admin's text %q", r.text)
			continue
		}
		for _, w := range latin.FindAllString(urlRE.ReplaceAllString(r.text, " "), -1) {
			require.True(t, names[w] || strings.HasPrefix(w, "Client"), "English word %q in a ru admin's text %q", w, r.text)
		}
	}
}

// TestSummaryBackFollowsTheScreensSeen: the summary's Back returns to the screen the
// admin came from — the template step when the list and the bot were the only ones,
// the time step after Schedule — and "Same as last time", which opens at the summary,
// has no Back at all.
func TestSummaryBackFollowsTheScreensSeen(t *testing.T) {
	t.Parallel()
	b := setup(t)
	box := b.withSecrets(t)
	b.withQueue(t)
	b.start(t)
	owner := b.owner
	b.campaignFixture(t, box)

	b.command(t, owner, "/newcampaign")
	b.pick(t, owner, "Welcome")
	summary := b.nextContaining(t, owner, "Step 2: check and confirm")
	b.press(t, owner, summary, "Back")
	b.press(t, owner, b.nextContaining(t, owner, "step 1\nWhich template"), "Welcome")
	b.press(t, owner, b.nextContaining(t, owner, "Step 2: check and confirm"), "Schedule")
	when := b.nextContaining(t, owner, "When shall it start?")
	b.press(t, owner, when, "Back") // back to the summary it came from
	b.press(t, owner, b.nextContaining(t, owner, "Step 2: check and confirm"), "Schedule")
	b.send(t, owner, "in 1 hour")
	b.next(t, owner) // the preview
	summary = b.nextContaining(t, owner, "check and confirm")
	b.press(t, owner, summary, "Back")
	b.press(t, owner, b.nextContaining(t, owner, "When shall it start?"), "Now")
	b.next(t, owner) // the preview
	b.press(t, owner, b.nextContaining(t, owner, "check and confirm"), "Send now")
	b.nextContaining(t, owner, "is confirmed")

	b.command(t, owner, "/menu")
	b.press(t, owner, b.waitButton(t, owner, "kn:last"), "Same as last time")
	b.next(t, owner) // the preview
	repeat := b.nextContaining(t, owner, "Check and confirm")
	require.NotContains(t, buttonTexts(repeat), "Back")
}

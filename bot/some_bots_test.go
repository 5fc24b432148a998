package bot_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"

	"herald/store"
	"herald/tgemu"
)

// someBotsTexts are what the admin reads and presses, per language.
type someBotsTexts struct {
	step1, step2, several, doneWord, pickScreen, none, gone, outdated, done2, step3, everyone, sendNow, confirmed string
}

var someBotsLangs = map[string]someBotsTexts{
	"en": {doneWord: "Done", step1: "step 1\nWhich template", step2: "Step 2\nThrough which sender bot?", several: "Choose several bots", pickScreen: "Through which sender bots?",
		none: "Choose at least one bot", gone: "no longer registered", outdated: "This menu is outdated",
		done2: "Done · 2 bots", step3: "Step 3\nTo whom?", everyone: "Everyone who started the bot",
		sendNow: "Send now", confirmed: "is confirmed and starts now"},
	"ru": {doneWord: "Готово", step1: "шаг 1\nКакой шаблон", step2: "Шаг 2\nЧерез какого бота-отправителя?", several: "Выбрать нескольких ботов",
		pickScreen: "Через каких ботов-отправителей?", none: "Выберите хотя бы одного бота", gone: "больше не подключён",
		outdated: "устарело", done2: "Готово · 2 бота", step3: "Шаг 3\nКому?", everyone: "Все, кто запустил бота",
		sendNow: "Отправить сейчас", confirmed: "подтверждена и начинается"},
}

// TestCampaignWizardSomeBots: an admin with three bots chooses two of them on the
// sender-bot step (toggles with ✅, "Done · 2 bots"); Done with none, a forged toggle and
// a stale keyboard are answered and change nothing; the campaign sends through the two
// chosen bots only, each subscriber once, although everyone used the other bot last;
// "Same as last time" offers the same two.
func TestCampaignWizardSomeBots(t *testing.T) {
	t.Parallel()
	for lang, tx := range someBotsLangs {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			someBots(t, lang, tx)
		})
	}
}

func someBots(t *testing.T, lang string, tx someBotsTexts) {
	b := setup(t)
	box := b.withSecrets(t)
	b.withDelivery(t, box)
	b.start(t)
	fx := b.campaignFixture(t, box)
	admin := b.owner
	if lang != "en" {
		admin = b.user(t, "Ольга", lang)
		b.addAdmin(t, admin, store.RoleAdmin)
	}
	bots := map[string]*tgemu.Bot{"Main": fx.sender}
	ids := map[string]int64{"Main": fx.channel.ID}
	for _, name := range []string{"Second", "Third"} {
		tb := b.srv.CreateBot("acme_" + strings.ToLower(name) + "_bot")
		c, err := b.st.ChannelCreate(b.ctx, box, store.ChannelCreateParams{BotUserID: tb.ID, Username: tb.Username,
			Name: name, Token: tb.Token, RatePerSecond: 1, CreatedBy: b.owner.ID})
		require.NoError(t, err)
		bots[name], ids[name] = tb, c.ID
	}
	// Everyone started all three bots and used Second last: routing would prefer it.
	users := b.srv.CreateUsers(3, tgemu.UserSpec{FirstName: "Sub"})
	for name, tb := range bots {
		b.srv.SetStarted(tb.Token, users...)
		seen := "now() - interval '1 hour'"
		if name == "Second" {
			seen = "now()"
		}
		for _, u := range users {
			_, err := b.st.Pool().Exec(b.ctx, `INSERT INTO subscribers (channel_id, chat_id, first_name, last_seen_at)
				VALUES ($1, $2, 'Sub', `+seen+`)`, ids[name], u.ID)
			require.NoError(t, err)
		}
	}
	picked := func() []int64 {
		var raw []byte
		require.NoError(t, b.st.Pool().QueryRow(b.ctx, `SELECT draft FROM dialog_sessions WHERE user_id = $1`, admin.ID).Scan(&raw))
		var d struct {
			Picked []int64 `json:"picked"`
		}
		require.NoError(t, json.Unmarshal(raw, &d))
		return d.Picked
	}

	b.command(t, admin, "/newcampaign")
	b.press(t, admin, b.nextContaining(t, admin, tx.step1), "Welcome")
	b.press(t, admin, b.nextContaining(t, admin, tx.step2), tx.several)
	first := b.nextContaining(t, admin, tx.pickScreen)
	require.Contains(t, buttonTexts(first), "⬜️ Main · @acme_sender_bot")

	// Done with nothing chosen is refused; so is a toggle of a bot that does not exist.
	b.press(t, admin, first, tx.doneWord)
	screen := b.nextContaining(t, admin, tx.none)
	data := buttonData(t, screen, "Main")
	forged := data[:strings.LastIndex(data, ":")+1] + "987654321" // the current version, a bot nobody has
	b.pressData(t, admin, b.plant(t, admin.ID, forged).MessageID, forged)
	screen = b.nextContaining(t, admin, tx.gone)
	require.Empty(t, picked())

	// A toggle shows the screen again with the bot marked.
	b.press(t, admin, screen, "Main")
	screen = b.next(t, admin)
	require.Contains(t, buttonTexts(screen), "✅ Main · @acme_sender_bot")
	b.press(t, admin, screen, "Third")
	screen = b.next(t, admin)
	require.Contains(t, buttonTexts(screen), "✅ Third · @acme_third_bot")
	require.Contains(t, buttonTexts(screen), "⬜️ Second · @acme_second_bot")
	require.ElementsMatch(t, []int64{ids["Main"], ids["Third"]}, picked())
	// A toggle on an older keyboard is outdated and changes nothing.
	answer := b.press(t, admin, first, "Second")
	require.Contains(t, answer.Text, tx.outdated)
	require.ElementsMatch(t, []int64{ids["Main"], ids["Third"]}, picked())

	b.press(t, admin, screen, tx.done2)
	b.press(t, admin, b.nextContaining(t, admin, tx.step3), tx.everyone)
	b.next(t, admin) // the preview
	summary := b.next(t, admin)
	require.Contains(t, summary.Text, "Main (@acme_sender_bot)")
	require.Contains(t, summary.Text, "Third (@acme_third_bot)")
	require.NotContains(t, summary.Text, "Second")
	b.press(t, admin, summary, tx.sendNow)
	b.nextContaining(t, admin, tx.confirmed)

	var chosen []int64
	require.NoError(t, b.st.Pool().QueryRow(b.ctx, `SELECT array_agg(channel_id ORDER BY channel_id) FROM campaign_channels`).Scan(&chosen))
	require.ElementsMatch(t, []int64{ids["Main"], ids["Third"]}, chosen)
	eventually2(t, 30*time.Second, func() bool {
		return b.count(t, `SELECT count(*) FROM campaigns WHERE status = 'completed'`) == 1
	})
	from := func(tb *tgemu.Bot, u *tgemu.User) int {
		n := 0
		for _, e := range b.srv.Transcript(tb.Token, u.ID) {
			if e.FromBot {
				n++
			}
		}
		return n
	}
	for _, u := range users {
		require.Equal(t, 1, from(bots["Main"], u)+from(bots["Third"], u), "user %d gets one message through a chosen bot", u.ID)
		require.Zero(t, from(bots["Second"], u), "user %d gets nothing through the bot not chosen", u.ID)
	}

	// "Same as last time" carries the two bots.
	b.command(t, admin, "/menu")
	b.press(t, admin, b.waitButton(t, admin, "kn:last"), "🔁")
	b.next(t, admin) // the preview
	repeat := b.next(t, admin)
	require.Contains(t, repeat.Text, "Main (@acme_sender_bot)")
	require.Contains(t, repeat.Text, "Third (@acme_third_bot)")
	require.NotContains(t, repeat.Text, "Second")
}

// buttonTexts are the labels of m's buttons, one per line.
func buttonTexts(m telego.Message) string {
	var labels []string
	if m.ReplyMarkup != nil {
		for _, row := range m.ReplyMarkup.InlineKeyboard {
			for _, btn := range row {
				labels = append(labels, btn.Text)
			}
		}
	}
	return strings.Join(labels, "\n")
}

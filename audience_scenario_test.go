package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"

	"herald/bot"
	"herald/importer"
	"herald/pgtest"
	"herald/secrets"
	"herald/store"
	"herald/tgemu"
	"herald/tgemu/emutest"
)

// Issue 14's acceptance scenario through the whole service: Herald runs in-process
// against the emulator and a real database; 2,000 emulated users start two managed
// bots, block one, send /stop, add it to groups; the wizard's counts and the
// campaigns' deliveries are then checked against what the test made the users do,
// never against Herald's own tables.

const (
	scenarioUsers = 2000
	// scenarioRate is both bots' pacing (paid broadcasts) and the emulator's limit for
	// paid sends; its free limit stays Telegram's 30/s, which the welcomes of a paid
	// bot paced at this rate would exceed without allow_paid_broadcast.
	scenarioRate = 500
	botA, botB   = 0, 1
)

// subscription is what one user did with one bot, as the test made it happen.
type subscription struct {
	started  bool
	source   string
	status   string // store.SubscriberActive, SubscriberBlocked, SubscriberStopped
	lastSeen int    // the phase of the user's last /start of the bot
}

// audienceTruth is the scenario's truth, kept by the test as it acts.
type audienceTruth struct {
	subs   map[int64]*[2]subscription
	groups int // groups that added bot A
}

func (tr *audienceTruth) of(id int64) *[2]subscription {
	s := tr.subs[id]
	if s == nil {
		s = &[2]subscription{}
		tr.subs[id] = s
	}
	return s
}

// count is how many subscribers of bot match pred.
func (tr *audienceTruth) count(bot int, pred func(subscription) bool) int64 {
	var n int64
	for _, s := range tr.subs {
		if s[bot].started && pred(s[bot]) {
			n++
		}
	}
	return n
}

// route is the bot a campaign through both bots must use for a user: an active one,
// the one started last; -1 when none may message the user.
func (tr *audienceTruth) route(id int64) int {
	s := tr.subs[id]
	best := -1
	for bot := range 2 {
		if s == nil || !s[bot].started || s[bot].status != store.SubscriberActive {
			continue
		}
		if best < 0 || s[bot].lastSeen > s[best].lastSeen {
			best = bot
		}
	}
	return best
}

type audienceScenario struct {
	t      *testing.T
	ctx    context.Context
	emu    *tgemu.Server
	mgmt   *tgemu.Bot
	bots   [2]*tgemu.Bot
	chans  [2]store.Channel
	owner  *tgemu.User
	users  []*tgemu.User
	pool   *pgxpool.Pool
	st     *store.Store
	herald *inProcess
	truth  audienceTruth
}

// setupAudienceScenario registers the two managed bots (paid broadcasts at
// scenarioRate), two templates and a batch, then starts Herald with extra env.
func setupAudienceScenario(t *testing.T, webhook bool) *audienceScenario {
	t.Helper()
	ctx := context.Background()
	s := &audienceScenario{t: t, ctx: ctx, truth: audienceTruth{subs: map[int64]*[2]subscription{}}}
	s.emu = emutest.Start(t, tgemu.Config{PerChatDisabled: true})
	s.mgmt = s.emu.CreateBot("herald_scenario_admin_bot")
	s.owner = s.emu.CreateUser(tgemu.UserSpec{FirstName: "Olga", LanguageCode: "en"})
	s.emu.SetStarted(s.mgmt.Token, s.owner)
	s.users = s.emu.CreateUsers(scenarioUsers, tgemu.UserSpec{LanguageCode: "en"})

	key := make([]byte, secrets.KeySize)
	_, _ = rand.Read(key)
	box, err := secrets.NewBox(key)
	require.NoError(t, err)
	dbURL := pgtest.NewDB(t)
	s.pool, err = pgxpool.New(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(s.pool.Close)
	s.st = store.New(s.pool)
	for i, name := range []string{"scenario_shop_bot", "scenario_cafe_bot"} {
		s.bots[i] = s.emu.CreateBot(name)
		s.emu.SetPaidRate(s.bots[i].Token, scenarioRate)
		s.chans[i], err = s.st.ChannelCreate(ctx, box, store.ChannelCreateParams{BotUserID: s.bots[i].ID, Username: name,
			Name: []string{"Shop", "Cafe"}[i], Token: s.bots[i].Token, RatePerSecond: scenarioRate, PaidBroadcast: true,
			CreatedBy: s.owner.ID, Mode: store.ChannelManaged})
		require.NoError(t, err)
	}
	for _, tpl := range []store.Template{{Name: "Shop news", Body: "Autumn news from the shop"},
		{Name: "Both news", Body: "Winter news from the shop and the cafe"}} {
		tpl.CreatedBy = s.owner.ID
		_, err := s.st.TemplateCreate(ctx, tpl)
		require.NoError(t, err)
	}

	env := map[string]string{
		"DATABASE_URL": dbURL, "HERALD_BOT_TOKEN": s.mgmt.Token, "HERALD_TELEGRAM_API_URL": s.emu.URL(),
		"HERALD_OWNER_IDS": strconv.FormatInt(s.owner.ID, 10), "HERALD_SECRET_KEY": base64.StdEncoding.EncodeToString(key),
	}
	if webhook {
		addr := freeAddr(t)
		env["HERALD_HTTP_ADDR"] = addr
		env["HERALD_WEBHOOK_URL"] = "http://" + addr + "/telegram/hook"
	}
	s.herald = startInProcess(t, env)
	waitReady(t, s.herald.addr, http.StatusOK, 30*time.Second)
	if webhook { // the users start once each bot's webhook points at Herald
		for i, c := range s.chans {
			hook := fmt.Sprintf("%s/channel/%d", env["HERALD_WEBHOOK_URL"], c.ID)
			tg, err := bot.NewClient(s.bots[i].Token, s.emu.URL(), time.Second)
			require.NoError(t, err)
			deadline := time.Now().Add(patient(15 * time.Second))
			for {
				info, err := tg.GetWebhookInfo(ctx)
				if err == nil && info.URL == hook {
					break
				}
				require.True(t, time.Now().Before(deadline), "bot %d's webhook is not set: %+v %v", i, info, err)
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	return s
}

// start makes user u /start bot (with payload, if any) in phase.
func (s *audienceScenario) start(u *tgemu.User, bot int, payload string, phase int) {
	s.t.Helper()
	var err error
	if payload == "" {
		_, err = u.Start(s.bots[bot].Token)
	} else {
		_, err = u.StartWithPayload(s.bots[bot].Token, payload)
	}
	require.NoError(s.t, err)
	sub := &s.truth.of(u.ID)[bot]
	if !sub.started {
		sub.started, sub.source = true, payload // the first source is kept
	}
	sub.status, sub.lastSeen = store.SubscriberActive, phase
}

// act runs the scenario. Users by index modulo 10: 0–5 start the shop only, 6–7 the
// cafe only, 8 the shop and a minute later the cafe, 9 the cafe and a minute later
// the shop. Some starts carry a payload. Then 50 block the shop (10 of them still
// have the cafe), 3 groups add the shop, and 20 send it /stop (5 of them still have
// the cafe).
func (s *audienceScenario) act() {
	t := s.t
	payload := func(i, bot int) string {
		switch (i + 2*bot) % 5 {
		case 0:
			return "promo_nov"
		case 1:
			return "flyer"
		}
		return ""
	}
	var shopOnly, shopThenCafe, cafeThenShop, cafeOnly []*tgemu.User
	for i, u := range s.users {
		switch k := i % 10; {
		case k <= 5:
			shopOnly = append(shopOnly, u)
			s.start(u, botA, payload(i, botA), 1)
		case k <= 7:
			cafeOnly = append(cafeOnly, u)
			s.start(u, botB, payload(i, botB), 1)
		case k == 8:
			shopThenCafe = append(shopThenCafe, u)
			s.start(u, botA, payload(i, botA), 1)
		default:
			cafeThenShop = append(cafeThenShop, u)
			s.start(u, botB, payload(i, botB), 1)
		}
	}
	// A minute later by the updates' dates: "most recently used" is unambiguous.
	s.emu.AdvanceClock(time.Minute)
	for i, u := range shopThenCafe {
		s.start(u, botB, payload(i, botB), 2)
	}
	for i, u := range cafeThenShop {
		s.start(u, botA, payload(i, botA), 2)
	}
	s.waitReplies(botA, s.truth.count(botA, func(subscription) bool { return true }))
	s.waitReplies(botB, s.truth.count(botB, func(subscription) bool { return true }))

	// Blocks and groups, then the /stops: the shop's updates are written in order and
	// a /stop is confirmed after its write, so the last confirmation means the shop's
	// every update is recorded.
	for _, u := range append(shopOnly[:40:40], shopThenCafe[:10]...) {
		u.Block(s.bots[botA].Token)
		s.truth.of(u.ID)[botA].status = store.SubscriberBlocked
	}
	for i, u := range cafeOnly[:3] {
		g := s.emu.CreateGroup(fmt.Sprintf("Scenario group %d", i+1), u)
		g.AddBot(s.bots[botA].Token, u)
		s.truth.groups++
	}
	for _, u := range append(shopOnly[40:55:55], cafeThenShop[:5]...) {
		_, err := u.SendText(s.bots[botA].Token, "/stop")
		require.NoError(t, err)
		s.truth.of(u.ID)[botA].status = store.SubscriberStopped
	}
	s.waitReplies(botA, s.truth.count(botA, func(subscription) bool { return true })+20)
}

// waitReplies waits until bot has answered n messages (welcomes and /stop
// confirmations, each sent after its update was recorded) and took every update.
func (s *audienceScenario) waitReplies(bot int, n int64) {
	s.t.Helper()
	token := s.bots[bot].Token
	deadline := time.Now().Add(patient(30 * time.Second))
	for s.emu.Stats(token).Sent < n || s.emu.PendingUpdates(token) > 0 {
		if time.Now().After(deadline) {
			s.t.Fatalf("bot %d: %d of %d replies, %d updates pending", bot, s.emu.Stats(token).Sent, n, s.emu.PendingUpdates(token))
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.Equal(s.t, n, s.emu.Stats(token).Sent, "bot %d: one reply per /start and /stop", bot)
}

// num is a count as the English catalog writes it in buttons (1,234).
func num(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// summaryLines are the summary's count lines for an audience of reachable recipients,
// suppressed, unsubscribed and unknown ones.
func summaryLines(reachable, suppressed, unsubscribed, unknown int64) []string {
	noun := "recipients"
	if reachable == 1 {
		noun = "recipient"
	}
	lines := []string{fmt.Sprintf("Sending to: %d %s (suppressed: %d)", reachable, noun, suppressed)}
	if unsubscribed > 0 || unknown > 0 {
		lines = append(lines, fmt.Sprintf("Left out: unsubscribed (/stop) %s · never started the bot %s", num(unsubscribed), num(unknown)))
	}
	return lines
}

// wizardTo walks /newcampaign to the audience step: template, then bot (a label of
// its button); it returns the audience step's message.
func (s *audienceScenario) wizardTo(c chat, template, bot string) telego.Message {
	s.t.Helper()
	c.command("/newcampaign")
	c.press(c.next("step 1"), template)
	c.press(c.next("Step 2"), bot)
	return c.next("Step 3")
}

// buttonText is the text of m's button containing label.
func buttonText(t *testing.T, m telego.Message, label string) string {
	t.Helper()
	require.NotNil(t, m.ReplyMarkup, "%q has no buttons", m.Text)
	for _, row := range m.ReplyMarkup.InlineKeyboard {
		for _, b := range row {
			if strings.Contains(b.Text, label) {
				return b.Text
			}
		}
	}
	t.Fatalf("no button %q under %q", label, m.Text)
	return ""
}

// TestAudienceScenario is issue 14's acceptance run (see the file comment), once
// with the managed bots' updates long-polled and once delivered to Herald's webhook.
func TestAudienceScenario(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"polling", "webhook"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			runAudienceScenario(t, mode == "webhook")
		})
	}
}

func runAudienceScenario(t *testing.T, webhook bool) {
	s := setupAudienceScenario(t, webhook)
	s.act()
	if webhook {
		for _, b := range s.bots {
			require.False(t, s.emu.Polling(b.Token), "a webhook bot is not polled")
		}
	}
	c := chat{t: t, emu: s.emu, token: s.mgmt.Token, u: s.owner}
	tr := &s.truth
	active := func(x subscription) bool { return x.status == store.SubscriberActive }
	withStatus := func(status string, src ...string) func(subscription) bool {
		return func(x subscription) bool { return x.status == status && (len(src) == 0 || x.source == src[0]) }
	}

	// The shop's audiences: everyone, by source, its groups; each summary's counts.
	s.checkAudiences(c, tr, active, withStatus)
	// A list of 400 users and 5 ids nobody knows, intersected with the shop's subscribers.
	s.checkBatchIntersection(c, tr)

	// Everyone who started the shop: sent once to each active subscriber, nobody else.
	c.press(s.wizardTo(c, "Shop news", "@scenario_shop_bot"), "Everyone who started the bot")
	summary := c.next("Sending to:")
	for _, line := range summaryLines(tr.count(botA, active), tr.count(botA, withStatus(store.SubscriberBlocked)),
		tr.count(botA, withStatus(store.SubscriberStopped)), 0) {
		require.Contains(t, summary.Text, line)
	}
	before := [2]tgemu.Stats{s.emu.Stats(s.bots[botA].Token), s.emu.Stats(s.bots[botB].Token)}
	c.press(summary, "Send now")
	c.next("is confirmed")
	s.waitCampaignsCompleted(1)
	received := s.received("Autumn news from the shop")
	for _, u := range s.users {
		want := [2]int{}
		if sub := tr.subs[u.ID]; sub[botA].started && sub[botA].status == store.SubscriberActive {
			want[botA] = 1
		}
		require.Equal(t, want, received[u.ID], "user %d: %+v", u.ID, *tr.subs[u.ID])
	}
	after := s.emu.Stats(s.bots[botA].Token)
	require.Equal(t, tr.count(botA, active), after.Sent-before[botA].Sent, "the shop sent nothing else")
	s.checkPacing()

	// Both bots: each user who started either gets the message once, through the
	// active bot it started last.
	aud := s.wizardTo(c, "Both news", "All 2 bots")
	var reachable, suppressed, unsubscribed int64
	for _, u := range s.users {
		switch sub := tr.subs[u.ID]; {
		case tr.route(u.ID) >= 0:
			reachable++
		case sub[botA].status == store.SubscriberStopped || sub[botB].status == store.SubscriberStopped:
			unsubscribed++
		default:
			suppressed++
		}
	}
	require.Equal(t, "👤 Everyone who started the bot · "+num(reachable), buttonText(t, aud, "Everyone who started the bot"))
	c.press(aud, "Everyone who started the bot")
	summary = c.next("Sending to:")
	require.Contains(t, summary.Text, "Shop (@scenario_shop_bot)")
	require.Contains(t, summary.Text, "Cafe (@scenario_cafe_bot)")
	for _, line := range summaryLines(reachable, suppressed, unsubscribed, 0) {
		require.Contains(t, summary.Text, line)
	}
	c.press(summary, "Send now")
	c.next("is confirmed")
	s.waitCampaignsCompleted(2)
	received = s.received("Winter news from the shop and the cafe")
	var through [2]int
	for _, u := range s.users {
		want := [2]int{}
		if r := tr.route(u.ID); r >= 0 {
			want[r] = 1
			through[r]++
		}
		require.Equal(t, want, received[u.ID], "user %d: %+v", u.ID, *tr.subs[u.ID])
	}
	t.Logf("multi-bot campaign: %d through the shop, %d through the cafe; left out: suppressed %d, unsubscribed %d",
		through[botA], through[botB], suppressed, unsubscribed)
	s.checkPacing()
	s.herald.stop(t)
}

// checkAudiences checks the shop's audience step and the summaries of its
// audiences "everyone" (not confirmed here) and each source.
func (s *audienceScenario) checkAudiences(c chat, tr *audienceTruth, active func(subscription) bool,
	withStatus func(status string, src ...string) func(subscription) bool) {
	t := s.t
	aud := s.wizardTo(c, "Shop news", "@scenario_shop_bot")
	require.Equal(t, "👤 Everyone who started the bot · "+num(tr.count(botA, active)), buttonText(t, aud, "Everyone who started the bot"))
	require.Equal(t, fmt.Sprintf("💬 Its groups and channels · %d", tr.groups), buttonText(t, aud, "Its groups and channels"))
	for _, src := range []string{"promo_nov", "flyer"} {
		n := tr.count(botA, withStatus(store.SubscriberActive, src))
		require.Equal(t, fmt.Sprintf("🏷 Came via «%s» · %s", src, num(n)), buttonText(t, aud, "«"+src+"»"))
	}
	for i, src := range []string{"promo_nov", "flyer"} {
		if i > 0 {
			aud = s.wizardTo(c, "Shop news", "@scenario_shop_bot")
		}
		c.press(aud, "«"+src+"»")
		summary := c.next("Sending to:")
		require.Contains(t, summary.Text, "subscribers who came via «"+src+"»")
		for _, line := range summaryLines(tr.count(botA, withStatus(store.SubscriberActive, src)),
			tr.count(botA, withStatus(store.SubscriberBlocked, src)), tr.count(botA, withStatus(store.SubscriberStopped, src)), 0) {
			require.Contains(t, summary.Text, line, src)
		}
		c.command("/cancel")
	}
}

// checkBatchIntersection uploads a list and checks the summary of the list
// intersected with the shop's subscribers.
func (s *audienceScenario) checkBatchIntersection(c chat, tr *audienceTruth) {
	t := s.t
	var csv strings.Builder
	csv.WriteString("chat_id\n")
	var reachable, suppressed, unsubscribed, unknown int64
	for _, u := range s.users[:400] {
		fmt.Fprintf(&csv, "%d\n", u.ID)
		switch sub := tr.subs[u.ID][botA]; {
		case !sub.started:
			unknown++
		case sub.status == store.SubscriberActive:
			reachable++
		case sub.status == store.SubscriberBlocked:
			suppressed++
		default:
			unsubscribed++
		}
	}
	for i := range 5 {
		fmt.Fprintf(&csv, "%d\n", 9_000_000_000+i) // nobody the emulator knows
		unknown++
	}
	rd, err := importer.OpenCSV(strings.NewReader(csv.String()))
	require.NoError(t, err)
	_, err = s.st.BatchImport(s.ctx, store.BatchImportParams{Name: "Scenario list", CreatedBy: s.owner.ID, Source: rd})
	require.NoError(t, err)
	require.Positive(t, suppressed*unsubscribed*unknown, "the list has every kind")

	screen := s.wizardTo(c, "Shop news", "@scenario_shop_bot")
	pressed := false
	for _, row := range screen.ReplyMarkup.InlineKeyboard {
		if len(row) == 2 && strings.Contains(row[0].Text, "Scenario list · 405") {
			_, err := s.owner.Press(s.mgmt.Token, screen.MessageID, row[1].CallbackData)
			require.NoError(t, err)
			pressed = true
		}
	}
	require.True(t, pressed, "no intersection button for the list in %q", screen.Text)
	summary := c.next("Sending to:")
	require.Contains(t, summary.Text, "Scenario list, only those who started the bot")
	for _, line := range summaryLines(reachable, suppressed, unsubscribed, unknown) {
		require.Contains(t, summary.Text, line)
	}
	c.command("/cancel")
}

// waitCampaignsCompleted waits until n campaigns are completed.
func (s *audienceScenario) waitCampaignsCompleted(n int) {
	s.t.Helper()
	deadline := time.Now().Add(patient(60 * time.Second))
	for {
		var done int
		require.NoError(s.t, s.pool.QueryRow(s.ctx, `SELECT count(*) FROM campaigns WHERE status = 'completed'`).Scan(&done))
		if done >= n {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%d of %d campaigns completed", done, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// received counts, per user and bot, the bots' messages with text in the emulator's
// transcripts.
func (s *audienceScenario) received(text string) map[int64][2]int {
	out := map[int64][2]int{}
	for _, u := range s.users {
		var n [2]int
		for bot := range 2 {
			for _, e := range s.emu.Transcript(s.bots[bot].Token, u.ID) {
				if e.FromBot && e.Message.Text == text {
					n[bot]++
				}
			}
		}
		out[u.ID] = n
	}
	return out
}

// checkPacing: no bot ever went over its rate (the emulator refuses with 429 above it).
func (s *audienceScenario) checkPacing() {
	s.t.Helper()
	for i, b := range s.bots {
		st := s.emu.Stats(b.Token)
		require.Zero(s.t, st.TooManyRequests, "bot %d: 429s", i)
		require.LessOrEqual(s.t, st.MaxPerSecond, scenarioRate, "bot %d", i)
	}
}

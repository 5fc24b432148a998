package bot_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mymmrac/telego"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"herald/bot"
	"herald/channelbot"
	"herald/i18n"
	"herald/secrets"
	"herald/store"
	"herald/tgemu"
)

// otherApp is another application that receives a bot's updates by webhook.
type otherApp struct {
	url      string
	received atomic.Int64
	tg       *telego.Bot
}

func (b *testBundle) otherApp(t *testing.T, token string) *otherApp {
	t.Helper()
	app := &otherApp{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { app.received.Add(1) }))
	t.Cleanup(srv.Close)
	app.url = srv.URL + "/telegram/hook"
	var err error
	app.tg, err = telego.NewBot(token, telego.WithAPIServer(b.srv.URL()), telego.WithDiscardLogger())
	require.NoError(t, err)
	require.NoError(t, app.tg.SetWebhook(b.ctx, &telego.SetWebhookParams{URL: app.url}))
	return app
}

func (a *otherApp) webhook(t *testing.T) string {
	t.Helper()
	info, err := a.tg.GetWebhookInfo(context.Background())
	require.NoError(t, err)
	return info.URL
}

func (b *testBundle) channelMode(t *testing.T, username string) string {
	t.Helper()
	var mode string
	require.NoError(t, b.st.Pool().QueryRow(b.ctx, `SELECT mode FROM channels WHERE username = $1`, username).Scan(&mode))
	return mode
}

// registerUpTo sends the token and answers the mode question with modeButton.
func (b *testBundle) registerUpTo(t *testing.T, token, modeButton string) telego.Message {
	t.Helper()
	b.command(t, b.owner, "/newchannel")
	b.nextContaining(t, b.owner, "step 1 of 4")
	b.send(t, b.owner, token)
	ask := b.nextContaining(t, b.owner, "Token verified")
	require.Contains(t, ask.Text, "Managed")
	b.press(t, b.owner, ask, modeButton)
	return b.next(t, b.owner)
}

func (b *testBundle) finishRegistration(t *testing.T, name string) telego.Message {
	t.Helper()
	b.send(t, b.owner, name)
	b.nextContaining(t, b.owner, "messages per second")
	b.send(t, b.owner, "30")
	return b.nextContaining(t, b.owner, "is registered")
}

func TestManagedRegistrationAsksBeforeTakingOver(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.withSecrets(t)
	b.start(t)

	// No webhook anywhere: managed at once.
	shop := b.srv.CreateBot("shop_bot")
	require.Contains(t, b.registerUpTo(t, shop.Token, "Managed").Text, "Step 3 of 4")
	done := b.finishRegistration(t, "Shop")
	require.Contains(t, done.Text, "Herald now receives its updates")
	require.Equal(t, store.ChannelManaged, b.channelMode(t, "shop_bot"))

	// Another app's webhook: asked first, naming the app's host; send-only leaves it be.
	crm := b.srv.CreateBot("crm_bot")
	app := b.otherApp(t, crm.Token)
	host := mustHost(t, app.url)
	warn := b.registerUpTo(t, crm.Token, "Managed")
	require.Contains(t, warn.Text, "sends its updates to another app")
	require.Contains(t, warn.Text, host)
	b.press(t, b.owner, warn, "Send-only")
	b.nextContaining(t, b.owner, "how should Herald call")
	b.finishRegistration(t, "CRM")
	require.Equal(t, store.ChannelSendOnly, b.channelMode(t, "crm_bot"))
	require.Equal(t, app.url, app.webhook(t), "send-only took the webhook")

	// Confirmed: the webhook goes when the registration is written, not before.
	require.NoError(t, b.st.ChannelDelete(b.ctx, b.channelID(t, "crm_bot")))
	warn = b.registerUpTo(t, crm.Token, "Managed")
	b.press(t, b.owner, warn, "Take over")
	b.nextContaining(t, b.owner, "how should Herald call")
	require.Equal(t, app.url, app.webhook(t), "the webhook was dropped before the registration was confirmed")
	b.finishRegistration(t, "CRM")
	require.Equal(t, "", app.webhook(t))
	require.Equal(t, store.ChannelManaged, b.channelMode(t, "crm_bot"))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM audit_log WHERE action = 'channel.registered'
		AND (details->>'took_over_webhook')::bool`))
}

func (b *testBundle) channelID(t *testing.T, username string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, b.st.Pool().QueryRow(b.ctx, `SELECT id FROM channels WHERE username = $1 AND deleted_at IS NULL`, username).Scan(&id))
	return id
}

func mustHost(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u.Host
}

// TestChannelCardModeAndWelcome: the card switches the mode (asking before taking a
// webhook over) and picks the welcome; a user who starts the bot gets that template
// from the intake, and send-only stops the intake's polling.
func TestChannelCardModeAndWelcome(t *testing.T) {
	t.Parallel()
	b := setup(t)
	box := b.withSecrets(t)
	b.start(t)
	owner := b.owner
	shop := b.srv.CreateBot("shop_bot")
	_, err := b.st.ChannelCreate(b.ctx, box, store.ChannelCreateParams{BotUserID: shop.ID, Username: "shop_bot", Name: "Shop",
		Token: shop.Token, CreatedBy: owner.ID})
	require.NoError(t, err)
	_, err = b.st.TemplateCreate(b.ctx, store.Template{Name: "Greeting", Body: "Hi {{first_name}}, thanks for joining!", CreatedBy: owner.ID})
	require.NoError(t, err)
	intake := b.runIntake(t, box)

	b.command(t, owner, "/channels")
	list := b.next(t, owner)
	b.press(t, owner, list, "Shop")
	card := b.waitEdited(t, owner, list.MessageID, "Mode: send-only")
	b.press(t, owner, card, "Make managed")
	card = b.waitEdited(t, owner, card.MessageID, "Mode: managed")
	require.Contains(t, card.Text, "Answer to /start: the built-in greeting")
	b.press(t, owner, card, "Answer to /start")
	pick := b.waitEdited(t, owner, card.MessageID, "What should @shop_bot answer /start with")
	b.press(t, owner, pick, "Greeting")
	card = b.waitEdited(t, owner, card.MessageID, "Answer to /start: «Greeting»")
	// No wait for a rescan: the welcome's commit is announced (NOTIFY), and the intake
	// looks its bots up again at once.

	eve := b.srv.CreateUser(tgemu.UserSpec{FirstName: "Eve", LanguageCode: "en"})
	_, err = eve.StartWithPayload(shop.Token, "from_card")
	require.NoError(t, err)
	m, err := eve.WaitBotMessage(shop.Token, patient(10*time.Second))
	require.NoError(t, err)
	require.Equal(t, "Hi Eve, thanks for joining!", m.Text)

	// The card counts the subscriber (opened afresh).
	b.press(t, owner, card, "To the list")
	list = b.waitEdited(t, owner, card.MessageID, "channel bot")
	b.press(t, owner, list, "Shop")
	card = b.waitEdited(t, owner, list.MessageID, "Subscribers: 1 active")

	b.press(t, owner, card, "Make send-only")
	b.waitEdited(t, owner, card.MessageID, "Mode: send-only")
	eventually(t, func() bool { return len(intake.Polling()) == 0 })

	// Another app's webhook: the card asks, and Take over drops it.
	crm := b.srv.CreateBot("crm_bot")
	_, err = b.st.ChannelCreate(b.ctx, box, store.ChannelCreateParams{BotUserID: crm.ID, Username: "crm_bot", Name: "CRM",
		Token: crm.Token, CreatedBy: owner.ID})
	require.NoError(t, err)
	app := b.otherApp(t, crm.Token)
	b.command(t, owner, "/channels")
	list = b.next(t, owner)
	b.press(t, owner, list, "CRM")
	card = b.waitEdited(t, owner, list.MessageID, "Mode: send-only")
	b.press(t, owner, card, "Make managed")
	ask := b.waitEdited(t, owner, card.MessageID, "sends its updates to another app")
	require.Equal(t, app.url, app.webhook(t), "asking changed nothing")
	require.Equal(t, store.ChannelSendOnly, b.channelMode(t, "crm_bot"))
	b.press(t, owner, ask, "Take over")
	b.waitEdited(t, owner, card.MessageID, "Mode: managed")
	require.Equal(t, "", app.webhook(t))
	eventually(t, func() bool { return len(intake.Polling()) == 1 })
	for _, action := range []string{"channel.mode_changed", "channel.welcome_changed"} {
		require.Positive(t, b.count(t, `SELECT count(*) FROM audit_log WHERE action = $1`, action), action)
	}
}

// runIntake runs the managed bots' intake on the bundle's database until the test ends.
func (b *testBundle) runIntake(t *testing.T, box *secrets.Box) *channelbot.Intake {
	t.Helper()
	catalog, err := i18n.New("en")
	require.NoError(t, err)
	in := channelbot.New(channelbot.Config{Store: b.st, Opener: box, APIURL: b.srv.URL(), Catalog: catalog,
		Logger: zerolog.Nop(), NewClient: bot.NewClient, Rescan: 50 * time.Millisecond, PollTimeout: time.Second})
	ctx, cancel := context.WithCancel(b.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = in.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return in
}

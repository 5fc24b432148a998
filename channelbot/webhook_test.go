package channelbot_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"

	"herald/bot"
	"herald/channelbot"
	"herald/store"
	"herald/tgemu"
)

// webhookInfo is what the emulator says of token's webhook.
func (b *testBundle) webhookInfo(t testing.TB, token string) telego.WebhookInfo {
	t.Helper()
	tg, err := bot.NewClient(token, b.srv.URL(), time.Second)
	require.NoError(t, err)
	info, err := tg.GetWebhookInfo(b.ctx)
	require.NoError(t, err)
	return *info
}

// TestWebhookSetByTheElectedProcess: the process that wins the bot's election points
// its webhook at this deployment, with the bot's own secret; nothing polls it.
func TestWebhookSetByTheElectedProcess(t *testing.T) {
	t.Parallel()
	b := setup(t, tgemu.Config{})
	b.webhook = true
	ch, eb := b.managedBot(t, "shop_bot")
	in := b.startIntake(t, nil)
	eventually(t, "webhook set", func() bool { return b.webhookInfo(t, eb.Token).URL != "" })
	info := b.webhookInfo(t, eb.Token)
	require.True(t, strings.HasSuffix(info.URL, "/tg/hook/channel/"+strconv.FormatInt(ch.ID, 10)), info.URL)
	require.NotContains(t, info.URL, eb.Token)
	require.ElementsMatch(t, []string{"message", "my_chat_member"}, info.AllowedUpdates)
	require.Equal(t, []int64{ch.ID}, in.Polling(), "the elected keeper")
	require.False(t, b.srv.Polling(eb.Token))
	require.True(t, channelbot.OwnHook(strings.TrimSuffix(info.URL, "/channel/"+strconv.FormatInt(ch.ID, 10)), info.URL))
	require.False(t, channelbot.OwnHook("https://other.example/tg/hook", info.URL))
}

// TestWebhookFailedWriteIsRetriedAndRecordedOnce: while the database cannot take the
// write, the webhook answers 503 and Telegram keeps the update; once it can, the
// redelivered update is recorded once and welcomed once.
func TestWebhookFailedWriteIsRetriedAndRecordedOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, tgemu.Config{WebhookRetryMin: 50 * time.Millisecond, WebhookRetryMax: 200 * time.Millisecond, WebhookMaxAttempts: 1000})
	b.webhook = true
	ch, eb := b.managedBot(t, "shop_bot")
	b.startIntake(t, func(c *channelbot.Config) { c.HookDeadline = 200 * time.Millisecond })
	eventually(t, "webhook set", func() bool { return b.webhookInfo(t, eb.Token).URL != "" })

	// Another session holds the subscribers table: the intake's writes wait behind it.
	tx, err := b.st.Pool().Begin(b.ctx)
	require.NoError(t, err)
	_, err = tx.Exec(b.ctx, `LOCK TABLE subscribers IN ACCESS EXCLUSIVE MODE`)
	require.NoError(t, err)
	u := b.srv.CreateUser(tgemu.UserSpec{FirstName: "Fay", LanguageCode: "en"})
	_, err = u.Start(eb.Token)
	require.NoError(t, err)
	eventually(t, "a refused delivery", func() bool {
		return strings.Contains(b.webhookInfo(t, eb.Token).LastErrorMessage, "503")
	})
	require.Positive(t, b.srv.PendingUpdates(eb.Token), "Telegram keeps what was not answered 200")
	require.Zero(t, b.srv.Stats(eb.Token).Sent, "no welcome before the write")
	require.NoError(t, tx.Rollback(b.ctx))

	m, err := u.WaitBotMessage(eb.Token, patience())
	require.NoError(t, err)
	require.Contains(t, m.Text, "You are subscribed")
	eventually(t, "delivered", func() bool { return b.srv.PendingUpdates(eb.Token) == 0 })
	s, ok := b.subscriber(t, ch.ID, u.ID)
	require.True(t, ok)
	require.Equal(t, store.SubscriberActive, s.Status)
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM subscribers`))
	require.EqualValues(t, 1, b.srv.Stats(eb.Token).Sent, "one welcome")
}

// TestWebhookRefusesAWrongSecret: a request without the bot's secret (or with another
// bot's) gets 401 and changes nothing; the right secret is accepted.
func TestWebhookRefusesAWrongSecret(t *testing.T) {
	t.Parallel()
	b := setup(t, tgemu.Config{})
	b.webhook = true
	ch, eb := b.managedBot(t, "shop_bot")
	other, _ := b.managedBot(t, "other_bot")
	in := b.startIntake(t, nil)
	eventually(t, "webhook set", func() bool { return b.webhookInfo(t, eb.Token).URL != "" })
	hook := b.webhookInfo(t, eb.Token).URL

	post := func(secret string) int {
		body := `{"update_id":7,"message":{"message_id":1,"date":1700000000,"chat":{"id":4242,"type":"private"},` +
			`"from":{"id":4242,"is_bot":false,"first_name":"Mallory"},"text":"/start"}}`
		req, err := http.NewRequestWithContext(b.ctx, http.MethodPost, hook, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		if secret != "" {
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		return resp.StatusCode
	}
	require.Equal(t, http.StatusUnauthorized, post(""))
	require.Equal(t, http.StatusUnauthorized, post("wrong"))
	require.Equal(t, http.StatusUnauthorized, post(in.WebhookSecret(other.ID)), "another bot's secret")
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM subscribers`))

	require.Equal(t, http.StatusOK, post(in.WebhookSecret(ch.ID)))
	_, ok := b.subscriber(t, ch.ID, 4242)
	require.True(t, ok, "recorded before the 200")
	require.Equal(t, http.StatusOK, post(in.WebhookSecret(ch.ID)), "a retry is answered")
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM subscribers`))
}

// TestWebhookSendOnlyDeletesIt: switched to send-only, the bot's webhook is deleted so
// that its updates wait for the other app; managed again, it is set again. Back in a
// polling deployment, the poller deletes our old webhook before polling.
func TestWebhookSendOnlyDeletesIt(t *testing.T) {
	t.Parallel()
	b := setup(t, tgemu.Config{})
	b.webhook = true
	ch, eb := b.managedBot(t, "shop_bot")
	in, stop := b.runIntake(t)
	eventually(t, "webhook set", func() bool { return b.webhookInfo(t, eb.Token).URL != "" })

	require.NoError(t, b.st.ChannelSetMode(b.ctx, ch.ID, store.ChannelSendOnly))
	eventually(t, "webhook deleted", func() bool { return b.webhookInfo(t, eb.Token).URL == "" })
	eventually(t, "released", func() bool { return len(in.Polling()) == 0 })
	u := b.srv.CreateUser(tgemu.UserSpec{})
	_, err := u.Start(eb.Token)
	require.NoError(t, err)
	require.Equal(t, 2, b.srv.PendingUpdates(eb.Token), "my_chat_member and /start wait for the other app")

	require.NoError(t, b.st.ChannelSetMode(b.ctx, ch.ID, store.ChannelManaged))
	eventually(t, "recorded by webhook", func() bool { return b.count(t, `SELECT count(*) FROM subscribers`) == 1 })
	require.NotEmpty(t, b.webhookInfo(t, eb.Token).URL)

	// The deployment goes back to long polling: a process stopping keeps the webhook
	// (other replicas would serve it); the poller deletes it, and polls.
	stop()
	require.NotEmpty(t, b.webhookInfo(t, eb.Token).URL)
	b.webhook = false
	b.startIntake(t, nil)
	eventually(t, "polling", func() bool { return b.srv.Polling(eb.Token) })
	require.Empty(t, b.webhookInfo(t, eb.Token).URL)
	v := b.srv.CreateUser(tgemu.UserSpec{})
	_, err = v.Start(eb.Token)
	require.NoError(t, err)
	eventually(t, "recorded by polling", func() bool { return b.count(t, `SELECT count(*) FROM subscribers`) == 2 })
}

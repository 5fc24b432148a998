package channelbot_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"herald/bot"
	"herald/channelbot"
	"herald/i18n"
	"herald/pgtest"
	"herald/secrets"
	"herald/store"
	"herald/tgemu"
	"herald/tgemu/emutest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// patience scales the hang guards (never asserted as speed) like the bot tests'.
func patience() time.Duration {
	if n, err := strconv.Atoi(os.Getenv("HERALD_TEST_PATIENCE")); err == nil && n > 0 {
		return time.Duration(n) * 5 * time.Second
	}
	return 20 * time.Second
}

type testBundle struct {
	ctx context.Context
	st  *store.Store
	srv *tgemu.Server
	box *secrets.Box
	// webhook: the intakes receive by webhook on hook (an HTTP server of the test)
	// rather than by long polling.
	webhook bool
	hookKey []byte
}

// bothModes runs test once with long polling and once in webhook mode: the intake
// records the same whichever way the updates come.
func bothModes(t *testing.T, test func(t *testing.T, webhook bool)) {
	for _, mode := range []struct {
		name    string
		webhook bool
	}{{"polling", false}, {"webhook", true}} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			test(t, mode.webhook)
		})
	}
}

func setup(t testing.TB, cfg tgemu.Config) *testBundle {
	t.Helper()
	key := make([]byte, secrets.KeySize)
	_, _ = rand.Read(key)
	box, err := secrets.NewBox(key)
	require.NoError(t, err)
	hookKey := make([]byte, 32)
	_, _ = rand.Read(hookKey)
	return &testBundle{ctx: context.Background(), st: store.New(pgtest.NewPool(t)), srv: emutest.Start(t, cfg), box: box, hookKey: hookKey}
}

// newIntake makes an Intake on the bundle's database; in webhook mode it is served
// by an HTTP server of its own (one replica).
func (b *testBundle) newIntake(t testing.TB, tune func(*channelbot.Config)) *channelbot.Intake {
	t.Helper()
	catalog, err := i18n.New("en")
	require.NoError(t, err)
	cfg := channelbot.Config{Store: b.st, Opener: b.box, APIURL: b.srv.URL(), Catalog: catalog, Logger: zerolog.Nop(),
		NewClient: bot.NewClient, Rescan: 50 * time.Millisecond, PollTimeout: time.Second}
	var mux *http.ServeMux
	if b.webhook {
		mux = http.NewServeMux()
		hook := httptest.NewServer(mux)
		t.Cleanup(hook.Close)
		cfg.WebhookURL, cfg.WebhookKey = hook.URL+"/tg/hook", b.hookKey
	}
	if tune != nil {
		tune(&cfg)
	}
	in := channelbot.New(cfg)
	if mux != nil {
		require.NotEmpty(t, in.WebhookPattern())
		mux.Handle(in.WebhookPattern(), in)
	}
	return in
}

// managedBot registers an emulated bot as a managed channel.
func (b *testBundle) managedBot(t testing.TB, username string) (store.Channel, *tgemu.Bot) {
	t.Helper()
	eb := b.srv.CreateBot(username)
	c, err := b.st.ChannelCreate(b.ctx, b.box, store.ChannelCreateParams{BotUserID: eb.ID, Username: username, Name: username,
		Token: eb.Token, CreatedBy: 1, Mode: store.ChannelManaged})
	require.NoError(t, err)
	return c, eb
}

// startIntake runs an Intake until the test ends.
func (b *testBundle) startIntake(t testing.TB, tune func(*channelbot.Config)) *channelbot.Intake {
	t.Helper()
	in := b.newIntake(t, tune)
	ctx, cancel := context.WithCancel(b.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = in.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return in
}

// runIntake is startIntake with its own stop, for tests that stop one of several.
func (b *testBundle) runIntake(t testing.TB) (*channelbot.Intake, func()) {
	t.Helper()
	in := b.newIntake(t, nil)
	ctx, cancel := context.WithCancel(b.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = in.Run(ctx)
	}()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return in, stop
}

// eventually polls cond until it holds or patience runs out.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience())
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (b *testBundle) subscriber(t testing.TB, channelID, chatID int64) (store.Subscriber, bool) {
	t.Helper()
	s, err := b.st.SubscriberGet(b.ctx, channelID, chatID)
	if err == store.ErrNotFound {
		return s, false
	}
	require.NoError(t, err)
	return s, true
}

func (b *testBundle) count(t testing.TB, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, b.st.Pool().QueryRow(b.ctx, sql, args...).Scan(&n))
	return n
}

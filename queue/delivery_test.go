package queue_test

import (
	"context"
	"crypto/rand"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/mymmrac/telego"
	"github.com/riverqueue/river"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"herald/pgtest"
	"herald/queue"
	"herald/secrets"
	"herald/store"
	"herald/tgemu"
	"herald/tgemu/emutest"
)

// testBundle is one database, one emulator and what a test needs to build campaigns.
type testBundle struct {
	pool  *pgxpool.Pool
	store *store.Store
	emu   *tgemu.Server
	box   *secrets.Box
	admin int64 // the admin chat that confirms campaigns
	mgmt  *tgemu.Bot
}

type setupOpts struct {
	emu tgemu.Config
}

func setup(t *testing.T, opts setupOpts) *testBundle {
	t.Helper()
	key := make([]byte, secrets.KeySize)
	_, _ = rand.Read(key)
	box, err := secrets.NewBox(key)
	require.NoError(t, err)
	pool := pgtest.NewPool(t)
	b := &testBundle{pool: pool, store: store.New(pool), emu: emutest.Start(t, opts.emu), box: box}
	b.mgmt = b.emu.CreateBot("herald_mgmt_bot")
	admin := b.emu.CreateUser(tgemu.UserSpec{FirstName: "Admin"})
	b.emu.SetStarted(b.mgmt.Token, admin)
	b.admin = admin.ID
	_, err = pool.Exec(context.Background(), `INSERT INTO admins (user_id, role, language) VALUES ($1, 'owner', 'en')`, b.admin)
	require.NoError(t, err)
	return b
}

// clientOpts tune one Herald "process".
type clientOpts struct {
	withMgmt bool
	delivery queue.DeliveryConfig
	id       string
	observer queue.Observer
	webhooks queue.WebhookConfig
}

// newClient builds and starts a River client (one Herald process) on the bundle's
// database; it is stopped at the end of the test.
func (b *testBundle) newClient(t *testing.T, o clientOpts) *river.Client[pgx.Tx] {
	t.Helper()
	var mgmt *telego.Bot
	if o.withMgmt {
		var err error
		mgmt, err = telego.NewBot(b.mgmt.Token, telego.WithAPIServer(b.emu.URL()), telego.WithDiscardLogger())
		require.NoError(t, err)
	}
	logger := zerolog.New(zerolog.NewTestWriter(t)).Level(testLogLevel).With().Str("process", o.id).Logger()
	client, err := queue.NewClient(b.pool, queue.Config{
		Logger:         logger,
		Store:          b.store,
		ManagementBot:  mgmt,
		TelegramAPIURL: b.emu.URL(),
		OpenToken: func(c []byte) (string, error) {
			p, err := b.box.Open(c)
			return string(p), err
		},
		ProcessID:           o.id,
		Delivery:            o.delivery,
		MaintenanceInterval: time.Hour,
		Observer:            o.observer,
		Webhooks:            o.webhooks,
	})
	require.NoError(t, err)
	require.NoError(t, client.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.StopAndCancel(ctx)
	})
	return client
}

// channel registers a channel bot in the emulator and the database.
func (b *testBundle) channel(t *testing.T, rate int) (int64, *tgemu.Bot) {
	t.Helper()
	bot := b.emu.CreateBot("")
	var id int64
	err := b.pool.QueryRow(context.Background(), `
		INSERT INTO channels (bot_user_id, username, name, token_ciphertext, rate_per_second, paid_broadcast, created_by)
		VALUES ($1, $2, $2, $3, $4, $5, $6) RETURNING id`,
		bot.ID, bot.Username, b.box.Seal([]byte(bot.Token)), rate, rate > 30, b.admin).Scan(&id)
	require.NoError(t, err)
	return id, bot
}

// users creates n emulator users who started bot.
func (b *testBundle) users(t *testing.T, bot *tgemu.Bot, n int) []*tgemu.User {
	t.Helper()
	users := b.emu.CreateUsers(n, tgemu.UserSpec{})
	b.emu.SetStarted(bot.Token, users...)
	return users
}

func (b *testBundle) template(t *testing.T, body string) int64 {
	t.Helper()
	var id int64
	err := b.pool.QueryRow(context.Background(), `
		INSERT INTO templates (name, body, created_by) VALUES ($1, $2, $3) RETURNING id`,
		"t"+time.Now().Format("150405.000000000"), body, b.admin).Scan(&id)
	require.NoError(t, err)
	return id
}

// batch stores a ready batch of chat ids with a first_name variable.
func (b *testBundle) batch(t *testing.T, chatIDs []int64) int64 {
	t.Helper()
	ctx := context.Background()
	var id int64
	err := b.pool.QueryRow(ctx, `
		INSERT INTO batches (name, status, columns, recipient_count, created_by)
		VALUES ($1, 'ready', '{first_name}', $2, $3) RETURNING id`,
		"b"+time.Now().Format("150405.000000000"), len(chatIDs), b.admin).Scan(&id)
	require.NoError(t, err)
	_, err = b.pool.Exec(ctx, `
		INSERT INTO recipients (batch_id, chat_id, vars)
		SELECT $1, c, jsonb_build_object('first_name', 'User ' || c) FROM unnest($2::bigint[]) AS c`, id, chatIDs)
	require.NoError(t, err)
	return id
}

// startCampaign creates a campaign and enqueues its start like the wizard does.
func (b *testBundle) startCampaign(t *testing.T, client *river.Client[pgx.Tx], tpl, batch, channel int64) int64 {
	t.Helper()
	ctx := context.Background()
	var id int64
	err := b.store.InTx(ctx, func(tx *store.Store) error {
		var err error
		id, err = queue.NewStarter(client).CreateCampaign(ctx, tx, store.NewCampaign{
			TemplateID: tpl, BatchID: batch, ChannelID: channel, ControlChatID: b.admin, CreatedBy: b.admin,
			RequestKey: "req-" + time.Now().Format("150405.000000000"),
		})
		return err
	})
	require.NoError(t, err)
	return id
}

// patient scales a test's wait for sending to finish. Those waits are hang guards,
// not speed figures (the rates are asserted from the emulator's counts, the speed is
// measured by benchmarks): on a 2-core machine running another suite beside this one
// under the race detector, sending runs at a fraction of the configured rate.
// HERALD_TEST_PATIENCE sets the factor (default 4).
func patient(d time.Duration) time.Duration {
	f, err := strconv.ParseFloat(os.Getenv("HERALD_TEST_PATIENCE"), 64)
	if err != nil || f <= 0 {
		f = 4
	}
	return time.Duration(float64(d) * f)
}

// waitStatus polls until the campaign has status (and, for finished ones, no open
// delivery), failing after timeout.
func (b *testBundle) waitStatus(t *testing.T, id int64, status string, timeout time.Duration) store.Campaign {
	t.Helper()
	timeout = patient(timeout)
	deadline := time.Now().Add(timeout)
	for {
		c, err := b.store.CampaignGet(context.Background(), id)
		require.NoError(t, err)
		if c.Status == status {
			return c
		}
		if time.Now().After(deadline) {
			counts, _ := b.store.DeliveryCounts(context.Background(), id)
			t.Fatalf("campaign %d is %s after %s, want %s; deliveries %+v", id, c.Status, timeout, status, counts)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *testBundle) counts(t *testing.T, id int64) store.DeliveryCounts {
	t.Helper()
	c, err := b.store.DeliveryCounts(context.Background(), id)
	require.NoError(t, err)
	return c
}

func ids(users []*tgemu.User) []int64 {
	out := make([]int64, len(users))
	for i, u := range users {
		out[i] = u.ID
	}
	return out
}

func TestCampaignSendsEveryRecipientOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	client := b.newClient(t, clientOpts{id: "p1"})
	channel, bot := b.channel(t, 1000)
	users := b.users(t, bot, 300)
	tpl := b.template(t, "Hello, {{first_name}}!")
	id := b.startCampaign(t, client, tpl, b.batch(t, ids(users)), channel)

	b.waitStatus(t, id, store.CampaignCompleted, 30*time.Second)
	require.Equal(t, store.DeliveryCounts{Sent: 300}, b.counts(t, id))
	st := b.emu.Stats(bot.Token)
	require.EqualValues(t, 300, st.Sent)
	require.Empty(t, st.Duplicates())
	require.Zero(t, st.TooManyRequests)
	require.LessOrEqual(t, st.MaxPerSecond, 1000)
	tr := b.emu.Transcript(bot.Token, users[7].ID)
	require.Len(t, tr, 1)
	require.Equal(t, "Hello, "+users[7].FirstName+"!", tr[0].Message.Text)
}

var testLogLevel = func() zerolog.Level {
	if l, err := zerolog.ParseLevel(os.Getenv("HERALD_TEST_LOG")); err == nil && l != zerolog.NoLevel {
		return l
	}
	return zerolog.WarnLevel
}()

package queue_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/mymmrac/telego"
	"github.com/riverqueue/river"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"herald/queue"
	"herald/store"
	"herald/tgemu"
)

// process is a Herald "process" in the test: a River client on a pool of its own
// that can be killed: its database connections are cut and cannot come back, its
// jobs are cancelled, and nothing it does afterwards reaches the database, like a
// process after kill -9.
type process struct {
	id     string
	client *river.Client[pgx.Tx]
	dead   atomic.Bool
	pool   *pgxpool.Pool
	stops  sync.WaitGroup

	stopWatch context.CancelFunc
}

func (b *testBundle) startProcess(t *testing.T, id string, d queue.DeliveryConfig) *process {
	t.Helper()
	return b.startProcessWith(t, id, d, nil)
}

// startProcessWith is startProcess with a management bot (nil: none), for tests of
// the progress reporter.
func (b *testBundle) startProcessWith(t *testing.T, id string, d queue.DeliveryConfig, mgmt *telego.Bot) *process {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(b.pool.Config().ConnString())
	require.NoError(t, err)
	cfg.ConnConfig.RuntimeParams["application_name"] = id
	p := &process{id: id}
	cfg.BeforeConnect = func(context.Context, *pgx.ConnConfig) error {
		if p.dead.Load() {
			return context.Canceled
		}
		return nil
	}
	p.pool, err = pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	logger := zerolog.New(zerolog.NewTestWriter(t)).Level(testLogLevel).With().Str("process", id).Logger()
	p.client, err = queue.NewClient(p.pool, queue.Config{
		Logger: logger, Store: store.New(p.pool), TelegramAPIURL: b.emu.URL(), ManagementBot: mgmt,
		OpenToken: func(c []byte) (string, error) {
			pt, err := b.box.Open(c)
			return string(pt), err
		},
		ProcessID: id, Delivery: d, MaintenanceInterval: time.Hour,
	})
	require.NoError(t, err)
	require.NoError(t, p.client.Start(context.Background()))
	// Like serve.go, every process runs the lane watch beside River.
	watchCtx, stopWatch := context.WithCancel(context.Background())
	p.stopWatch = stopWatch
	p.stops.Add(1)
	go func() { // owned: cleanup (or kill) cancels it and waits on p.stops
		defer p.stops.Done()
		_ = queue.WatchLanes(watchCtx, p.client, queue.Config{Logger: logger, Store: store.New(p.pool), Delivery: d})
	}()
	t.Cleanup(func() {
		stopWatch()
		if !p.dead.Load() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_ = p.client.StopAndCancel(ctx)
			cancel()
		}
		p.stops.Wait()
		p.pool.Close()
	})
	return p
}

// kill cuts the process off the database and cancels its jobs.
func (p *process) kill(t *testing.T, admin *pgxpool.Pool) {
	t.Helper()
	p.dead.Store(true)
	p.stopWatch()
	_, err := admin.Exec(context.Background(),
		`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		 WHERE application_name = $1 AND datname = current_database()`, p.id)
	require.NoError(t, err)
	p.stops.Add(1)
	go func() { // owned: the test's cleanup waits on p.stops
		defer p.stops.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.client.StopAndCancel(ctx)
	}()
}

func (b *testBundle) laneOwner(t *testing.T, channel int64) string {
	t.Helper()
	var owner string
	err := b.pool.QueryRow(context.Background(),
		`SELECT owner FROM lanes WHERE channel_id = $1 AND lease_until > now()`, channel).Scan(&owner)
	if err == pgx.ErrNoRows {
		return ""
	}
	require.NoError(t, err)
	return owner
}

func (b *testBundle) waitSent(t *testing.T, bot *tgemu.Bot, n int64, timeout time.Duration) {
	t.Helper()
	timeout = patient(timeout)
	deadline := time.Now().Add(timeout)
	for b.emu.Stats(bot.Token).Sent < n {
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d sent after %s", n, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkAtMostOnce verifies the invariants after a crash: nobody got two messages,
// every sent delivery reached its recipient, and every recipient without a message is
// reported failed, blocked or uncertain.
func (b *testBundle) checkAtMostOnce(t *testing.T, id int64, bot *tgemu.Bot, users []*tgemu.User) (uncertain int) {
	t.Helper()
	st := b.emu.Stats(bot.Token)
	require.Empty(t, st.Duplicates())
	rows, err := b.pool.Query(context.Background(), `SELECT chat_id, status FROM deliveries WHERE campaign_id = $1`, id)
	require.NoError(t, err)
	status, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (struct {
		chat   int64
		status string
	}, error) {
		var v struct {
			chat   int64
			status string
		}
		err := r.Scan(&v.chat, &v.status)
		return v, err
	})
	require.NoError(t, err)
	require.Len(t, status, len(users))
	for _, s := range status {
		got := st.PerChat[s.chat]
		switch s.status {
		case store.DeliverySent:
			require.Equal(t, 1, got, "chat %d sent", s.chat)
		case store.DeliveryUncertain:
			uncertain++
			require.LessOrEqual(t, got, 1)
		case store.DeliveryFailed, store.DeliveryBlocked:
			require.Zero(t, got)
		default:
			t.Fatalf("chat %d left %s", s.chat, s.status)
		}
	}
	return uncertain
}

// Acceptance: two processes on one database share a 30/s bot without exceeding it;
// the lane moves between them (short slices), and when the one sending is killed the
// other finishes the campaign without duplicates.
func TestTwoProcessesShareRateAndSurviveKill(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	d := queue.DeliveryConfig{Slice: 1500 * time.Millisecond, MaxInFlight: 32, DeliveryLease: 3 * time.Second, RequestTimeout: 2 * time.Second}
	p1 := b.startProcess(t, "p1", d)
	p2 := b.startProcess(t, "p2", d)
	channel, bot := b.channel(t, 30)
	users := b.users(t, bot, 240)
	id := b.startCampaign(t, p1.client, b.template(t, "Hi {{first_name}}"), b.batch(t, ids(users)), channel)

	b.waitSent(t, bot, 100, 20*time.Second)
	// Requests hang from now on, so the victim dies with deliveries in flight.
	b.emu.SetFaults(bot.Token, tgemu.Faults{StallRate: 1})
	time.Sleep(300 * time.Millisecond)
	owner := b.laneOwner(t, channel)
	victim, survivor := p1, p2
	if owner == "p2" {
		victim, survivor = p2, p1
	}
	t.Logf("killing %s (lane owner %q)", victim.id, owner)
	killed := time.Now()
	victim.kill(t, b.pool)
	b.emu.SetFaults(bot.Token, tgemu.Faults{})
	require.Eventually(t, func() bool { return b.laneOwner(t, channel) == survivor.id }, 40*time.Second, 20*time.Millisecond)
	t.Logf("%s took the lane over %s after the kill", survivor.id, time.Since(killed).Round(100*time.Millisecond))

	b.waitStatus(t, id, store.CampaignCompleted, 60*time.Second)
	uncertain := b.checkAtMostOnce(t, id, bot, users)
	require.LessOrEqual(t, uncertain, d.MaxInFlight)
	st := b.emu.Stats(bot.Token)
	require.Zero(t, st.TooManyRequests)
	require.LessOrEqual(t, st.MaxPerSecond, 30)
	t.Logf("sent %d, uncertain %d, max %d in a 1-s window", st.Sent, uncertain, st.MaxPerSecond)
}

// Acceptance (in-process version of kill -9 and restart): the only process dies
// mid-campaign with deliveries in flight; a new process finishes the campaign; the
// deliveries whose outcome is unknown are reported uncertain, at most MaxInFlight.
func TestRestartAfterCrashFinishesCampaign(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	d := queue.DeliveryConfig{MaxInFlight: 64, DeliveryLease: 3 * time.Second, RequestTimeout: 2 * time.Second}
	p1 := b.startProcess(t, "p1", d)
	channel, bot := b.channel(t, 200)
	users := b.users(t, bot, 1500)
	id := b.startCampaign(t, p1.client, b.template(t, "Hi {{first_name}}"), b.batch(t, ids(users)), channel)

	b.waitSent(t, bot, 400, 20*time.Second)
	b.emu.SetFaults(bot.Token, tgemu.Faults{StallRate: 1})
	time.Sleep(200 * time.Millisecond)
	p1.kill(t, b.pool)
	b.emu.SetFaults(bot.Token, tgemu.Faults{})
	killed := time.Now()
	restarted := b.startProcess(t, "p1-restarted", d)

	// The dead process was River's leader, and River elects the next one only some
	// 15 s later; the lane watch that every process runs adopts the lane before that.
	require.Eventually(t, func() bool { return b.laneOwner(t, channel) == restarted.id }, 12*time.Second, 20*time.Millisecond,
		"the restarted process did not take the lane over within seconds")
	t.Logf("lane taken over %s after the kill", time.Since(killed).Round(100*time.Millisecond))
	b.waitStatus(t, id, store.CampaignCompleted, 60*time.Second)
	t.Logf("campaign completed %s after the kill", time.Since(killed).Round(100*time.Millisecond))
	uncertain := b.checkAtMostOnce(t, id, bot, users)
	require.Positive(t, uncertain)
	require.LessOrEqual(t, uncertain, d.MaxInFlight)
	require.Zero(t, b.emu.Stats(bot.Token).TooManyRequests)

	// The admin chooses to resend the uncertain ones: the campaign runs again and ends
	// with every recipient served.
	controls := queue.NewControls(b.store, restarted.client, d)
	n, err := controls.ResendUncertain(context.Background(), id, b.admin)
	require.NoError(t, err)
	require.EqualValues(t, uncertain, n)
	b.waitStatus(t, id, store.CampaignCompleted, 30*time.Second)
	require.Equal(t, store.DeliveryCounts{Sent: int64(len(users))}, b.counts(t, id))
	st := b.emu.Stats(bot.Token)
	for _, u := range users {
		require.GreaterOrEqual(t, st.PerChat[u.ID], 1)
	}
}

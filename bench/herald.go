package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/mymmrac/telego"
	"github.com/riverqueue/river"
	"github.com/rs/zerolog"

	"herald/queue"
	"herald/secrets"
	"herald/store"
)

// herald is Herald's side of a scenario in the child process: the pool, the store and
// (once started) River with Herald's real workers.
type herald struct {
	pool   *pgxpool.Pool
	store  *store.Store
	box    *secrets.Box
	logger zerolog.Logger
	admin  int64
	client *river.Client[pgx.Tx]
	// stopWatch ends queue.WatchLanes (which herald run runs beside River) and waits.
	stopWatch func()
}

// openHerald connects to the scenario's database (already migrated) with the pool
// settings `herald run` uses (pgxpool's defaults: max(4, NumCPU) connections, unless
// --pool-max-conns), and registers admin as the owner.
func openHerald(ctx context.Context, s *scenario, admin int64) (*herald, error) {
	cfg, err := pgxpool.ParseConfig(s.dbURL)
	if err != nil {
		return nil, fmt.Errorf("database url: %w", err)
	}
	if s.poolMaxConns > 0 { // what pool_max_conns in DATABASE_URL does for herald run
		cfg.MaxConns = int32(s.poolMaxConns)
	}
	logw := s.logw
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("database pool: %w", err)
	}
	key := make([]byte, secrets.KeySize)
	_, _ = rand.Read(key)
	box, err := secrets.NewBox(key)
	if err != nil {
		pool.Close()
		return nil, err
	}
	h := &herald{pool: pool, store: store.New(pool), box: box, admin: admin,
		logger: zerolog.New(logw).Level(zerolog.WarnLevel).With().Timestamp().Logger()}
	// As `herald run` makes HERALD_OWNER_IDS the owners.
	if err := h.store.AdminSyncOwners(ctx, []int64{admin}); err != nil {
		pool.Close()
		return nil, fmt.Errorf("register admin: %w", err)
	}
	return h, nil
}

// startRiver starts River with every Herald worker and the lane watcher, as `herald
// run` does.
func (h *herald) startRiver(ctx context.Context, apiURL string, delivery queue.DeliveryConfig, mgmt *telego.Bot, notifier queue.DialogNotifier) error {
	cfg := queue.Config{
		Logger: h.logger, Store: h.store, TelegramAPIURL: apiURL, ManagementBot: mgmt,
		DialogNotifier: notifier,
		OpenToken: func(c []byte) (string, error) {
			p, err := h.box.Open(c)
			return string(p), err
		},
		Delivery: delivery,
	}
	client, err := queue.NewClient(h.pool, cfg)
	if err != nil {
		return err
	}
	if err := client.Start(ctx); err != nil {
		return fmt.Errorf("start river: %w", err)
	}
	h.client = client
	watchCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { // owned: stopRiver cancels and waits on done
		defer close(done)
		_ = queue.WatchLanes(watchCtx, client, cfg)
	}()
	h.stopWatch = func() { cancel(); <-done }
	return nil
}

// stopRiver stops what startRiver started.
func (h *herald) stopRiver() {
	if h.stopWatch != nil {
		h.stopWatch()
		h.stopWatch = nil
	}
	if h.client != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		_ = h.client.StopAndCancel(ctx)
		cancel()
		h.client = nil
	}
}

func (h *herald) close() {
	h.stopRiver()
	h.pool.Close()
}

// channel registers a channel bot as the channel wizard would leave it (paid broadcast
// above the free rate).
func (h *herald) channel(ctx context.Context, token string, rate int) (int64, error) {
	var botID int64
	if _, err := fmt.Sscanf(token, "%d:", &botID); err != nil {
		return 0, fmt.Errorf("bot id of token: %w", err)
	}
	name := fmt.Sprintf("bench_%d_bot", botID)
	ch, err := h.store.ChannelCreate(ctx, h.box, store.ChannelCreateParams{
		BotUserID: botID, Username: name, Name: name, Token: token,
		RatePerSecond: rate, PaidBroadcast: rate > store.ChannelMaxRate, CreatedBy: h.admin,
	})
	if err != nil {
		return 0, fmt.Errorf("register channel: %w", err)
	}
	return ch.ID, nil
}

// template stores a template with one variable, so every message is rendered.
func (h *herald) template(ctx context.Context) (int64, error) {
	id, err := h.store.TemplateCreate(ctx, store.Template{
		Name: "bench " + time.Now().Format("150405.000000000"), Body: benchBody, CreatedBy: h.admin,
	})
	if err != nil {
		return 0, fmt.Errorf("create template: %w", err)
	}
	return id, nil
}

// benchBody is the text every delivery scenario sends (baseline included), with one
// variable that each recipient's first_name fills in.
const benchBody = "Hello, {{first_name}}! This is a Herald benchmark message."

// batch stores a ready batch of the chat ids first..first+n-1, each with a first_name.
// (The import path has a scenario of its own; this is set-up, not measured.)
func (h *herald) batch(ctx context.Context, first int64, n int) (int64, error) {
	return h.store.BatchCreateSynthetic(ctx, store.SyntheticBatch{
		Name:        fmt.Sprintf("bench %d+%d %s", first, n, time.Now().Format("150405.000000000")),
		FirstChatID: first, Count: n, CreatedBy: h.admin,
	})
}

// confirm creates a campaign and enqueues its start in one transaction, as the
// campaign wizard's Confirm does.
func (h *herald) confirm(ctx context.Context, tpl, batch, channel int64) (int64, error) {
	var id int64
	err := h.store.InTx(ctx, func(tx *store.Store) error {
		var err error
		id, err = queue.NewStarter(h.client).CreateCampaign(ctx, tx, store.NewCampaign{
			TemplateID: tpl, BatchID: batch, ChannelID: channel, ControlChatID: h.admin, CreatedBy: h.admin,
			RequestKey: fmt.Sprintf("bench-%d-%d-%d", batch, channel, time.Now().UnixNano()),
		})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("confirm campaign: %w", err)
	}
	return id, nil
}

// waitFinished polls until none of the campaigns is scheduled or running.
func (h *herald) waitFinished(ctx context.Context, ids []int64, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		open, err := h.store.CampaignsOpenCount(ctx, ids)
		if err != nil {
			return fmt.Errorf("wait for campaigns %v: %w", ids, err)
		}
		if open == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("campaigns %v not finished after %s", ids, timeout)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// sentCount is the number of deliveries of the campaigns recorded as sent.
func (h *herald) sentCount(ctx context.Context, ids []int64) (int64, error) {
	return h.store.DeliveriesSentCount(ctx, ids)
}

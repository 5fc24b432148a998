// Package queue runs Herald's background work on River: periodic maintenance and the
// campaign delivery engine. Workers talk to the database only through store/.
//
// Delivery: StartCampaignArgs creates a campaign's deliveries and enqueues the sender
// lane of its channel bot (LaneArgs) and its progress reporter (ProgressArgs). A lane
// claims deliveries in chunks, sends them at the bot's rate with bounded concurrency
// and writes the outcomes in batches; DeliveryMaintenanceArgs sweeps what a dead
// process left behind. Controls pauses, resumes and cancels campaigns.
//
// # What "uncertain" means
//
// An operator must never get a double send and never a silent drop, so a delivery is
// uncertain only when its request may have reached Telegram and no answer proves what
// happened; uncertain deliveries are never resent automatically. A claim only
// reserves deliveries; each is marked requested (in groups of about 100 ms of
// sending) right before its request leaves. When a process dies, its reserved
// deliveries go back to pending and are sent once by whoever continues; its requested
// ones become uncertain:stopped. After a kill -9 at any rate the uncertain ones are
// therefore at most the requests in the air (Concurrency), one marked group and the
// outcomes of the last 25 ms, independent of the claim size.
//
// Every answer and transport error is sorted by what it proves (classifySendError
// holds the one table):
//   - refused before sending (dial failed, no free connection, a pooled connection
//     found closed while idle before a byte was written): retried;
//   - Telegram's own JSON error: by its code (429 waits, 403 blocked, 400 failed or
//     the campaign pauses, 5xx retried: the body proves Telegram answered and did
//     not act);
//   - a gateway's 502/504, or any answer that is not the Bot API's JSON:
//     uncertain:gateway, since the gateway may have given up after Telegram acted;
//   - a timeout or a connection lost after the request was written:
//     uncertain:answer_lost.
//
// Idle keep-alive connections are closed after 15 s, sooner than servers close them;
// a request on a reused connection first checks without blocking whether the server
// closed it meanwhile, which proves the request unsent, so it goes out on a new one.
package queue

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/mymmrac/telego"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/rs/zerolog"

	"herald/store"
)

// DialogNotifier tells a chat that its dialog expired. It may be nil (no bot
// configured); the sessions are expired all the same.
type DialogNotifier interface {
	DialogExpired(ctx context.Context, dialog store.ExpiredDialog) error
}

// Config holds what the workers need.
type Config struct {
	Logger         zerolog.Logger
	Store          *store.Store
	DialogNotifier DialogNotifier
	// MaintenanceInterval is how often stale dialogs are expired (default 1 minute).
	MaintenanceInterval time.Duration
	// MaxWorkers bounds the default queue's concurrent jobs in this process (default 50).
	MaxWorkers int
	// Now is the clock (default time.Now).
	Now func() time.Time

	// ManagementBot sends progress messages, reports and alerts, and downloads
	// template media. nil: campaigns run without progress messages.
	ManagementBot *telego.Bot
	// TelegramAPIURL is the Bot API server of the channel bots ("": Telegram's).
	TelegramAPIURL string
	// OpenToken decrypts a channel bot's token (secrets.Box.Open).
	OpenToken func(ciphertext []byte) (string, error)
	// DefaultLanguage is the language of texts for admins without one ("en").
	DefaultLanguage string
	// ProcessID names this process as lane owner (default host/pid/random).
	ProcessID string
	// Delivery tunes the delivery engine.
	Delivery DeliveryConfig
	// Stopping is closed when the process begins to shut down, before River's soft
	// stop: lanes and progress reporters end their slice at once (settling what they
	// sent) instead of running until the stop times out and cancels them.
	Stopping <-chan struct{}
	// Observer is told about sends and outcomes, for metrics (nil: nobody).
	Observer Observer
	// Webhooks tunes the delivery of campaign events to owners' endpoints.
	Webhooks WebhookConfig
}

// NewClient builds the River client with every worker and periodic job registered.
// The caller starts and stops it.
func NewClient(pool *pgxpool.Pool, cfg Config) (*river.Client[pgx.Tx], error) {
	if cfg.MaintenanceInterval == 0 {
		cfg.MaintenanceInterval = time.Minute
	}
	if cfg.MaxWorkers == 0 {
		cfg.MaxWorkers = 50
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ProcessID == "" {
		cfg.ProcessID = processID()
	}
	cfg.Delivery = cfg.Delivery.withDefaults()
	txts, err := newTexts(cfg.DefaultLanguage)
	if err != nil {
		return nil, err
	}
	eng := &engine{
		store:    cfg.Store,
		logger:   cfg.Logger,
		cfg:      cfg.Delivery,
		owner:    cfg.ProcessID,
		bots:     newChannelBots(cfg.TelegramAPIURL, cfg.OpenToken, 4*cfg.Delivery.Concurrency),
		mgmt:     cfg.ManagementBot,
		stopping: cfg.Stopping,
		obs:      cfg.observer(),
		hooks:    cfg.Webhooks.withDefaults(),
		texts:    txts,
		now:      cfg.Now,
		pacers:   map[int64]*pacer{},
		running:  map[int64]bool{},
	}
	// The longest a delivery job runs (a slice, draining its requests, a margin).
	jobTimeout := max(40*time.Second, cfg.Delivery.Slice+cfg.Delivery.RequestTimeout+30*time.Second)
	workers := river.NewWorkers()
	for _, add := range []func() error{
		func() error {
			return river.AddWorkerSafely(workers, &dialogExpiryWorker{store: cfg.Store, notifier: cfg.DialogNotifier, now: cfg.Now, logger: cfg.Logger})
		},
		func() error { return river.AddWorkerSafely(workers, &startWorker{e: eng}) },
		func() error { return river.AddWorkerSafely(workers, &fanoutWorker{e: eng}) },
		func() error { return river.AddWorkerSafely(workers, &laneWorker{e: eng}) },
		func() error {
			return river.AddWorkerSafely(workers, &progressWorker{e: eng})
		},
		func() error { return river.AddWorkerSafely(workers, &maintenanceWorker{e: eng}) },
		func() error { return river.AddWorkerSafely(workers, &chartWorker{e: eng}) },
		func() error {
			return river.AddWorkerSafely(workers, &webhookWorker{store: cfg.Store, openToken: cfg.OpenToken, cfg: eng.hooks})
		},
	} {
		if err := add(); err != nil {
			return nil, fmt.Errorf("register worker: %w", err)
		}
	}
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Logger:  slog.New(zerolog.NewSlogHandler(cfg.Logger.With().Str("component", "river").Logger())),
		Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.MaxWorkers}, webhookQueue: {MaxWorkers: 4}},
		Workers: workers,
		// Lanes and reporters run in slices of Delivery.Slice, so no job legitimately
		// runs longer than JobTimeout; a job left "running" by a dead process is
		// rescued 20 s after that (90 s with the default 30-s slice). Lanes do not wait
		// for it: WatchLanes adopts an orphaned lane within seconds (see LaneArgs).
		JobTimeout:           jobTimeout,
		RescueStuckJobsAfter: max(time.Minute, jobTimeout+20*time.Second),
		// Sliced lanes are picked up again by polling; keep the gap short.
		FetchPollInterval: 200 * time.Millisecond,
		PeriodicJobs: []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(cfg.MaintenanceInterval),
				func() (river.JobArgs, *river.InsertOpts) { return DialogExpiryArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(cfg.Delivery.MaintenanceEvery),
				func() (river.JobArgs, *river.InsertOpts) { return DeliveryMaintenanceArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	return client, nil
}

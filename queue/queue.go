// Package queue runs Herald's background work on River: periodic maintenance now, and
// the campaign delivery engine. Workers talk to the database only through store/.
package queue

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
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
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &dialogExpiryWorker{store: cfg.Store, notifier: cfg.DialogNotifier, now: cfg.Now, logger: cfg.Logger}); err != nil {
		return nil, fmt.Errorf("register dialog expiry worker: %w", err)
	}
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Logger:  slog.New(zerolog.NewSlogHandler(cfg.Logger.With().Str("component", "river").Logger())),
		Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.MaxWorkers}},
		Workers: workers,
		PeriodicJobs: []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(cfg.MaintenanceInterval),
				func() (river.JobArgs, *river.InsertOpts) { return DialogExpiryArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	return client, nil
}

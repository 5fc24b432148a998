package queue

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/rs/zerolog"

	"herald/store"
)

// DialogExpiryArgs is the periodic job that ends dialogs left untouched too long.
type DialogExpiryArgs struct{}

// Kind implements river.JobArgs.
func (DialogExpiryArgs) Kind() string { return "dialog_expiry" }

// InsertOpts keeps at most one expiry job waiting at a time.
func (DialogExpiryArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByPeriod: 30 * time.Second}}
}

type dialogExpiryWorker struct {
	river.WorkerDefaults[DialogExpiryArgs]
	store    *store.Store
	notifier DialogNotifier
	now      func() time.Time
	logger   zerolog.Logger
}

const dialogExpiryBatch = 500

func (w *dialogExpiryWorker) Work(ctx context.Context, _ *river.Job[DialogExpiryArgs]) error {
	for range 100 { // bounded: at most 50,000 sessions per run; the next run takes the rest
		expired, err := w.store.DialogSessionsExpire(ctx, w.now(), dialogExpiryBatch)
		if err != nil {
			return fmt.Errorf("expire dialogs: %w", err)
		}
		for _, d := range expired {
			if w.notifier == nil {
				continue
			}
			// The session is gone either way; a failed notice is logged, not retried,
			// so one unreachable chat cannot hold back the others.
			if err := w.notifier.DialogExpired(ctx, d); err != nil {
				w.logger.Warn().Err(err).Int64("chat_id", d.ChatID).Str("flow", d.Flow).Msg("tell chat its dialog expired")
			}
		}
		if len(expired) < dialogExpiryBatch {
			return nil
		}
	}
	return nil
}

package queue

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"herald/store"
)

// FanoutArgs creates the rest of a started campaign's deliveries, chunk after chunk
// (store.CampaignFanout), while its lane already sends the first chunk. StartCampaign
// enqueues it in the transaction that starts the campaign. After each chunk it makes
// sure the lanes of the campaign's bots run, since a lane ends when it finds nothing pending.
type FanoutArgs struct {
	CampaignID int64 `json:"campaign_id"`
}

// Kind implements river.JobArgs.
func (FanoutArgs) Kind() string { return "campaign_fanout" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (FanoutArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 100, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueWhileOpen}}
}

type fanoutWorker struct {
	river.WorkerDefaults[FanoutArgs]
	e *engine
}

func (w *fanoutWorker) Work(ctx context.Context, job *river.Job[FanoutArgs]) error {
	id := job.Args.CampaignID
	client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return fmt.Errorf("fan out campaign %d: %w", id, err)
	}
	var inserted, suppressed int64
	// Bounded by the batch (each round moves the cursor forward) and by time: a huge
	// batch continues in the job's next run, well within River's job timeout.
	stopAt := time.Now().Add(20 * time.Second)
	for {
		if err := ctx.Err(); err != nil {
			return err // River runs the job again; the cursor says where to go on
		}
		if time.Now().After(stopAt) {
			return river.JobSnooze(0)
		}
		var step store.FanoutStep
		err := w.e.store.InTx(ctx, func(tx *store.Store) error {
			if step, err = tx.CampaignFanout(ctx, id); err != nil || step.Inserted == 0 {
				return err
			}
			jobs, err := laneJobs(ctx, tx, step.ChannelIDs)
			if err != nil {
				return err
			}
			ptx, _ := tx.Tx()
			_, err = client.InsertManyTx(ctx, ptx, jobs)
			return err
		})
		if err != nil {
			return fmt.Errorf("fan out campaign %d: %w", id, err)
		}
		inserted, suppressed = inserted+step.Inserted, suppressed+step.Suppressed
		if step.Done {
			w.e.logger.Info().Int64("campaign_id", id).Int64("deliveries", inserted).Int64("suppressed", suppressed).
				Msg("campaign's remaining deliveries created")
			return nil
		}
	}
}

package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"herald/backoff"
	"herald/store"
)

// StartCampaignArgs starts a scheduled campaign. The wizard inserts it in the same
// transaction that creates the campaign:
//
//	st.InTx(ctx, func(tx *store.Store) error {
//		id, err := tx.CampaignCreate(ctx, store.NewCampaign{…})
//		ptx, _ := tx.Tx()
//		_, err = client.InsertTx(ctx, ptx, queue.StartCampaignArgs{CampaignID: id}, queue.StartAt(when))
//	})
//
// (Starter.CreateCampaign does exactly this.)
//
// It is unique per campaign for good: a second insert (Confirm pressed twice) is
// skipped.
type StartCampaignArgs struct {
	CampaignID int64 `json:"campaign_id"`
}

// Kind implements river.JobArgs.
func (StartCampaignArgs) Kind() string { return "campaign_start" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (StartCampaignArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 10, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// startLead is how early a scheduled start job is made available. River promotes
// scheduled jobs every 5 s, so the job is enqueued a little ahead and waits for the
// exact time itself: the campaign starts within a second or two of its time.
const startLead = 5 * time.Second

// StartAt returns the insert options for a campaign scheduled at at (zero or past:
// now).
func StartAt(at time.Time) *river.InsertOpts {
	if at.IsZero() || time.Until(at) <= startLead {
		return &river.InsertOpts{}
	}
	return &river.InsertOpts{ScheduledAt: at.Add(-startLead)}
}

type startWorker struct {
	river.WorkerDefaults[StartCampaignArgs]
	e *engine
}

func (w *startWorker) Work(ctx context.Context, job *river.Job[StartCampaignArgs]) error {
	id := job.Args.CampaignID
	c, err := w.e.store.CampaignGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if wait := time.Until(c.ScheduledAt); wait > 0 {
		if wait > 2*startLead {
			return river.JobSnooze(wait - startLead)
		}
		if !backoff.Wait(ctx, wait) {
			return ctx.Err()
		}
	}
	client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return fmt.Errorf("start campaign %d: %w", id, err)
	}
	var res store.CampaignStartResult
	err = w.e.store.InTx(ctx, func(tx *store.Store) error {
		if res, err = tx.CampaignStart(ctx, id); err != nil {
			return err
		}
		if !res.Started {
			return nil
		}
		// A lane per bot of the campaign: each claims the deliveries routed to it.
		jobs, err := laneJobs(ctx, tx, res.ChannelIDs)
		if err != nil {
			return err
		}
		jobs = append(jobs, river.InsertManyParams{Args: ProgressArgs{CampaignID: id}})
		if !res.FanoutDone {
			jobs = append(jobs, river.InsertManyParams{Args: FanoutArgs{CampaignID: id}})
		}
		ptx, _ := tx.Tx()
		_, err = client.InsertManyTx(ctx, ptx, jobs)
		return err
	})
	if err != nil {
		return fmt.Errorf("start campaign %d: %w", id, err)
	}
	log := w.e.logger.With().Int64("campaign_id", id).Int64("channel_id", res.ChannelID).Logger()
	switch {
	case res.Started:
		log.Info().Int64("deliveries", res.Deliveries).Int64("suppressed", res.Suppressed).Msg("campaign started")
	case res.Status == store.CampaignFailed:
		log.Warn().Msg("campaign could not start")
		if _, err := client.Insert(ctx, ProgressArgs{CampaignID: id}, nil); err != nil {
			return fmt.Errorf("enqueue report of campaign %d: %w", id, err)
		}
	}
	return nil
}

// laneJobs ensures the lane rows of channelIDs (on tx's executor) and returns a lane
// job for each at its current epoch.
func laneJobs(ctx context.Context, tx *store.Store, channelIDs []int64) ([]river.InsertManyParams, error) {
	jobs := make([]river.InsertManyParams, 0, len(channelIDs)+2)
	for _, ch := range channelIDs {
		epoch, err := tx.LaneEnsure(ctx, ch)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, river.InsertManyParams{Args: LaneArgs{ChannelID: ch, Epoch: epoch}})
	}
	return jobs, nil
}

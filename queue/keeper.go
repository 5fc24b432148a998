package queue

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
)

// DeliveryMaintenanceArgs is the periodic job (every MaintenanceEvery, and at start-up)
// that keeps delivery moving whatever happened to a process: in-flight deliveries
// whose lease ran out become uncertain; a channel with due work and no live lane gets
// a new lane job (see LaneArgs); running campaigns with nothing left open complete;
// every unfinished campaign has a progress reporter, and one whose reporter lost its
// lease (its process died) gets a new reporter job at a new epoch (see ProgressArgs).
type DeliveryMaintenanceArgs struct{}

// Kind implements river.JobArgs.
func (DeliveryMaintenanceArgs) Kind() string { return "delivery_maintenance" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (DeliveryMaintenanceArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueWhileOpen}}
}

type maintenanceWorker struct {
	river.WorkerDefaults[DeliveryMaintenanceArgs]
	e *engine
}

const sweepBatch = 5000

func (w *maintenanceWorker) Work(ctx context.Context, _ *river.Job[DeliveryMaintenanceArgs]) error {
	client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return fmt.Errorf("delivery maintenance: %w", err)
	}
	return w.e.maintain(ctx, client)
}

// WatchLanes runs the delivery maintenance in this process every
// Delivery.MaintenanceEvery until ctx ends, and returns nil then. River runs periodic
// jobs on its elected leader only, and when the leader dies the next one is elected
// some 15 s later; with every process running the same checks, a survivor adopts a dead
// process's lane within LaneLease + OrphanGrace whichever process died. The checks are
// idempotent and safe to run in many processes at once. Failures (a database outage)
// are logged and retried at the next tick.
func WatchLanes(ctx context.Context, client *river.Client[pgx.Tx], cfg Config) error {
	e := &engine{store: cfg.Store, logger: cfg.Logger, cfg: cfg.Delivery.withDefaults(), obs: cfg.observer()}
	ticker := time.NewTicker(e.cfg.MaintenanceEvery)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		if err := e.maintain(ctx, client); err != nil && ctx.Err() == nil {
			e.logger.Warn().Err(err).Msg("delivery maintenance in this process")
		}
	}
}

// maintain expires in-flight leases, adopts orphan lanes, completes finished campaigns
// and gives every unfinished campaign without a live progress reporter a new one.
func (e *engine) maintain(ctx context.Context, client *river.Client[pgx.Tx]) error {
	for range 20 { // bounded; the next run continues
		expired, err := e.store.DeliveriesExpireLeases(ctx, sweepBatch)
		if err != nil {
			return err
		}
		for id, k := range expired.Uncertain {
			e.logger.Warn().Int64("campaign_id", id).Int64("deliveries", k).Msg("requested deliveries without outcome became uncertain")
		}
		if expired.Released > 0 {
			e.logger.Info().Int64("deliveries", expired.Released).Msg("reserved deliveries never requested went back to pending")
		}
		e.obs.LeasesExpired(expired.Swept())
		if expired.Swept() < sweepBatch {
			break
		}
	}
	if err := e.adoptOrphanLanes(ctx, client); err != nil {
		return err
	}
	if _, err := e.store.CampaignsCompleteFinished(ctx, nil); err != nil {
		return err
	}
	return e.adoptOrphanReporters(ctx, client)
}

// adoptOrphanReporters enqueues a progress reporter at a new epoch for every campaign
// that needs one and whose reporter has held no lease for reporterGrace: one that
// never started, or whose process died (see ProgressArgs).
func (e *engine) adoptOrphanReporters(ctx context.Context, client *river.Client[pgx.Tx]) error {
	orphans, err := e.store.ReportersAdoptOrphans(ctx, reporterGrace)
	if err != nil {
		return err
	}
	if len(orphans) == 0 {
		return nil
	}
	jobs := make([]river.InsertManyParams, 0, len(orphans))
	for _, o := range orphans {
		e.logger.Debug().Int64("campaign_id", o.CampaignID).Int64("epoch", o.Epoch).Msg("progress reporter without owner; enqueueing a new one")
		jobs = append(jobs, river.InsertManyParams{Args: ProgressArgs{CampaignID: o.CampaignID, Epoch: o.Epoch}})
	}
	if _, err := client.InsertMany(ctx, jobs); err != nil {
		return fmt.Errorf("enqueue adopted progress reporters: %w", err)
	}
	return nil
}

// adoptOrphanLanes enqueues a new lane job for every channel whose lane lost its
// owner. Besides the periodic maintenance (which runs on River's leader only), every
// progress reporter of a running campaign calls it, so a survivor usually takes a dead
// process's lane over within LaneLease + OrphanGrace even when the dead process was
// the leader.
func (e *engine) adoptOrphanLanes(ctx context.Context, client *river.Client[pgx.Tx]) error {
	orphans, err := e.store.LanesAdoptOrphans(ctx, e.cfg.OrphanGrace)
	if err != nil {
		return err
	}
	operating, err := e.store.OperationLanesAdoptOrphans(ctx, e.cfg.OrphanGrace) // issue 17: operations run in lanes too
	if err != nil {
		return err
	}
	orphans = append(orphans, operating...)
	if len(orphans) == 0 {
		return nil
	}
	jobs := make([]river.InsertManyParams, 0, len(orphans))
	for _, o := range orphans {
		e.logger.Info().Int64("channel_id", o.ChannelID).Int64("epoch", o.Epoch).Msg("lane without owner; enqueueing a new one")
		jobs = append(jobs, river.InsertManyParams{Args: LaneArgs{ChannelID: o.ChannelID, Epoch: o.Epoch}})
	}
	if _, err := client.InsertMany(ctx, jobs); err != nil {
		return fmt.Errorf("enqueue adopted lanes: %w", err)
	}
	return nil
}

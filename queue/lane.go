package queue

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"herald/backoff"
	"herald/store"
)

// LaneArgs is the sender lane of one channel bot: the job that sends every running
// campaign of that bot, paced at its rate.
//
// Exclusivity: a lane only sends while it holds the channel's lease in the lanes table
// (renewed every LaneLease/3); the River job is unique per (channel, epoch) so starts,
// resumes and the keeper never pile up jobs. Time slicing: a lane runs for Slice, then
// moves the lane to the next epoch and enqueues that epoch's job (handOver), which any
// process may run; this process, still the lease owner, continues at once. When
// a process dies, its job stays "running" in River until the rescuer sees it (we set
// RescueStuckJobsAfter to a minute), but the lease runs out within LaneLease and the
// keeper (DeliveryMaintenanceArgs) then moves the lane to a new epoch and enqueues a
// fresh job, which a surviving process picks up within seconds.
type LaneArgs struct {
	ChannelID int64 `json:"channel_id"`
	Epoch     int64 `json:"epoch"`
}

// Kind implements river.JobArgs.
func (LaneArgs) Kind() string { return "delivery_lane" }

// uniqueWhileOpen are the states in which a second job with the same args is refused.
var uniqueWhileOpen = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
	rivertype.JobStateRunning, rivertype.JobStateScheduled,
}

// InsertOpts implements river.JobArgsWithInsertOpts.
func (LaneArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 100, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueWhileOpen}}
}

type laneWorker struct {
	river.WorkerDefaults[LaneArgs]
	e *engine
}

// Timeout leaves a lane its slice plus time to drain its requests.
func (w *laneWorker) Timeout(*river.Job[LaneArgs]) time.Duration {
	return w.e.cfg.Slice + w.e.cfg.RequestTimeout + 15*time.Second
}

func (w *laneWorker) Work(ctx context.Context, job *river.Job[LaneArgs]) error {
	e := w.e
	args := job.Args
	if !e.lockLaneWait(ctx, args.ChannelID) {
		return river.JobSnooze(time.Second)
	}
	defer e.unlockLane(args.ChannelID)
	log := e.logger.With().Int64("channel_id", args.ChannelID).Int64("epoch", args.Epoch).Logger()

	lease, err := e.store.LaneAcquire(ctx, args.ChannelID, args.Epoch, e.owner, e.cfg.LaneLease)
	if err != nil {
		return err
	}
	if lease.Stale {
		return nil // a newer lane job owns the channel
	}
	if !lease.Acquired {
		return river.JobSnooze(lease.Busy + 100*time.Millisecond)
	}
	acquiredAt := time.Now()
	defer func() {
		if err := e.store.LaneRelease(context.WithoutCancel(ctx), args.ChannelID, args.Epoch, e.owner); err != nil {
			log.Warn().Err(err).Msg("release lane; it frees itself when the lease runs out")
		}
	}()
	ch, err := e.store.ChannelGet(ctx, args.ChannelID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	bot, err := e.bots.get(ch)
	if err != nil || !ch.Enabled {
		// Nothing can be sent through this bot: pause its campaigns and say why,
		// rather than retrying forever.
		reason := "channel is disabled"
		if err != nil {
			log.Error().Err(err).Msg("channel bot unusable")
			reason = "channel bot token cannot be used"
		}
		return e.haltChannel(ctx, ch.ID, reason)
	}
	p := e.pacerFor(ch)
	if ch.RetryAfterUntil != nil {
		p.pause(*ch.RetryAfterUntil)
	}
	l := &lane{
		e: e, ch: ch, epoch: args.Epoch, bot: bot, pacer: p, log: log,
		msgs:    map[int64]*campaignMessage{},
		halted:  map[int64]bool{},
		settled: make(chan struct{}, 1),
	}
	l.leaseDeadline.Store(acquiredAt.Add(e.cfg.LaneLease - e.cfg.LaneLease/4).UnixNano())
	res, err := l.run(ctx, acquiredAt.Add(e.cfg.Slice))
	if err != nil {
		return err
	}
	if res.done || l.handedOver.Load() {
		return nil
	}
	return river.JobSnooze(res.wait)
}

// lockLaneWait takes the in-process lane lock, waiting a little for the previous
// slice of the same lane, which hands over before it has drained its requests.
func (e *engine) lockLaneWait(ctx context.Context, channelID int64) bool {
	deadline := time.Now().Add(e.cfg.RequestTimeout)
	for !e.lockLane(channelID) {
		if time.Now().After(deadline) || !backoff.Wait(ctx, 5*time.Millisecond) {
			return false
		}
	}
	return true
}

// handOver starts the lane's next slice in a new job as soon as this one stops
// dispatching, before it drains: the new job's insert wakes River's fetcher at once
// (a snoozed job waited for the next fetch poll, a visible dip in the rate every
// slice), and it waits for this slice's lock, so sending continues within about
// River's fetch cooldown. Other processes still get the lane whenever this one stops
// or dies.
func (l *lane) handOver(ctx context.Context) {
	client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return // not run by River (tests): snooze as before
	}
	err = l.e.store.InTx(ctx, func(tx *store.Store) error {
		next, ok, err := tx.LaneHandOver(ctx, l.ch.ID, l.epoch, l.e.owner)
		if err != nil || !ok {
			return err
		}
		ptx, _ := tx.Tx()
		if _, err := client.InsertTx(ctx, ptx, LaneArgs{ChannelID: l.ch.ID, Epoch: next}, nil); err != nil {
			return err
		}
		l.handedOver.Store(true)
		return nil
	})
	if err != nil {
		l.handedOver.Store(false)
		l.log.Warn().Err(err).Msg("hand lane over to its next slice; it snoozes instead")
	}
}

// haltChannel pauses every running campaign of a channel that cannot send.
func (e *engine) haltChannel(ctx context.Context, channelID int64, reason string) error {
	ids, err := e.store.CampaignsRunningOnChannel(ctx, channelID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		c, err := e.store.CampaignPause(ctx, id, 0, reason)
		if errors.Is(err, store.ErrInvalidTransition) {
			continue
		}
		if err != nil {
			return err
		}
		e.logger.Warn().Int64("campaign_id", id).Int64("channel_id", channelID).Str("reason", reason).Msg("campaign paused")
		e.alertPaused(ctx, c, "delivery.alert.channel", reason)
	}
	return nil
}

// laneResult says how a slice ended: done (nothing left to send for running
// campaigns), or to be continued after wait.
type laneResult struct {
	done bool
	wait time.Duration
}

// lane is one slice of a channel's sender lane.
type lane struct {
	e     *engine
	ch    store.Channel
	epoch int64
	bot   *channelClient
	pacer *pacer
	log   zerolog.Logger

	leaseDeadline atomic.Int64 // unix ns; no send starts after it unless renewed
	leaseLost     atomic.Bool
	handedOver    atomic.Bool // the next slice's job is enqueued (handOver)

	running atomic.Pointer[map[int64]bool] // campaigns running at the last poll

	mu     sync.Mutex
	msgs   map[int64]*campaignMessage
	halted map[int64]bool // campaigns this lane paused (template refused)

	outstanding atomic.Int64 // claimed deliveries without a written outcome
	settled     chan struct{}
}

func (l *lane) run(ctx context.Context, until time.Time) (laneResult, error) {
	cfg := l.e.cfg
	if err := l.poll(ctx); err != nil {
		return laneResult{}, err
	}
	// Helpers (lease renewal, control polling) stop when the slice's sending is over;
	// requests use ctx so a hard stop aborts them.
	helpCtx, stopHelpers := context.WithCancel(ctx)
	defer stopHelpers()
	helpers, helpCtx := errgroup.WithContext(helpCtx)
	helpers.Go(func() error { return l.renewLoop(helpCtx) })
	helpers.Go(func() error { return l.pollLoop(helpCtx) })

	tasks := make(chan sendTask)
	results := make(chan store.DeliveryOutcome, cfg.MaxInFlight)
	var senders sync.WaitGroup
	for range cfg.Concurrency {
		senders.Add(1)
		go func() { // owned: run waits on senders before closing results
			defer senders.Done()
			for t := range tasks {
				results <- l.startSend(ctx, t)
			}
		}()
	}
	settleErr := make(chan error, 1)
	go func() { settleErr <- l.settleLoop(results) }() // owned: run reads settleErr

	ops := l.startOperations(ctx, until) // campaign operations share the lane's pace (operation.go)
	res, dispatchErr := l.dispatch(ctx, until, tasks, results)
	res = ops.join(res, dispatchErr)
	if dispatchErr == nil && !res.done && res.wait == 0 && ctx.Err() == nil && !l.e.draining() && l.mayStart() {
		l.handOver(ctx)
	}
	close(tasks)
	senders.Wait()
	close(results)
	errSettle := <-settleErr
	stopHelpers()
	helperErr := helpers.Wait()
	if ids := l.runningIDs(); len(ids) > 0 {
		if _, err := l.e.store.CampaignsCompleteFinished(context.WithoutCancel(ctx), ids); err != nil && dispatchErr == nil {
			dispatchErr = err
		}
	}
	switch {
	case dispatchErr != nil && !errors.Is(dispatchErr, context.Canceled):
		return res, dispatchErr
	case errSettle != nil:
		return res, errSettle
	case helperErr != nil && !errors.Is(helperErr, context.Canceled):
		return res, helperErr
	case ctx.Err() != nil:
		// Stopped (shutdown): continue as soon as some process can.
		return laneResult{}, nil
	}
	return res, nil
}

// mayStart reports whether the lane still holds its lease with margin.
func (l *lane) mayStart() bool {
	return !l.leaseLost.Load() && time.Now().UnixNano() < l.leaseDeadline.Load()
}

func (l *lane) renewLoop(ctx context.Context) error {
	every := l.e.cfg.LaneLease / 3
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		start := time.Now()
		ok, err := l.e.store.LaneRenew(ctx, l.ch.ID, l.epoch, l.e.owner, l.e.cfg.LaneLease)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil
			}
			// Keep trying; the lease deadline stops sending if this goes on.
			l.log.Warn().Err(err).Msg("renew lane lease")
		case !ok:
			l.leaseLost.Store(true)
			if !l.handedOver.Load() {
				l.log.Warn().Msg("lane lease lost; stopping")
			}
			return nil
		default:
			l.leaseDeadline.Store(start.Add(l.e.cfg.LaneLease - l.e.cfg.LaneLease/4).UnixNano())
		}
	}
}

func (l *lane) pollLoop(ctx context.Context) error {
	t := time.NewTicker(l.e.cfg.ControlPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := l.poll(ctx); err != nil && ctx.Err() == nil {
			l.log.Warn().Err(err).Msg("poll running campaigns")
		}
	}
}

// poll re-reads which campaigns of the channel are running.
func (l *lane) poll(ctx context.Context) error {
	ids, err := l.e.store.LanePoll(ctx, l.ch.ID, l.epoch, l.e.owner) // acknowledges the previous poll
	if err != nil {
		return err
	}
	m := make(map[int64]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	l.running.Store(&m)
	return nil
}

func (l *lane) runningIDs() []int64 {
	m := *l.running.Load()
	ids := make([]int64, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	return ids
}

// sendable lists the running campaigns this lane has not halted.
func (l *lane) sendable() []int64 {
	ids := l.runningIDs()
	l.mu.Lock()
	defer l.mu.Unlock()
	out := ids[:0]
	for _, id := range ids {
		if !l.halted[id] {
			out = append(out, id)
		}
	}
	return out
}

func (l *lane) isSendable(id int64) bool {
	if !(*l.running.Load())[id] {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.halted[id]
}

// message returns the campaign's prepared message, preparing it on first use; nil when
// the campaign cannot be sent (it was paused with the reason).
func (l *lane) message(ctx context.Context, id int64) (*campaignMessage, error) {
	l.mu.Lock()
	m, ok := l.msgs[id]
	l.mu.Unlock()
	if ok {
		return m, nil
	}
	cm, err := l.e.store.CampaignMessageGet(ctx, id)
	if err != nil {
		return nil, err
	}
	m, err = prepareMessage(ctx, l.e.store, l.e.mgmt, l.ch, cm, l.log)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		l.halt(ctx, id, err.Error())
		m = nil
	}
	l.mu.Lock()
	l.msgs[id] = m
	l.mu.Unlock()
	return m, nil
}

// halt pauses a campaign whose every message would fail, and tells its admin.
func (l *lane) halt(ctx context.Context, id int64, reason string) {
	l.mu.Lock()
	already := l.halted[id]
	l.halted[id] = true
	l.mu.Unlock()
	if already {
		return
	}
	ctx = context.WithoutCancel(ctx)
	log := l.log.With().Int64("campaign_id", id).Logger()
	c, err := l.e.store.CampaignPause(ctx, id, 0, reason)
	if err != nil {
		if !errors.Is(err, store.ErrInvalidTransition) {
			log.Error().Err(err).Msg("pause campaign after Telegram refused its message")
		}
		return
	}
	log.Warn().Str("reason", reason).Msg("campaign paused: Telegram refuses its message")
	l.e.alertPaused(ctx, c, "delivery.alert.paused", reason)
}

func (l *lane) waitSettled(ctx context.Context, max time.Duration) {
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-l.settled:
	case <-t.C:
	case <-ctx.Done():
	}
}

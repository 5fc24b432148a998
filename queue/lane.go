package queue

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"herald/store"
)

// LaneArgs is the sender lane of one channel bot: the job that sends every running
// campaign of that bot, paced at its rate.
//
// Exclusivity: a lane only sends while it holds the channel's lease in the lanes table
// (renewed every LaneLease/3); the River job is unique per (channel, epoch) so starts,
// resumes and the keeper never pile up jobs. Time slicing: a lane runs for Slice, gives
// back its lease and returns river.JobSnooze(0), so any process may continue it. When
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
	if !e.lockLane(args.ChannelID) {
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
	if res.done {
		return nil
	}
	return river.JobSnooze(res.wait)
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

	running atomic.Pointer[map[int64]bool] // campaigns running at the last poll

	mu     sync.Mutex
	msgs   map[int64]*campaignMessage
	halted map[int64]bool // campaigns this lane paused (template refused)

	outstanding atomic.Int64 // claimed deliveries without a written outcome
	settled     chan struct{}
}

type sendTask struct {
	d    store.ClaimedDelivery
	msg  *campaignMessage
	slot *sendSlot // finished when the request is answered (see pacer)
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
				results <- l.sendOne(ctx, t)
			}
		}()
	}
	settleErr := make(chan error, 1)
	go func() { settleErr <- l.settleLoop(results) }() // owned: run reads settleErr

	res, dispatchErr := l.dispatch(ctx, until, tasks, results)
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

// dispatch claims deliveries and hands them to the senders at the channel's pace until
// the slice ends or nothing is left.
func (l *lane) dispatch(ctx context.Context, until time.Time, tasks chan<- sendTask, results chan<- store.DeliveryOutcome) (laneResult, error) {
	cfg := l.e.cfg
	limit, _ := l.e.paceFor(l.ch)
	// A chunk is about half a second of sending, so claims stay frequent enough to
	// keep the in-flight bound small and the pipeline full.
	chunk := max(cfg.MaxInFlight/2, 1)
	if limit != rate.Inf {
		chunk = min(max(int(float64(limit)/2), 1), chunk)
	}
	for {
		if ctx.Err() != nil || !l.mayStart() {
			return laneResult{wait: time.Second}, nil
		}
		if !time.Now().Before(until) || l.e.draining() {
			return laneResult{}, nil
		}
		if d := time.Until(l.pacer.until()); d > longPause {
			return laneResult{wait: d}, nil
		}
		ids := l.sendable()
		if len(ids) == 0 {
			return laneResult{done: true}, nil
		}
		if room := int64(cfg.MaxInFlight) - l.outstanding.Load(); room < int64(chunk) {
			l.waitSettled(ctx, 100*time.Millisecond)
			continue
		}
		per := (chunk + len(ids) - 1) / len(ids)
		// The lease covers the wait for the pacer of everything in flight, then the request.
		lease := cfg.DeliveryLease + time.Duration(float64(cfg.MaxInFlight)/float64(limit)*float64(time.Second))
		claimed, err := l.e.store.DeliveryClaim(ctx, ids, per, lease)
		if err != nil {
			return laneResult{}, err
		}
		if len(claimed) == 0 {
			if l.outstanding.Load() > 0 {
				l.waitSettled(ctx, 100*time.Millisecond)
				continue
			}
			next, anyPending, err := l.e.store.DeliveryNextDue(ctx, ids)
			if err != nil {
				return laneResult{}, err
			}
			if !anyPending {
				return laneResult{done: true}, nil
			}
			wait := time.Until(next)
			if wait <= 0 {
				wait = 50 * time.Millisecond // claimed by someone else meanwhile, or just due
			}
			if time.Now().Add(wait).After(until) {
				return laneResult{wait: min(wait, time.Minute)}, nil
			}
			l.sleep(ctx, wait)
			continue
		}
		l.outstanding.Add(int64(len(claimed)))
		for i, d := range claimed {
			msg, err := l.message(ctx, d.CampaignID)
			if err != nil {
				l.releaseAll(claimed[i:], results)
				return laneResult{}, err
			}
			if msg == nil || !l.isSendable(d.CampaignID) {
				results <- release(d)
				continue
			}
			if d := time.Until(l.pacer.until()); d > longPause {
				// A long 429 pause: give the rest back instead of holding it in flight
				// (its leases could run out and make it uncertain though unsent).
				l.releaseAll(claimed[i:], results)
				return laneResult{wait: d}, nil
			}
			slot, err := l.pacer.wait(ctx)
			if err != nil || !l.mayStart() || !l.isSendable(d.CampaignID) {
				// Stopped, lease lost or the campaign paused while we waited: give the
				// rest back unsent.
				slot.finish()
				if err == nil && !l.isSendable(d.CampaignID) {
					results <- release(d)
					continue
				}
				l.releaseAll(claimed[i:], results)
				return laneResult{wait: time.Second}, nil
			}
			select {
			case tasks <- sendTask{d: d, msg: msg, slot: slot}:
			case <-ctx.Done():
				slot.finish()
				l.releaseAll(claimed[i:], results)
				return laneResult{}, nil
			}
		}
	}
}

// longPause is the longest 429 pause a lane sits out holding claimed deliveries; a
// longer one ends the slice and the lane job snoozes through it.
const longPause = 2 * time.Second

func release(d store.ClaimedDelivery) store.DeliveryOutcome {
	return store.DeliveryOutcome{CampaignID: d.CampaignID, ChatID: d.ChatID, Status: store.DeliveryPending}
}

func (l *lane) releaseAll(ds []store.ClaimedDelivery, results chan<- store.DeliveryOutcome) {
	for _, d := range ds {
		results <- release(d)
	}
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
			l.log.Warn().Msg("lane lease lost; stopping")
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
	ids, err := l.e.store.CampaignsRunningOnChannel(ctx, l.ch.ID)
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

func (l *lane) sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// sendOne makes one request and turns its answer into an outcome.
func (l *lane) sendOne(ctx context.Context, t sendTask) store.DeliveryOutcome {
	defer t.slot.finish()
	d := t.d
	out := store.DeliveryOutcome{CampaignID: d.CampaignID, ChatID: d.ChatID}
	vars, err := decodeVars(d.Vars)
	if err != nil {
		out.Status, out.Error, out.CountAttempt = store.DeliveryFailed, "recipient variables: "+err.Error(), true
		return out
	}
	reqCtx, cancel := context.WithTimeout(ctx, l.e.cfg.RequestTimeout)
	msgID, err := l.send(reqCtx, t, vars)
	cancel()
	if err == nil {
		out.Status, out.MessageID, out.CountAttempt = store.DeliverySent, msgID, true
		return out
	}
	f := classifySendError(err)
	switch f.class {
	case classRateLimited:
		until := time.Now().Add(f.retryAfter)
		l.e.obs.RateLimited(l.ch.ID, f.retryAfter)
		if l.pacer.pause(until) {
			l.log.Warn().Dur("retry_after", f.retryAfter).Msg("429 from Telegram; lane waits")
			if err := l.e.store.ChannelSetRetryAfter(context.WithoutCancel(ctx), l.ch.ID, until); err != nil {
				l.log.Warn().Err(err).Msg("record retry_after")
			}
		}
		out.Status, out.NotBefore = store.DeliveryPending, until
	case classBlocked:
		out.Status, out.Error, out.Suppress, out.CountAttempt = store.DeliveryBlocked, f.reason, f.suppress, true
	case classUnreachable:
		out.Status, out.Error, out.CountAttempt = store.DeliveryFailed, f.reason, true
	case classTemplate:
		out.Status = store.DeliveryPending
		l.halt(ctx, d.CampaignID, f.reason)
	case classRetry:
		if ctx.Err() != nil {
			out.Status = store.DeliveryPending // stopped before the request left
			break
		}
		attempts := int(d.Attempts) + 1
		if attempts >= l.e.cfg.MaxAttempts {
			out.Status, out.Error, out.CountAttempt = store.DeliveryFailed, f.reason, true
			break
		}
		backoff := min(l.e.cfg.RetryBackoff<<(attempts-1), time.Minute)
		out.Status, out.Error, out.CountAttempt, out.NotBefore = store.DeliveryPending, f.reason, true, time.Now().Add(backoff)
	default:
		out.Status, out.Error, out.CountAttempt = store.DeliveryUncertain, f.reason, true
	}
	return out
}

// decodeVars reads a recipient's variables; values that are not strings are written
// as JSON has them.
func decodeVars(raw []byte) (map[string]string, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var vars map[string]string
	if err := json.Unmarshal(raw, &vars); err == nil {
		return vars, nil
	}
	var loose map[string]json.RawMessage
	if err := json.Unmarshal(raw, &loose); err != nil {
		return nil, err
	}
	vars = make(map[string]string, len(loose))
	for k, v := range loose {
		var s string
		if json.Unmarshal(v, &s) == nil {
			vars[k] = s
		} else if !bytes.Equal(v, []byte("null")) {
			vars[k] = string(v)
		}
	}
	return vars, nil
}

// settleLoop writes outcomes in batches: when 256 are waiting or every 25 ms.
func (l *lane) settleLoop(results <-chan store.DeliveryOutcome) error {
	const batchMax = 256
	batch := make([]store.DeliveryOutcome, 0, batchMax)
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	var firstErr error
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := l.settle(batch); err != nil && firstErr == nil {
			firstErr = err
		}
		l.outstanding.Add(-int64(len(batch)))
		batch = batch[:0]
		select {
		case l.settled <- struct{}{}:
		default:
		}
	}
	for {
		select {
		case o, ok := <-results:
			if !ok {
				flush()
				return firstErr
			}
			batch = append(batch, o)
			if len(batch) >= batchMax {
				flush()
			}
		case <-tick.C:
			flush()
		}
	}
}

// settle writes one batch. A database restart or failover takes seconds, and giving up
// sooner would turn sends Telegram confirmed into uncertain ones that an admin may then
// resend, so it retries with backoff for up to half the delivery lease (meanwhile the
// lane stalls, which is right: it could not claim work either). Outcomes still unwritten
// then stay in flight and become uncertain when their lease runs out, which is the truth
// as far as the database can know.
func (l *lane) settle(batch []store.DeliveryOutcome) error {
	giveUp := time.Now().Add(l.e.cfg.DeliveryLease / 2)
	wait := 200 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := l.e.store.DeliverySettle(ctx, l.ch.ID, batch)
		cancel()
		if err == nil {
			observeSettled(l.e.obs, l.ch.ID, batch)
			return nil
		}
		if time.Now().Add(wait).After(giveUp) {
			return fmt.Errorf("write %d delivery outcomes: %w", len(batch), err)
		}
		time.Sleep(wait)
		wait = min(2*wait, 2*time.Second)
	}
}

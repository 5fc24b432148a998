package queue

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"herald/store"
)

// Campaign operations (issue 17): editing, deleting, pinning or unpinning what a
// campaign already sent. They run inside the channel's sender lane, beside its
// deliveries: the lane holds the channel's lease, so the pacer they share is the only
// one acting for the bot, and an edit or a delete takes a slot of the bot's rate exactly
// like a send (Telegram's flood control counts them too). Items follow the deliveries'
// discipline (store.OperationClaim): reserved by a claim of about half a second of
// work, marked requested in small groups right before their requests leave, settled in
// batches; after a crash an item whose request may have left becomes uncertain and is
// never acted on again.

// opRunner is the operations half of one lane slice.
type opRunner struct {
	dispatchDone chan struct{}
	stop         atomic.Bool // dispatch failed: end the slice now
	result       chan laneResult
}

// startOperations runs the channel's operations until the slice ends or, once the
// deliveries' dispatch is over (join), until none is left.
func (l *lane) startOperations(ctx context.Context, until time.Time) *opRunner {
	r := &opRunner{dispatchDone: make(chan struct{}), result: make(chan laneResult, 1)}
	go func() { r.result <- l.operate(ctx, until, r) }() // owned: join waits for it
	return r
}

// join waits for the operations once dispatch returned res (or failed: then they stop
// at once), and merges both: the slice is done when both are, and waits as long as the
// longer wait.
func (r *opRunner) join(res laneResult, dispatchErr error) laneResult {
	r.stop.Store(dispatchErr != nil)
	close(r.dispatchDone)
	ops := <-r.result
	return laneResult{done: res.done && ops.done, wait: max(res.wait, ops.wait)}
}

// opTask is one item marked requested, ready for an operation sender.
type opTask struct {
	op   *preparedOp
	item store.ClaimedItem
	slot *sendSlot
}

// opLane is the state of the operations of one lane slice.
type opLane struct {
	l           *lane
	prepared    map[int64]*preparedOp
	shown       map[int64]time.Time // last progress update per operation
	outstanding atomic.Int64
	settled     chan struct{}
}

// opConcurrency bounds the concurrent requests of operations: they share the rate
// with sends, so they need fewer requests in the air.
func (l *lane) opConcurrency() int { return max(l.e.cfg.Concurrency/4, 1) }

func (l *lane) operate(ctx context.Context, until time.Time, r *opRunner) laneResult {
	o := &opLane{l: l, prepared: map[int64]*preparedOp{}, shown: map[int64]time.Time{}, settled: make(chan struct{}, 1)}
	tasks := make(chan opTask)
	results := make(chan store.ItemOutcome, l.e.cfg.MaxInFlight)
	var senders sync.WaitGroup
	for range l.opConcurrency() {
		senders.Add(1)
		go func() { // owned: operate waits on senders before closing results
			defer senders.Done()
			for t := range tasks {
				results <- o.act(ctx, t)
			}
		}()
	}
	settleDone := make(chan struct{})
	go func() { defer close(settleDone); o.settleLoop(results) }() // owned: operate waits for settleDone

	res := o.loop(ctx, until, r, tasks, results)
	close(tasks)
	senders.Wait()
	close(results)
	<-settleDone
	return res
}

func (o *opLane) loop(ctx context.Context, until time.Time, r *opRunner, tasks chan<- opTask, results chan<- store.ItemOutcome) laneResult {
	l := o.l
	dispatchDone := (<-chan struct{})(r.dispatchDone)
	poll := time.NewTicker(l.e.cfg.ControlPoll)
	defer poll.Stop()
	over := false // dispatch has ended: with no operation left, so does the slice
	for {
		if ctx.Err() != nil || !l.mayStart() {
			return laneResult{wait: time.Second}
		}
		if !time.Now().Before(until) || l.e.draining() || r.stop.Load() {
			return laneResult{}
		}
		if d := time.Until(l.pacer.until()); d > longPause {
			return laneResult{wait: d}
		}
		ops, err := l.e.store.OperationsRunningOnChannel(ctx, l.ch.ID)
		if err != nil && ctx.Err() == nil {
			l.log.Warn().Err(err).Msg("read running operations")
		}
		if !over {
			select {
			case <-dispatchDone:
				over = true
			default:
			}
		}
		if err == nil && len(ops) == 0 && over {
			return laneResult{done: true}
		}
		if over && len(l.sendable()) > 0 {
			// A campaign started or resumed while only operations were running: end
			// the slice so the next one dispatches its deliveries at once.
			return laneResult{}
		}
		worked := false
		for i := range ops {
			did, stop := o.step(ctx, &ops[i], tasks, results)
			if stop {
				return laneResult{wait: time.Second}
			}
			worked = worked || did
		}
		if !worked {
			select {
			case <-ctx.Done():
			case <-poll.C:
			case <-o.settled:
			case <-dispatchDone:
				over, dispatchDone = true, nil // closed: from now on the poll paces this loop
			}
		}
	}
}

// step claims and hands over one chunk of op's items; did is false when there was
// nothing to do now. stop means the slice must end (stopped, lease lost).
func (o *opLane) step(ctx context.Context, op *store.Operation, tasks chan<- opTask, results chan<- store.ItemOutcome) (did, stop bool) {
	l := o.l
	if int64(l.e.cfg.MaxInFlight)-o.outstanding.Load() < int64(l.chunkSize()) {
		return false, false
	}
	p := o.prepare(ctx, op)
	items, done, err := l.e.store.OperationClaim(ctx, *op, l.chunkSize(), l.claimLease())
	if err != nil {
		if ctx.Err() == nil {
			l.log.Warn().Err(err).Int64("operation_id", op.ID).Msg("claim operation items")
		}
		return false, ctx.Err() != nil
	}
	if done {
		o.finish(ctx, op)
		return false, false
	}
	defer o.progress(ctx, op)
	if len(items) == 0 {
		return false, false
	}
	o.outstanding.Add(int64(len(items)))
	g := l.markGroup()
	for start := 0; start < len(items); start += g {
		end := min(start+g, len(items))
		ready, err := o.markRequested(ctx, op.ID, items[start:end], results)
		if err != nil {
			l.log.Warn().Err(err).Int64("operation_id", op.ID).Msg("mark operation items requested")
			o.releaseItems(op.ID, items[end:], results, true)
			return true, false
		}
		for i, it := range ready {
			slot, err := l.pacer.waitAction(ctx)
			if err != nil || !l.mayStart() {
				slot.finish()
				o.releaseItems(op.ID, ready[i:], results, false)
				o.releaseItems(op.ID, items[end:], results, true)
				return true, true
			}
			select {
			case tasks <- opTask{op: p, item: it, slot: slot}:
			case <-ctx.Done():
				slot.finish()
				o.releaseItems(op.ID, ready[i:], results, false)
				o.releaseItems(op.ID, items[end:], results, true)
				return true, true
			}
		}
	}
	return true, false
}

// markRequested marks a group of claimed items requested and returns those it marked;
// the others are given back.
func (o *opLane) markRequested(ctx context.Context, opID int64, group []store.ClaimedItem, results chan<- store.ItemOutcome) ([]store.ClaimedItem, error) {
	ids := make([]int64, len(group))
	for i, it := range group {
		ids[i] = it.ChatID
	}
	marked, err := o.l.e.store.OperationMarkRequested(ctx, opID, ids, o.l.claimLease())
	if err != nil {
		o.releaseItems(opID, group, results, true)
		return nil, err
	}
	ok := make(map[int64]bool, len(marked))
	for _, id := range marked {
		ok[id] = true
	}
	ready := group[:0:0]
	for _, it := range group {
		if ok[it.ChatID] {
			ready = append(ready, it)
		} else {
			results <- store.ItemOutcome{OperationID: opID, ChatID: it.ChatID, Status: store.ItemPending, Release: true}
		}
	}
	return ready, nil
}

// releaseItems gives items back unsent: reserved ones (release) only while unmarked,
// marked ones in any case (this lane knows their requests did not leave).
func (o *opLane) releaseItems(opID int64, items []store.ClaimedItem, results chan<- store.ItemOutcome, release bool) {
	for _, it := range items {
		results <- store.ItemOutcome{OperationID: opID, ChatID: it.ChatID, Status: store.ItemPending, Release: release}
	}
}

// settleLoop writes outcomes in batches: when 256 are waiting or every 25 ms. A batch
// that cannot be written stays in flight and becomes uncertain (if requested) when
// its lease runs out, which is the truth as far as the database can know.
func (o *opLane) settleLoop(results <-chan store.ItemOutcome) {
	const batchMax = 256
	batch := make([]store.ItemOutcome, 0, batchMax)
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	flush := func() {
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), o.l.e.cfg.DeliveryLease/2)
		for attempt := 0; ; attempt++ {
			err := o.l.e.store.OperationSettle(ctx, batch)
			if err == nil {
				break
			}
			if !settleRetry.Sleep(ctx, attempt) {
				o.l.log.Error().Err(err).Int("items", len(batch)).Msg("write operation outcomes")
				break
			}
		}
		cancel()
		o.outstanding.Add(-int64(len(batch)))
		batch = batch[:0]
		select {
		case o.settled <- struct{}{}:
		default:
		}
	}
	for {
		select {
		case r, ok := <-results:
			if !ok {
				flush()
				return
			}
			batch = append(batch, r)
			if len(batch) >= batchMax {
				flush()
			}
		case <-tick.C:
			flush()
		}
	}
}

package queue

import (
	"context"
	"time"

	"golang.org/x/time/rate"

	"herald/backoff"
	"herald/store"
)

// A lane's deliveries go through three states in the database: reserved by a claim (a
// chunk of about half a second of sending, so claims stay rare), marked requested in
// small groups right before their requests leave, and settled in batches with their
// outcome. Only a requested delivery can become uncertain; a reserved one whose lane
// died goes back to pending. So after a crash the uncertain ones are at most the
// requests in the air (Concurrency), the group marked but not yet sent (markGroup)
// and the outcomes not yet written (settleLoop's last 25 ms), whatever the chunk size.

// sendTask is one delivery marked requested, ready for a sender.
type sendTask struct {
	d    store.ClaimedDelivery
	msg  *campaignMessage
	slot *sendSlot // finished when the request is answered (see pacer)
}

// dispatch claims deliveries and hands them to the senders at the channel's pace until
// the slice ends or nothing is left.
func (l *lane) dispatch(ctx context.Context, until time.Time, tasks chan<- sendTask, results chan<- store.DeliveryOutcome) (laneResult, error) {
	cfg := l.e.cfg
	chunk := l.chunkSize()
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
		claimed, err := l.e.store.DeliveryClaim(ctx, l.ch.ID, ids, per, l.claimLease())
		if err != nil {
			return laneResult{}, err
		}
		if len(claimed) == 0 {
			res, stop, err := l.nothingClaimed(ctx, ids, until)
			if stop || err != nil {
				return res, err
			}
			continue
		}
		l.outstanding.Add(int64(len(claimed)))
		if res, stop, err := l.feed(ctx, claimed, tasks, results); stop || err != nil {
			return res, err
		}
	}
}

// chunkSize is how many deliveries one claim reserves: about half a second of sending,
// within half the in-flight bound.
func (l *lane) chunkSize() int {
	limit, _ := l.e.paceFor(l.ch)
	chunk := max(l.e.cfg.MaxInFlight/2, 1)
	if limit != rate.Inf {
		chunk = min(max(int(float64(limit)/2), 1), chunk)
	}
	return chunk
}

// markGroup is how many reserved deliveries are marked requested at once: about 100 ms
// of sending, at most a quarter of the concurrent requests (16 by default: about 60
// statements a second at 1,000/s). One statement per group keeps the write rate low; a
// small group keeps what a crash can leave uncertain though never sent small.
func (l *lane) markGroup() int {
	limit, _ := l.e.paceFor(l.ch)
	most := max(l.e.cfg.Concurrency/4, 1)
	if limit == rate.Inf {
		return most
	}
	return min(max(int(float64(limit)/10), 1), most)
}

// claimLease covers the wait for the pacer of everything in flight, then the request.
func (l *lane) claimLease() time.Duration {
	limit, _ := l.e.paceFor(l.ch)
	if limit == rate.Inf {
		return l.e.cfg.DeliveryLease
	}
	return l.e.cfg.DeliveryLease + time.Duration(float64(l.e.cfg.MaxInFlight)/float64(limit)*float64(time.Second))
}

// nothingClaimed decides what a lane that claimed nothing does: wait for its
// outstanding outcomes or the next retry, or end the slice.
func (l *lane) nothingClaimed(ctx context.Context, ids []int64, until time.Time) (laneResult, bool, error) {
	if l.outstanding.Load() > 0 {
		l.waitSettled(ctx, 100*time.Millisecond)
		return laneResult{}, false, nil
	}
	next, anyPending, err := l.e.store.DeliveryNextDue(ctx, l.ch.ID, ids)
	if err != nil {
		return laneResult{}, true, err
	}
	if !anyPending {
		return laneResult{done: true}, true, nil
	}
	wait := time.Until(next)
	if wait <= 0 {
		wait = 50 * time.Millisecond // claimed by someone else meanwhile, or just due
	}
	if time.Now().Add(wait).After(until) {
		return laneResult{wait: min(wait, time.Minute)}, true, nil
	}
	backoff.Wait(ctx, wait)
	return laneResult{}, false, nil
}

// feed marks the claimed deliveries requested group by group and hands each to a
// sender when the pacer allows. When it stops early, every delivery it did not hand
// over is given back unsent.
func (l *lane) feed(ctx context.Context, claimed []store.ClaimedDelivery, tasks chan<- sendTask, results chan<- store.DeliveryOutcome) (laneResult, bool, error) {
	g := l.markGroup()
	for start := 0; start < len(claimed); start += g {
		end := min(start+g, len(claimed))
		if d := time.Until(l.pacer.until()); d > longPause {
			// A long 429 pause: give the rest back instead of holding it reserved.
			l.releaseAll(claimed[start:], results)
			return laneResult{wait: d}, true, nil
		}
		ready, err := l.markRequested(ctx, claimed[start:end], results)
		if err != nil {
			l.releaseAll(claimed[end:], results)
			return laneResult{}, true, err
		}
		for i, t := range ready {
			if res, stop := l.handToSender(ctx, t, tasks, results); stop {
				l.unsendAll(ready[i+1:], results)
				l.releaseAll(claimed[end:], results)
				return res, true, nil
			}
		}
	}
	return laneResult{}, false, nil
}

// markRequested marks the sendable deliveries of a group requested and returns them
// as tasks; the others are given back. On error the whole group is given back: a
// delivery the statement did mark then stays requested and becomes uncertain when its
// lease runs out, which is the truth as far as the database can know.
func (l *lane) markRequested(ctx context.Context, group []store.ClaimedDelivery, results chan<- store.DeliveryOutcome) ([]sendTask, error) {
	tasks := make([]sendTask, 0, len(group))
	keys := make([]store.DeliveryKey, 0, len(group))
	for i, d := range group {
		msg, err := l.message(ctx, d.CampaignID)
		if err != nil {
			l.releaseAll(group[i:], results)
			l.releaseTasks(tasks, results)
			return nil, err
		}
		if msg == nil || !l.isSendable(d.CampaignID) {
			results <- release(d)
			continue
		}
		tasks = append(tasks, sendTask{d: d, msg: msg})
		keys = append(keys, store.DeliveryKey{CampaignID: d.CampaignID, ChatID: d.ChatID})
	}
	if len(keys) == 0 {
		return nil, nil
	}
	limit, _ := l.e.paceFor(l.ch)
	lease := l.e.cfg.DeliveryLease
	if limit != rate.Inf {
		lease += time.Duration(float64(len(keys)) / float64(limit) * float64(time.Second))
	}
	marked, err := l.e.store.DeliveryMarkRequested(ctx, keys, lease)
	if err != nil {
		l.releaseTasks(tasks, results)
		return nil, err
	}
	ok := make(map[store.DeliveryKey]bool, len(marked))
	for _, k := range marked {
		ok[k] = true
	}
	out := tasks[:0]
	for _, t := range tasks {
		if ok[store.DeliveryKey{CampaignID: t.d.CampaignID, ChatID: t.d.ChatID}] {
			out = append(out, t)
		} else {
			results <- release(t.d) // paused, cancelled or no longer ours
		}
	}
	return out, nil
}

// handToSender waits for the pacer and gives t to a sender. stop means the lane must end
// its slice with res; t has then been given back.
func (l *lane) handToSender(ctx context.Context, t sendTask, tasks chan<- sendTask, results chan<- store.DeliveryOutcome) (laneResult, bool) {
	slot, err := l.pacer.wait(ctx)
	if err != nil || !l.mayStart() || !l.isSendable(t.d.CampaignID) {
		// Stopped, lease lost or the campaign paused while we waited.
		slot.finish()
		results <- unsend(t.d)
		if err == nil && l.mayStart() {
			return laneResult{}, false
		}
		return laneResult{wait: time.Second}, true
	}
	t.slot = slot
	select {
	case tasks <- t:
		return laneResult{}, false
	case <-ctx.Done():
		slot.finish()
		results <- unsend(t.d)
		return laneResult{}, true
	}
}

// longPause is the longest 429 pause a lane sits out holding claimed deliveries; a
// longer one ends the slice and the lane job snoozes through it.
const longPause = 2 * time.Second

// release gives back a reserved delivery (not marked requested).
func release(d store.ClaimedDelivery) store.DeliveryOutcome {
	return store.DeliveryOutcome{CampaignID: d.CampaignID, ChatID: d.ChatID, Status: store.DeliveryPending, Release: true}
}

// unsend gives back a delivery this lane marked requested but did not send.
func unsend(d store.ClaimedDelivery) store.DeliveryOutcome {
	return store.DeliveryOutcome{CampaignID: d.CampaignID, ChatID: d.ChatID, Status: store.DeliveryPending}
}

func (l *lane) releaseAll(ds []store.ClaimedDelivery, results chan<- store.DeliveryOutcome) {
	for _, d := range ds {
		results <- release(d)
	}
}

func (l *lane) releaseTasks(ts []sendTask, results chan<- store.DeliveryOutcome) {
	for _, t := range ts {
		results <- release(t.d)
	}
}

func (l *lane) unsendAll(ts []sendTask, results chan<- store.DeliveryOutcome) {
	for _, t := range ts {
		results <- unsend(t.d)
	}
}

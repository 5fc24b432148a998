package channelbot

import (
	"context"
	"sync/atomic"
	"time"

	"herald/backoff"
	"herald/store"
)

// submission is one poller's batch waiting for the writer; done gets the write's
// outcome.
type submission struct {
	batch store.IntakeBatch
	done  chan error
}

// writer commits the pollers' batches together (group commit). It takes whatever has
// gathered since the last write — at most maxRows rows, waiting at most gather for
// more when there are fewer — and writes it in one store.IntakeWrite: under load a
// write carries hundreds of updates of many bots; a lone update is written at once.
type writer struct {
	store   *store.Store
	in      chan submission
	gather  time.Duration
	maxRows int
	// recorded counts the rows committed (one per update that changed the audience):
	// what herald bench's intake scenario measures.
	recorded atomic.Int64
}

// Recorded is the number of audience events (one per update that concerns a
// subscriber or a chat) this Intake has committed since it was made.
func (in *Intake) Recorded() int64 { return in.w.recorded.Load() }

func newWriter(st *store.Store, gather time.Duration, maxRows int) *writer {
	return &writer{store: st, in: make(chan submission, 256), gather: gather, maxRows: maxRows}
}

// write hands b to the writer and waits until it is committed (nil) or not (the
// error); the caller confirms its updates to Telegram only after nil.
func (w *writer) write(ctx context.Context, b store.IntakeBatch) error {
	s := submission{batch: b, done: make(chan error, 1)}
	select {
	case w.in <- s:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-s.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run writes until ctx ends; a batch taken when ctx ends is answered with its error.
func (w *writer) run(ctx context.Context) {
	for {
		var first submission
		select {
		case first = <-w.in:
		case <-ctx.Done():
			return
		}
		group := w.collect(ctx, first)
		var b store.IntakeBatch
		for _, s := range group {
			b.Subscribers = append(b.Subscribers, s.batch.Subscribers...)
			b.Chats = append(b.Chats, s.batch.Chats...)
		}
		err := w.commit(ctx, b)
		if err == nil {
			w.recorded.Add(int64(rowsOf(b)))
		}
		for _, s := range group {
			s.done <- err
		}
	}
}

// collect takes what is already waiting after first, then waits up to gather for more
// while the group is under maxRows.
func (w *writer) collect(ctx context.Context, first submission) []submission {
	group := []submission{first}
	rows := rowsOf(first.batch)
	var deadline <-chan time.Time
	for rows < w.maxRows {
		select {
		case s := <-w.in:
			group = append(group, s)
			rows += rowsOf(s.batch)
			continue
		default:
		}
		if w.gather <= 0 {
			break
		}
		if deadline == nil {
			t := time.NewTimer(w.gather)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case s := <-w.in:
			group = append(group, s)
			rows += rowsOf(s.batch)
			continue
		case <-deadline:
		case <-ctx.Done():
		}
		break
	}
	return group
}

// commit writes b, retrying a failed write a few times (a failover, a dropped
// connection) before the pollers are told: they then ask Telegram for the same
// updates again.
func (w *writer) commit(ctx context.Context, b store.IntakeBatch) error {
	var err error
	for attempt := range 3 {
		if err = w.store.IntakeWrite(ctx, b); err == nil || ctx.Err() != nil {
			return err
		}
		if !writeRetry.Sleep(ctx, attempt) {
			return err
		}
	}
	return err
}

var writeRetry = backoff.Policy{Base: 100 * time.Millisecond, Max: time.Second}

func rowsOf(b store.IntakeBatch) int { return len(b.Subscribers) + len(b.Chats) }

package bot

import (
	"context"
	"sync"
	"time"

	"github.com/mymmrac/telego"
)

// chatBuffer bounds the updates waiting per chat; a full buffer makes the intake wait,
// which slows down only a chat that floods faster than it is served.
const chatBuffer = 64

// seenWindow is how many recent update ids are remembered to drop re-deliveries
// (Telegram re-posts a webhook update it thinks timed out; a poller that did not
// confirm an update gets it again).
const seenWindow = 10_000

// dispatcher runs updates of different chats concurrently and those of one chat
// strictly in order: each chat with work gets one goroutine, which exits as soon as
// its queue is empty. The dispatcher owns these goroutines; wait blocks until all of
// them are done.
type dispatcher struct {
	handle func(ctx context.Context, u telego.Update, takenAt time.Time)

	mu       sync.Mutex
	chats    map[int64]*chatQueue
	closed   bool         // no update is accepted
	stopping bool         // queued updates are skipped, not handled
	queued   map[int]bool // accepted, not started: not to be confirmed to Telegram
	skipped  []int        // skipped at shutdown, for the next start to fetch again
	started  int          // the highest update id started
	cutoff   int          // at shutdown: updates above it are skipped
	seen     seenIDs
	wg       sync.WaitGroup
}

type chatQueue struct {
	updates chan queued
	pending int // updates accepted but not yet handled; guarded by dispatcher.mu
}

// queued is an accepted update; done (buffered, may be nil) learns whether it was
// handled (true) or skipped at shutdown (false).
type queued struct {
	u    telego.Update
	at   time.Time // when the intake took it, for the intake-wait histogram
	done chan<- bool
	// now: the chat had nothing queued, so the update counts as started when
	// accepted (its goroutine is about to take it) and is handled even if a stop
	// comes first; the poller need not fetch it again meanwhile.
	now bool
}

// Outcomes of dispatch.
type dispatchResult int

const (
	refused   dispatchResult = iota // not accepted (shutting down, or ctx ended)
	accepted                        // queued behind the chat's earlier updates
	duplicate                       // seen recently: dropped, done says true
)

func newDispatcher(handle func(ctx context.Context, u telego.Update, takenAt time.Time)) *dispatcher {
	return &dispatcher{handle: handle, chats: map[int64]*chatQueue{}, queued: map[int]bool{},
		seen: newSeenIDs(seenWindow)}
}

// dispatch queues u behind the earlier updates of its chat. It waits while the chat's
// buffer is full, until ctx ends. workCtx is the context the handler runs with.
func (d *dispatcher) dispatch(ctx, workCtx context.Context, u telego.Update, done chan<- bool) dispatchResult {
	return d.enqueue(ctx, workCtx, u, done, true)
}

// enqueue is dispatch; check false: the update was already recorded by firstSeen.
func (d *dispatcher) enqueue(ctx, workCtx context.Context, u telego.Update, done chan<- bool, check bool) dispatchResult {
	chatID := updateChatID(u)
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return refused
	}
	if check && !d.seen.add(u.UpdateID) {
		d.mu.Unlock()
		if done != nil {
			done <- true
		}
		return duplicate
	}
	q := d.chats[chatID]
	if q == nil {
		q = &chatQueue{updates: make(chan queued, chatBuffer)}
		d.chats[chatID] = q
		d.wg.Add(1)
		go d.serve(workCtx, chatID, q)
	}
	now := q.pending == 0
	q.pending++
	if now {
		d.started = max(d.started, u.UpdateID)
	} else {
		d.queued[u.UpdateID] = true
	}
	d.mu.Unlock()
	select {
	case q.updates <- queued{u: u, at: time.Now(), done: done, now: now}:
		return accepted
	case <-ctx.Done():
		d.mu.Lock()
		q.pending--
		delete(d.queued, u.UpdateID)
		d.seen.remove(u.UpdateID) // not taken: a re-delivery must be handled
		d.mu.Unlock()
		// The goroutine exits on its own once pending reaches zero after its current
		// update; wake it in case it is idle-waiting on an empty channel.
		select {
		case q.updates <- queued{u: telego.Update{UpdateID: -1}}:
		default:
		}
		return refused
	}
}

func (d *dispatcher) serve(ctx context.Context, chatID int64, q *chatQueue) {
	defer d.wg.Done()
	for {
		item := <-q.updates
		if id := item.u.UpdateID; id >= 0 {
			d.mu.Lock()
			delete(d.queued, id)
			skip := d.stopping && id > d.cutoff && !item.now
			if skip {
				d.skipped = append(d.skipped, id)
			} else {
				d.started = max(d.started, id)
			}
			d.mu.Unlock()
			if !skip {
				d.handle(ctx, item.u, item.at)
			}
			if item.done != nil {
				item.done <- !skip
			}
		}
		d.mu.Lock()
		if item.u.UpdateID >= 0 {
			q.pending--
		}
		if q.pending <= 0 && len(q.updates) == 0 {
			delete(d.chats, chatID)
			d.mu.Unlock()
			return
		}
		d.mu.Unlock()
	}
}

// firstSeen records id for an update that does not go through dispatch: refused
// when the dispatcher is closed, duplicate when id was seen recently.
func (d *dispatcher) firstSeen(id int) dispatchResult {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.closed:
		return refused
	case !d.seen.add(id):
		return duplicate
	}
	return accepted
}

// lowestUnstarted is the smallest update id accepted but not yet started or skipped,
// the offset a poller must not confirm past.
func (d *dispatcher) lowestUnstarted() (int, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	low, ok := 0, false
	for id := range d.queued {
		if !ok || id < low {
			low, ok = id, true
		}
	}
	for _, id := range d.skipped {
		if !ok || id < low {
			low, ok = id, true
		}
	}
	return low, ok
}

// stop refuses further updates and skips the queued ones that no started update
// follows: those are left for the next start (unconfirmed, or answered non-2xx), so
// that they are neither lost nor answered with an error at shutdown. Queued updates
// older than one already started are still handled: Telegram confirms by offset, so
// the next start can only be given a suffix of the updates again. Running handlers
// go on.
func (d *dispatcher) stop() {
	d.mu.Lock()
	d.closed = true
	d.stopping = true
	d.cutoff = d.started
	d.mu.Unlock()
}

// wait blocks until every chat's goroutine has returned.
func (d *dispatcher) wait() { d.wg.Wait() }

// seenIDs remembers the last n update ids (a ring plus a set).
type seenIDs struct {
	ring []int
	next int
	set  map[int]bool
}

func newSeenIDs(n int) seenIDs { return seenIDs{ring: make([]int, 0, n), set: map[int]bool{}} }

// add records id; it reports false when id is already remembered.
func (s *seenIDs) add(id int) bool {
	if s.set[id] {
		return false
	}
	if len(s.ring) < cap(s.ring) {
		s.ring = append(s.ring, id)
	} else {
		delete(s.set, s.ring[s.next])
		s.ring[s.next] = id
		s.next = (s.next + 1) % len(s.ring)
	}
	s.set[id] = true
	return true
}

// remove forgets id (its slot in the ring stays until overwritten; harmless).
func (s *seenIDs) remove(id int) { delete(s.set, id) }

// updateChatID is the chat an update belongs to, the key of its ordering.
func updateChatID(u telego.Update) int64 {
	switch {
	case u.Message != nil:
		return u.Message.Chat.ID
	case u.CallbackQuery != nil:
		if u.CallbackQuery.Message != nil {
			return u.CallbackQuery.Message.GetChat().ID
		}
		return u.CallbackQuery.From.ID
	case u.EditedMessage != nil:
		return u.EditedMessage.Chat.ID
	case u.MyChatMember != nil:
		return u.MyChatMember.Chat.ID
	}
	return 0
}

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

// dispatcher runs updates of different chats concurrently and those of one chat
// strictly in order: each chat with work gets one goroutine, which exits as soon as
// its queue is empty. The dispatcher owns these goroutines; wait blocks until all of
// them are done.
type dispatcher struct {
	handle func(ctx context.Context, u telego.Update, takenAt time.Time)

	mu     sync.Mutex
	chats  map[int64]*chatQueue
	closed bool
	wg     sync.WaitGroup
}

type chatQueue struct {
	updates chan takenUpdate
	pending int // updates accepted but not yet handled; guarded by dispatcher.mu
}

// takenUpdate is an update with the moment the intake took it, for the intake-wait
// histogram.
type takenUpdate struct {
	telego.Update
	at time.Time
}

func newDispatcher(handle func(ctx context.Context, u telego.Update, takenAt time.Time)) *dispatcher {
	return &dispatcher{handle: handle, chats: map[int64]*chatQueue{}}
}

// dispatch queues u behind the earlier updates of its chat. It waits while the chat's
// buffer is full, until ctx ends; it returns false when the update was not accepted.
// workCtx is the context the handler runs with.
func (d *dispatcher) dispatch(ctx, workCtx context.Context, u telego.Update) bool {
	chatID := updateChatID(u)
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return false
	}
	q := d.chats[chatID]
	if q == nil {
		q = &chatQueue{updates: make(chan takenUpdate, chatBuffer)}
		d.chats[chatID] = q
		d.wg.Add(1)
		go d.serve(workCtx, chatID, q)
	}
	q.pending++
	d.mu.Unlock()
	select {
	case q.updates <- takenUpdate{Update: u, at: time.Now()}:
		return true
	case <-ctx.Done():
		d.mu.Lock()
		q.pending--
		d.mu.Unlock()
		// The goroutine exits on its own once pending reaches zero after its current
		// update; wake it in case it is idle-waiting on an empty channel.
		select {
		case q.updates <- takenUpdate{Update: telego.Update{UpdateID: -1}}:
		default:
		}
		return false
	}
}

func (d *dispatcher) serve(ctx context.Context, chatID int64, q *chatQueue) {
	defer d.wg.Done()
	for {
		u := <-q.updates
		if u.UpdateID >= 0 {
			d.handle(ctx, u.Update, u.at)
		}
		d.mu.Lock()
		if u.UpdateID >= 0 {
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

// close refuses further updates and waits for the queued ones to be handled.
func (d *dispatcher) close() {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	d.wg.Wait()
}

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

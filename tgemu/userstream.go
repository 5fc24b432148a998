package tgemu

import (
	"context"
	"reflect"
	"slices"
	"time"

	"github.com/mymmrac/telego"
)

// This file is the user side as a Telegram client app sees it: a live view of a user's
// private chats (new messages, edits, deletions), files to display or download, sends
// with formatted captions, and counters cheap enough to poll. Herald's sandbox web chat
// is built on it and on nothing else.

// Chat event kinds.
const (
	EventMessage = "message" // a new message (from the user or the bot)
	EventEdit    = "edit"    // a message's text, caption, entities or keyboard changed
	EventDelete  = "delete"  // a message was deleted
)

// ChatEvent is one change in a user's private chat with a bot.
type ChatEvent struct {
	Kind    string
	BotID   int64 // the bot on the other side of the chat
	FromBot bool
	Message telego.Message // current version (for EventDelete: the last one)
}

// ChatWatch follows a user's private chats with some bots. It holds no goroutine:
// Next waits on the chats themselves.
type ChatWatch struct {
	chats []*watchedChat
	srv   *Server
}

type watchedChat struct {
	b    *bot
	c    *chat
	seen []watchedMsg // by message index
}

// watchedMsg is what the watcher last reported about a message. Every edit appends to
// the message's history, so the history length tells edits apart.
type watchedMsg struct {
	edits   int
	deleted bool
}

// WatchChats starts following the user's private chats with the bots whose tokens are
// given. The first Next returns every message already there.
func (u *User) WatchChats(tokens ...string) *ChatWatch {
	w := &ChatWatch{srv: u.srv}
	for _, tok := range tokens {
		b := u.srv.mustBot(tok)
		w.chats = append(w.chats, &watchedChat{b: b, c: b.privateChat(u.ID, true)})
	}
	return w
}

// Next returns the changes since the previous call, waiting until there is at least
// one or ctx is done (then it returns ctx's error).
func (w *ChatWatch) Next(ctx context.Context) ([]ChatEvent, error) {
	for {
		var events []ChatEvent
		cases := make([]reflect.SelectCase, 0, len(w.chats)+1)
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())})
		for _, wc := range w.chats {
			wc.c.mu.Lock()
			events = wc.diff(events)
			cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(wc.c.waitChan())})
			wc.c.mu.Unlock()
		}
		if len(events) > 0 {
			return events, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// A handful of chats: a reflective select is simpler than a goroutine per chat.
		if chosen, _, _ := reflect.Select(cases); chosen == 0 {
			return nil, ctx.Err()
		}
	}
}

// diff appends what changed since the last look. Caller holds wc.c.mu.
func (wc *watchedChat) diff(events []ChatEvent) []ChatEvent {
	for i, m := range wc.c.msgs {
		now := watchedMsg{edits: len(m.history), deleted: m.deleted}
		ev := ChatEvent{BotID: wc.b.id, FromBot: m.from == nil}
		switch {
		case i >= len(wc.seen):
			wc.seen = append(wc.seen, now)
			if m.deleted {
				continue // came and went between two looks
			}
			ev.Kind = EventMessage
		case wc.seen[i] == now:
			continue
		case m.deleted:
			ev.Kind = EventDelete
		default:
			ev.Kind = EventEdit
		}
		wc.seen[i] = now
		ev.Message = wc.c.render(m)
		events = append(events, ev)
	}
	return events
}

// FileInfo is a stored file as a client would download it.
type FileInfo struct {
	Name, MIME string
	Photo      bool
	Data       []byte
}

// File returns the file with fileID, whichever bot's it is (file_ids are random and
// unguessable, so knowing one is the permission a client has).
func (s *Server) File(fileID string) (FileInfo, bool) {
	s.filesMu.RLock()
	f := s.files[fileID]
	s.filesMu.RUnlock()
	if f == nil {
		return FileInfo{}, false
	}
	return FileInfo{Name: f.name, MIME: f.mime, Photo: f.kind == kindPhoto, Data: f.data}, true
}

// SendMedia sends a photo (photo true) or a document with a formatted caption, as a
// client does when the user attaches a file and types a caption with formatting.
func (u *User) SendMedia(token string, photo bool, name, mimeType string, data []byte, caption string, entities []telego.MessageEntity) (telego.Message, error) {
	kind, n, mt := kindDocument, name, mimeType
	if photo {
		kind, n, mt = kindPhoto, "", ""
	}
	f := u.srv.newFile(nil, kind, n, mt, data)
	return u.post(token, &msg{text: caption, entities: slices.Clone(entities), media: &media{f: f}})
}

// Counters are a bot's delivery figures, cheap enough to read several times a second.
type Counters struct {
	Sent            int64 // accepted sends
	TooManyRequests int64 // 429 answers
	MaxPerSecond    int   // most accepted sends, edits, deletes and pins in any sliding second
	LastSecond      int   // accepted sends in the last second
	Rate, PaidRate  int   // the limits now in force
}

// BotCounters returns the bot's counters (Stats without the per-chat walk and the
// series copy).
func (s *Server) BotCounters(token string) Counters {
	b := s.mustBot(token)
	b.lim.mu.Lock()
	defer b.lim.mu.Unlock()
	c := Counters{Sent: b.lim.sent, MaxPerSecond: b.lim.maxWindow, Rate: b.lim.rate, PaidRate: b.lim.paid,
		TooManyRequests: b.lim.tooMany.Load()}
	from := s.since(time.Now()) - second
	for i := len(b.lim.series) - 1; i >= 0 && b.lim.series[i] > from; i-- {
		c.LastSecond++
	}
	return c
}

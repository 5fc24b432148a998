package tgemu

import (
	"net/http"
	"slices"
	"time"

	"github.com/mymmrac/telego"
)

// Acting on messages already sent: Telegram lets a bot edit its own messages
// without a time limit, delete them for everyone within 48 hours, and pin them.
// Each such call counts against the bot's flood control like a send.

// deleteWindow is how long after sending a bot may delete its message.
const deleteWindow = 48 * time.Hour

// Pin is one pinned message of a chat as the emulator keeps it.
type Pin struct {
	MessageID int
	// Silent: pinned with disable_notification (members were not notified).
	Silent bool
	// By is the id of the bot that pinned it.
	By int64
}

// admitAction applies the bot's flood control to a non-send call: every call that
// reaches a chat counts, whatever its answer.
func (b *bot) admitAction() *apiError {
	b.lim.mu.Lock()
	defer b.lim.mu.Unlock()
	at := b.srv.since(time.Now())
	ok, retry := b.lim.check(at, false)
	if !ok {
		return tooMany(retry)
	}
	b.lim.window = append(b.lim.window, at)
	if n := len(b.lim.window) - b.lim.head; n > b.lim.maxWindow {
		b.lim.maxWindow = n
	}
	return nil
}

// onMessageChat runs act on the chat ref names, with the chat locked, after the checks
// every call on a message already sent passes in this order: the chat exists for the
// bot, the call is within the bot's flood control (it counts whatever its answer),
// and, when mustPost, the bot may still post there (a member, allowed to write).
func (b *bot) onMessageChat(ref chatRef, mustPost bool, act func(c *chat) (any, *apiError)) (any, *apiError) {
	c, aerr := b.target(ref)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := b.admitAction(); aerr != nil {
		return nil, aerr
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if mustPost {
		if aerr := b.canPost(c); aerr != nil {
			return nil, aerr
		}
	}
	return act(c)
}

// count adds one to a counter of b.lim.
func (b *bot) count(counter *int64) {
	b.lim.mu.Lock()
	*counter++
	b.lim.mu.Unlock()
}

func (b *bot) deleteMessage(_ *http.Request, p *params) (any, *apiError) {
	return b.onMessageChat(p.ChatID, false, func(c *chat) (any, *apiError) {
		m := c.get(p.MessageID)
		if m == nil {
			return nil, badRequest("message to delete not found")
		}
		if c.typ != ChatPrivate && m.bot != b {
			return nil, badRequest("message can't be deleted")
		}
		if b.srv.unixNow()-m.date >= int64(deleteWindow/time.Second) {
			return nil, badRequest("message can't be deleted for everyone")
		}
		m.deleted = true
		c.unpin(m.id)
		c.wake()
		b.count(&b.lim.deleted)
		return true, nil
	})
}

func (b *bot) pinChatMessage(_ *http.Request, p *params) (any, *apiError) {
	return b.onMessageChat(p.ChatID, true, func(c *chat) (any, *apiError) {
		if c.get(p.MessageID) == nil {
			return nil, badRequest("message to pin not found")
		}
		c.unpin(p.MessageID) // pinning again moves it to the top
		c.pins = append(c.pins, Pin{MessageID: p.MessageID, Silent: p.DisableNotification, By: b.id})
		b.count(&b.lim.pinned)
		return true, nil
	})
}

// unpinChatMessage unpins message_id, or the most recent pin without one. As in
// Telegram, unpinning a message that is not pinned is not an error.
func (b *bot) unpinChatMessage(_ *http.Request, p *params) (any, *apiError) {
	return b.onMessageChat(p.ChatID, true, func(c *chat) (any, *apiError) {
		switch {
		case p.MessageID != 0:
			if c.get(p.MessageID) == nil {
				return nil, badRequest("message to unpin not found")
			}
			c.unpin(p.MessageID)
		case len(c.pins) > 0:
			c.pins = c.pins[:len(c.pins)-1]
		}
		b.count(&b.lim.pinned)
		return true, nil
	})
}

// unpin drops id from the pinned messages. Caller holds c.mu.
func (c *chat) unpin(id int) {
	c.pins = slices.DeleteFunc(c.pins, func(p Pin) bool { return p.MessageID == id })
}

// lastPinned is the most recently pinned message still there. Caller holds c.mu.
func (c *chat) lastPinned() *msg {
	for i := len(c.pins) - 1; i >= 0; i-- {
		if m := c.get(c.pins[i].MessageID); m != nil {
			return m
		}
	}
	return nil
}

// Pinned returns the chat's pinned messages, oldest pin first. chatID is a user
// id for a private chat with the bot or a group id.
func (s *Server) Pinned(token string, chatID int64) []Pin {
	c := s.chatFor(s.mustBot(token), chatID)
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.pins)
}

type editKind uint8

const (
	editText editKind = iota
	editCaption
	editMarkup
)

func (b *bot) edit(p *params, kind editKind) (any, *apiError) {
	if p.InlineMessageID != "" {
		return nil, badRequest("inline messages are not emulated")
	}
	var text string
	var ents []telego.MessageEntity
	var aerr *apiError
	switch kind {
	case editText:
		if p.Text == "" {
			return nil, badRequest("message text is empty")
		}
		if text, ents, aerr = formatText(p.Text, p.ParseMode, p.Entities); aerr != nil {
			return nil, aerr
		}
		if text == "" {
			return nil, badRequest("message text is empty")
		}
		if utf16Len(text) > maxTextLen {
			return nil, badRequest("message is too long")
		}
	case editCaption:
		if text, ents, aerr = formatCaption(p); aerr != nil {
			return nil, aerr
		}
	}
	markup, aerr := parseMarkup(p.ReplyMarkup)
	if aerr != nil {
		return nil, aerr
	}
	return b.onMessageChat(p.ChatID, true, func(c *chat) (any, *apiError) {
		m := c.get(p.MessageID)
		if m == nil {
			return nil, badRequest("message to edit not found")
		}
		if m.bot != b {
			return nil, badRequest("message can't be edited")
		}
		switch kind {
		case editText:
			if m.media != nil {
				return nil, badRequest("there is no text in the message to edit")
			}
		case editCaption:
			if m.media == nil {
				return nil, badRequest("there is no caption in the message to edit")
			}
		case editMarkup:
			text, ents = m.text, m.entities
		}
		if text == m.text && entitiesEqual(ents, m.entities) && markupEqual(markup, m.markup) {
			return nil, badRequest("message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
		}
		m.history = append(m.history, version{text: m.text, entities: m.entities, markup: m.markup, editDate: m.editDate})
		m.text, m.entities, m.markup = text, ents, markup
		m.editDate = b.srv.unixNow()
		c.wake()
		b.count(&b.lim.edited)
		return c.render(m), nil
	})
}

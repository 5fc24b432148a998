package tgemu

import (
	"slices"
	"sync"
	"time"

	"github.com/mymmrac/telego"
)

// Chat types as Telegram names them.
const (
	ChatPrivate    = "private"
	ChatGroup      = "group"
	ChatSupergroup = "supergroup"
	ChatChannel    = "channel"
)

type memberStatus uint8

const (
	statusNone   memberStatus = iota // never started the bot / bot not in group
	statusMember                     // started (private) or added (group)
	statusKicked                     // blocked the bot
)

// chat is one conversation. A private chat belongs to one (bot, user) pair
// and lives in that bot's shard; a group is shared by all its bots.
type chat struct {
	mu       sync.Mutex
	id       int64
	typ      string
	title    string
	username string
	user     *User // private chats

	status  memberStatus // private chats: the user's relation to the bot
	msgs    []*msg       // msgs[i].id == i+1
	botSent int          // private chats: accepted sends (Stats.PerChat)
	pins    []Pin        // pinned messages, oldest pin first

	// private-chat token bucket
	tokens   float64
	tokensAt int64

	members   map[int64]*User
	groupBots map[int64]*groupBot // groups: per-bot membership and limits

	cursor int           // WaitBotMessage: index of the next unread message
	notify chan struct{} // made by a waiter, closed when the bot adds or edits a message
}

type groupBot struct {
	b     *bot
	admin bool // an administrator there (AddAdmin), not a plain member
	// canPost: in a channel, the administrator right to post (can_post_messages).
	canPost bool
	window  []int64 // sends in the last minute
	sent    int
}

// msg is the compact stored form of a message; it is rendered into a
// telego.Message only when someone asks for it.
type msg struct {
	id       int
	date     int64
	at       int64 // Unix nanoseconds when the emulator stored it (StartReplyLatencies)
	from     *User // nil when sent by a bot
	bot      *bot  // sender when from == nil
	text     string
	entities []telego.MessageEntity // text or caption entities
	media    *media
	contact  *telego.Contact
	fwd      *User
	fwdDate  int64
	origin   telego.MessageOrigin // a post forwarded from a channel or chat (fwd is nil)
	groupID  string               // media_group_id of an album's item
	markup   *telego.InlineKeyboardMarkup
	editDate int64
	history  []version
	deleted  bool
}

type version struct {
	text     string
	entities []telego.MessageEntity
	markup   *telego.InlineKeyboardMarkup
	editDate int64
}

func newChat(id int64, typ string) *chat {
	return &chat{id: id, typ: typ}
}

// wake tells WaitBotMessage callers something changed. Caller holds c.mu.
// The channel exists only while someone waits, so sends allocate nothing.
func (c *chat) wake() {
	if c.notify != nil {
		close(c.notify)
		c.notify = nil
	}
}

// waitChan returns the channel wake will close. Caller holds c.mu.
func (c *chat) waitChan() chan struct{} {
	if c.notify == nil {
		c.notify = make(chan struct{})
	}
	return c.notify
}

func (c *chat) get(id int) *msg {
	if id < 1 || id > len(c.msgs) || c.msgs[id-1].deleted {
		return nil
	}
	return c.msgs[id-1]
}

func (c *chat) add(m *msg) *msg {
	m.id = len(c.msgs) + 1
	m.at = time.Now().UnixNano()
	c.msgs = append(c.msgs, m)
	return m
}

func (c *chat) tgChat() telego.Chat {
	ch := telego.Chat{ID: c.id, Type: c.typ, Title: c.title, Username: c.username}
	if c.user != nil {
		ch.FirstName, ch.LastName, ch.Username = c.user.FirstName, c.user.LastName, c.user.Username
	}
	return ch
}

// render builds the wire form of m. Caller holds c.mu.
func (c *chat) render(m *msg) telego.Message {
	tm := telego.Message{MessageID: m.id, Date: m.date, Chat: c.tgChat(), EditDate: m.editDate}
	if m.from != nil {
		u := m.from.tg()
		tm.From = &u
	} else if m.bot != nil {
		u := m.bot.tgUser()
		tm.From = &u
	}
	ents := slices.Clone(m.entities)
	if m.media != nil {
		tm.Caption, tm.CaptionEntities = m.text, ents
		m.media.render(&tm)
	} else {
		tm.Text, tm.Entities = m.text, ents
	}
	if m.contact != nil {
		cc := *m.contact
		tm.Contact = &cc
	}
	if m.fwd != nil {
		tm.ForwardOrigin = &telego.MessageOriginUser{Type: telego.OriginTypeUser, Date: m.fwdDate, SenderUser: m.fwd.tg()}
	}
	if m.origin != nil {
		tm.ForwardOrigin = m.origin
	}
	tm.MediaGroupID = m.groupID
	if m.markup != nil {
		mk := *m.markup
		tm.ReplyMarkup = &mk
	}
	return tm
}

// Entry is one message of a transcript.
type Entry struct {
	Message telego.Message // current version; EditDate set if edited
	History []Version      // earlier versions, oldest first
	Deleted bool
	FromBot bool
}

// Version is a superseded state of an edited message.
type Version struct {
	Text        string // text or caption
	Entities    []telego.MessageEntity
	ReplyMarkup *telego.InlineKeyboardMarkup
	EditDate    int64 // 0 for the original
}

func (c *chat) entry(m *msg) Entry {
	e := Entry{Message: c.render(m), Deleted: m.deleted, FromBot: m.from == nil}
	for _, v := range m.history {
		e.History = append(e.History, Version{Text: v.text, Entities: v.entities, ReplyMarkup: v.markup, EditDate: v.editDate})
	}
	return e
}

// privateChat finds the chat between b and the user with id, creating it
// if the user exists. It returns nil if there is no such user.
func (b *bot) privateChat(id int64, create bool) *chat {
	sh := &b.shards[uint64(id)%chatShards]
	sh.mu.Lock()
	c := sh.chats[id]
	sh.mu.Unlock()
	if c != nil || !create {
		return c
	}
	u := b.srv.user(id)
	if u == nil {
		return nil
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if c = sh.chats[id]; c == nil {
		c = newChat(id, ChatPrivate)
		c.user = u
		c.tokens = float64(b.srv.cfg.PerChatBurst)
		sh.chats[id] = c
	}
	return c
}

// Transcript returns every message of a chat as the bot sees it, including
// deleted ones (flagged) and the history of edits. chatID is a user id for
// private chats or a group id.
func (s *Server) Transcript(token string, chatID int64) []Entry {
	b := s.mustBot(token)
	c := s.chatFor(b, chatID)
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Entry, 0, len(c.msgs))
	for _, m := range c.msgs {
		out = append(out, c.entry(m))
	}
	return out
}

func (s *Server) chatFor(b *bot, chatID int64) *chat {
	if chatID > 0 {
		return b.privateChat(chatID, false)
	}
	return s.group(chatID)
}

func (s *Server) group(id int64) *chat {
	s.groupsMu.RLock()
	defer s.groupsMu.RUnlock()
	return s.groups[id]
}

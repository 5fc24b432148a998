package tgemu

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mymmrac/telego"
)

// Errors of the user-side API: what a Telegram client would not let the
// user do.
var (
	ErrNotStarted   = errors.New("tgemu: user has not started the bot")
	ErrBlocked      = errors.New("tgemu: user has blocked the bot")
	ErrDeactivated  = errors.New("tgemu: user is deactivated")
	ErrNoMessage    = errors.New("tgemu: no such message")
	ErrNoButton     = errors.New("tgemu: the message has no such callback button")
	ErrNotMember    = errors.New("tgemu: user is not a member of the group")
	ErrUnknownGroup = errors.New("tgemu: no such group")
)

// UserSpec describes a user to create.
type UserSpec struct {
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name"`
	Username     string `json:"username"`
	LanguageCode string `json:"language_code"`
	Deactivated  bool   `json:"deactivated"`
}

// User is an emulated Telegram user. Its id is also its private chat id.
type User struct {
	ID                                          int64
	FirstName, LastName, Username, LanguageCode string

	srv         *Server
	deactivated atomic.Bool
}

func (u *User) tg() telego.User {
	return telego.User{ID: u.ID, FirstName: u.FirstName, LastName: u.LastName, Username: u.Username, LanguageCode: u.LanguageCode}
}

// TG returns the user as Telegram describes it.
func (u *User) TG() telego.User { return u.tg() }

// CreateUser adds a user.
func (s *Server) CreateUser(spec UserSpec) *User {
	return s.CreateUsers(1, spec)[0]
}

// CreateUsers adds n users in one step (cheap enough for 100k). Empty
// FirstName becomes "User <id>".
func (s *Server) CreateUsers(n int, spec UserSpec) []*User {
	block := make([]User, n)
	out := make([]*User, n)
	last := s.nextUser.Add(int64(n))
	s.usersMu.Lock()
	defer s.usersMu.Unlock()
	for i := range block {
		u := &block[i]
		u.ID = last - int64(n) + int64(i) + 1
		u.FirstName, u.LastName, u.Username, u.LanguageCode = spec.FirstName, spec.LastName, spec.Username, spec.LanguageCode
		if u.FirstName == "" {
			u.FirstName = "User " + strconv.FormatInt(u.ID, 10)
		}
		if n > 1 && u.Username != "" {
			u.Username += strconv.Itoa(i + 1)
		}
		u.srv = s
		u.deactivated.Store(spec.Deactivated)
		s.users[u.ID] = u
		out[i] = u
	}
	return out
}

// User finds a user by id (nil if none).
func (s *Server) User(id int64) *User { return s.user(id) }

func (s *Server) user(id int64) *User {
	s.usersMu.RLock()
	defer s.usersMu.RUnlock()
	return s.users[id]
}

// SetStarted marks users as having started the bot without producing any
// update: bulk set-up for benchmarks and delivery tests.
func (s *Server) SetStarted(token string, users ...*User) {
	b := s.mustBot(token)
	for _, u := range users {
		c := b.privateChat(u.ID, true)
		c.mu.Lock()
		c.status = statusMember
		c.mu.Unlock()
	}
}

// Deactivate deletes the user's account: bots get 403 "user is deactivated".
func (u *User) Deactivate() { u.deactivated.Store(true) }

func memberAs(status memberStatus, bu telego.User) telego.ChatMember {
	switch status {
	case statusMember:
		return &telego.ChatMemberMember{Status: telego.MemberStatusMember, User: bu}
	case statusKicked:
		return &telego.ChatMemberBanned{Status: telego.MemberStatusBanned, User: bu}
	}
	return &telego.ChatMemberLeft{Status: telego.MemberStatusLeft, User: bu}
}

// setStatus changes the user's relation to the bot and emits my_chat_member.
// Caller holds c.mu.
func (u *User) setStatus(b *bot, c *chat, to memberStatus) {
	from := c.status
	if from == to {
		return
	}
	c.status = to
	b.enqueue("my_chat_member", telego.Update{MyChatMember: &telego.ChatMemberUpdated{
		Chat: c.tgChat(), From: u.tg(), Date: u.srv.unixNow(),
		OldChatMember: memberAs(from, b.tgUser()), NewChatMember: memberAs(to, b.tgUser()),
	}})
}

// Start presses "Start" (or "Restart" after a block): my_chat_member if the
// status changes, then a "/start" message.
func (u *User) Start(token string) (telego.Message, error) {
	return u.StartWithPayload(token, "")
}

// StartWithPayload is Start from a t.me/<bot>?start=<payload> link.
func (u *User) StartWithPayload(token, payload string) (telego.Message, error) {
	if u.deactivated.Load() {
		return telego.Message{}, ErrDeactivated
	}
	b := u.srv.mustBot(token)
	c := b.privateChat(u.ID, true)
	c.mu.Lock()
	defer c.mu.Unlock()
	u.setStatus(b, c, statusMember)
	text := "/start"
	if payload != "" {
		text += " " + payload
	}
	return u.postLocked(b, c, &msg{text: text, entities: []telego.MessageEntity{{Type: "bot_command", Offset: 0, Length: 6}}}), nil
}

// Block blocks the bot (my_chat_member: member -> kicked).
func (u *User) Block(token string) { u.changeStatus(token, statusKicked) }

// Unblock unblocks the bot (my_chat_member: kicked -> member).
func (u *User) Unblock(token string) { u.changeStatus(token, statusMember) }

func (u *User) changeStatus(token string, to memberStatus) {
	b := u.srv.mustBot(token)
	c := b.privateChat(u.ID, true)
	c.mu.Lock()
	defer c.mu.Unlock()
	if to == statusMember && c.status == statusNone {
		return // unblocking a bot never started does not start it
	}
	u.setStatus(b, c, to)
}

// postLocked stores a user message and emits its update. Caller holds c.mu,
// which keeps updates of one chat in order.
func (u *User) postLocked(b *bot, c *chat, m *msg) telego.Message {
	m.from = u
	m.date = u.srv.unixNow()
	c.add(m)
	c.wake() // ChatWatch shows the user's own messages too
	tm := c.render(m)
	b.enqueue("message", telego.Update{Message: &tm})
	return tm
}

func (u *User) post(token string, m *msg) (telego.Message, error) {
	if u.deactivated.Load() {
		return telego.Message{}, ErrDeactivated
	}
	b := u.srv.mustBot(token)
	c := b.privateChat(u.ID, true)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.status {
	case statusNone:
		return telego.Message{}, ErrNotStarted
	case statusKicked:
		return telego.Message{}, ErrBlocked
	}
	if m.media != nil {
		m.media.f.bot = b
		u.srv.registerFile(m.media.f)
	}
	return u.postLocked(b, c, m), nil
}

// SendText sends a text message to the bot, with optional entities.
func (u *User) SendText(token, text string, entities ...telego.MessageEntity) (telego.Message, error) {
	return u.post(token, &msg{text: text, entities: entities})
}

// SendCommand sends "/cmd args" with its bot_command entity; the leading
// slash is optional.
func (u *User) SendCommand(token, cmd string) (telego.Message, error) {
	if !strings.HasPrefix(cmd, "/") {
		cmd = "/" + cmd
	}
	word, _, _ := strings.Cut(cmd, " ")
	return u.post(token, &msg{text: cmd, entities: []telego.MessageEntity{{Type: "bot_command", Offset: 0, Length: utf16Len(word)}}})
}

// SendDocument sends a file; the bot receives a file_id valid for it only.
func (u *User) SendDocument(token, name, mimeType string, data []byte, caption string) (telego.Message, error) {
	f := u.srv.newFile(nil, kindDocument, name, mimeType, data)
	return u.post(token, &msg{text: caption, media: &media{f: f}})
}

// SendPhoto sends a photo (any bytes; PNG/JPEG/GIF dimensions are read).
func (u *User) SendPhoto(token string, data []byte, caption string) (telego.Message, error) {
	f := u.srv.newFile(nil, kindPhoto, "", "", data)
	return u.post(token, &msg{text: caption, media: &media{f: f}})
}

// SendContact shares a contact.
func (u *User) SendContact(token string, c telego.Contact) (telego.Message, error) {
	return u.post(token, &msg{contact: &c})
}

// ForwardFrom forwards a text message originally written by original.
func (u *User) ForwardFrom(token string, original *User, text string) (telego.Message, error) {
	return u.post(token, &msg{text: text, fwd: original, fwdDate: u.srv.unixNow() - 60})
}

// Press presses the inline button with callbackData on the bot's message
// messageID in the private chat, and returns the callback query id. The
// button must be in the message's current keyboard.
func (u *User) Press(token string, messageID int, callbackData string) (string, error) {
	if u.deactivated.Load() {
		return "", ErrDeactivated
	}
	b := u.srv.mustBot(token)
	c := b.privateChat(u.ID, false)
	if c == nil {
		return "", ErrNoMessage
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.status == statusKicked {
		return "", ErrBlocked
	}
	m := c.get(messageID)
	if m == nil || m.bot != b {
		return "", ErrNoMessage
	}
	found := false
	if m.markup != nil {
		for _, row := range m.markup.InlineKeyboard {
			for _, btn := range row {
				if btn.CallbackData == callbackData && btn.CallbackData != "" {
					found = true
				}
			}
		}
	}
	if !found {
		return "", ErrNoButton
	}
	id := strconv.FormatInt(u.srv.nextSeq.Add(1), 10)
	b.cbMu.Lock()
	b.callbacks[id] = &callbackRecord{id: id, pressedAt: time.Now()}
	b.cbMu.Unlock()
	tm := c.render(m)
	b.enqueue("callback_query", telego.Update{CallbackQuery: &telego.CallbackQuery{
		ID: id, From: u.tg(), Message: &tm, Data: callbackData,
		ChatInstance: strconv.FormatInt(c.id^b.id, 10),
	}})
	return id, nil
}

// WaitBotMessage returns the next message the bot sent to this user that
// this method has not returned yet (each user/bot chat has a read cursor,
// so a message sent before the call is not missed), waiting up to timeout.
func (u *User) WaitBotMessage(token string, timeout time.Duration) (telego.Message, error) {
	ctx, cancel := context.WithTimeout(u.srv.ctx, timeout)
	defer cancel()
	return u.WaitBotMessageCtx(ctx, token)
}

// WaitBotMessageCtx is WaitBotMessage bounded by ctx.
func (u *User) WaitBotMessageCtx(ctx context.Context, token string) (telego.Message, error) {
	b := u.srv.mustBot(token)
	c := b.privateChat(u.ID, true)
	for {
		c.mu.Lock()
		for c.cursor < len(c.msgs) {
			m := c.msgs[c.cursor]
			c.cursor++
			if m.bot == b {
				tm := c.render(m)
				c.mu.Unlock()
				return tm, nil
			}
		}
		wake := c.waitChan()
		c.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return telego.Message{}, ctx.Err()
		}
	}
}

// Group is an emulated group or supergroup.
type Group struct {
	ID       int64
	Title    string
	Type     string
	Username string
	srv      *Server
}

// CreateGroup creates a basic group (negative id) with the given members.
func (s *Server) CreateGroup(title string, members ...*User) *Group {
	return s.createGroup(ChatGroup, title, "", members)
}

// CreateSupergroup creates a supergroup (-100… id), optionally public.
func (s *Server) CreateSupergroup(title, username string, members ...*User) *Group {
	return s.createGroup(ChatSupergroup, title, username, members)
}

func (s *Server) createGroup(typ, title, username string, members []*User) *Group {
	n := s.nextGroup.Add(1)
	id := -n
	if typ != ChatGroup { // supergroups and channels: -100…
		id = -1000000000000 - n
	}
	c := newChat(id, typ)
	c.title, c.username = title, username
	c.members = map[int64]*User{}
	c.groupBots = map[int64]*groupBot{}
	for _, u := range members {
		c.members[u.ID] = u
	}
	s.groupsMu.Lock()
	s.groups[id] = c
	s.groupsMu.Unlock()
	return &Group{ID: id, Title: title, Type: typ, Username: username, srv: s}
}

// AddBot adds the bot to the group (my_chat_member left -> member, from
// the user who added it).
func (g *Group) AddBot(token string, by *User) {
	b := g.srv.mustBot(token)
	c := g.srv.group(g.ID)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.groupBots[b.id] != nil {
		return
	}
	c.groupBots[b.id] = &groupBot{b: b}
	b.enqueue("my_chat_member", telego.Update{MyChatMember: &telego.ChatMemberUpdated{
		Chat: c.tgChat(), From: by.tg(), Date: g.srv.unixNow(),
		OldChatMember: memberAs(statusNone, b.tgUser()), NewChatMember: memberAs(statusMember, b.tgUser()),
	}})
}

// SendText posts a message in the group as u; every bot in the group gets
// it (privacy mode is not emulated).
func (g *Group) SendText(u *User, text string, entities ...telego.MessageEntity) (telego.Message, error) {
	c := g.srv.group(g.ID)
	if c == nil {
		return telego.Message{}, ErrUnknownGroup
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.members[u.ID] == nil {
		return telego.Message{}, ErrNotMember
	}
	m := c.add(&msg{text: text, entities: entities, from: u, date: g.srv.unixNow()})
	tm := c.render(m)
	for _, gb := range c.groupBots {
		cp := tm
		gb.b.enqueue("message", telego.Update{Message: &cp})
	}
	return tm, nil
}

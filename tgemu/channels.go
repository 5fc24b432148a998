package tgemu

import "github.com/mymmrac/telego"

// Channels and the bot's own membership changes: a bot made an administrator (in a
// channel it may post only with can_post_messages), removed, or banned. Each change
// emits the my_chat_member update Telegram sends the bot.

// CreateChannel creates a channel (-100… id), optionally public.
func (s *Server) CreateChannel(title, username string) *Group {
	return s.createGroup(ChatChannel, title, username, nil)
}

// AddAdmin adds the bot to the group or channel as an administrator, or promotes it
// (my_chat_member → administrator, with can_post_messages = canPost in a channel).
func (g *Group) AddAdmin(token string, by *User, canPost bool) {
	b := g.srv.mustBot(token)
	c := g.srv.group(g.ID)
	c.mu.Lock()
	defer c.mu.Unlock()
	old := memberAs(statusNone, b.tgUser())
	if gb := c.groupBots[b.id]; gb != nil {
		old = gb.member(c, b)
	}
	gb := &groupBot{b: b, admin: true, canPost: canPost || c.typ != ChatChannel}
	if prev := c.groupBots[b.id]; prev != nil {
		gb.window, gb.sent = prev.window, prev.sent
	}
	c.groupBots[b.id] = gb
	g.memberChange(c, b, by, old, gb.member(c, b))
}

// RemoveBot removes the bot from the group or channel (my_chat_member → left), or
// bans it (→ kicked); it may no longer post there.
func (g *Group) RemoveBot(token string, by *User, ban bool) {
	b := g.srv.mustBot(token)
	c := g.srv.group(g.ID)
	c.mu.Lock()
	defer c.mu.Unlock()
	gb := c.groupBots[b.id]
	if gb == nil {
		return
	}
	delete(c.groupBots, b.id)
	to := memberAs(statusNone, b.tgUser())
	if ban {
		to = memberAs(statusKicked, b.tgUser())
	}
	g.memberChange(c, b, by, gb.member(c, b), to)
}

// member is the bot's ChatMember in c. Caller holds c.mu.
func (gb *groupBot) member(c *chat, b *bot) telego.ChatMember {
	if !gb.admin {
		return memberAs(statusMember, b.tgUser())
	}
	a := &telego.ChatMemberAdministrator{Status: telego.MemberStatusAdministrator, User: b.tgUser(),
		CanDeleteMessages: true}
	if c.typ == ChatChannel {
		a.CanPostMessages, a.CanEditMessages = gb.canPost, gb.canPost
	} else {
		a.CanPinMessages = true
	}
	return a
}

// memberChange emits my_chat_member. Caller holds c.mu.
func (g *Group) memberChange(c *chat, b *bot, by *User, from, to telego.ChatMember) {
	u := telego.User{ID: 777000, FirstName: "Telegram"}
	if by != nil {
		u = by.tg()
	}
	b.enqueue("my_chat_member", telego.Update{MyChatMember: &telego.ChatMemberUpdated{
		Chat: c.tgChat(), From: u, Date: g.srv.unixNow(), OldChatMember: from, NewChatMember: to,
	}})
}

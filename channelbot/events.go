package channelbot

import (
	"regexp"
	"strings"
	"time"

	"github.com/mymmrac/telego"

	"herald/store"
)

// allowedUpdates are what a managed bot is asked for: its private and group messages
// (for /start, /stop and last-seen times) and its own membership changes.
var allowedUpdates = []string{"message", "my_chat_member"}

// replyKind is what the bot answers a private message with.
type replyKind uint8

const (
	replyNone replyKind = iota
	replyWelcome
	replyStopped
)

// reply is an answer owed to a user once their update is written. It holds the
// user's names as strings, not the template's variables: a flood of starts queues
// thousands of replies (most of which a full queue drops), and a map each would be
// an allocation per start and pointers for every GC cycle to scan while queued.
type reply struct {
	kind                          replyKind
	chatID                        int64
	lang                          string // the user's language_code
	firstName, lastName, username string
}

// vars are the welcome template's variables for rep's user.
func (rep reply) vars() map[string]string {
	return map[string]string{"first_name": rep.firstName, "last_name": rep.lastName, "username": rep.username,
		"name": strings.TrimSpace(rep.firstName + " " + rep.lastName)}
}

// payloadRE is what Telegram accepts as a deep-link payload: t.me/bot?start=<payload>.
var payloadRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// stopWords are the plain words that unsubscribe, besides /stop, in the languages the
// bot answers in. They must be the whole message: "stop the spam" is not one.
var stopWords = map[string]bool{"stop": true, "unsubscribe": true, "стоп": true, "отписаться": true}

// parsed is what one getUpdates answer means for the store and for the replies.
type parsed struct {
	batch   store.IntakeBatch
	replies []reply
}

// parseUpdates turns a managed bot's updates into store events and owed replies.
func parseUpdates(channelID int64, updates []telego.Update) parsed {
	var p parsed
	for _, u := range updates {
		switch {
		case u.MyChatMember != nil:
			p.memberChange(channelID, u.MyChatMember)
		case u.Message != nil && u.Message.Chat.Type == telego.ChatTypePrivate && u.Message.From != nil:
			p.privateMessage(channelID, u.Message)
		}
	}
	return p
}

func subscriberEvent(channelID int64, from telego.User, date int64) store.SubscriberEvent {
	return store.SubscriberEvent{
		ChannelID: channelID, ChatID: from.ID,
		FirstName: from.FirstName, LastName: from.LastName, Username: from.Username, LanguageCode: from.LanguageCode,
		At: unixTime(date),
	}
}

func unixTime(date int64) time.Time {
	if date <= 0 {
		return time.Now()
	}
	return time.Unix(date, 0)
}

func (p *parsed) privateMessage(channelID int64, m *telego.Message) {
	e := subscriberEvent(channelID, *m.From, m.Date)
	e.ChatID = m.Chat.ID
	kind := replyNone
	cmd, arg := command(m.Text)
	switch {
	case cmd == "start":
		e.Status = store.SubscriberActive
		if payloadRE.MatchString(arg) {
			e.Source = arg
		}
		kind = replyWelcome
	case cmd == "stop" || (cmd == "" && stopWords[strings.ToLower(strings.TrimSpace(m.Text))]):
		e.Status = store.SubscriberStopped
		kind = replyStopped
	}
	p.batch.Subscribers = append(p.batch.Subscribers, e)
	if kind != replyNone {
		p.replies = append(p.replies, reply{kind: kind, chatID: m.Chat.ID, lang: m.From.LanguageCode,
			firstName: m.From.FirstName, lastName: m.From.LastName, username: m.From.Username})
	}
}

// command splits "/start@shop_bot promo_nov" into "start" and "promo_nov"; cmd is ""
// for a text that is not a command.
func command(text string) (cmd, arg string) {
	if !strings.HasPrefix(text, "/") {
		return "", ""
	}
	word, rest, _ := strings.Cut(text[1:], " ")
	word, _, _ = strings.Cut(word, "@")
	return strings.ToLower(word), strings.TrimSpace(rest)
}

func (p *parsed) memberChange(channelID int64, m *telego.ChatMemberUpdated) {
	if m.NewChatMember == nil {
		return
	}
	status := m.NewChatMember.MemberStatus()
	if m.Chat.Type == telego.ChatTypePrivate {
		e := subscriberEvent(channelID, m.From, m.Date)
		e.ChatID = m.Chat.ID
		switch status {
		case telego.MemberStatusBanned:
			e.Status = store.SubscriberBlocked
		case telego.MemberStatusMember:
			e.Status = store.SubscriberActive
		default:
			return
		}
		p.batch.Subscribers = append(p.batch.Subscribers, e)
		return
	}
	switch m.Chat.Type {
	case telego.ChatTypeGroup, telego.ChatTypeSupergroup, telego.ChatTypeChannel:
	default:
		return
	}
	e := store.ChannelChatEvent{ChannelID: channelID, ChatID: m.Chat.ID, Type: m.Chat.Type, Title: m.Chat.Title,
		BotStatus: status, At: unixTime(m.Date)}
	switch nm := m.NewChatMember.(type) {
	case *telego.ChatMemberOwner:
		e.CanPost, e.CanPin, e.CanDelete = true, true, true
	case *telego.ChatMemberAdministrator:
		e.CanPost = m.Chat.Type != telego.ChatTypeChannel || nm.CanPostMessages
		e.CanPin = nm.CanPinMessages || nm.CanEditMessages
		e.CanDelete = nm.CanDeleteMessages
	case *telego.ChatMemberMember:
		e.CanPost = m.Chat.Type != telego.ChatTypeChannel
	case *telego.ChatMemberRestricted:
		e.CanPost = nm.IsMember && nm.CanSendMessages
	}
	p.batch.Chats = append(p.batch.Chats, e)
}

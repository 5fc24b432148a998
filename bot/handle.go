package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/mymmrac/telego"

	"herald/flows"
	"herald/i18n"
	"herald/render"
	"herald/store"
)

// handler handles one update; middleware wraps it (adapter shape).
type handler func(ctx context.Context, u *update)

// update is an incoming update plus what the handling learned about it.
type update struct {
	telego.Update
	chatID int64
	from   telego.User
	l      *i18n.Localizer
	actor  flows.Actor
	notice string // callback answer text
	alert  bool

	answerMu sync.Mutex // answered is set by the handler or by the budget's timer
	answered bool
}

// handleUpdate is the whole pipeline of one update, outermost first.
func (b *Bot) handleUpdate(ctx context.Context, raw telego.Update, takenAt time.Time) {
	u := b.newUpdate(raw)
	if u == nil {
		return
	}
	h := b.observe(takenAt, b.answerCallback(b.recoverPanics(b.privateOnly(b.authorize(b.route)))))
	h(ctx, u)
}

// newUpdate is nil for updates that carry nothing to act on (edits, membership).
func (b *Bot) newUpdate(raw telego.Update) *update {
	u := &update{Update: raw, chatID: updateChatID(raw)}
	switch {
	case raw.Message != nil && raw.Message.From != nil:
		u.from = *raw.Message.From
	case raw.CallbackQuery != nil:
		u.from = raw.CallbackQuery.From
	default:
		return nil
	}
	u.l = b.cfg.Catalog.For(u.from.LanguageCode)
	return u
}

// observe reports the update's wait behind its chat and its handling time (the
// admin's reply latency) to the observer.
func (b *Bot) observe(takenAt time.Time, next handler) handler {
	return func(ctx context.Context, u *update) {
		started := time.Now()
		next(ctx, u)
		b.cfg.Observer.UpdateHandled(updateKind(u), started.Sub(takenAt), time.Since(started))
	}
}

// recoverPanics turns a panic into a logged internal error and an apology.
func (b *Bot) recoverPanics(next handler) handler {
	return func(ctx context.Context, u *update) {
		defer func() {
			if p := recover(); p != nil {
				b.replyError(ctx, u, fmt.Errorf("panic: %v\n%s", p, debug.Stack()))
			}
		}()
		next(ctx, u)
	}
}

// privateOnly ignores groups: the management bot is a one-to-one conversation.
func (b *Bot) privateOnly(next handler) handler {
	return func(ctx context.Context, u *update) {
		if u.chatID != u.from.ID {
			if u.CallbackQuery != nil {
				u.notice = u.l.T("callback.outdated")
			}
			return
		}
		next(ctx, u)
	}
}

// route hands the update to the dialog engine and sends what it produced.
func (b *Bot) route(ctx context.Context, u *update) {
	turn := flows.NewTurn(u.actor, u.chatID, u.l, b.cfg.Now())
	if b.ownersOnly(u) && u.actor.Role != store.RoleOwner {
		b.replyError(ctx, u, &flows.Error{Code: flows.CodeForbidden, Key: "error.owners_only"})
		return
	}
	var err error
	switch {
	case u.CallbackQuery != nil:
		err = b.engine.Callback(ctx, turn, u.CallbackQuery.Data)
	case u.Message != nil:
		if name, ok := commandName(u.Message); ok {
			err = b.engine.Command(ctx, turn, name)
		} else {
			err = b.engine.Message(ctx, turn, messageInput(u.Message))
		}
	}
	if err != nil {
		b.replyError(ctx, u, err)
		return
	}
	if err := checkCallbackData(turn.Replies()); err != nil {
		b.replyError(ctx, u, err)
		return
	}
	u.notice = turn.NoticeText()
	// The spinner stops before any reply goes out: a reply may wait out a 429 for
	// longer than Telegram keeps the query answerable.
	b.answer(ctx, u)
	b.sendReplies(ctx, u, turn.Replies())
}

var commandRE = regexp.MustCompile(`^/([a-zA-Z0-9_]{1,32})(?:@[A-Za-z0-9_]+)?(?:\s|$)`)

// commandName recognises "/name" and "/name@bot" at the start of a message.
func commandName(m *telego.Message) (string, bool) {
	match := commandRE.FindStringSubmatch(m.Text)
	if match == nil {
		return "", false
	}
	return strings.ToLower(match[1]), true
}

// messageInput is what a dialog step sees of a message.
func messageInput(m *telego.Message) flows.Input {
	in := flows.Input{Text: m.Text, Entities: m.Entities, MessageID: m.MessageID}
	media := func(kind, fileID, uniqueID string) {
		in.Media = &flows.Media{Kind: kind, FileID: fileID, UniqueID: uniqueID}
		in.Text, in.Entities = m.Caption, m.CaptionEntities
	}
	switch {
	case len(m.Photo) > 0:
		p := m.Photo[len(m.Photo)-1] // the largest size
		media("photo", p.FileID, p.FileUniqueID)
		in.Media.FileSize = int64(p.FileSize)
	case m.Animation != nil:
		media("animation", m.Animation.FileID, m.Animation.FileUniqueID)
		in.Media.FileSize = m.Animation.FileSize
	case m.Video != nil:
		media("video", m.Video.FileID, m.Video.FileUniqueID)
		in.Media.FileSize = m.Video.FileSize
	case m.Document != nil:
		media("document", m.Document.FileID, m.Document.FileUniqueID)
		in.Media.FileName, in.Media.FileSize = m.Document.FileName, m.Document.FileSize
	}
	if m.Contact != nil {
		in.ContactUserID = m.Contact.UserID
		in.ContactName = strings.TrimSpace(m.Contact.FirstName + " " + m.Contact.LastName)
	}
	switch o := m.ForwardOrigin.(type) {
	case *telego.MessageOriginUser:
		in.ForwardUserID = o.SenderUser.ID
		in.ForwardName = strings.TrimSpace(o.SenderUser.FirstName + " " + o.SenderUser.LastName)
	case *telego.MessageOriginHiddenUser:
		in.ForwardHidden = true
	case *telego.MessageOriginChannel:
		in.Post = &flows.ForwardedPost{Title: o.Chat.Title}
	case *telego.MessageOriginChat:
		in.Post = &flows.ForwardedPost{Title: o.SenderChat.Title}
	}
	if in.Post != nil && m.ReplyMarkup != nil {
		in.Post.Buttons = m.ReplyMarkup.InlineKeyboard
	}
	in.MediaGroupID = m.MediaGroupID
	return in
}

// replyError is the one place an error becomes a reply. Expected errors (invalid,
// not found, forbidden, conflict) are shown in the admin's language; anything else is
// logged with a reference id the admin sees, and never shown in detail.
func (b *Bot) replyError(ctx context.Context, u *update, err error) {
	if ctx.Err() != nil {
		// Shutdown cancelled the handling: the admin gets no apology for our restart.
		b.log.Warn().Err(err).Int64("chat_id", u.chatID).Msg("update cancelled at shutdown")
		return
	}
	var fe *flows.Error
	if errors.As(err, &fe) && fe.Code != flows.CodeInternal {
		text := u.l.T(fe.Key, fe.Data)
		if fe.Code == flows.CodeForbidden {
			// Aggregated per user and window: a viewer pressing in a loop adds a count.
			b.refusals.note(ctx, b, u.from.ID, map[string]any{"role": u.actor.Role, "update": updateKind(u)})
		}
		if u.CallbackQuery != nil {
			u.notice, u.alert = render.PlainText(text), true
			return
		}
		b.send(ctx, u, flows.Reply{Text: text, HTML: true})
		return
	}
	ref := newRef()
	b.log.Error().Err(err).Str("ref", ref).Int64("chat_id", u.chatID).Int64("user_id", u.from.ID).
		Str("update", updateKind(u)).Msg("handling an update failed")
	text := u.l.T("error.internal", i18n.Data{"Ref": ref})
	if u.CallbackQuery != nil {
		u.notice, u.alert = render.PlainText(text), true
		return
	}
	b.send(ctx, u, flows.Reply{Text: text, HTML: true})
}

func updateKind(u *update) string {
	if u.CallbackQuery != nil {
		return "callback"
	}
	return "message"
}

func newRef() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// DialogExpired tells a chat its dialog ended unfinished (queue.DialogNotifier).
func (b *Bot) DialogExpired(ctx context.Context, d store.ExpiredDialog) error {
	l := b.cfg.Catalog.For(d.Language)
	text := l.T("dialog.expired", i18n.Data{"Flow": l.T(flows.FlowTitleKey(d.Flow))})
	return b.sendTo(ctx, d.ChatID, flows.Reply{Text: text, HTML: true})
}

// checkCallbackData catches a button whose data Telegram would refuse (over 64
// bytes): a bug in a flow, better reported with a reference than silently unsent.
func checkCallbackData(replies []flows.Reply) error {
	for _, r := range replies {
		for _, row := range r.Keyboard {
			for _, btn := range row {
				if len(btn.Data) > 64 {
					return fmt.Errorf("callback data of button %q is %d bytes (limit 64)", btn.Text, len(btn.Data))
				}
			}
		}
	}
	return nil
}

package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/mymmrac/telego"

	"herald/flows"
	"herald/render"
	"herald/store"
)

// Refusing strangers must stay cheap whatever their number, and must not slow the
// admins down: an update from a user not known as an admin waits in a bounded lane
// of its own, where a few workers look the sender up; a stranger gets at most one reply per window, and
// those replies share a small rate so that they never use up the bot's sending rate
// (a crowd is refused in silence); the audit log gets one row per user and window.
const (
	strangerLane   = 1024             // waiting strangers' updates; more are dropped
	laneWorkers    = 2                // lookups at a time: the admins' share of the pool stays free
	strangerRate   = 5                // refusal replies per second, bot-wide
	refusalFlush   = 30 * time.Second // how stale an audit row's count may get
	refusalMemory  = 10_000           // users remembered; expired windows go first
	refusalAuditAt = "access.refused"
)

// authorize lets admins through; anybody else is refused. Most strangers never get
// here (take sends them to their lane); a stranger does when the admin was removed.
func (b *Bot) authorize(next handler) handler {
	return func(ctx context.Context, u *update) {
		admin, err := b.cfg.Store.AdminGet(ctx, u.from.ID)
		if errors.Is(err, store.ErrNotFound) {
			b.admins.Delete(u.from.ID)
			// refuse answers the press; the middleware must not answer it again.
			u.answerMu.Lock()
			u.answered = true
			u.answerMu.Unlock()
			b.refuse(ctx, u)
			return
		}
		if err != nil {
			b.replyError(ctx, u, fmt.Errorf("look up admin: %w", err))
			return
		}
		b.admins.Store(u.from.ID, true)
		// The admin's language is stored for texts sent outside a reply (progress,
		// reports); a failed write only costs that, so the update goes on.
		lang, err := b.cfg.Store.AdminFollowLanguage(ctx, admin, b.cfg.Catalog.Lang(u.from.LanguageCode))
		if err != nil {
			b.log.Warn().Err(err).Int64("user_id", admin.UserID).Msg("record admin language")
			lang = b.cfg.Catalog.Lang(u.from.LanguageCode)
		}
		u.l = b.cfg.Catalog.For(lang)
		u.actor = flows.Actor{UserID: admin.UserID, Role: admin.Role, Name: u.from.FirstName}
		next(ctx, u)
	}
}

// take is the intake of every update, polled or posted. Updates of users known
// as admins go straight to the dispatcher; anybody else's wait in a bounded lane
// served by a few workers, so that a crowd of strangers (or their database
// lookups) never queues in front of an admin. An update dropped from a full lane
// is a stranger's, refused in silence.
func (b *Bot) take(ctx context.Context, raw telego.Update, done chan<- bool) dispatchResult {
	from := senderID(raw)
	if _, admin := b.admins.Load(from); admin || from == 0 {
		return b.dispatch.dispatch(ctx, b.workCtx, raw, done)
	}
	res := b.dispatch.firstSeen(raw.UpdateID)
	if res == accepted {
		select {
		case b.strangers <- raw:
		default:
		}
	}
	if res != refused && done != nil {
		done <- true
	}
	return res
}

func senderID(u telego.Update) int64 {
	switch {
	case u.Message != nil && u.Message.From != nil:
		return u.Message.From.ID
	case u.CallbackQuery != nil:
		return u.CallbackQuery.From.ID
	}
	return 0
}

// loadAdmins learns who the admins are, so that their first updates skip the lane.
func (b *Bot) loadAdmins(ctx context.Context) {
	admins, err := b.cfg.Store.AdminList(ctx)
	if err != nil {
		b.log.Warn().Err(err).Msg("list admins; their first updates take the strangers' lane")
		return
	}
	for _, a := range admins {
		b.admins.Store(a.UserID, true)
	}
}

// runLane serves the lane until ctx ends; what is still waiting then is dropped
// (a stranger loses nothing by it; an admin added a moment ago sends again).
func (b *Bot) runLane(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case raw := <-b.strangers:
			b.sortOut(ctx, raw)
		}
	}
}

// sortOut looks the sender up: an admin not known yet goes on to the dispatcher,
// a stranger is refused.
func (b *Bot) sortOut(ctx context.Context, raw telego.Update) {
	u := b.newUpdate(raw)
	if u == nil {
		return
	}
	_, err := b.cfg.Store.AdminGet(ctx, u.from.ID)
	switch {
	case err == nil:
		b.admins.Store(u.from.ID, true)
		b.dispatch.enqueue(ctx, b.workCtx, raw, nil, false)
	case errors.Is(err, store.ErrNotFound):
		if u.chatID != u.from.ID && u.CallbackQuery == nil {
			return // groups are ignored
		}
		b.refuse(ctx, u)
	case ctx.Err() == nil: // else shutting down: the lane is dropped
		b.log.Warn().Err(err).Int64("user_id", u.from.ID).Msg("look up a possible admin; update dropped")
	}
}

// refuse answers a stranger: a press briefly, always; a message with one reply per
// window, within the bot-wide rate for refusals.
func (b *Bot) refuse(ctx context.Context, u *update) {
	first := b.refusals.note(ctx, b, u.from.ID, map[string]any{"update": updateKind(u)})
	if u.CallbackQuery != nil { // answers cost no sending rate
		callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := b.tg.AnswerCallbackQuery(callCtx, &telego.AnswerCallbackQueryParams{
			CallbackQueryID: u.CallbackQuery.ID, Text: render.PlainText(u.l.T("error.not_admin")),
		}); err != nil {
			b.log.Debug().Err(err).Int64("user_id", u.from.ID).Msg("answer a stranger's press")
		}
		return
	}
	if !first || !b.refusalReplies.Allow() {
		return
	}
	b.log.Info().Int64("user_id", u.from.ID).Msg("refused a non-admin")
	b.send(ctx, u, flows.Reply{Text: u.l.T("error.not_admin"), HTML: true})
}

// ownersOnly reports whether u asks for an action only owners may run, so that the
// refusal says so (rather than "your role does not allow changes").
func (b *Bot) ownersOnly(u *update) bool {
	var action string
	switch {
	case u.CallbackQuery != nil:
		action, _, _ = strings.Cut(u.CallbackQuery.Data, ":")
	case u.Message != nil:
		if name, ok := commandName(u.Message); ok {
			action = b.routes.commandTargets()[name].Action
		}
	}
	role, ok := b.routes.roles[action]
	return ok && role == store.RoleOwner
}

// refusals aggregates refused attempts per user and window (RefusalWindow).
type refusals struct {
	mu    sync.Mutex
	users map[int64]*refusalWindow
}

type refusalWindow struct {
	start     time.Time
	auditID   int64 // 0 until its row is written
	count     int
	flushed   int // count last written
	flushedAt time.Time
}

// note records one refused attempt of userID and reports whether it is the first of
// its window. The first writes an audit row; later ones raise its count, written at
// most every refusalFlush and when the next window opens.
func (r *refusals) note(ctx context.Context, b *Bot, userID int64, details map[string]any) bool {
	now, window := b.cfg.Now(), b.cfg.RefusalWindow
	r.mu.Lock()
	w := r.users[userID]
	if w != nil && now.Sub(w.start) < window {
		w.count++
		id, n := w.due(now)
		r.mu.Unlock()
		b.auditCount(ctx, userID, id, n)
		return false
	}
	var staleID int64
	var staleCount int
	if w != nil && w.count > w.flushed {
		staleID, staleCount = w.auditID, w.count
	}
	r.prune(now, window)
	w = &refusalWindow{start: now, count: 1, flushed: 1, flushedAt: now}
	r.users[userID] = w
	r.mu.Unlock()
	b.auditCount(ctx, userID, staleID, staleCount)

	details["count"] = 1
	details["window_seconds"] = int(window / time.Second)
	id, err := b.cfg.Store.AuditRefusalOpen(ctx, store.AuditEntry{ActorID: userID, Action: refusalAuditAt,
		Target: fmt.Sprintf("user:%d", userID), Details: details})
	if err != nil {
		b.log.Error().Err(err).Int64("user_id", userID).Msg("audit refused access")
		return true
	}
	r.mu.Lock()
	w.auditID = id
	r.mu.Unlock()
	return true
}

// due returns the row and count to write now, if any (called with the lock held).
func (w *refusalWindow) due(now time.Time) (int64, int) {
	if w.auditID == 0 || w.count == w.flushed || now.Sub(w.flushedAt) < refusalFlush {
		return 0, 0
	}
	w.flushed, w.flushedAt = w.count, now
	return w.auditID, w.count
}

// prune bounds the memory a crowd of strangers can take (called with the lock held):
// expired windows go first; a window's last unwritten count is lost with it.
func (r *refusals) prune(now time.Time, window time.Duration) {
	if len(r.users) < refusalMemory {
		return
	}
	for id, w := range r.users {
		if now.Sub(w.start) >= window {
			delete(r.users, id)
		}
	}
	for id := range r.users { // all windows still open: forget arbitrary ones
		if len(r.users) < refusalMemory {
			break
		}
		delete(r.users, id)
	}
}

func (b *Bot) auditCount(ctx context.Context, userID, id int64, count int) {
	if id == 0 {
		return
	}
	if err := b.cfg.Store.AuditRefusalCount(ctx, id, count); err != nil {
		b.log.Error().Err(err).Int64("user_id", userID).Msg("count refused attempts")
	}
}

// flush writes every count not yet written (at shutdown).
func (r *refusals) flush(ctx context.Context, b *Bot) {
	r.mu.Lock()
	type due struct {
		user, id int64
		n        int
	}
	var out []due
	for user, w := range r.users {
		if w.auditID != 0 && w.count > w.flushed {
			out = append(out, due{user, w.auditID, w.count})
			w.flushed = w.count
		}
	}
	r.mu.Unlock()
	for _, d := range out {
		b.auditCount(ctx, d.user, d.id, d.n)
	}
}

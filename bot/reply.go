package bot

import (
	"context"
	"errors"
	"html"
	"strings"
	"time"

	"github.com/mymmrac/telego"
	ta "github.com/mymmrac/telego/telegoapi"

	"herald/flows"
	"herald/i18n"
	"herald/store"
)

// defaultCallbackBudget is how long a press may wait for its answer while the
// handler is still busy (a step that calls another server, a slow database): after
// it the spinner is stopped with an empty answer (an alert then comes as a message;
// a short notice is lost). Telegram lets a query expire after about 15 s; the
// client's spinner should stop long before that.
const defaultCallbackBudget = 700 * time.Millisecond

// answerCallback answers every callback query exactly once: within CallbackBudget,
// and also when handling failed or panicked, so the admin's client never spins.
func (b *Bot) answerCallback(next handler) handler {
	return func(ctx context.Context, u *update) {
		if u.CallbackQuery == nil {
			next(ctx, u)
			return
		}
		fired := make(chan struct{})
		timer := time.AfterFunc(b.cfg.CallbackBudget, func() {
			defer close(fired)
			b.answerWith(ctx, u, "", false)
		})
		next(ctx, u)
		if !timer.Stop() {
			<-fired // the timer's call is owned here: wait until it has returned
		}
		if !b.answer(ctx, u) && u.alert && u.notice != "" {
			// The budget already stopped the spinner; an alert must still be seen.
			b.send(ctx, u, flows.Reply{Text: u.notice})
		}
	}
}

// answer answers u's callback query with u's notice unless it was answered already;
// it reports whether this call answered it.
func (b *Bot) answer(ctx context.Context, u *update) bool {
	return b.answerWith(ctx, u, u.notice, u.alert)
}

func (b *Bot) answerWith(ctx context.Context, u *update, text string, alert bool) bool {
	if u.CallbackQuery == nil {
		return false
	}
	u.answerMu.Lock()
	if u.answered {
		u.answerMu.Unlock()
		return false
	}
	u.answered = true
	u.answerMu.Unlock()
	callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := b.tg.AnswerCallbackQuery(callCtx, &telego.AnswerCallbackQueryParams{
		CallbackQueryID: u.CallbackQuery.ID, Text: truncate(text, 190), ShowAlert: alert,
	})
	if err != nil {
		b.log.Warn().Err(err).Int64("chat_id", u.chatID).Msg("answer callback query")
	}
	return true
}

// sendReplies sends a turn's replies in order and stops at the first that fails:
// the ones after it usually refer to it ("Above is the message…"), so the admin is
// told what failed instead, with a button that shows the step again where one can.
func (b *Bot) sendReplies(ctx context.Context, u *update, replies []flows.Reply) {
	for i, r := range replies {
		if i == 0 && r.Edit && b.edit(ctx, u, r) {
			continue
		}
		err := b.sendTo(ctx, u.chatID, r)
		if err == nil {
			continue
		}
		b.log.Warn().Err(err).Int64("chat_id", u.chatID).Int("reply", i).Int("replies", len(replies)).
			Msg("send reply; the turn's later replies are not sent")
		b.replyFailed(ctx, u, r, replies, err)
		return
	}
}

func (b *Bot) replyFailed(ctx context.Context, u *update, failed flows.Reply, replies []flows.Reply, err error) {
	what := "message"
	if failed.Media != nil {
		what = failed.Media.Kind
	}
	reason := "no answer"
	var apiErr *ta.Error
	if errors.As(err, &apiErr) {
		reason = apiErr.Description
	}
	data := i18n.Data{"What": u.l.T("reply.what_" + what), "Reason": html.EscapeString(reason)}
	retry := b.retryData(u, replies)
	if retry == "" {
		b.send(ctx, u, flows.Reply{Text: u.l.T("reply.failed_no_retry", data), HTML: true})
		return
	}
	b.send(ctx, u, flows.Reply{Text: u.l.T("reply.failed", data), HTML: true,
		Keyboard: [][]flows.Button{{{Text: u.l.T("button.retry"), Data: retry}}}})
}

// retryData is a button that shows the failed turn's screen again without changing
// anything: the dialog's "keep" (prompt the current step again) when the turn
// prompted a dialog step, else the pressed button or the command when it only
// shows a screen (viewer actions change nothing). Anything else gets no button.
func (b *Bot) retryData(u *update, replies []flows.Reply) string {
	for _, r := range replies {
		for _, row := range r.Keyboard {
			for _, btn := range row {
				if rest, ok := strings.CutPrefix(btn.Data, "f:"); ok {
					if version, _, ok := strings.Cut(rest, ":"); ok {
						return "f:" + version + ":keep"
					}
				}
			}
		}
	}
	var data string
	switch {
	case u.CallbackQuery != nil:
		data = u.CallbackQuery.Data
	case u.Message != nil:
		if name, ok := commandName(u.Message); ok {
			if t, ok := b.routes.commandTargets()[name]; ok && t.Action != "" {
				data = flows.ScreenCallback(t.Action, t.Arg)
			}
		}
	}
	prefix, _, _ := strings.Cut(data, ":")
	if role, ok := b.routes.roles[prefix]; ok && role == store.RoleViewer && len(data) <= 64 {
		return data
	}
	return ""
}

package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mymmrac/telego"
	ta "github.com/mymmrac/telego/telegoapi"

	"herald/backoff"
	"herald/render"
	"herald/store"
)

// preparedOp is an operation ready to act: for an edit, its new text parsed and the
// campaign's buttons (an edit without reply_markup would remove them).
type preparedOp struct {
	store.Operation
	tpl    *render.Template
	markup *telego.InlineKeyboardMarkup
	broken string // why the edit cannot be rendered at all ("" when it can)
}

// prepare returns op prepared, once per slice.
func (o *opLane) prepare(ctx context.Context, op *store.Operation) *preparedOp {
	if p := o.prepared[op.ID]; p != nil {
		return p
	}
	p := &preparedOp{Operation: *op}
	if op.Kind == store.OperationEdit {
		if err := p.parse(ctx, o.l.e.store); err != nil {
			if ctx.Err() != nil {
				return p // not cached: the next slice prepares it again
			}
			p.broken = err.Error()
		}
	}
	o.prepared[op.ID] = p
	return p
}

func (p *preparedOp) parse(ctx context.Context, st *store.Store) error {
	var entities []telego.MessageEntity
	if len(p.Entities) > 0 {
		if err := json.Unmarshal(p.Entities, &entities); err != nil {
			return fmt.Errorf("entities: %w", err)
		}
	}
	tpl, err := render.Parse(p.Body, entities)
	if err != nil {
		return err
	}
	p.tpl = tpl
	cm, err := st.CampaignMessageGet(ctx, p.CampaignID)
	if err != nil {
		return err
	}
	var rows [][]telego.InlineKeyboardButton
	if len(cm.Buttons) > 0 {
		if err := json.Unmarshal(cm.Buttons, &rows); err != nil {
			return fmt.Errorf("buttons: %w", err)
		}
	}
	if len(rows) > 0 {
		p.markup = &telego.InlineKeyboardMarkup{InlineKeyboard: rows}
	}
	return nil
}

// act makes one item's request and turns its answer into an outcome.
func (o *opLane) act(ctx context.Context, t opTask) store.ItemOutcome {
	defer t.slot.finish()
	l := o.l
	out := store.ItemOutcome{OperationID: t.op.ID, ChatID: t.item.ChatID}
	if !l.mayStart() {
		out.Status = store.ItemPending // marked, but its request never left
		return out
	}
	if t.op.broken != "" {
		out.Status, out.Error, out.CountAttempt = store.ItemRefused, t.op.broken, true
		return out
	}
	reqCtx, cancel := context.WithTimeout(ctx, l.e.cfg.RequestTimeout)
	err := o.call(reqCtx, t)
	cancel()
	if err == nil {
		out.Status, out.CountAttempt = store.ItemDone, true
		return out
	}
	f := classifyItemError(err)
	switch f.class {
	case classSent:
		out.Status, out.CountAttempt = store.ItemDone, true
	case classRateLimited:
		l.rateLimited(ctx, f.retryAfter)
		out.Status, out.NotBefore = store.ItemPending, time.Now().Add(f.retryAfter)
	case classUnreachable:
		out.Status, out.Error, out.CountAttempt = store.ItemRefused, f.reason, true
	case classRetry:
		attempts := int(t.item.Attempts) + 1
		switch {
		case ctx.Err() != nil:
			out.Status = store.ItemPending
		case attempts >= l.e.cfg.MaxAttempts:
			out.Status, out.Error, out.CountAttempt = store.ItemFailed, f.reason, true
		default:
			retry := backoff.Policy{Base: l.e.cfg.RetryBackoff, Max: time.Minute}
			out.Status, out.Error, out.CountAttempt = store.ItemPending, f.reason, true
			out.NotBefore = time.Now().Add(retry.Delay(attempts - 1))
		}
	default:
		l.log.Warn().Err(err).Int64("operation_id", t.op.ID).Int64("chat_id", t.item.ChatID).Msg("operation item uncertain")
		out.Status, out.Error, out.CountAttempt = store.ItemUncertain, f.reason, true
	}
	return out
}

// call makes the Bot API request of t's operation.
func (o *opLane) call(ctx context.Context, t opTask) error {
	bot := o.l.bot
	chat := telego.ChatID{ID: t.item.ChatID}
	mid := int(t.item.MessageID)
	switch t.op.Kind {
	case store.OperationEdit:
		vars, err := decodeVars(t.item.Vars)
		if err != nil {
			return &ta.Error{ErrorCode: 400, Description: "recipient variables: " + err.Error()}
		}
		text, entities := t.op.tpl.Render(vars)
		if t.op.Caption {
			_, err = bot.EditMessageCaption(ctx, &telego.EditMessageCaptionParams{ChatID: chat, MessageID: mid,
				Caption: text, CaptionEntities: entities, ReplyMarkup: t.op.markup})
		} else {
			_, err = bot.EditMessageText(ctx, &telego.EditMessageTextParams{ChatID: chat, MessageID: mid,
				Text: text, Entities: entities, ReplyMarkup: t.op.markup})
		}
		return err
	case store.OperationDelete:
		return bot.DeleteMessage(ctx, &telego.DeleteMessageParams{ChatID: chat, MessageID: mid})
	case store.OperationPin:
		return bot.PinChatMessage(ctx, &telego.PinChatMessageParams{ChatID: chat, MessageID: mid, DisableNotification: t.op.Silent})
	case store.OperationUnpin:
		return bot.UnpinChatMessage(ctx, &telego.UnpinChatMessageParams{ChatID: chat, MessageID: mid})
	}
	return &ta.Error{ErrorCode: 400, Description: "unknown operation " + t.op.Kind}
}

// classifyItemError sorts the error of an operation's request. Transport errors mean
// what they mean for a send (classifySendError); Telegram's answers are read for what
// they say about this message: refused (classUnreachable, with a store.Refused* reason
// or Telegram's description), done already (classSent: "not modified"), or slow down.
func classifyItemError(err error) sendFailure {
	var apiErr *ta.Error
	if !errors.As(err, &apiErr) {
		return classifySendError(err)
	}
	desc := strings.ToLower(apiErr.Description)
	refused := func(reason string) sendFailure { return sendFailure{class: classUnreachable, reason: reason} }
	switch {
	case apiErr.ErrorCode == 429 || apiErr.ErrorCode >= 500:
		return classifyAPIError(apiErr)
	case strings.Contains(desc, "message is not modified"):
		return sendFailure{class: classSent}
	case strings.Contains(desc, "deleted for everyone"):
		return refused(store.RefusedTooOld)
	case apiErr.ErrorCode == 403:
		return refused(store.RefusedBlocked)
	case strings.Contains(desc, "rights"):
		return refused(store.RefusedNoRights)
	case strings.Contains(desc, "too long"):
		return refused(store.RefusedTooLong)
	case strings.Contains(desc, "not found"), strings.Contains(desc, "can't be edited"),
		strings.Contains(desc, "can't be deleted"), strings.Contains(desc, "no text in the message"),
		strings.Contains(desc, "no caption in the message"):
		return refused(store.RefusedGone)
	}
	return refused(apiErr.Description)
}

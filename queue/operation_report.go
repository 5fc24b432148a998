package queue

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mymmrac/telego"
	ta "github.com/mymmrac/telego/telegoapi"

	"herald/store"
)

// An operation's progress lives in one message of the admin's chat, edited at most
// every ProgressEvery and never with the same content; when the operation is over it
// becomes the final report, which lists the messages it could not act on.

// reportListMax is how many messages the final report lists by chat.
const reportListMax = 30

// progress updates op's progress message at most every ProgressEvery (the first time
// in a slice at once).
func (o *opLane) progress(ctx context.Context, op *store.Operation) {
	e := o.l.e
	if e.mgmt == nil || op.Lane != op.ChannelID {
		return // one progress message: the campaign's first bot's lane keeps it
	}
	if last, ok := o.shown[op.ID]; ok && time.Since(last) < e.cfg.ProgressEvery {
		return
	}
	o.shown[op.ID] = time.Now()
	ctx = context.WithoutCancel(ctx)
	counts, err := e.store.OperationCountsGet(ctx, op.ID)
	if err != nil {
		o.l.log.Warn().Err(err).Int64("operation_id", op.ID).Msg("operation progress")
		return
	}
	lang, _ := e.store.OperationLanguage(ctx, op.ID)
	total := max(op.Total, counts.Total())
	settled := counts.Total() - counts.Open
	percent := int64(100)
	if total > 0 {
		percent = settled * 100 / total
	}
	text := e.texts.t(lang, "operation.progress", map[string]any{
		"Title": e.texts.t(lang, "operation.title."+op.Kind, nil), "ID": op.CampaignID,
		"Bar": progressBar(float64(percent) / 100), "Percent": percent,
		"Done": e.number(lang, counts.Done), "Settled": e.number(lang, settled), "Total": e.number(lang, total),
		"Refused": e.number(lang, counts.Refused+counts.Failed), "Uncertain": e.number(lang, counts.Uncertain),
	})
	o.putProgress(ctx, op, text)
}

func (e *engine) number(lang string, n int64) string { return e.texts.catalog.For(lang).Number(n) }

// progressBar draws a ten-cell bar for a share between 0 and 1.
func progressBar(share float64) string {
	n := min(max(int(share*10), 0), 10)
	return strings.Repeat("▓", n) + strings.Repeat("░", 10-n)
}

// putProgress shows text in op's progress message: edits it, or sends one when there
// is none (or it can no longer be edited).
func (o *opLane) putProgress(ctx context.Context, op *store.Operation, text string) {
	e := o.l.e
	if op.ProgressText != nil && *op.ProgressText == text && op.ControlMessageID != nil {
		return
	}
	chat := telego.ChatID{ID: op.ControlChatID}
	var msgID int64
	if op.ControlMessageID != nil {
		_, err := e.mgmt.EditMessageText(ctx, &telego.EditMessageTextParams{ChatID: chat, MessageID: int(*op.ControlMessageID), Text: text})
		var apiErr *ta.Error
		switch {
		case err == nil, errors.As(err, &apiErr) && strings.Contains(apiErr.Description, "not modified"):
			msgID = *op.ControlMessageID
		case errors.As(err, &apiErr) && apiErr.ErrorCode == 400:
			// Deleted: send a new one below.
		default:
			o.l.log.Warn().Err(err).Int64("operation_id", op.ID).Msg("edit operation progress")
			return
		}
	}
	if msgID == 0 {
		m, err := e.mgmt.SendMessage(ctx, &telego.SendMessageParams{ChatID: chat, Text: text})
		if err != nil {
			o.l.log.Warn().Err(err).Int64("operation_id", op.ID).Msg("send operation progress")
			return
		}
		msgID = int64(m.MessageID)
	}
	op.ControlMessageID, op.ProgressText = &msgID, &text
	if err := e.store.OperationSetProgress(ctx, op.ID, msgID, text); err != nil {
		o.l.log.Warn().Err(err).Int64("operation_id", op.ID).Msg("record operation progress")
	}
}

// sharesLeft reports whether op is still running (other bots' shares are open).
func (o *opLane) sharesLeft(ctx context.Context, op *store.Operation) bool {
	cur, err := o.l.e.store.OperationGet(ctx, op.ID)
	return err == nil && cur.Status == store.OperationRunning
}

// finish marks op done and sends its final report, once (another process may race
// for it: OperationMarkReported decides).
func (o *opLane) finish(ctx context.Context, op *store.Operation) {
	e := o.l.e
	ctx = context.WithoutCancel(ctx)
	log := o.l.log.With().Int64("operation_id", op.ID).Int64("campaign_id", op.CampaignID).Logger()
	finished, err := e.store.OperationFinish(ctx, op.ID)
	if err != nil {
		log.Warn().Err(err).Msg("finish operation")
		return
	}
	if !finished && o.sharesLeft(ctx, op) {
		// This bot's share is over, another bot's is not: the first bot's lane keeps
		// the progress moving meanwhile; the last share to end reports.
		o.progress(ctx, op)
		return
	}
	counts, err := e.store.OperationCountsGet(ctx, op.ID)
	if err != nil {
		log.Warn().Err(err).Msg("count operation items")
		return
	}
	first, err := e.store.OperationMarkReported(ctx, op.ID)
	if err != nil || !first {
		return
	}
	log.Info().Str("kind", op.Kind).Int64("done", counts.Done).Int64("refused", counts.Refused).
		Int64("failed", counts.Failed).Int64("uncertain", counts.Uncertain).Msg("operation finished")
	if e.mgmt == nil {
		return
	}
	lang, _ := e.store.OperationLanguage(ctx, op.ID)
	text, err := o.reportText(ctx, lang, op, counts)
	if err != nil {
		log.Warn().Err(err).Msg("operation report")
		return
	}
	o.putProgress(ctx, op, text)
}

// reportText is the final report: totals, the reasons of what was not done, and the
// first of those messages by chat.
func (o *opLane) reportText(ctx context.Context, lang string, op *store.Operation, c store.OperationCounts) (string, error) {
	e := o.l.e
	tt := e.texts
	num := func(n int64) string { return e.number(lang, n) }
	text := tt.t(lang, "operation.report", map[string]any{
		"Title": tt.t(lang, "operation.title."+op.Kind, nil), "ID": op.CampaignID,
		"Done": num(c.Done), "Refused": num(c.Refused), "Failed": num(c.Failed), "Uncertain": num(c.Uncertain),
	})
	notDone := c.Refused + c.Failed + c.Uncertain
	if notDone == 0 {
		return text, nil
	}
	reasons := make([]string, 0, len(c.Reasons))
	for r := range c.Reasons {
		reasons = append(reasons, r)
	}
	slices.SortFunc(reasons, func(a, b string) int { return int(c.Reasons[b] - c.Reasons[a]) })
	lines := []string{"", tt.t(lang, "operation.report.why", nil)}
	for _, r := range reasons {
		lines = append(lines, tt.t(lang, "operation.report.reason", map[string]any{"Count": num(c.Reasons[r]), "Reason": tt.itemReason(lang, store.ItemRefused, r)}))
	}
	if c.Failed > 0 {
		lines = append(lines, tt.t(lang, "operation.report.reason", map[string]any{"Count": num(c.Failed), "Reason": tt.itemReason(lang, store.ItemFailed, "")}))
	}
	if c.Uncertain > 0 {
		lines = append(lines, tt.t(lang, "operation.report.reason", map[string]any{"Count": num(c.Uncertain), "Reason": tt.itemReason(lang, store.ItemUncertain, "")}))
	}
	list, err := e.store.OperationRefusals(ctx, op.ID, reportListMax)
	if err != nil {
		return "", err
	}
	lines = append(lines, "", tt.t(lang, "operation.report.list", map[string]any{"Shown": num(int64(len(list))), "Count": num(notDone)}))
	for _, it := range list {
		lines = append(lines, tt.t(lang, "operation.report.item", map[string]any{
			"Chat": strconv.FormatInt(it.ChatID, 10), "Message": strconv.FormatInt(it.MessageID, 10),
			"Reason": tt.itemReason(lang, it.Status, it.Reason)}))
	}
	return text + "\n" + strings.Join(lines, "\n"), nil
}

// itemReason is why an item was not done, in words: a refusal code's text, or
// Telegram's own description.
func (t *texts) itemReason(lang, status, reason string) string {
	switch status {
	case store.ItemFailed:
		return t.t(lang, "operation.reason.failed", nil)
	case store.ItemUncertain:
		return t.t(lang, "operation.reason.uncertain", nil)
	}
	switch reason {
	case store.RefusedTooOld, store.RefusedGone, store.RefusedBlocked, store.RefusedNoRights, store.RefusedTooLong:
		return t.t(lang, "operation.reason."+reason, nil)
	}
	return reason
}

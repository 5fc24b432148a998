package flows

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"herald/i18n"
	"herald/store"
)

// Acting on what a campaign sent (issue 17): edit every sent message for everyone,
// delete it for everyone, pin or unpin it. The card offers them once something was
// sent; each asks once, with the count and what cannot be undone, and the answer starts
// an operation that the channel's sender lane runs at the bot's pace (queue), with a
// progress message and a final report in the admin's chat.
const (
	// ActCampaignOperate asks before an operation; arg: "<kind>:<campaign id>".
	ActCampaignOperate = "ko"
	// ActCampaignOperateSure starts it; arg: "<kind>:<campaign id>", kind "pins" being
	// a pin without notification.
	ActCampaignOperateSure = "kp"
	// ActCampaignEdit opens the dialog for the new text; arg: campaign id.
	ActCampaignEdit = "ke"

	FlowCampaignEdit = "cmp_edit"
)

// pinSilent is the kind of the "pin without notification" answer.
const pinSilent = "pins"

// OperationStarter records an operation and enqueues its lane in the transaction tx
// is bound to; *queue.Starter implements it (the same value as Services.Campaigns).
type OperationStarter interface {
	StartOperation(ctx context.Context, tx *store.Store, no store.NewOperation) (store.Operation, error)
}

type operationStore interface {
	CampaignItemGet(ctx context.Context, id int64) (store.CampaignListItem, error)
	CampaignMessageGet(ctx context.Context, id int64) (store.CampaignMessage, error)
	OperationTargets(ctx context.Context, campaignID int64, kind string) (int64, int64, error)
}

func operations(t *Turn) operationStore { return t.st }

// operationRows are the card's buttons for acting on what was sent.
func operationRows(t *Turn, c store.CampaignListItem, n store.DeliveryCounts) [][]Button {
	if !t.Actor.CanChange() || n.Sent == 0 || c.Status == store.CampaignScheduled {
		return nil
	}
	id := itoa(c.ID)
	btn := func(key, data string) Button { return Button{Text: t.L.T(key), Data: data} }
	return [][]Button{
		{btn("button.op.edit", ScreenCallback(ActCampaignEdit, id)),
			btn("button.op.delete", ScreenCallback(ActCampaignOperate, store.OperationDelete+":"+id))},
		{btn("button.op.pin", ScreenCallback(ActCampaignOperate, store.OperationPin+":"+id)),
			btn("button.op.unpin", ScreenCallback(ActCampaignOperate, store.OperationUnpin+":"+id))},
	}
}

// parseOperation reads "<kind>:<campaign id>".
func parseOperation(arg string, kinds ...string) (string, int64, error) {
	kind, idText, _ := strings.Cut(arg, ":")
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 {
		return "", 0, NotFound("cmp.gone")
	}
	for _, k := range kinds {
		if k == kind {
			return kind, id, nil
		}
	}
	return "", 0, NotFound("callback.outdated")
}

// askOperation asks before a delete, pin or unpin, with the count and the consequence.
func askOperation(ctx context.Context, t *Turn, arg string) error {
	kind, id, err := parseOperation(arg, store.OperationDelete, store.OperationPin, store.OperationUnpin)
	if err != nil {
		return err
	}
	c, err := operations(t).CampaignItemGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return NotFound("cmp.gone")
	}
	if err != nil {
		return err
	}
	n, old, err := operations(t).OperationTargets(ctx, id, kind)
	if err != nil {
		return err
	}
	back := []Button{{Text: t.L.T("button.delete_no"), Data: ScreenCallback(ActCampaignView, itoa(id))}}
	data := i18n.Data{"ID": c.ID, "Template": esc(c.TemplateName), "Old": old}
	if n == 0 {
		t.Reply(Reply{Text: t.L.T("op.nothing."+kind, data), HTML: true, Edit: true, Keyboard: [][]Button{back}})
		return nil
	}
	text := t.L.N("op.ask."+kind, int(n), data)
	if kind == store.OperationDelete && old > 0 {
		text += "\n\n" + t.L.N("op.ask.delete_old", int(old), data)
	}
	sure := func(key, kind string) []Button {
		return []Button{{Text: t.L.T(key), Data: ScreenCallback(ActCampaignOperateSure, kind+":"+itoa(id))}}
	}
	var rows [][]Button
	switch kind {
	case store.OperationPin:
		rows = append(rows, sure("button.op.pin_loud", store.OperationPin), sure("button.op.pin_silent", pinSilent))
	default:
		rows = append(rows, sure("button.op.sure."+kind, kind))
	}
	t.Reply(Reply{Text: text, HTML: true, Edit: true, Keyboard: append(rows, back)})
	return nil
}

// operateSure starts the delete, pin or unpin the admin confirmed.
func operateSure(ctx context.Context, t *Turn, arg string) error {
	kind, id, err := parseOperation(arg, store.OperationDelete, store.OperationPin, pinSilent, store.OperationUnpin)
	if err != nil {
		return err
	}
	no := store.NewOperation{CampaignID: id, Kind: kind}
	if kind == pinSilent {
		no.Kind, no.Silent = store.OperationPin, true
	}
	return startOperation(ctx, t, no)
}

// startOperation records the operation and says where its progress will show.
func startOperation(ctx context.Context, t *Turn, no store.NewOperation) error {
	n, _, err := operations(t).OperationTargets(ctx, no.CampaignID, no.Kind)
	if err != nil {
		return err
	}
	if n == 0 {
		return Conflict("op.nothing."+no.Kind, i18n.Data{"ID": no.CampaignID})
	}
	starter, ok := t.Services().Campaigns.(OperationStarter)
	if !ok {
		return errors.New("campaign operations: no operation starter configured")
	}
	no.ControlChatID, no.CreatedBy = t.ChatID, t.Actor.UserID
	op, err := starter.StartOperation(ctx, t.st, no)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return NotFound("cmp.gone")
	case errors.Is(err, store.ErrOperationBusy):
		return Conflict("op.busy", i18n.Data{"ID": no.CampaignID})
	case err != nil:
		return err
	}
	details := map[string]any{"operation_id": op.ID, "kind": op.Kind, "messages": op.Total}
	if op.Kind == store.OperationPin {
		details["silent"] = op.Silent
	}
	if err := t.Audit(ctx, "campaign.operation_started", "campaign:"+itoa(no.CampaignID), details); err != nil {
		return err
	}
	t.Reply(Reply{Text: t.L.N("op.started."+op.Kind, int(op.Total), i18n.Data{"ID": no.CampaignID}), HTML: true,
		Keyboard: [][]Button{{{Text: t.L.T("button.open"), Data: ScreenCallback(ActCampaignView, itoa(no.CampaignID))}}}})
	return nil
}

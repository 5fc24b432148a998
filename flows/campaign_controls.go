package flows

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"herald/i18n"
	"herald/store"
)

// The campaign's control buttons, on its card (ActCampaignCardControl) and on the
// delivery engine's progress message (ActCampaignControl). Pause and Resume act at
// once: they lose nothing. Cancel and Resend uncertain cannot be taken back, so the
// first press only asks, with the consequence spelt out, and the answer's button
// (ActCampaignControlSure) acts. The controls commit on their own (queue.Controls),
// so they run in the screens' Prepare phase, outside the update's transaction.

// controlOutcome is what a control press did, for the screen's Run to show.
type controlOutcome struct {
	id     int64
	action string
	n      int64 // deliveries cancelled or queued again
	ask    bool  // nothing done yet: ask first
}

func parseControl(arg string) (string, int64, error) {
	action, idText, _ := strings.Cut(arg, ":")
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 {
		return "", 0, NotFound("cmp.gone")
	}
	return action, id, nil
}

// controlCampaignFirst is the Prepare of a first press: pause and resume act, cancel
// and resend wait for the answer to a question.
func controlCampaignFirst(ctx context.Context, t *Turn, arg string) (any, error) {
	action, id, err := parseControl(arg)
	if err != nil {
		return nil, err
	}
	switch action {
	case controlPause, controlResume:
		return applyControl(ctx, t, action, id)
	case controlCancel, controlResend:
		return controlOutcome{id: id, action: action, ask: true}, nil
	}
	return nil, NotFound("callback.outdated")
}

// controlCampaignConfirmed is the Prepare of the answer "yes" to the question.
func controlCampaignConfirmed(ctx context.Context, t *Turn, arg string) (any, error) {
	action, id, err := parseControl(arg)
	if err != nil {
		return nil, err
	}
	if action != controlCancel && action != controlResend && action != controlUnreached {
		return nil, NotFound("callback.outdated")
	}
	return applyControl(ctx, t, action, id)
}

func applyControl(ctx context.Context, t *Turn, action string, id int64) (controlOutcome, error) {
	controls := t.Services().Controls
	if controls == nil {
		return controlOutcome{}, errors.New("campaign controls are not configured")
	}
	out := controlOutcome{id: id, action: action}
	var err error
	switch action {
	case controlPause:
		err = controls.Pause(ctx, id, t.Actor.UserID)
	case controlResume:
		err = controls.Resume(ctx, id, t.Actor.UserID)
	case controlCancel:
		out.n, err = controls.Cancel(ctx, id, t.Actor.UserID)
	case controlResend:
		out.n, err = controls.ResendUncertain(ctx, id, t.Actor.UserID)
	case controlUnreached:
		out.n, err = controls.ResendUnreached(ctx, id, t.Actor.UserID)
	}
	var stateErr *store.CampaignStateError
	switch {
	case errors.As(err, &stateErr):
		return out, Conflict("cmp.bad_transition", i18n.Data{"ID": id,
			"Action": t.L.T("cmp.action." + action), "Status": statusName(t, stateErr.Status)})
	case errors.Is(err, store.ErrInvalidTransition):
		return out, Conflict("cmp.bad_transition_plain", i18n.Data{"ID": id})
	case errors.Is(err, store.ErrNotFound):
		return out, NotFound("cmp.gone")
	case err != nil:
		return out, err
	}
	return out, nil
}

func preparedControl(t *Turn) (controlOutcome, error) {
	o, ok := t.prepared.(controlOutcome)
	if !ok {
		return o, errors.New("campaign control: the Prepare phase did not run")
	}
	return o, nil
}

// controlCampaignCard shows the card again after a control of the card, or asks.
func controlCampaignCard(ctx context.Context, t *Turn, _ string) error {
	o, err := preparedControl(t)
	if err != nil {
		return err
	}
	if o.ask {
		return askControl(ctx, t, o, true)
	}
	t.Notice(t.L.N("cmp.done."+o.action, int(o.n), i18n.Data{"ID": o.id}))
	return showCampaign(ctx, t, itoa(o.id))
}

// controlCampaign answers a control of the progress message with a notice (the
// delivery engine updates its message), or asks in a message of its own.
func controlCampaign(ctx context.Context, t *Turn, _ string) error {
	o, err := preparedControl(t)
	if err != nil {
		return err
	}
	if o.ask {
		return askControl(ctx, t, o, false)
	}
	t.Notice(t.L.N("cmp.done."+o.action, int(o.n), i18n.Data{"ID": o.id}))
	return nil
}

// showControlled answers the confirmed cancel or resend with the card.
func showControlled(ctx context.Context, t *Turn, _ string) error {
	o, err := preparedControl(t)
	if err != nil {
		return err
	}
	t.Notice(t.L.N("cmp.done."+o.action, int(o.n), i18n.Data{"ID": o.id}))
	return showCampaign(ctx, t, itoa(o.id))
}

// askControl asks before a cancel or a resend, saying how many deliveries it touches.
func askControl(ctx context.Context, t *Turn, o controlOutcome, edit bool) error {
	c, err := campaigns(t).CampaignItemGet(ctx, o.id)
	if errors.Is(err, store.ErrNotFound) {
		return NotFound("cmp.gone")
	}
	if err != nil {
		return err
	}
	n, err := campaigns(t).DeliveryCounts(ctx, o.id)
	if err != nil {
		return err
	}
	key, count := "cmp.ask."+o.action, n.Open()
	switch {
	case o.action == controlResend:
		count = n.Uncertain
	case n.Total() == 0: // not started: no delivery rows yet
		key = "cmp.ask.cancel_unstarted"
	}
	id := itoa(c.ID)
	t.Reply(Reply{Text: t.L.N(key, int(count), i18n.Data{"ID": c.ID, "Template": esc(c.TemplateName),
		"Sent": n.Sent}), HTML: true, Edit: edit,
		Keyboard: [][]Button{
			{{Text: t.L.T("button.sure." + o.action), Data: ScreenCallback(ActCampaignControlSure, o.action+":"+id)}},
			{{Text: t.L.T("button.delete_no"), Data: ScreenCallback(ActCampaignView, id)}},
		}})
	return nil
}

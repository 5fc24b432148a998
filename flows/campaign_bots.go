package flows

import (
	"context"
	"errors"
	"slices"
	"strings"

	"herald/i18n"
	"herald/store"
)

// The sender-bot step's choice of some of the bots: with three or more enabled bots,
// "☑️ Several bots…" turns the step's buttons into toggles (✅ chosen, ⬜️ not) and a
// "Done · N bots" button; the campaign then sends through the chosen ones, the first
// one (in the bots' list order) first. The selection lives in the draft (Several,
// Picked), so it survives a restart like any choice; a toggle of a bot that is gone or
// disabled, or a Done with none chosen, is answered and changes nothing.

// severalMin is how many enabled bots make "Several bots…" worth offering: with two,
// "All 2 bots" is the only choice of several.
const severalMin = 3

// Actions of the sender-bot step beyond "c:<id>" and "c:all".
const (
	actSeveral   = "several" // show the toggles
	actToggleBot = "x:"      // arg: channel id
	actSeveralOK = "done"    // the chosen bots
)

// enabledChannels are the bots a campaign may send through, in the list's order.
func enabledChannels(ctx context.Context, t *Turn) ([]store.Channel, error) {
	list, err := channels(t).ChannelList(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.Channel
	for _, c := range list {
		if c.Enabled {
			out = append(out, c)
		}
	}
	return out, nil
}

// severalRows are the toggles and Done of the several-bots screen.
func severalRows(t *Turn, s *Session, d campaignDraft, enabled []store.Channel) [][]Button {
	var rows [][]Button
	chosen := 0
	for _, c := range enabled {
		mark := "⬜️ "
		if slices.Contains(d.Picked, c.ID) {
			mark = "✅ "
			chosen++
		}
		rows = append(rows, []Button{s.Button(mark+c.Name+" · @"+c.Username, actToggleBot+itoa(c.ID))})
	}
	return append(rows, []Button{s.Button(t.L.N("cmp.bots_done", chosen), actSeveralOK)})
}

// handleSeveralBots handles the several-bots actions: event is Stay after a toggle, or
// ids are the chosen bots after Done. ok is false for other actions.
func handleSeveralBots(ctx context.Context, t *Turn, s *Session, d *campaignDraft, action string) (ids []int64, ok bool, err error) {
	switch {
	case action == actSeveral:
		d.Several, d.Picked = true, nil
		return nil, true, s.Save(*d)
	case strings.HasPrefix(action, actToggleBot):
		id, valid := pickID(action, actToggleBot)
		if !valid || !d.Several {
			return nil, true, Outdated()
		}
		if err := checkEnabled(ctx, t, id); err != nil {
			return nil, true, err
		}
		if i := slices.Index(d.Picked, id); i >= 0 {
			d.Picked = slices.Delete(d.Picked, i, i+1)
		} else {
			d.Picked = append(d.Picked, id)
		}
		return nil, true, s.Save(*d)
	case action == actSeveralOK:
		if !d.Several {
			return nil, true, Outdated()
		}
		ids, err := pickedChannels(ctx, t, d.Picked)
		return ids, true, err
	}
	return nil, false, nil
}

// checkEnabled answers a bot that is gone or disabled.
func checkEnabled(ctx context.Context, t *Turn, id int64) error {
	c, err := channels(t).ChannelGet(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Invalid("chan.gone", nil)
	case err != nil:
		return err
	case !c.Enabled:
		return Invalid("cmp.channel_disabled", i18n.Data{"Name": esc(c.Name)})
	}
	return nil
}

// pickedChannels are the chosen bots in the list's order, each still enabled; at
// least one.
func pickedChannels(ctx context.Context, t *Turn, picked []int64) ([]int64, error) {
	if len(picked) == 0 {
		return nil, Invalid("cmp.bots_none", nil)
	}
	for _, id := range picked {
		if err := checkEnabled(ctx, t, id); err != nil {
			return nil, err
		}
	}
	enabled, err := enabledChannels(ctx, t)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, c := range enabled {
		if slices.Contains(picked, c.ID) {
			ids = append(ids, c.ID)
		}
	}
	if len(ids) == 0 { // disabled between the check and the list
		return nil, Invalid("cmp.bots_none", nil)
	}
	return ids, nil
}

package flows

import (
	"context"
	"errors"
	"herald/i18n"
	"herald/store"
	"strconv"
)

// The channel screens: list, card, toggle, verify (getMe before the transaction)
// and remove (which asks first).

// showChannels lists the channel bots.
func showChannels(ctx context.Context, t *Turn, _ string) error {
	list, err := channels(t).ChannelList(ctx)
	if err != nil {
		return err
	}
	text := t.L.N("chan.list_header", len(list))
	if len(list) == 0 {
		text = t.L.T("chan.list_empty")
	}
	var rows [][]Button
	for _, c := range list {
		icon := "📡"
		switch {
		case !c.Enabled:
			icon = "⏸"
		case c.Mode == store.ChannelManaged:
			icon = "👥" // Herald keeps its subscribers
		}
		rows = append(rows, []Button{{Text: icon + " " + c.Name + " · @" + c.Username, Data: ScreenCallback(ActChannelView, itoa(c.ID))}})
	}
	if t.Actor.CanChange() {
		rows = append(rows, []Button{{Text: t.L.T("button.new_channel"), Data: ScreenCallback(ActChannelNew, "")}})
	}
	rows = append(rows, backToMenu(t)...)
	t.Reply(Reply{Text: text, HTML: true, Edit: true, Keyboard: rows})
	return nil
}

// startChannelAdd opens the registration dialog, or explains that the operator must
// set HERALD_SECRET_KEY first.
func startChannelAdd(_ context.Context, t *Turn, _ string) error {
	if t.Services().Box == nil {
		t.Reply(Reply{Text: t.L.T("chan.no_secret_key"), HTML: true, Keyboard: backToMenu(t)})
		return nil
	}
	t.Start(FlowChannelAdd, nil)
	return nil
}

func channelArg(ctx context.Context, t *Turn, arg string) (store.Channel, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil {
		return store.Channel{}, NotFound("chan.gone")
	}
	c, err := channels(t).ChannelGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return c, NotFound("chan.gone")
	}
	return c, err
}

// showChannel is a channel's card.
func showChannel(ctx context.Context, t *Turn, arg string) error {
	c, err := channelArg(ctx, t, arg)
	if err != nil {
		return err
	}
	verified := t.L.T("chan.never_verified")
	if c.VerifiedAt != nil {
		if verified, err = adminDate(ctx, t, *c.VerifiedAt); err != nil {
			return err
		}
	}
	state := t.L.T("chan.enabled")
	if !c.Enabled {
		state = t.L.T("chan.disabled")
	}
	text := t.L.T("chan.card", i18n.Data{"Name": esc(c.Name), "Username": esc(c.Username), "Rate": rateText(t, c.RatePerSecond, c.PaidBroadcast),
		"State": state, "Verified": verified})
	audience, err := channelAudience(ctx, t, c)
	if err != nil {
		return err
	}
	text += "\n" + audience
	id := itoa(c.ID)
	var rows [][]Button
	if t.Actor.CanChange() {
		toggle := t.L.T("button.disable")
		if !c.Enabled {
			toggle = t.L.T("button.enable")
		}
		rows = append(rows,
			[]Button{{Text: t.L.T("button.rename"), Data: ScreenCallback(ActChannelRename, id)},
				{Text: t.L.T("button.change_rate"), Data: ScreenCallback(ActChannelRate, id)}},
			[]Button{{Text: toggle, Data: ScreenCallback(ActChannelToggle, id)},
				{Text: t.L.T("button.verify"), Data: ScreenCallback(ActChannelVerify, id)}},
			modeButtons(t, c),
			[]Button{{Text: t.L.T("button.remove"), Data: ScreenCallback(ActChannelRemove, id)}})
	}
	rows = append(rows, []Button{{Text: t.L.T("button.to_list"), Data: ScreenCallback(ActChannels, "")}})
	t.Reply(Reply{Text: text, HTML: true, Edit: true, Keyboard: rows})
	return nil
}

// startChannelRename opens the rename dialog.
func startChannelRename(ctx context.Context, t *Turn, arg string) error {
	c, err := channelArg(ctx, t, arg)
	if err != nil {
		return err
	}
	t.Start(FlowChannelRename, channelDraft{ID: c.ID, Name: c.Name})
	return nil
}

// startChannelRate opens the rate dialog.
func startChannelRate(ctx context.Context, t *Turn, arg string) error {
	c, err := channelArg(ctx, t, arg)
	if err != nil {
		return err
	}
	t.Start(FlowChannelRate, channelDraft{ID: c.ID, Name: c.Name})
	return nil
}

// toggleChannel disables an enabled channel and enables a disabled one.
func toggleChannel(ctx context.Context, t *Turn, arg string) error {
	c, err := channelArg(ctx, t, arg)
	if err != nil {
		return err
	}
	if err := channels(t).ChannelSetEnabled(ctx, c.ID, !c.Enabled); err != nil {
		return err
	}
	action, key := "channel.disabled", "chan.now_disabled"
	if !c.Enabled {
		action, key = "channel.enabled", "chan.now_enabled"
	}
	if err := t.Audit(ctx, action, channelTarget(c.ID), map[string]any{"name": c.Name}); err != nil {
		return err
	}
	t.Notice(t.L.T(key, i18n.Data{"Name": c.Name}))
	return showChannel(ctx, t, arg)
}

// verified is what identifyChannel learned.
type verified struct {
	channel store.Channel
	me      BotIdentity
}

// identifyChannel checks the stored token with getMe again, before verifyChannel's
// transaction.
func identifyChannel(ctx context.Context, t *Turn, arg string) (any, error) {
	c, err := channelArg(ctx, t, arg)
	if err != nil {
		return nil, err
	}
	svc := t.Services()
	if svc.Box == nil {
		return nil, Conflict("chan.no_secret_key", nil)
	}
	token, err := channels(t).ChannelToken(ctx, svc.Box, c.ID)
	if err != nil {
		return nil, err
	}
	me, err := svc.Channels.Identify(ctx, token)
	switch {
	case errors.Is(err, ErrTokenRejected):
		return nil, Conflict("chan.verify_rejected", i18n.Data{"Name": esc(c.Name)})
	case err != nil:
		return nil, Conflict("chan.token_unreachable", nil)
	case me.ID != c.BotUserID:
		return nil, Conflict("chan.verify_other_bot", i18n.Data{"Name": esc(c.Name)})
	}
	return verified{channel: c, me: me}, nil
}

// verifyChannel records what identifyChannel found.
func verifyChannel(ctx context.Context, t *Turn, arg string) error {
	v, ok := t.prepared.(verified)
	if !ok {
		return errors.New("verify channel: the Prepare phase did not run")
	}
	switch err := channels(t).ChannelMarkVerified(ctx, v.channel.ID, v.me.Username, t.Now); {
	case errors.Is(err, store.ErrNotFound):
		return NotFound("chan.gone")
	case err != nil:
		return err
	}
	if err := t.Audit(ctx, "channel.verified", channelTarget(v.channel.ID), map[string]any{"username": v.me.Username}); err != nil {
		return err
	}
	t.Notice(t.L.T("chan.verified", i18n.Data{"Username": v.me.Username}))
	return showChannel(ctx, t, arg)
}

// askRemoveChannel asks for confirmation.
func askRemoveChannel(ctx context.Context, t *Turn, arg string) error {
	c, err := channelArg(ctx, t, arg)
	if err != nil {
		return err
	}
	id := itoa(c.ID)
	askOnce(t, t.L.T("chan.remove_question", i18n.Data{"Name": esc(c.Name), "Username": esc(c.Username)}),
		"button.remove_yes", ScreenCallback(ActChannelRemoveConfirm, id), ScreenCallback(ActChannelView, id))
	return nil
}

// removeChannel removes a channel; refused while an unfinished campaign uses it.
func removeChannel(ctx context.Context, t *Turn, arg string) error {
	c, err := channelArg(ctx, t, arg)
	if err != nil {
		return err
	}
	var inUse *store.InUseError
	switch err := channels(t).ChannelDelete(ctx, c.ID); {
	case errors.As(err, &inUse):
		return Conflict("chan.in_use", i18n.Data{"Name": esc(c.Name), "Campaigns": campaignIDs(inUse.CampaignIDs)})
	case errors.Is(err, store.ErrNotFound):
		return NotFound("chan.gone")
	case err != nil:
		return err
	}
	if err := t.Audit(ctx, "channel.removed", channelTarget(c.ID), map[string]any{"name": c.Name, "username": c.Username}); err != nil {
		return err
	}
	t.Notice(t.L.T("chan.removed", i18n.Data{"Name": c.Name}))
	return showChannels(ctx, t, "")
}

// channelAudience is the card's mode line and, for a managed bot, its audience and
// its answer to /start.
func channelAudience(ctx context.Context, t *Turn, c store.Channel) (string, error) {
	if c.Mode != store.ChannelManaged {
		return t.L.T("chan.card_send_only"), nil
	}
	n, err := channels(t).SubscriberCount(ctx, c.ID)
	if err != nil {
		return "", err
	}
	welcome := t.L.T("chan.welcome_builtin")
	if c.WelcomeTemplateID != nil {
		switch tpl, err := channels(t).TemplateGet(ctx, *c.WelcomeTemplateID); {
		case err == nil:
			welcome = "«" + esc(tpl.Name) + "»"
		case !errors.Is(err, store.ErrNotFound):
			return "", err
		}
	}
	return t.L.T("chan.card_managed", i18n.Data{"Active": t.L.Number(n.Active), "Blocked": t.L.Number(n.Blocked),
		"Stopped": t.L.Number(n.Stopped), "Chats": t.L.Number(n.Chats), "Welcome": welcome}), nil
}

// modeButtons switch the mode and, for a managed bot, pick its welcome.
func modeButtons(t *Turn, c store.Channel) []Button {
	id := itoa(c.ID)
	if c.Mode != store.ChannelManaged {
		return []Button{{Text: t.L.T("button.make_managed"), Data: ScreenCallback(ActChannelMode, id)}}
	}
	return []Button{{Text: t.L.T("button.make_send_only"), Data: ScreenCallback(ActChannelMode, id)},
		{Text: t.L.T("button.welcome"), Data: ScreenCallback(ActChannelWelcome, id)}}
}

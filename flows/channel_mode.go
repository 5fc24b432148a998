package flows

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"herald/i18n"
	"herald/store"
)

// A channel bot's mode: managed (Herald receives its updates and keeps its
// subscribers; package channelbot) or send-only (another app receives them). Chosen
// at registration after the token, changed on the card. Taking a bot over from an
// app whose webhook is set asks first: that app would stop receiving the updates.

// Mode step actions.
const (
	modeManaged  = "m:" + store.ChannelManaged
	modeSendOnly = "m:" + store.ChannelSendOnly
	modeTakeOver = "m:takeover"
)

// webhookFound is what prepareChannelMode learned: where the bot's updates go now.
type webhookFound struct{ url string }

func promptChannelMode(_ context.Context, t *Turn, s *Session) error {
	var d channelDraft
	if err := s.Load(&d); err != nil {
		return err
	}
	if d.HookHost != "" && !d.TakeOver {
		t.Reply(Reply{Text: t.L.T("chan.webhook_elsewhere", i18n.Data{"Username": esc(d.Username), "Host": esc(d.HookHost)}), HTML: true,
			Keyboard: [][]Button{
				{s.Button(t.L.T("button.take_over"), modeTakeOver)},
				{s.Button(t.L.T("button.mode_send_only"), modeSendOnly)},
			}})
		return nil
	}
	t.Reply(Reply{Text: t.L.T("chan.ask_mode", i18n.Data{"Username": esc(d.Username)}), HTML: true,
		Keyboard: [][]Button{
			{s.Button(t.L.T("button.mode_managed"), modeManaged)},
			{s.Button(t.L.T("button.mode_send_only"), modeSendOnly)},
		}})
	return nil
}

// prepareChannelMode asks Telegram, before the transaction, whether the bot already
// delivers its updates to a webhook, when the admin chose managed.
func prepareChannelMode(ctx context.Context, t *Turn, s *Session, in Input) (Input, error) {
	if in.Action != modeManaged {
		return in, nil
	}
	var d channelDraft
	if err := s.Load(&d); err != nil {
		return in, err
	}
	svc := t.Services()
	if svc.Box == nil {
		return in, Invalid("chan.no_secret_key", nil)
	}
	token, err := svc.Box.Open(d.Sealed)
	if err != nil {
		return in, errors.New("channel registration: the sealed token does not open (key changed?)")
	}
	hook, err := svc.Channels.WebhookURL(ctx, string(token))
	if err != nil {
		return in, Invalid("chan.token_unreachable", nil)
	}
	in.prepared = webhookFound{url: hook}
	return in, nil
}

func handleChannelMode(_ context.Context, t *Turn, s *Session, in Input) (string, error) {
	var d channelDraft
	if err := s.Load(&d); err != nil {
		return "", err
	}
	switch in.Action {
	case "":
		return "", Invalid("chan.mode_invalid", nil)
	case modeSendOnly:
		d.Mode, d.HookHost, d.TakeOver = store.ChannelSendOnly, "", false
	case modeManaged:
		found, ok := in.prepared.(webhookFound)
		if !ok {
			return "", Outdated()
		}
		d.Mode, d.TakeOver = store.ChannelManaged, false
		if found.url != "" {
			d.HookHost = hookHost(found.url)
			return Stay, s.Save(d) // the prompt asks before taking over
		}
		d.HookHost = ""
	case modeTakeOver:
		if d.HookHost == "" {
			return "", Outdated()
		}
		d.Mode, d.TakeOver = store.ChannelManaged, true
	default:
		return "", Outdated()
	}
	return "moded", s.Save(d)
}

// hookHost is what the admin is shown of another app's webhook: its host, not the
// path (which often carries a secret).
func hookHost(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return "?"
}

// prepareChannelTakeOver drops the other app's webhook when the admin confirmed the
// takeover, right before the registration is written (not when the mode was chosen:
// a registration abandoned on the way must not cost the other app its updates).
func prepareChannelTakeOver(ctx context.Context, t *Turn, s *Session, in Input) (Input, error) {
	if s.Flow != FlowChannelAdd {
		return in, nil
	}
	var d channelDraft
	if err := s.Load(&d); err != nil {
		return in, err
	}
	text := in.Text
	if r, ok := strings.CutPrefix(in.Action, "r:"); ok {
		text = r
	}
	if _, ok := parseRate(text); !ok || !d.TakeOver {
		return in, nil // Handle answers a wrong rate; nothing to take over
	}
	svc := t.Services()
	if svc.Box == nil {
		return in, Invalid("chan.no_secret_key", nil)
	}
	token, err := svc.Box.Open(d.Sealed)
	if err != nil {
		return in, errors.New("channel registration: the sealed token does not open (key changed?)")
	}
	if err := svc.Channels.DropWebhook(ctx, string(token)); err != nil {
		return in, Invalid("chan.takeover_failed", nil)
	}
	return in, nil
}

// modeSwitch is what identifyModeSwitch found: the mode to switch to, and the host of
// another app's webhook that managed mode would take over.
type modeSwitch struct {
	channel  store.Channel
	to       string
	hookHost string
}

// identifyModeSwitch looks, before the transaction, for a webhook that switching to
// managed would take over.
func identifyModeSwitch(ctx context.Context, t *Turn, arg string) (any, error) {
	c, err := channelArg(ctx, t, arg)
	if err != nil {
		return nil, err
	}
	if c.Mode == store.ChannelManaged {
		return modeSwitch{channel: c, to: store.ChannelSendOnly}, nil
	}
	token, err := channelToken(ctx, t, c)
	if err != nil {
		return nil, err
	}
	hook, err := t.Services().Channels.WebhookURL(ctx, token)
	if err != nil {
		return nil, Conflict("chan.token_unreachable", nil)
	}
	ms := modeSwitch{channel: c, to: store.ChannelManaged}
	if hook != "" {
		ms.hookHost = hookHost(hook)
	}
	return ms, nil
}

func channelToken(ctx context.Context, t *Turn, c store.Channel) (string, error) {
	svc := t.Services()
	if svc.Box == nil {
		return "", Conflict("chan.no_secret_key", nil)
	}
	return channels(t).ChannelToken(ctx, svc.Box, c.ID)
}

// switchMode switches the card's channel, or asks first when managed mode would take
// a webhook over.
func switchMode(ctx context.Context, t *Turn, arg string) error {
	ms, ok := t.prepared.(modeSwitch)
	if !ok {
		return errors.New("switch mode: the Prepare phase did not run")
	}
	c := ms.channel
	if ms.hookHost != "" {
		id := itoa(c.ID)
		t.Reply(Reply{Text: t.L.T("chan.webhook_elsewhere", i18n.Data{"Username": esc(c.Username), "Host": esc(ms.hookHost)}),
			HTML: true, Edit: true, Keyboard: [][]Button{
				{{Text: t.L.T("button.take_over"), Data: ScreenCallback(ActChannelModeTakeOver, id)}},
				{{Text: t.L.T("button.keep_send_only"), Data: ScreenCallback(ActChannelView, id)}},
			}})
		return nil
	}
	return setMode(ctx, t, c, ms.to, false)
}

func setMode(ctx context.Context, t *Turn, c store.Channel, mode string, tookOver bool) error {
	switch err := channels(t).ChannelSetMode(ctx, c.ID, mode); {
	case errors.Is(err, store.ErrNotFound):
		return NotFound("chan.gone")
	case err != nil:
		return err
	}
	if err := t.Audit(ctx, "channel.mode_changed", channelTarget(c.ID), map[string]any{"mode": mode, "took_over_webhook": tookOver}); err != nil {
		return err
	}
	key := "chan.now_send_only"
	if mode == store.ChannelManaged {
		key = "chan.now_managed"
	}
	t.Notice(t.L.T(key, i18n.Data{"Name": c.Name}))
	return showChannel(ctx, t, itoa(c.ID))
}

// dropWebhook takes the bot over after the admin confirmed: deleteWebhook before the
// transaction.
func dropWebhook(ctx context.Context, t *Turn, arg string) (any, error) {
	c, err := channelArg(ctx, t, arg)
	if err != nil {
		return nil, err
	}
	if c.Mode == store.ChannelManaged {
		return c, nil // pressed twice
	}
	token, err := channelToken(ctx, t, c)
	if err != nil {
		return nil, err
	}
	if err := t.Services().Channels.DropWebhook(ctx, token); err != nil {
		return nil, Conflict("chan.takeover_failed", nil)
	}
	return c, nil
}

func takeOverChannel(ctx context.Context, t *Turn, _ string) error {
	c, ok := t.prepared.(store.Channel)
	if !ok {
		return errors.New("take over: the Prepare phase did not run")
	}
	return setMode(ctx, t, c, store.ChannelManaged, true)
}

// welcomeChoices bounds the templates the welcome picker lists (newest first).
const welcomeChoices = 30

// showWelcomeChoices lists the text templates a managed bot may answer /start with.
func showWelcomeChoices(ctx context.Context, t *Turn, arg string) error {
	c, err := channelArg(ctx, t, arg)
	if err != nil {
		return err
	}
	list, _, err := channels(t).TemplateList(ctx, welcomeChoices, 0)
	if err != nil {
		return err
	}
	id := itoa(c.ID)
	rows := [][]Button{{{Text: t.L.T("button.welcome_builtin"), Data: ScreenCallback(ActChannelWelcomeSet, id+":0")}}}
	for _, tpl := range list {
		if tpl.MediaKind != "" {
			continue // a welcome is a text: media would need an upload per bot
		}
		rows = append(rows, []Button{{Text: "📝 " + tpl.Name, Data: ScreenCallback(ActChannelWelcomeSet, id+":"+itoa(tpl.ID))}})
	}
	rows = append(rows, []Button{{Text: t.L.T("button.back"), Data: ScreenCallback(ActChannelView, id)}})
	t.Reply(Reply{Text: t.L.T("chan.welcome_pick", i18n.Data{"Username": esc(c.Username)}), HTML: true, Edit: true, Keyboard: rows})
	return nil
}

// setWelcome records the picked welcome template ("<channel>:<template>", 0: the
// built-in text).
func setWelcome(ctx context.Context, t *Turn, arg string) error {
	chanArg, tplArg, _ := strings.Cut(arg, ":")
	c, err := channelArg(ctx, t, chanArg)
	if err != nil {
		return err
	}
	tplID, err := strconv.ParseInt(tplArg, 10, 64)
	if err != nil || tplID < 0 {
		return NotFound("tpl.gone")
	}
	var choice *int64
	name := t.L.T("chan.welcome_builtin")
	if tplID > 0 {
		tpl, err := channels(t).TemplateGet(ctx, tplID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && tpl.MediaKind != "") {
			return NotFound("tpl.gone")
		}
		if err != nil {
			return err
		}
		choice, name = &tplID, tpl.Name
	}
	switch err := channels(t).ChannelSetWelcome(ctx, c.ID, choice); {
	case errors.Is(err, store.ErrNotFound):
		return NotFound("chan.gone")
	case err != nil:
		return err
	}
	if err := t.Audit(ctx, "channel.welcome_changed", channelTarget(c.ID), map[string]any{"template_id": tplID}); err != nil {
		return err
	}
	t.Notice(t.L.T("chan.welcome_set", i18n.Data{"Welcome": name}))
	return showChannel(ctx, t, itoa(c.ID))
}

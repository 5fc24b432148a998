package flows

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/looplab/fsm"

	"herald/i18n"
	"herald/store"
)

// Flow names of the channel dialogs.
const (
	FlowChannelAdd    = "chan_add"
	FlowChannelRename = "chan_rename"
	FlowChannelRate   = "chan_rate"
)

// Channel screens (callback prefixes).
const (
	ActChannels             = "cl"
	ActChannelView          = "cv" // arg: channel id
	ActChannelNew           = "cn"
	ActChannelRename        = "cr"
	ActChannelRate          = "cq"
	ActChannelToggle        = "ce"
	ActChannelVerify        = "cc"
	ActChannelRemove        = "cx" // asks
	ActChannelRemoveConfirm = "cy"
	ActChannelMode          = "cm"  // arg: channel id; switches managed ⇄ send-only (asks before taking a webhook over)
	ActChannelModeTakeOver  = "cmt" // arg: channel id; confirmed: drop the other app's webhook, then managed
	ActChannelWelcome       = "cw"  // arg: channel id; the templates to answer /start with
	ActChannelWelcomeSet    = "cws" // arg: "<channel id>:<template id>", 0 for the built-in text
)

// paidStarsPerMessage is what Telegram charges for each message above the free
// broadcast limit when paid broadcasts are on.
const paidStarsPerMessage = 0.1

type channelStore interface {
	ChannelCreate(ctx context.Context, sealer store.TokenSealer, p store.ChannelCreateParams) (store.Channel, error)
	ChannelList(ctx context.Context) ([]store.Channel, error)
	ChannelGet(ctx context.Context, id int64) (store.Channel, error)
	ChannelToken(ctx context.Context, opener store.TokenOpener, id int64) (string, error)
	ChannelRename(ctx context.Context, id int64, name string) error
	ChannelSetRate(ctx context.Context, id int64, rate int, paid bool) error
	ChannelSetEnabled(ctx context.Context, id int64, enabled bool) error
	ChannelMarkVerified(ctx context.Context, id int64, username string, at time.Time) error
	ChannelDelete(ctx context.Context, id int64) error
	ChannelSetMode(ctx context.Context, id int64, mode string) error
	ChannelSetWelcome(ctx context.Context, id int64, templateID *int64) error
	SubscriberCount(ctx context.Context, channelID int64) (store.SubscriberCounts, error)
	TemplateGet(ctx context.Context, id int64) (store.Template, error)
	TemplateList(ctx context.Context, limit, offset int) ([]store.Template, int, error)
}

func channels(t *Turn) channelStore { return t.st }

// channelDraft is what the channel dialogs collect. The token never appears in it:
// only its ciphertext, sealed with the box before the draft is saved.
type channelDraft struct {
	ID       int64  `json:"id,omitempty"` // rename and rate: the channel
	Sealed   []byte `json:"sealed,omitempty"`
	BotID    int64  `json:"bot_id,omitempty"`
	Username string `json:"username,omitempty"`
	Name     string `json:"name,omitempty"`
	// Mode is store.ChannelManaged or store.ChannelSendOnly once chosen. HookHost: the
	// host another app's webhook points at, when managed mode found one (the step then
	// asks before taking over); TakeOver: the admin confirmed, and registration drops
	// that webhook.
	Mode     string `json:"mode,omitempty"`
	HookHost string `json:"hook_host,omitempty"`
	TakeOver bool   `json:"take_over,omitempty"`
}

// tokenRE is the shape of a bot token: "<bot id>:<35 characters>"; tokenInTextRE
// finds one inside a longer text (BotFather's whole "Done! Congratulations…" message).
var (
	tokenRE       = regexp.MustCompile(`^[0-9]{3,20}:[A-Za-z0-9_-]{20,80}$`)
	tokenInTextRE = regexp.MustCompile(`(?:^|[^0-9A-Za-z_-])([0-9]{3,20}:[A-Za-z0-9_-]{30,80})(?:$|[^0-9A-Za-z_-])`)
)

// botFatherURL is where tokens come from.
const botFatherURL = "https://t.me/BotFather"

// extractToken finds the bot token in what the admin pasted: the token alone, with
// spaces or line breaks around or inside it (a copy from a phone wraps it), or within
// BotFather's whole message. ok is false when there is none, or more than one.
func extractToken(text string) (string, bool) {
	// A message that is one token once white space is gone: it may be wrapped anywhere,
	// even where a fragment would look like a whole token.
	if joined := strings.Join(strings.Fields(text), ""); tokenRE.MatchString(joined) {
		return joined, true
	}
	found := tokenInTextRE.FindAllStringSubmatch(text, 2)
	if len(found) != 1 {
		return "", false
	}
	return found[0][1], true
}

// dialogChannelAdd registers a channel bot: token → mode → display name → rate.
func dialogChannelAdd() *Definition {
	return &Definition{
		Name: FlowChannelAdd, Role: store.RoleAdmin, Initial: "token",
		Events: []fsm.EventDesc{
			{Name: "verified", Src: []string{"token"}, Dst: "mode"},
			{Name: "moded", Src: []string{"mode"}, Dst: "name"},
			{Name: "named", Src: []string{"name"}, Dst: "rate"},
		},
		Steps: map[string]*Step{
			"token": {Prompt: promptChannelToken, Prepare: prepareChannelToken, Handle: handleChannelToken},
			"mode":  {Prompt: promptChannelMode, Prepare: prepareChannelMode, Handle: handleChannelMode, Back: "token"},
			"name":  {Prompt: promptChannelName, Handle: handleChannelName, Back: "mode"},
			"rate":  {Prompt: promptChannelRate, Prepare: prepareChannelTakeOver, Handle: handleChannelRate, Back: "name"},
		},
	}
}

// dialogChannelRename renames the channel in the draft's ID.
func dialogChannelRename() *Definition {
	return &Definition{
		Name: FlowChannelRename, Role: store.RoleAdmin, Initial: "name",
		Steps: map[string]*Step{"name": {Prompt: promptChannelName, Handle: handleChannelName}},
	}
}

// dialogChannelRate changes the rate of the channel in the draft's ID.
func dialogChannelRate() *Definition {
	return &Definition{
		Name: FlowChannelRate, Role: store.RoleAdmin, Initial: "rate",
		Steps: map[string]*Step{"rate": {Prompt: promptChannelRate, Handle: handleChannelRate}},
	}
}

// promptChannelToken asks for the token, with help on getting one; back from the
// next step, it offers to keep the token already verified.
func promptChannelToken(_ context.Context, t *Turn, s *Session) error {
	var d channelDraft
	if err := s.Load(&d); err != nil {
		return err
	}
	kb := [][]Button{
		{s.Button(t.L.T("button.token_howto"), tokenHowtoAction), {Text: t.L.T("button.open_botfather"), URL: botFatherURL}},
	}
	if d.Sealed != nil {
		kb = append([][]Button{{s.Button(t.L.T("button.keep_token", i18n.Data{"Username": d.Username}), keepAction)}}, kb...)
	}
	t.Reply(Reply{Text: t.L.T("chan.ask_token"), HTML: true, Keyboard: kb})
	return nil
}

// tokenHowtoAction is the token step's "How do I get a token?" button.
const tokenHowtoAction = "howto"

// tokenCheck is what prepareChannelToken learned about a token.
type tokenCheck struct {
	token string
	me    BotIdentity
}

// prepareChannelToken deletes the admin's message (it holds a secret) and asks
// Telegram who the token belongs to, before the transaction.
func prepareChannelToken(ctx context.Context, t *Turn, _ *Session, in Input) (Input, error) {
	switch in.Action {
	case "":
	case keepAction, tokenHowtoAction: // no token to look at: Handle decides
		return in, nil
	default:
		return in, Outdated()
	}
	svc := t.Services()
	// The message holds a secret: it goes first, whatever happens next.
	if in.MessageID != 0 && svc.Chat != nil {
		if err := svc.Chat.DeleteMessage(ctx, t.ChatID, in.MessageID); err != nil {
			t.Say("chan.delete_failed")
		}
	}
	if svc.Box == nil {
		return in, Invalid("chan.no_secret_key", nil)
	}
	token, ok := extractToken(in.Text) // a caption too: a screenshot's text is what was pasted
	if !ok {
		return in, Invalid("chan.token_format", nil)
	}
	me, err := VerifyChannelToken(ctx, *svc, token)
	if err != nil {
		return in, err
	}
	in.prepared = tokenCheck{token: token, me: me}
	return in, nil
}

func handleChannelToken(ctx context.Context, t *Turn, s *Session, in Input) (string, error) {
	switch in.Action {
	case tokenHowtoAction:
		t.Reply(Reply{Text: t.L.T("chan.token_howto"), HTML: true,
			Keyboard: [][]Button{{{Text: t.L.T("button.open_botfather"), URL: botFatherURL}}}})
		return Stay, nil
	case keepAction:
		var d channelDraft
		if err := s.Load(&d); err != nil {
			return "", err
		}
		if d.Sealed == nil {
			return "", Outdated()
		}
		return "verified", nil
	}
	tc, ok := in.prepared.(tokenCheck)
	if !ok {
		return "", Outdated()
	}
	me := tc.me
	list, err := channels(t).ChannelList(ctx)
	if err != nil {
		return "", err
	}
	for _, c := range list {
		if c.BotUserID == me.ID {
			return "", Invalid("chan.exists", i18n.Data{"Name": esc(c.Name), "Username": esc(me.Username)})
		}
	}
	d := channelDraft{Sealed: t.Services().Box.Seal([]byte(tc.token)), BotID: me.ID, Username: me.Username, Name: me.FirstName}
	if d.Name == "" {
		d.Name = me.Username
	}
	return "verified", s.Save(d)
}

func promptChannelName(_ context.Context, t *Turn, s *Session) error {
	var d channelDraft
	if err := s.Load(&d); err != nil {
		return err
	}
	if s.Flow == FlowChannelRename {
		t.Say("chan.ask_new_name", i18n.Data{"Name": esc(d.Name)})
		return nil
	}
	t.Reply(Reply{Text: t.L.T("chan.ask_name", i18n.Data{"Username": esc(d.Username)}), HTML: true,
		Keyboard: [][]Button{{s.Button(t.L.T("button.use_name", i18n.Data{"Name": d.Name}), keepAction)}}})
	return nil
}

func handleChannelName(ctx context.Context, t *Turn, s *Session, in Input) (string, error) {
	var d channelDraft
	if err := s.Load(&d); err != nil {
		return "", err
	}
	name := d.Name
	switch {
	case in.Action == keepAction && s.Flow == FlowChannelAdd && d.Name != "":
	case in.Action != "":
		return "", Outdated()
	default:
		var err error
		if name, err = checkName(in); err != nil {
			return "", err
		}
	}
	if s.Flow == FlowChannelAdd {
		d.Name = name
		return "named", s.Save(d)
	}
	switch err := channels(t).ChannelRename(ctx, d.ID, name); {
	case errors.Is(err, store.ErrNotFound):
		t.Say("chan.gone")
		return Done, nil
	case err != nil:
		return "", err
	}
	if err := t.Audit(ctx, "channel.renamed", channelTarget(d.ID), map[string]any{"from": d.Name, "to": name}); err != nil {
		return "", err
	}
	t.Reply(Reply{Text: t.L.T("chan.renamed", i18n.Data{"Name": esc(name)}), HTML: true,
		Keyboard: [][]Button{{{Text: t.L.T("button.open"), Data: ScreenCallback(ActChannelView, itoa(d.ID))}}}})
	return Done, nil
}

func promptChannelRate(_ context.Context, t *Turn, s *Session) error {
	t.Reply(Reply{Text: t.L.T("chan.ask_rate", i18n.Data{"Free": store.ChannelMaxRate, "Max": store.ChannelMaxPaidRate,
		"Stars": t.L.Decimal(paidStarsPerMessage)}), HTML: true,
		Keyboard: [][]Button{
			{s.Button(t.L.T("button.rate_free", i18n.Data{"Rate": store.ChannelMaxRate}), "r:"+strconv.Itoa(store.ChannelMaxRate))},
			{s.Button(t.L.T("button.rate_paid", i18n.Data{"Rate": 100}), "r:100"),
				s.Button(t.L.T("button.rate_paid", i18n.Data{"Rate": store.ChannelMaxPaidRate}), "r:"+strconv.Itoa(store.ChannelMaxPaidRate))},
		}})
	return nil
}

func handleChannelRate(ctx context.Context, t *Turn, s *Session, in Input) (string, error) {
	var d channelDraft
	if err := s.Load(&d); err != nil {
		return "", err
	}
	text := strings.TrimSpace(in.Text)
	if in.Action != "" {
		r, ok := strings.CutPrefix(in.Action, "r:")
		if !ok {
			return "", Outdated()
		}
		text = r
	}
	rate, ok := parseRate(text)
	if !ok {
		rate = -1
	}
	paid, err := CheckRate(rate)
	if err != nil {
		return "", err
	}
	if s.Flow == FlowChannelRate {
		switch err := channels(t).ChannelSetRate(ctx, d.ID, rate, paid); {
		case errors.Is(err, store.ErrNotFound):
			t.Say("chan.gone")
			return Done, nil
		case err != nil:
			return "", err
		}
		if err := t.Audit(ctx, "channel.rate_changed", channelTarget(d.ID), map[string]any{"rate": rate, "paid_broadcast": paid}); err != nil {
			return "", err
		}
		t.Reply(Reply{Text: t.L.T("chan.rate_set", i18n.Data{"Rate": rateText(t, rate, paid)}), HTML: true,
			Keyboard: [][]Button{{{Text: t.L.T("button.open"), Data: ScreenCallback(ActChannelView, itoa(d.ID))}}}})
		return Done, nil
	}
	box := t.Services().Box
	if box == nil {
		return "", Invalid("chan.no_secret_key", nil)
	}
	token, err := box.Open(d.Sealed)
	if err != nil {
		return "", errors.New("channel registration: the sealed token does not open (key changed?)")
	}
	c, err := channels(t).ChannelCreate(ctx, box, store.ChannelCreateParams{
		BotUserID: d.BotID, Username: d.Username, Name: d.Name, Token: string(token),
		RatePerSecond: rate, PaidBroadcast: paid, CreatedBy: t.Actor.UserID, VerifiedAt: t.Now, Mode: d.Mode,
	})
	var exists *store.ChannelExistsError
	switch {
	case errors.As(err, &exists):
		t.Say("chan.exists", i18n.Data{"Name": esc(exists.Name), "Username": esc(d.Username)})
		return Done, nil
	case err != nil:
		return "", err
	}
	if err := t.Audit(ctx, "channel.registered", channelTarget(c.ID), map[string]any{
		"name": c.Name, "username": c.Username, "bot_user_id": c.BotUserID, "rate": rate, "paid_broadcast": paid,
		"mode": c.Mode, "took_over_webhook": d.TakeOver,
	}); err != nil {
		return "", err
	}
	text = t.L.T("chan.registered", i18n.Data{"Name": esc(c.Name), "Username": esc(c.Username), "Rate": rateText(t, rate, paid)})
	if c.Mode == store.ChannelManaged {
		text += "\n\n" + t.L.T("chan.registered_managed", i18n.Data{"Username": esc(c.Username)})
	}
	t.Reply(Reply{Text: text, HTML: true,
		Keyboard: [][]Button{
			{{Text: t.L.T("button.open"), Data: ScreenCallback(ActChannelView, itoa(c.ID))}},
			{{Text: t.L.T("button.menu"), Data: ScreenCallback(ActMenu, "")}},
		}})
	return Done, nil
}

// parseRate reads "250" or "250/s" as a rate of 1..ChannelMaxPaidRate.
func parseRate(text string) (int, bool) {
	rate, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(text), "/s")))
	return rate, err == nil && rate >= 1 && rate <= store.ChannelMaxPaidRate
}

func rateText(t *Turn, rate int, paid bool) string {
	if paid {
		return t.L.T("chan.rate_paid", i18n.Data{"Rate": rate, "Stars": t.L.Decimal(paidStarsPerMessage), "Free": store.ChannelMaxRate})
	}
	return t.L.T("chan.rate_free", i18n.Data{"Rate": rate})
}

func channelTarget(id int64) string { return "channel:" + itoa(id) }

package flows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mymmrac/telego"

	"herald/i18n"
	"herald/render"
	"herald/store"
)

// The rules the dialogs apply, exported so that the HTTP API (package api) applies the
// very same ones: each is called by the flow step that used to hold it and by the API
// handler. Errors are *Error, whose Code and Key the API reports as they are.

// AuditFunc writes an audit entry in the caller's transaction: Turn.Audit in a dialog,
// the API key's auditor in the API.
type AuditFunc func(ctx context.Context, action, target string, details map[string]any) error

// CheckName accepts 1–64 characters of text on one line (inner whitespace collapsed).
func CheckName(text string) (string, error) {
	name := strings.Join(strings.Fields(text), " ")
	if name == "" {
		return "", Invalid("tpl.name_not_text", nil)
	}
	if n := utf8.RuneCountInString(name); n > maxNameLength {
		return "", Invalid("tpl.name_too_long", i18n.Data{"Count": n, "Max": maxNameLength})
	}
	return name, nil
}

// CheckTemplateContent checks a template's text, entities and medium against
// Telegram's limits and the template syntax.
func CheckTemplateContent(text string, entities []telego.MessageEntity, media *Media) error {
	if media == nil && strings.TrimSpace(text) == "" {
		return Invalid("tpl.content_empty", nil)
	}
	if media != nil && media.FileSize > MaxMediaSize {
		return Invalid("tpl.media_too_big", i18n.Data{"SizeMB": (media.FileSize + 1<<20 - 1) >> 20, "MaxMB": MaxMediaSize >> 20})
	}
	if len(entities) > MaxEntities {
		return Invalid("tpl.too_many_entities", i18n.Data{"Count": len(entities), "Max": MaxEntities})
	}
	tpl, err := render.Parse(text, entities)
	if err != nil {
		return syntaxError(err)
	}
	limit, key := MaxTextLength, "tpl.text_too_long"
	if media != nil {
		limit, key = MaxCaptionLength, "tpl.caption_too_long"
	}
	if n := LongestLength(tpl); n > limit {
		return Invalid(key, i18n.Data{"Count": n, "Max": limit, "Over": n - limit})
	}
	return nil
}

// ParseButtons reads URL buttons, one row a line, as the template builder accepts them.
func ParseButtons(text string) ([][]telego.InlineKeyboardButton, error) {
	rows, err := render.ParseButtons(text)
	var be *render.ButtonError
	if errors.As(err, &be) {
		return nil, Invalid("tpl.button."+be.Reason, i18n.Data{"Line": be.Line, "Text": esc(be.Text), "Max": render.MaxButtons})
	}
	if err != nil {
		return nil, fmt.Errorf("parse buttons: %w", err)
	}
	return rows, nil
}

// TemplateContent is a checked template to save.
type TemplateContent struct {
	Name     string
	Body     string
	Entities []telego.MessageEntity
	Media    *Media
	Buttons  [][]telego.InlineKeyboardButton
}

// SaveTemplate creates the template and audits it, in the transaction st is bound to.
func SaveTemplate(ctx context.Context, st *store.Store, audit AuditFunc, c TemplateContent, createdBy int64) (int64, error) {
	row := store.Template{Name: c.Name, Body: c.Body, CreatedBy: createdBy}
	var err error
	if row.Entities, err = json.Marshal(nonNil(c.Entities)); err != nil {
		return 0, fmt.Errorf("encode entities: %w", err)
	}
	if row.Buttons, err = json.Marshal(nonNil(c.Buttons)); err != nil {
		return 0, fmt.Errorf("encode buttons: %w", err)
	}
	if c.Media != nil {
		row.MediaKind, row.MediaFileID, row.MediaUniqueID = c.Media.Kind, c.Media.FileID, c.Media.UniqueID
	}
	id, err := st.TemplateCreate(ctx, row)
	if errors.Is(err, store.ErrTemplateNameTaken) {
		return 0, Invalid("tpl.name_taken_back", i18n.Data{"Name": esc(c.Name)})
	}
	if err != nil {
		return 0, err
	}
	if err := audit(ctx, "template.created", templateTarget(id), map[string]any{"name": c.Name, "media": mediaKind(c.Media), "buttons": len(c.Buttons)}); err != nil {
		return 0, err
	}
	return id, nil
}

// PreviewTemplate renders a saved template as a recipient would see it, with values
// (SampleValues when nil).
func PreviewTemplate(l *i18n.Localizer, tp store.Template, values map[string]string) (Reply, map[string]string, error) {
	var entities []telego.MessageEntity
	if err := json.Unmarshal(tp.Entities, &entities); err != nil {
		return Reply{}, nil, fmt.Errorf("decode template %d entities: %w", tp.ID, err)
	}
	tpl, err := render.Parse(tp.Body, entities)
	if err != nil {
		return Reply{}, nil, fmt.Errorf("parse template %d: %w", tp.ID, err)
	}
	samples := SampleValues(l, tpl.Vars())
	for k, v := range values {
		if _, used := samples[k]; used {
			samples[k] = v
		}
	}
	text, ents := tpl.Render(samples)
	return Reply{Text: text, Entities: ents}, samples, nil
}

// CheckScheduledAt accepts a start time ahead of now and within a year; loc is the
// zone the answer names the current time in.
func CheckScheduledAt(at, now time.Time, loc *time.Location) error {
	if !at.After(now) {
		return Invalid("cmp.when_past", i18n.Data{"Now": now.In(loc).Format("2006-01-02 15:04"), "Zone": esc(loc.String())})
	}
	if at.After(now.AddDate(1, 0, 0)) {
		return Invalid("cmp.when_too_far", nil)
	}
	return nil
}

// VerifyChannelToken checks a channel bot's token: its shape, then getMe through
// svc.Channels; the management bot's own token is refused.
func VerifyChannelToken(ctx context.Context, svc Services, token string) (BotIdentity, error) {
	if svc.Box == nil {
		return BotIdentity{}, Invalid("chan.no_secret_key", nil)
	}
	if !tokenRE.MatchString(token) {
		return BotIdentity{}, Invalid("chan.token_format", nil)
	}
	if svc.Channels == nil {
		return BotIdentity{}, errors.New("channel registration: no channel-bot client configured")
	}
	me, err := svc.Channels.Identify(ctx, token)
	switch {
	case errors.Is(err, ErrTokenRejected):
		return me, Invalid("chan.token_rejected", nil)
	case err != nil:
		// The cause may carry the request URL, and so the token: it is not logged.
		return me, Invalid("chan.token_unreachable", nil)
	case svc.ManagementBotID != nil && me.ID == svc.ManagementBotID():
		// Its campaigns would share the rate limit with the admins' replies, and its
		// token would be stored a second time.
		return me, Invalid("chan.token_is_management", i18n.Data{"Username": esc(me.Username)})
	}
	return me, nil
}

// CheckRate accepts 1..store.ChannelMaxPaidRate messages a second; above
// store.ChannelMaxRate the channel uses paid broadcasts.
func CheckRate(rate int) (paid bool, err error) {
	if rate < 1 || rate > store.ChannelMaxPaidRate {
		return false, Invalid("chan.rate_invalid", i18n.Data{"Max": store.ChannelMaxPaidRate})
	}
	return rate > store.ChannelMaxRate, nil
}

// Problem is one reason a campaign cannot start yet: a catalog key and its data.
type Problem struct {
	Key  string
	Data i18n.Data
}

// CampaignPlan is what a campaign of a template, an audience and its channel bots
// would do.
type CampaignPlan struct {
	Template store.Template
	Audience store.Audience
	Batch    store.Batch // the audience's batch (zero for an audience without one)
	Sample   *store.Recipient
	Channel  store.Channel   // the first bot
	Channels []store.Channel // every bot, the first one first
	// Counts says who is reached and who is left out, and why; KnownToBots that the
	// bots have subscribers (so "never started the bot" means something).
	Counts      store.AudienceCount
	KnownToBots bool
	Reachable   int64
	Message     Reply // the message for the first recipient
	Blocking    []Problem
	// Limit is Telegram's limit for the message; TooLong are the first chat ids of the
	// recipients whose values make it longer (TooLongTotal of them in all), and
	// SampleTooLong says the first recipient is one, so there is no preview to show.
	// They do not block: the rest may be sent, and they fail at send time with
	// queue.ReasonTooLongForRecipient.
	Limit         int
	TooLong       []int64
	TooLongTotal  int
	SampleTooLong bool
}

// PlanCampaign checks a campaign of a batch through one channel bot before it is
// created: PlanAudienceCampaign with a batch audience.
func PlanCampaign(ctx context.Context, st *store.Store, templateID, batchID, channelID int64) (*CampaignPlan, error) {
	return PlanAudienceCampaign(ctx, st, templateID, store.Audience{Kind: store.AudienceBatch, BatchID: batchID}, []int64{channelID})
}

// PlanAudienceCampaign checks a campaign before it is created: the template, the
// audience's batch (if it has one) and the bots exist, every variable without a
// default is one every recipient has, someone is reachable, every bot is enabled and
// the message fits. channelIDs are the bots, the first one first.
func PlanAudienceCampaign(ctx context.Context, st *store.Store, templateID int64, a store.Audience, channelIDs []int64) (*CampaignPlan, error) {
	p := &CampaignPlan{}
	var err error
	if p.Template, err = st.TemplateGet(ctx, templateID); errors.Is(err, store.ErrNotFound) {
		return nil, Invalid("tpl.gone", nil)
	} else if err != nil {
		return nil, err
	}
	vars, err := p.planAudience(ctx, st, a, channelIDs)
	if err != nil {
		return nil, err
	}
	var entities []telego.MessageEntity
	var buttons [][]telego.InlineKeyboardButton
	if err := json.Unmarshal(p.Template.Entities, &entities); err != nil {
		return nil, fmt.Errorf("decode template %d entities: %w", p.Template.ID, err)
	}
	if err := json.Unmarshal(p.Template.Buttons, &buttons); err != nil {
		return nil, fmt.Errorf("decode template %d buttons: %w", p.Template.ID, err)
	}
	tpl, err := render.Parse(p.Template.Body, entities)
	if err != nil {
		return nil, fmt.Errorf("parse template %d: %w", p.Template.ID, err)
	}
	for _, v := range tpl.Vars() {
		if !vars[v.Name] && !v.HasDefault {
			p.Blocking = append(p.Blocking, p.missingVar(v.Name))
		}
	}
	if p.Reachable == 0 {
		p.Blocking = append(p.Blocking, Problem{Key: "cmp.warn_no_recipients"})
	}
	for _, c := range p.Channels {
		if !c.Enabled {
			p.Blocking = append(p.Blocking, Problem{"cmp.channel_disabled", i18n.Data{"Name": esc(c.Name)}})
		}
	}
	values := map[string]string{}
	if p.Sample != nil {
		values = p.Sample.Vars
	}
	text, ents := tpl.Render(values)
	p.Message = Reply{Text: text, Entities: ents}
	if p.Template.MediaKind != "" {
		p.Message.Media = &Media{Kind: p.Template.MediaKind, FileID: p.Template.MediaFileID, UniqueID: p.Template.MediaUniqueID}
	}
	for _, row := range buttons {
		var out []Button
		for _, b := range row {
			out = append(out, Button{Text: b.Text, URL: b.URL})
		}
		p.Message.Keyboard = append(p.Message.Keyboard, out)
	}
	p.Limit = MaxTextLength
	if p.Message.Media != nil {
		p.Limit = MaxCaptionLength
	}
	p.SampleTooLong = render.UTF16Len(text) > p.Limit
	if err := p.checkLengths(ctx, st, tpl); err != nil {
		return nil, err
	}
	return p, nil
}

// tooLongShown is how many chat ids of recipients with a too-long message a plan names.
const tooLongShown = 5

// checkLengths checks the message's length against the whole batch. The template alone
// (every variable at its default) over the limit blocks the campaign: no one could get
// it. Otherwise the longest value of each variable (one query) bounds every
// recipient's message; only when that bound is over the limit are the recipients whose
// message really is too long looked up.
func (p *CampaignPlan) checkLengths(ctx context.Context, st *store.Store, tpl *render.Template) error {
	if n := tpl.LongestLen(nil); n > p.Limit {
		p.Blocking = append(p.Blocking, Problem{"cmp.warn_too_long", i18n.Data{"Count": n, "Max": p.Limit}})
		return nil
	}
	if p.Batch.ID == 0 { // profile fields are short; a too-long one fails at send time
		return nil
	}
	maxLens, err := st.RecipientVarMaxLengths(ctx, p.Batch.ID)
	if err != nil {
		return err
	}
	if tpl.LongestLen(maxLens) <= p.Limit {
		return nil
	}
	literal, uses := tpl.LengthModel()
	vars := make([]store.VarLength, len(uses))
	for i, u := range uses {
		vars[i] = store.VarLength{Name: u.Name, Count: u.Count, DefaultLen: u.DefaultLen}
	}
	p.TooLong, p.TooLongTotal, err = st.RecipientsTooLong(ctx, p.Batch.ID, literal, vars, p.Limit, tooLongShown)
	return err
}

// StartCampaign creates a checked campaign through the starter (one campaign per
// RequestKey) and audits it, in the transaction st is bound to. It refuses a plan with
// blocking problems and a start time that has passed.
func StartCampaign(ctx context.Context, st *store.Store, starter CampaignStarter, audit AuditFunc, p *CampaignPlan, nc store.NewCampaign, now time.Time) (int64, error) {
	if len(p.Blocking) > 0 {
		return 0, Invalid("cmp.still_blocked", i18n.Data{"Problems": p.Blocking})
	}
	if !nc.ScheduledAt.IsZero() && !nc.ScheduledAt.After(now) {
		return 0, Invalid("cmp.time_passed", nil)
	}
	if starter == nil {
		return 0, errors.New("no campaign starter configured")
	}
	id, err := starter.CreateCampaign(ctx, st, nc)
	if err != nil {
		return 0, err
	}
	details := map[string]any{"template_id": nc.TemplateID, "batch_id": nc.BatchID, "channel_id": nc.ChannelID,
		"recipients": p.Reachable}
	if nc.Audience.Kind != "" { // issue 14's audiences and several bots
		details["audience"], details["batch_id"] = nc.Audience.Kind, nc.Audience.BatchID
		if len(nc.ChannelIDs) > 1 {
			details["channel_ids"] = nc.ChannelIDs
		}
	}
	if p.TooLongTotal > 0 {
		details["too_long"] = p.TooLongTotal
	}
	if !nc.ScheduledAt.IsZero() {
		details["scheduled_at"] = nc.ScheduledAt.UTC().Format(time.RFC3339)
	}
	if err := audit(ctx, "campaign.confirmed", "campaign:"+itoa(id), details); err != nil {
		return 0, err
	}
	return id, nil
}

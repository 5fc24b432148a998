package flows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"herald/i18n"
	"herald/render"
	"herald/store"
	"math"
	"strings"
	"time"

	"github.com/mymmrac/telego"
)

// campaignPlan is everything the summary card shows, recomputed at Confirm.
type campaignPlan struct {
	template  store.Template
	aud       audiencePlan     // whom, through which bots (campaign_audience.go)
	batch     store.Batch      // the audience's batch (zero for an audience without one)
	sample    *store.Recipient // the first recipient, for the preview
	channel   store.Channel    // the first bot
	reachable int64
	message   Reply // the message for the first recipient
	blocking  []string
	// limit is Telegram's limit for the message; tooLong are the first chat ids of the
	// recipients whose values make it longer (tooLongTotal of them in all), and
	// sampleTooLong says the first recipient is one, so there is no preview to show.
	limit         int
	tooLong       []int64
	tooLongTotal  int
	sampleTooLong bool
}

// tooLongShown is how many chat ids of recipients with a too-long message the
// summary names.
const tooLongShown = 5

func planCampaign(ctx context.Context, t *Turn, d campaignDraft) (*campaignPlan, error) {
	p := &campaignPlan{}
	var err error
	if p.template, err = templates(t).TemplateGet(ctx, d.TemplateID); errors.Is(err, store.ErrNotFound) {
		return nil, Invalid("tpl.gone", nil)
	} else if err != nil {
		return nil, err
	}
	if err := p.planAudience(ctx, t, d); err != nil {
		return nil, err
	}
	var entities []telego.MessageEntity
	var buttons [][]telego.InlineKeyboardButton
	if err := json.Unmarshal(p.template.Entities, &entities); err != nil {
		return nil, fmt.Errorf("decode template %d entities: %w", p.template.ID, err)
	}
	if err := json.Unmarshal(p.template.Buttons, &buttons); err != nil {
		return nil, fmt.Errorf("decode template %d buttons: %w", p.template.ID, err)
	}
	tpl, err := render.Parse(p.template.Body, entities)
	if err != nil {
		return nil, fmt.Errorf("parse template %d: %w", p.template.ID, err)
	}
	for _, v := range tpl.Vars() {
		if !p.aud.vars[v.Name] && !v.HasDefault {
			p.blocking = append(p.blocking, t.L.T("cmp.warn_missing_var", i18n.Data{"Var": esc("{{" + v.Name + "}}"),
				"WithDefault": esc("{{" + v.Name + "|…}}"), "Batch": esc(p.aud.name)}))
		}
	}
	if p.reachable == 0 {
		p.blocking = append(p.blocking, t.L.T("cmp.warn_no_recipients"))
	}
	if off := p.disabled(); off != "" {
		p.blocking = append(p.blocking, t.L.T("cmp.channel_disabled", i18n.Data{"Name": off}))
	}
	values := map[string]string{}
	if p.sample != nil {
		values = p.sample.Vars
	}
	text, ents := tpl.Render(values)
	p.message = Reply{Text: text, Entities: ents}
	if p.template.MediaKind != "" {
		p.message.Media = &Media{Kind: p.template.MediaKind, FileID: p.template.MediaFileID, UniqueID: p.template.MediaUniqueID}
	}
	for _, row := range buttons {
		var out []Button
		for _, b := range row {
			out = append(out, Button{Text: b.Text, URL: b.URL})
		}
		p.message.Keyboard = append(p.message.Keyboard, out)
	}
	p.limit = MaxTextLength
	if p.message.Media != nil {
		p.limit = MaxCaptionLength
	}
	p.sampleTooLong = render.UTF16Len(text) > p.limit
	if err := p.checkLengths(ctx, t, tpl); err != nil {
		return nil, err
	}
	return p, nil
}

// checkLengths checks the message's length against the whole batch. The template alone
// (every variable at its default) over the limit blocks the campaign: no one could get
// it. Otherwise the longest value of each variable (one query) bounds every
// recipient's message; only when that bound is over the limit are the recipients whose
// message really is too long looked up. They are not blocking: the admin may send to
// the rest, and they fail at send time with queue.ReasonTooLongForRecipient.
func (p *campaignPlan) checkLengths(ctx context.Context, t *Turn, tpl *render.Template) error {
	if n := tpl.LongestLen(nil); n > p.limit {
		p.blocking = append(p.blocking, t.L.T("cmp.warn_too_long", i18n.Data{"Count": n, "Max": p.limit}))
		return nil
	}
	if p.batch.ID == 0 { // profile fields are short; a too-long one fails at send time
		return nil
	}
	maxLens, err := campaigns(t).RecipientVarMaxLengths(ctx, p.batch.ID)
	if err != nil {
		return err
	}
	if tpl.LongestLen(maxLens) <= p.limit {
		return nil
	}
	literal, uses := tpl.LengthModel()
	vars := make([]store.VarLength, len(uses))
	for i, u := range uses {
		vars[i] = store.VarLength{Name: u.Name, Count: u.Count, DefaultLen: u.DefaultLen}
	}
	p.tooLong, p.tooLongTotal, err = campaigns(t).RecipientsTooLong(ctx, p.batch.ID, literal, vars, p.limit, tooLongShown)
	return err
}

// tooLongData fills cmp.too_long_rows, which says whose message is too long, on the
// summary and for a Confirm pressed on a card that did not offer it.
func (p *campaignPlan) tooLongData(t *Turn) i18n.Data {
	ids := make([]string, len(p.tooLong))
	for i, id := range p.tooLong {
		ids[i] = "<code>" + itoa(id) + "</code>"
	}
	more := ""
	if rest := p.tooLongTotal - len(p.tooLong); rest > 0 {
		more = t.L.T("cmp.too_long_more", i18n.Data{"Count": rest})
	}
	return i18n.Data{"Recipients": t.L.N("batch.n_recipients", p.tooLongTotal),
		"Max": p.limit, "IDs": strings.Join(ids, ", "), "More": more}
}

// estimate is how long sending n messages at rate per second takes, in words.
func estimate(t *Turn, n int64, rate int) string {
	secs := int64(math.Ceil(float64(n) / float64(max(rate, 1))))
	switch {
	case secs < 60:
		return t.L.T("dur.s", i18n.Data{"S": max(secs, 1)})
	case secs < 3600:
		return t.L.T("dur.m_s", i18n.Data{"M": secs / 60, "S": secs % 60})
	default:
		return t.L.T("dur.h_m", i18n.Data{"H": secs / 3600, "M": secs % 3600 / 60})
	}
}

func whenText(ctx context.Context, t *Turn, at time.Time) (string, error) {
	if at.IsZero() {
		return t.L.T("cmp.when_now"), nil
	}
	tz, err := campaigns(t).AdminTimeZone(ctx, t.Actor.UserID)
	if err != nil {
		return "", err
	}
	if tz == "" {
		tz = "UTC"
	}
	return at.In(loadZone(tz)).Format("2006-01-02 15:04") + " (" + esc(tz) + ")", nil
}

func promptCampaignSummary(ctx context.Context, t *Turn, s *Session) error {
	d, err := loadCampaignDraft(s)
	if err != nil {
		return err
	}
	p, err := planCampaign(ctx, t, d)
	var fe *Error
	if errors.As(err, &fe) { // something chosen is gone: the admin edits
		t.Reply(Reply{Text: "⚠️ " + t.L.T(fe.Key, fe.Data), HTML: true,
			Keyboard: [][]Button{{s.Button(t.L.T("button.edit"), "edit")}}})
		return nil
	}
	if err != nil {
		return err
	}
	when, err := whenText(ctx, t, d.At)
	if err != nil {
		return err
	}
	if !p.sampleTooLong {
		t.Reply(p.message)
	}
	text := t.L.T("cmp.summary", i18n.Data{
		"Template": esc(p.template.Name), "Batch": esc(p.aud.name), "Channels": p.channelsText(t),
		"When":       when,
		"Recipients": t.L.N("batch.n_recipients", int(p.reachable)),
		"Suppressed": p.aud.counts.Suppressed,
		"Duration":   estimate(t, p.reachable, p.rate()),
	})
	if more := p.countsText(t); more != "" {
		text += "\n" + more
	}
	if p.sample != nil && !p.sampleTooLong {
		text += "\n" + t.L.T("cmp.preview_for", i18n.Data{"ID": p.sample.ChatID})
	}
	if p.paid() && p.reachable > 0 {
		text += "\n\n" + t.L.T("cmp.paid_note", i18n.Data{"Stars": t.L.Decimal(paidStarsPerMessage)})
	}
	var rows [][]Button
	switch {
	case len(p.blocking) > 0:
		text += "\n\n" + t.L.T("cmp.blocking") + "\n• " + strings.Join(p.blocking, "\n• ")
	case p.tooLongTotal > 0:
		text += "\n\n" + t.L.T("cmp.too_long_rows", p.tooLongData(t))
		rows = append(rows, []Button{s.Button(t.L.T("button.send_rest"), "send_rest")})
	default:
		rows = append(rows, []Button{s.Button(t.L.T("button.confirm"), "confirm")})
	}
	rows = append(rows,
		[]Button{s.Button(t.L.T("button.send_test"), "test")},
		[]Button{s.Button(t.L.T("button.edit"), "edit")})
	t.Reply(Reply{Text: text, HTML: true, Keyboard: rows})
	return nil
}

func handleCampaignSummary(ctx context.Context, t *Turn, s *Session, in Input) (string, error) {
	d, err := loadCampaignDraft(s)
	if err != nil {
		return "", err
	}
	switch in.Action {
	case "edit":
		return "edit", nil
	case "test": // answered by prepareCampaignSummary; here only if it did not run
		return "", Outdated()
	case "confirm", "send_rest":
	case "":
		return "", Invalid("cmp.press_a_button", nil)
	default:
		return "", Outdated()
	}
	p, err := planCampaign(ctx, t, d)
	if err != nil {
		return "", err
	}
	if len(p.blocking) > 0 {
		return "", Invalid("cmp.still_blocked", i18n.Data{"Problems": strings.Join(p.blocking, "\n• ")})
	}
	if p.tooLongTotal > 0 && in.Action != "send_rest" { // a card that offered plain Confirm
		return "", Invalid("cmp.too_long_rows", p.tooLongData(t))
	}
	if !d.At.IsZero() && !d.At.After(t.Now) {
		return "", Invalid("cmp.time_passed", nil)
	}
	starter := t.Services().Campaigns
	if starter == nil {
		return "", errors.New("campaign wizard: no campaign starter configured")
	}
	id, err := starter.CreateCampaign(ctx, t.st, store.NewCampaign{
		TemplateID: d.TemplateID, Audience: d.audience(), ChannelID: d.ChannelID, ChannelIDs: d.ChannelIDs,
		ScheduledAt: d.At, RequestKey: d.Key, ControlChatID: t.ChatID, CreatedBy: t.Actor.UserID,
	})
	if err != nil {
		return "", err
	}
	details := map[string]any{"template_id": d.TemplateID, "batch_id": d.BatchID, "channel_id": d.ChannelID,
		"recipients": p.reachable, "audience": d.audience().Kind}
	if len(d.ChannelIDs) > 1 {
		details["channel_ids"] = d.ChannelIDs
	}
	if p.tooLongTotal > 0 {
		details["too_long"] = p.tooLongTotal
	}
	if !d.At.IsZero() {
		details["scheduled_at"] = d.At.UTC().Format(time.RFC3339)
	}
	if err := t.Audit(ctx, "campaign.confirmed", "campaign:"+itoa(id), details); err != nil {
		return "", err
	}
	key := "cmp.confirmed_now"
	if !d.At.IsZero() {
		key = "cmp.confirmed_scheduled"
	}
	when, err := whenText(ctx, t, d.At)
	if err != nil {
		return "", err
	}
	t.Reply(Reply{Text: t.L.T(key, i18n.Data{"ID": id, "When": when, "Recipients": t.L.N("batch.n_recipients", int(p.reachable))}), HTML: true,
		Keyboard: [][]Button{
			{{Text: t.L.T("button.open"), Data: ScreenCallback(ActCampaignView, itoa(id))}},
			{{Text: t.L.T("button.menu"), Data: ScreenCallback(ActMenu, "")}},
		}})
	return Done, nil
}

// prepareCampaignSummary sends the test message ("Send test to me") before the
// transaction: it goes out through the channel bot, perhaps uploading a medium.
func prepareCampaignSummary(ctx context.Context, t *Turn, s *Session, in Input) (Input, error) {
	if in.Action != "test" {
		return in, nil
	}
	d, err := loadCampaignDraft(s)
	if err != nil {
		return in, err
	}
	return in, sendCampaignTest(ctx, t, d)
}

// sendCampaignTest sends the first recipient's message to the admin through the
// chosen channel bot.
func sendCampaignTest(ctx context.Context, t *Turn, d campaignDraft) error {
	p, err := planCampaign(ctx, t, d)
	if err != nil {
		return err
	}
	svc := t.Services()
	if svc.Box == nil {
		return Invalid("chan.no_secret_key", nil)
	}
	token, err := channels(t).ChannelToken(ctx, svc.Box, p.channel.ID)
	if err != nil {
		return err
	}
	switch err := svc.Channels.SendTest(ctx, token, t.Actor.UserID, p.message); {
	case errors.Is(err, ErrNotStarted):
		return Invalid("cmp.test_not_started", i18n.Data{"Username": esc(p.channel.Username)})
	case err != nil:
		return Invalid("cmp.test_failed", nil)
	}
	return Note("cmp.test_sent", i18n.Data{"Username": esc(p.channel.Username)})
}

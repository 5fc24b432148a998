package flows

import (
	"context"
	"errors"
	"herald/i18n"
	"herald/store"
	"math"
	"strings"
	"time"
)

// campaignPlan is everything the summary card shows, recomputed at Confirm: the
// shared PlanAudienceCampaign with its problems in the admin's language.
type campaignPlan struct {
	*CampaignPlan
	template  store.Template
	batch     store.Batch
	sample    *store.Recipient
	channel   store.Channel
	reachable int64
	message   Reply
	blocking  []string
	// limit is Telegram's limit for the message; tooLong are the first chat ids of the
	// recipients whose values make it longer (tooLongTotal of them in all), and
	// sampleTooLong says the first recipient is one, so there is no preview to show.
	limit         int
	tooLong       []int64
	tooLongTotal  int
	sampleTooLong bool
	audienceName  string // whom, in words
}

func planCampaign(ctx context.Context, t *Turn, d campaignDraft) (*campaignPlan, error) {
	cp, err := PlanAudienceCampaign(ctx, t.st, d.TemplateID, d.audience(), d.channels())
	if err != nil {
		return nil, err
	}
	p := &campaignPlan{CampaignPlan: cp, template: cp.Template, batch: cp.Batch, sample: cp.Sample,
		channel: cp.Channel, reachable: cp.Reachable, message: cp.Message, limit: cp.Limit,
		tooLong: cp.TooLong, tooLongTotal: cp.TooLongTotal, sampleTooLong: cp.SampleTooLong,
		audienceName: audienceName(t, cp.Audience, cp.Batch.Name)}
	for _, pr := range cp.Blocking {
		p.blocking = append(p.blocking, t.L.T(pr.Key, pr.Data))
	}
	return p, nil
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
	return adminDate(ctx, t, at)
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
	text := summaryHeader(t, d) + t.L.T("cmp.summary", i18n.Data{
		"Template": esc(p.template.Name), "Batch": esc(p.audienceName), "Channels": p.channelsText(t),
		"When":       when,
		"Recipients": t.L.N("batch.n_recipients", int(p.reachable)),
		"Suppressed": p.Counts.Suppressed,
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
	text += guidedSummaryNote(t, d) // campaign_guided.go
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
	if err := guardRepeat(ctx, t, s, p, &text, rows); err != nil {
		return err
	}
	rows = append(rows,
		[]Button{s.Button(t.L.T("button.send_test"), "test")},
		[]Button{s.Button(t.L.T("button.edit"), "edit")})
	rows = guidedSummaryRows(t, s, d, rows)
	t.Reply(Reply{Text: text, HTML: true, Keyboard: rows})
	return nil
}

func handleCampaignSummary(ctx context.Context, t *Turn, s *Session, in Input) (string, error) {
	d, err := loadCampaignDraft(s)
	if err != nil {
		return "", err
	}
	if event, ok, err := guidedSummaryAction(s, d, in.Action); ok {
		return event, err
	}
	switch in.Action {
	case "edit": // every piece is asked again (the only options chosen again by themselves)
		return "edit", s.Save(campaignDraft{Key: d.Key})
	case "test": // answered by prepareCampaignSummary; here only if it did not run
		return "", Outdated()
	case "confirm", "send_rest", anywayPrefix + "confirm", anywayPrefix + "send_rest":
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
	if in.Action, err = checkRepeat(ctx, t, p, in.Action); err != nil {
		return "", err
	}
	if p.tooLongTotal > 0 && in.Action != "send_rest" { // a card that offered plain Confirm
		return "", Invalid("cmp.too_long_rows", p.tooLongData(t))
	}
	id, err := StartCampaign(ctx, t.st, t.Services().Campaigns, t.Audit, p.CampaignPlan, store.NewCampaign{
		TemplateID: d.TemplateID, Audience: d.audience(), ChannelID: d.ChannelID, ChannelIDs: d.ChannelIDs,
		ScheduledAt: d.At, RequestKey: d.Key, ControlChatID: t.ChatID, CreatedBy: t.Actor.UserID,
	}, t.Now)
	if err != nil {
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

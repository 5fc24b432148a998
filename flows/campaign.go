package flows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/looplab/fsm"
	"github.com/mymmrac/telego"

	"herald/i18n"
	"herald/render"
	"herald/store"
)

// FlowCampaignNew is the campaign wizard.
const FlowCampaignNew = "cmp_new"

// Campaign screens (callback prefixes).
const (
	ActCampaigns    = "kl" // arg: page
	ActCampaignView = "kv" // arg: campaign id
	ActCampaignNew  = "kn"
	// ActCampaignCardControl is a control button on the campaign card: it acts, then
	// shows the card again. arg: "<action>:<id>".
	ActCampaignCardControl = "kc"
	// ActCampaignControl is the prefix of the delivery engine's control buttons
	// (queue.ControlCallbackData: "cmp:<action>:<id>"); it acts and answers with a
	// notice, leaving the progress message to the engine.
	ActCampaignControl = "cmp"
)

// The control actions, spelt as queue.ControlAction.
const (
	controlPause  = "pause"
	controlResume = "resume"
	controlCancel = "cancel"
	controlResend = "resend"
)

type campaignStore interface {
	CampaignList(ctx context.Context, offset, limit int) ([]store.CampaignListItem, int, error)
	CampaignItemGet(ctx context.Context, id int64) (store.CampaignListItem, error)
	DeliveryCounts(ctx context.Context, campaignID int64) (store.DeliveryCounts, error)
	RecipientCountReachable(ctx context.Context, batchID, channelID int64) (int64, error)
	AdminTimeZone(ctx context.Context, userID int64) (string, error)
	AdminSetTimeZone(ctx context.Context, userID int64, tz string) error
}

func campaigns(t *Turn) campaignStore { return StoreAs[campaignStore](t) }

// campaignDraft is what the wizard has chosen. Key is the campaign's RequestKey,
// fixed when the wizard opens, so that however often Confirm arrives (a double
// press, a retry after a lost answer) one campaign and one start job result.
type campaignDraft struct {
	Key        string    `json:"key"`
	TemplateID int64     `json:"template_id,omitempty"`
	BatchID    int64     `json:"batch_id,omitempty"`
	ChannelID  int64     `json:"channel_id,omitempty"`
	At         time.Time `json:"at,omitzero"`       // zero: now
	Pending    string    `json:"pending,omitempty"` // a date typed before the time zone was known
}

// pickLimit is how many templates, batches or channels a wizard step offers.
const pickLimit = 20

// CampaignNew is the wizard: template → batch → channel → when (→ time zone) → summary.
func CampaignNew() *Definition {
	return &Definition{
		Name: FlowCampaignNew, Role: store.RoleAdmin, Initial: "template",
		Events: []fsm.EventDesc{
			{Name: "templated", Src: []string{"template"}, Dst: "batch"},
			{Name: "batched", Src: []string{"batch"}, Dst: "channel"},
			{Name: "channelled", Src: []string{"channel"}, Dst: "when"},
			{Name: "timed", Src: []string{"when", "zone"}, Dst: "summary"},
			{Name: "need_zone", Src: []string{"when"}, Dst: "zone"},
			{Name: "zoned", Src: []string{"zone"}, Dst: "when"},
			{Name: "edit", Src: []string{"summary"}, Dst: "template"},
		},
		Steps: map[string]*Step{
			"template": {Prompt: promptCampaignTemplate, Handle: handleCampaignTemplate},
			"batch":    {Prompt: promptCampaignBatch, Handle: handleCampaignBatch, Back: "template"},
			"channel":  {Prompt: promptCampaignChannel, Handle: handleCampaignChannel, Back: "batch"},
			"when":     {Prompt: promptCampaignWhen, Handle: handleCampaignWhen, Back: "channel"},
			"zone":     {Prompt: promptCampaignZone, Handle: handleCampaignZone, Back: "when"},
			"summary":  {Prompt: promptCampaignSummary, Handle: handleCampaignSummary, Back: "when"},
		},
	}
}

// StartCampaignNew opens the wizard with its request key.
func StartCampaignNew(_ context.Context, t *Turn, _ string) error {
	t.Start(FlowCampaignNew, campaignDraft{Key: fmt.Sprintf("wizard:%d:%d", t.ChatID, t.Now.UnixNano())})
	return nil
}

func loadCampaignDraft(s *Session) (campaignDraft, error) {
	var d campaignDraft
	return d, s.Load(&d)
}

// pickID reads "<prefix><id>" from a pick button.
func pickID(action, prefix string) (int64, bool) {
	rest, ok := strings.CutPrefix(action, prefix)
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	return id, err == nil && id > 0
}

func promptCampaignTemplate(ctx context.Context, t *Turn, s *Session) error {
	list, total, err := templates(t).TemplateList(ctx, pickLimit, 0)
	if err != nil {
		return err
	}
	if total == 0 {
		t.Reply(Reply{Text: t.L.T("cmp.no_templates"), HTML: true})
		return nil
	}
	var rows [][]Button
	for _, tp := range list {
		rows = append(rows, []Button{s.Button("📝 "+tp.Name, "t:"+itoa(tp.ID))})
	}
	t.Reply(Reply{Text: t.L.T("cmp.ask_template"), HTML: true, Keyboard: rows})
	return nil
}

func handleCampaignTemplate(ctx context.Context, t *Turn, s *Session, in Input) (string, error) {
	d, err := loadCampaignDraft(s)
	if err != nil {
		return "", err
	}
	id, ok := pickID(in.Action, "t:")
	if !ok {
		if in.Action != "" {
			return "", Outdated()
		}
		return "", Invalid("cmp.press_a_button", nil)
	}
	if _, err := templates(t).TemplateGet(ctx, id); errors.Is(err, store.ErrNotFound) {
		return "", Invalid("tpl.gone", nil)
	} else if err != nil {
		return "", err
	}
	d.TemplateID = id
	return "templated", s.Save(d)
}

func promptCampaignBatch(ctx context.Context, t *Turn, s *Session) error {
	list, total, err := batches(t).BatchList(ctx, 0, pickLimit)
	if err != nil {
		return err
	}
	if total == 0 {
		t.Reply(Reply{Text: t.L.T("cmp.no_batches"), HTML: true})
		return nil
	}
	var rows [][]Button
	for _, b := range list {
		rows = append(rows, []Button{s.Button("👥 "+b.Name+" · "+strconv.Itoa(b.RecipientCount), "b:"+itoa(b.ID))})
	}
	t.Reply(Reply{Text: t.L.T("cmp.ask_batch"), HTML: true, Keyboard: rows})
	return nil
}

func handleCampaignBatch(ctx context.Context, t *Turn, s *Session, in Input) (string, error) {
	d, err := loadCampaignDraft(s)
	if err != nil {
		return "", err
	}
	id, ok := pickID(in.Action, "b:")
	if !ok {
		if in.Action != "" {
			return "", Outdated()
		}
		return "", Invalid("cmp.press_a_button", nil)
	}
	if _, _, err := batches(t).BatchGet(ctx, id); errors.Is(err, store.ErrNotFound) {
		return "", Invalid("batch.gone", nil)
	} else if err != nil {
		return "", err
	}
	d.BatchID = id
	return "batched", s.Save(d)
}

func promptCampaignChannel(ctx context.Context, t *Turn, s *Session) error {
	list, err := channels(t).ChannelList(ctx)
	if err != nil {
		return err
	}
	var rows [][]Button
	for _, c := range list {
		if c.Enabled {
			rows = append(rows, []Button{s.Button("📡 "+c.Name+" · @"+c.Username+" · "+strconv.Itoa(c.RatePerSecond)+"/s", "c:"+itoa(c.ID))})
		}
	}
	if len(rows) == 0 {
		t.Reply(Reply{Text: t.L.T("cmp.no_channels"), HTML: true})
		return nil
	}
	t.Reply(Reply{Text: t.L.T("cmp.ask_channel"), HTML: true, Keyboard: rows})
	return nil
}

func handleCampaignChannel(ctx context.Context, t *Turn, s *Session, in Input) (string, error) {
	d, err := loadCampaignDraft(s)
	if err != nil {
		return "", err
	}
	id, ok := pickID(in.Action, "c:")
	if !ok {
		if in.Action != "" {
			return "", Outdated()
		}
		return "", Invalid("cmp.press_a_button", nil)
	}
	c, err := channels(t).ChannelGet(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", Invalid("chan.gone", nil)
	case err != nil:
		return "", err
	case !c.Enabled:
		return "", Invalid("cmp.channel_disabled", i18n.Data{"Name": esc(c.Name)})
	}
	d.ChannelID = id
	return "channelled", s.Save(d)
}

func promptCampaignWhen(ctx context.Context, t *Turn, s *Session) error {
	tz, err := campaigns(t).AdminTimeZone(ctx, t.Actor.UserID)
	if err != nil {
		return err
	}
	zone := t.L.T("cmp.zone_unknown")
	if tz != "" {
		zone = t.L.T("cmp.zone_known", i18n.Data{"Zone": esc(tz)})
	}
	example := t.Now.In(loadZone(tz)).Add(24*time.Hour).Format("2006-01-02") + " 18:30"
	t.Reply(Reply{Text: t.L.T("cmp.ask_when", i18n.Data{"Zone": zone, "Example": example}), HTML: true,
		Keyboard: [][]Button{
			{s.Button(t.L.T("button.send_now"), "now")},
			{s.Button(t.L.T("button.change_zone"), "zone")},
		}})
	return nil
}

func handleCampaignWhen(ctx context.Context, t *Turn, s *Session, in Input) (string, error) {
	d, err := loadCampaignDraft(s)
	if err != nil {
		return "", err
	}
	switch in.Action {
	case "now":
		d.At, d.Pending = time.Time{}, ""
		return "timed", s.Save(d)
	case "zone":
		d.Pending = ""
		return "need_zone", s.Save(d)
	case "":
	default:
		return "", Outdated()
	}
	tz, err := campaigns(t).AdminTimeZone(ctx, t.Actor.UserID)
	if err != nil {
		return "", err
	}
	if _, ok := ParseWhen(in.Text, time.UTC, t.Now); !ok {
		return "", Invalid("cmp.when_invalid", nil)
	}
	if tz == "" { // asked once, then remembered
		d.Pending = in.Text
		return "need_zone", s.Save(d)
	}
	at, err := futureTime(t, in.Text, tz)
	if err != nil {
		return "", err
	}
	d.At, d.Pending = at, ""
	return "timed", s.Save(d)
}

// futureTime parses a date typed in zone tz and checks that it lies ahead (within a year).
func futureTime(t *Turn, text, tz string) (time.Time, error) {
	loc := loadZone(tz)
	at, ok := ParseWhen(text, loc, t.Now)
	if !ok {
		return time.Time{}, Invalid("cmp.when_invalid", nil)
	}
	if !at.After(t.Now) {
		return time.Time{}, Invalid("cmp.when_past", i18n.Data{"Now": t.Now.In(loc).Format("2006-01-02 15:04"), "Zone": esc(tz)})
	}
	if at.After(t.Now.AddDate(1, 0, 0)) {
		return time.Time{}, Invalid("cmp.when_too_far", nil)
	}
	return at, nil
}

func promptCampaignZone(_ context.Context, t *Turn, _ *Session) error {
	t.Say("cmp.ask_zone")
	return nil
}

func handleCampaignZone(ctx context.Context, t *Turn, s *Session, in Input) (string, error) {
	d, err := loadCampaignDraft(s)
	if err != nil {
		return "", err
	}
	if in.Action != "" {
		return "", Outdated()
	}
	_, name, ok := ParseTimeZone(in.Text)
	if !ok {
		return "", Invalid("cmp.zone_invalid", nil)
	}
	if err := campaigns(t).AdminSetTimeZone(ctx, t.Actor.UserID, name); err != nil {
		return "", err
	}
	if err := t.Audit(ctx, "admin.time_zone_set", fmt.Sprintf("user:%d", t.Actor.UserID), map[string]any{"time_zone": name}); err != nil {
		return "", err
	}
	if d.Pending != "" {
		if at, err := futureTime(t, d.Pending, name); err == nil {
			d.At, d.Pending = at, ""
			return "timed", s.Save(d)
		}
	}
	d.Pending = ""
	return "zoned", s.Save(d)
}

// campaignPlan is everything the summary card shows, recomputed at Confirm.
type campaignPlan struct {
	template  store.Template
	batch     store.Batch
	sample    *store.Recipient
	channel   store.Channel
	reachable int64
	message   Reply // the message for the first recipient
	blocking  []string
}

func planCampaign(ctx context.Context, t *Turn, d campaignDraft) (*campaignPlan, error) {
	p := &campaignPlan{}
	var err error
	if p.template, err = templates(t).TemplateGet(ctx, d.TemplateID); errors.Is(err, store.ErrNotFound) {
		return nil, Invalid("tpl.gone", nil)
	} else if err != nil {
		return nil, err
	}
	if p.batch, p.sample, err = batches(t).BatchGet(ctx, d.BatchID); errors.Is(err, store.ErrNotFound) {
		return nil, Invalid("batch.gone", nil)
	} else if err != nil {
		return nil, err
	}
	if p.channel, err = channels(t).ChannelGet(ctx, d.ChannelID); errors.Is(err, store.ErrNotFound) {
		return nil, Invalid("chan.gone", nil)
	} else if err != nil {
		return nil, err
	}
	if p.reachable, err = campaigns(t).RecipientCountReachable(ctx, p.batch.ID, p.channel.ID); err != nil {
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
	has := map[string]bool{}
	for _, c := range p.batch.Columns {
		has[c] = true
	}
	for _, v := range tpl.Vars() {
		if !has[v.Name] && !v.HasDefault {
			p.blocking = append(p.blocking, t.L.T("cmp.warn_missing_var", i18n.Data{"Var": esc("{{" + v.Name + "}}"),
				"WithDefault": esc("{{" + v.Name + "|…}}"), "Batch": esc(p.batch.Name)}))
		}
	}
	if p.reachable == 0 {
		p.blocking = append(p.blocking, t.L.T("cmp.warn_no_recipients"))
	}
	if !p.channel.Enabled {
		p.blocking = append(p.blocking, t.L.T("cmp.channel_disabled", i18n.Data{"Name": esc(p.channel.Name)}))
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
	limit := MaxTextLength
	if p.message.Media != nil {
		limit = MaxCaptionLength
	}
	if n := render.UTF16Len(text); n > limit {
		p.blocking = append(p.blocking, t.L.T("cmp.warn_too_long", i18n.Data{"Count": n, "Max": limit}))
	}
	return p, nil
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
	t.Reply(p.message)
	suppressed := int64(p.batch.RecipientCount) - p.reachable
	text := t.L.T("cmp.summary", i18n.Data{
		"Template": esc(p.template.Name), "Batch": esc(p.batch.Name),
		"Channel": esc(p.channel.Name), "Username": esc(p.channel.Username),
		"Rate":       rateText(t, p.channel.RatePerSecond, p.channel.PaidBroadcast),
		"When":       when,
		"Recipients": t.L.N("batch.n_recipients", int(p.reachable)),
		"Suppressed": max(suppressed, 0),
		"Duration":   estimate(t, p.reachable, p.channel.RatePerSecond),
	})
	if p.sample != nil {
		text += "\n" + t.L.T("cmp.preview_for", i18n.Data{"ID": p.sample.ChatID})
	}
	if p.channel.PaidBroadcast && p.reachable > 0 {
		text += "\n\n" + t.L.T("cmp.paid_note", i18n.Data{"Stars": paidStarsPerMessage})
	}
	var rows [][]Button
	if len(p.blocking) > 0 {
		text += "\n\n" + t.L.T("cmp.blocking") + "\n• " + strings.Join(p.blocking, "\n• ")
	} else {
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
	case "test":
		return "", sendCampaignTest(ctx, t, d)
	case "confirm":
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
	if !d.At.IsZero() && !d.At.After(t.Now) {
		return "", Invalid("cmp.time_passed", nil)
	}
	starter := t.Services().Campaigns
	if starter == nil {
		return "", errors.New("campaign wizard: no campaign starter configured")
	}
	id, err := starter.CreateCampaign(ctx, StoreAs[*store.Store](t), store.NewCampaign{
		TemplateID: d.TemplateID, BatchID: d.BatchID, ChannelID: d.ChannelID, ScheduledAt: d.At,
		RequestKey: d.Key, ControlChatID: t.ChatID, CreatedBy: t.Actor.UserID,
	})
	if err != nil {
		return "", err
	}
	details := map[string]any{"template_id": d.TemplateID, "batch_id": d.BatchID, "channel_id": d.ChannelID,
		"recipients": p.reachable}
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

// ShowCampaigns lists recent campaigns with their status.
func ShowCampaigns(ctx context.Context, t *Turn, arg string) error {
	page, _ := strconv.Atoi(arg)
	page = max(page, 0)
	list, total, err := campaigns(t).CampaignList(ctx, page*PageSize, PageSize)
	if err != nil {
		return err
	}
	text := t.L.N("cmp.list_header", total)
	if total == 0 {
		text = t.L.T("cmp.list_empty")
	}
	var rows [][]Button
	for _, c := range list {
		rows = append(rows, []Button{{Text: statusIcon(c.Status) + " #" + itoa(c.ID) + " " + c.TemplateName + " → " + c.BatchName,
			Data: ScreenCallback(ActCampaignView, itoa(c.ID))}})
	}
	rows = append(rows, pager(t, ActCampaigns, page, total)...)
	if t.Actor.CanChange() {
		rows = append(rows, []Button{{Text: t.L.T("button.new_campaign"), Data: ScreenCallback(ActCampaignNew, "")}})
	}
	rows = append(rows, backToMenu(t)...)
	t.Reply(Reply{Text: text, HTML: true, Edit: true, Keyboard: rows})
	return nil
}

// statusName is a campaign status in words (or as it is, for an unusual one).
func statusName(t *Turn, status string) string {
	key := "cmp.status." + status
	if s := t.L.T(key); s != key {
		return s
	}
	return status
}

func statusIcon(status string) string {
	switch status {
	case store.CampaignScheduled:
		return "🕒"
	case store.CampaignRunning:
		return "▶️"
	case store.CampaignPaused:
		return "⏸"
	case store.CampaignCompleted:
		return "✅"
	case store.CampaignCancelled:
		return "⏹"
	default:
		return "⚠️"
	}
}

// ShowCampaign is a campaign's card: counts and the control buttons its status allows.
func ShowCampaign(ctx context.Context, t *Turn, arg string) error {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil {
		return NotFound("cmp.gone")
	}
	c, err := campaigns(t).CampaignItemGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return NotFound("cmp.gone")
	}
	if err != nil {
		return err
	}
	n, err := campaigns(t).DeliveryCounts(ctx, id)
	if err != nil {
		return err
	}
	when, err := whenText(ctx, t, c.ScheduledAt)
	if err != nil {
		return err
	}
	text := t.L.T("cmp.card", i18n.Data{"ID": c.ID, "Status": statusIcon(c.Status) + " " + statusName(t, c.Status),
		"Template": esc(c.TemplateName), "Batch": esc(c.BatchName), "Channel": esc(c.ChannelName), "When": when,
		"Total": n.Total(), "Sent": n.Sent, "Pending": n.Open(), "Failed": n.Failed, "Blocked": n.Blocked,
		"Uncertain": n.Uncertain, "Cancelled": n.Cancelled})
	if c.PauseReason != nil && *c.PauseReason != "" {
		text += "\n" + t.L.T("cmp.reason", i18n.Data{"Reason": esc(*c.PauseReason)})
	}
	btn := func(key, action string) Button {
		return Button{Text: t.L.T(key), Data: ScreenCallback(ActCampaignCardControl, action+":"+itoa(c.ID))}
	}
	var controls []Button
	switch c.Status {
	case store.CampaignRunning:
		controls = append(controls, btn("button.pause", controlPause), btn("button.cancel_campaign", controlCancel))
	case store.CampaignPaused:
		controls = append(controls, btn("button.resume", controlResume), btn("button.cancel_campaign", controlCancel))
	case store.CampaignScheduled:
		controls = append(controls, btn("button.cancel_campaign", controlCancel))
	}
	var rows [][]Button
	if len(controls) > 0 {
		rows = append(rows, controls)
	}
	if n.Uncertain > 0 && (c.Status == store.CampaignRunning || c.Status == store.CampaignPaused || c.Status == store.CampaignCompleted) {
		rows = append(rows, []Button{btn("button.resend_uncertain", controlResend)})
	}
	rows = append(rows,
		[]Button{{Text: t.L.T("button.refresh"), Data: ScreenCallback(ActCampaignView, itoa(c.ID))}},
		[]Button{{Text: t.L.T("button.to_list"), Data: ScreenCallback(ActCampaigns, "0")}})
	t.Reply(Reply{Text: text, HTML: true, Edit: true, Keyboard: rows})
	return nil
}

// ControlCampaignCard runs a control button of the card, then shows the card again.
func ControlCampaignCard(ctx context.Context, t *Turn, arg string) error {
	id, err := controlCampaign(ctx, t, arg)
	if err != nil {
		return err
	}
	return ShowCampaign(ctx, t, itoa(id))
}

// ControlCampaign runs a control button of the engine's progress message
// ("cmp:<action>:<id>") and answers with a notice; the engine updates its message.
func ControlCampaign(ctx context.Context, t *Turn, arg string) error {
	_, err := controlCampaign(ctx, t, arg)
	return err
}

func controlCampaign(ctx context.Context, t *Turn, arg string) (int64, error) {
	action, idText, _ := strings.Cut(arg, ":")
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 {
		return 0, NotFound("cmp.gone")
	}
	controls := t.Services().Controls
	if controls == nil {
		return 0, errors.New("campaign controls are not configured")
	}
	var n int64
	switch action {
	case controlPause:
		err = controls.Pause(ctx, id, t.Actor.UserID)
	case controlResume:
		err = controls.Resume(ctx, id, t.Actor.UserID)
	case controlCancel:
		n, err = controls.Cancel(ctx, id, t.Actor.UserID)
	case controlResend:
		n, err = controls.ResendUncertain(ctx, id, t.Actor.UserID)
	default:
		return 0, NotFound("callback.outdated")
	}
	var stateErr *store.CampaignStateError
	switch {
	case errors.As(err, &stateErr):
		return 0, Conflict("cmp.bad_transition", i18n.Data{"ID": id,
			"Action": t.L.T("cmp.action." + action), "Status": statusName(t, stateErr.Status)})
	case errors.Is(err, store.ErrInvalidTransition):
		return 0, Conflict("cmp.bad_transition_plain", i18n.Data{"ID": id})
	case errors.Is(err, store.ErrNotFound):
		return 0, NotFound("cmp.gone")
	case err != nil:
		return 0, err
	}
	t.Notice(t.L.N("cmp.done."+action, int(n), i18n.Data{"ID": id}))
	return id, nil
}

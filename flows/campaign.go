package flows

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/looplab/fsm"

	"herald/i18n"
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
	// ActCampaignControlSure is the second press of Cancel or Resend uncertain, which
	// first ask. arg: "<action>:<id>".
	ActCampaignControlSure = "kk"
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
	RecipientVarMaxLengths(ctx context.Context, batchID int64) (map[string]int, error)
	RecipientsTooLong(ctx context.Context, batchID int64, literal int, vars []store.VarLength, limit, max int) ([]int64, int, error)
	AdminTimeZone(ctx context.Context, userID int64) (string, error)
	AdminSetTimeZone(ctx context.Context, userID int64, tz string) error
}

func campaigns(t *Turn) campaignStore { return t.st }

// campaignDraft is what the wizard has chosen. Key is the campaign's RequestKey,
// fixed when the wizard opens, so that however often Confirm arrives (a double
// press, a retry after a lost answer) one campaign and one start job result.
type campaignDraft struct {
	Key        string `json:"key"`
	TemplateID int64  `json:"template_id,omitempty"`
	BatchID    int64  `json:"batch_id,omitempty"`
	ChannelID  int64  `json:"channel_id,omitempty"`
	// The audience step's choices (campaign_audience.go): the bots (ChannelIDs, when
	// several), the audience kind with its source or date, and the sources its
	// buttons offered.
	ChannelIDs []int64   `json:"channel_ids,omitempty"`
	Audience   string    `json:"audience,omitempty"`
	Source     string    `json:"source,omitempty"`
	Since      time.Time `json:"since,omitzero"`
	Sources    []string  `json:"sources,omitempty"`
	At         time.Time `json:"at,omitzero"`       // zero: now
	Pending    string    `json:"pending,omitempty"` // a date typed before the time zone was known
	Unsure     time.Time `json:"unsure,omitzero"`   // a far or next-year date awaiting confirmation
	Auto       []string  `json:"auto,omitempty"`    // pieces chosen as the only option (campaign_guided.go)
	// The sender-bot step's toggles (campaign_bots.go): shown, and the bots chosen so far.
	Several bool    `json:"several,omitempty"`
	Picked  []int64 `json:"picked,omitempty"`
	// The asking screens the admin saw, in order, and the one the summary was reached
	// from (campaign_steps.go): for the step numbers and Back.
	Seen []string `json:"seen,omitempty"`
	Prev string   `json:"prev,omitempty"`
}

// pickLimit is how many templates, batches or channels a wizard step offers.
const pickLimit = 20

// dialogCampaignNew is the wizard: template → sender bot(s) → audience (skipped when
// one list is the only choice; → since date) → summary, each piece guided
// (campaign_guided.go); Schedule on the summary → when (→ time zone) → summary.
func dialogCampaignNew() *Definition {
	return &Definition{
		Name: FlowCampaignNew, Role: store.RoleAdmin, Initial: "template",
		Events: append([]fsm.EventDesc{
			{Name: "need_since", Src: []string{"audience"}, Dst: "since"},
			{Name: "timed", Src: []string{"when", "zone", "when_sure"}, Dst: "summary"},
			{Name: "unsure", Src: []string{"when", "zone", "when_sure"}, Dst: "when_sure"},
			{Name: "need_zone", Src: []string{"when", "when_sure"}, Dst: "zone"},
			{Name: "zoned", Src: []string{"zone"}, Dst: "when"},
			{Name: "edit", Src: []string{"summary"}, Dst: "template"},
		}, guideEvents()...),
		Steps: map[string]*Step{
			// Back goes along the screens the admin saw (campaign_steps.go).
			"template":  {Prompt: promptCampaignTemplate, Handle: handleCampaignTemplate, BackTo: backBefore("template")},
			"channel":   {Prompt: promptCampaignChannel, Handle: handleCampaignChannel, BackTo: backBefore("channel")},
			"audience":  {Prompt: promptCampaignAudience, Handle: handleCampaignAudience, BackTo: backBefore("audience")},
			"since":     {Prompt: promptCampaignSince, Handle: handleCampaignSince, Back: "audience"},
			"when":      {Prompt: promptCampaignWhen, Handle: handleCampaignWhen, Back: "summary"}, // Schedule opens it
			"zone":      {Prompt: promptCampaignZone, Handle: handleCampaignZone, Back: "when"},
			"when_sure": {Prompt: promptCampaignWhenSure, Handle: handleCampaignWhenSure, Back: "when"},
			"summary": {Prompt: promptCampaignSummary, Prepare: prepareCampaignSummary, Handle: handleCampaignSummary,
				BackTo: summaryBack},
		},
		Resume: resumeCampaign,
	}
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
		t.Reply(Reply{Text: t.L.T("cmp.no_templates"), HTML: true, Keyboard: [][]Button{newPieceButton(t, s, pieceTemplate)}})
		return nil
	}
	d, err := loadCampaignDraft(s)
	if err != nil {
		return err
	}
	head, err := stepHeader(t, s, &d, "template")
	if err != nil {
		return err
	}
	var rows [][]Button
	for _, tp := range list {
		rows = append(rows, []Button{s.Button("📝 "+tp.Name, "t:"+itoa(tp.ID))})
	}
	rows = append(rows, newPieceButton(t, s, pieceTemplate))
	t.Reply(Reply{Text: head + t.L.T("cmp.ask_template"), HTML: true, Keyboard: rows})
	return nil
}

func handleCampaignTemplate(ctx context.Context, t *Turn, s *Session, in Input) (string, error) {
	d, err := loadCampaignDraft(s)
	if err != nil {
		return "", err
	}
	if in.Action == newPieceAction {
		return newPiece(s, pieceTemplate), nil
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
	return guideOn(ctx, t, s, d)
}

func promptCampaignChannel(ctx context.Context, t *Turn, s *Session) error {
	d, err := loadCampaignDraft(s)
	if err != nil {
		return err
	}
	enabled, err := enabledChannels(ctx, t)
	if err != nil {
		return err
	}
	if len(enabled) == 0 {
		t.Reply(Reply{Text: t.L.T("cmp.no_channels"), HTML: true, Keyboard: [][]Button{newPieceButton(t, s, pieceChannel)}})
		return nil
	}
	head, err := stepHeader(t, s, &d, "channel")
	if err != nil {
		return err
	}
	if d.Several && len(enabled) >= 2 {
		t.Reply(Reply{Text: head + t.L.T("cmp.ask_bots"), HTML: true, Keyboard: severalRows(t, s, d, enabled)})
		return nil
	}
	var rows [][]Button
	for _, c := range enabled {
		rows = append(rows, []Button{s.Button("📡 "+c.Name+" · @"+c.Username+" · "+t.L.T("chan.rate_short", i18n.Data{"Rate": c.RatePerSecond}), "c:"+itoa(c.ID))})
	}
	if all := allChannelsButton(t, s, len(rows)); all != nil {
		rows = append(rows, all)
	}
	if len(enabled) >= severalMin {
		rows = append(rows, []Button{s.Button(t.L.T("cmp.bots_several"), actSeveral)})
	}
	rows = append(rows, newPieceButton(t, s, pieceChannel))
	t.Reply(Reply{Text: head + t.L.T("cmp.ask_channel"), HTML: true, Keyboard: rows})
	return nil
}

func handleCampaignChannel(ctx context.Context, t *Turn, s *Session, in Input) (string, error) {
	d, err := loadCampaignDraft(s)
	if err != nil {
		return "", err
	}
	if in.Action == newPieceAction {
		return newPiece(s, pieceChannel), nil
	}
	ids, several, err := handleSeveralBots(ctx, t, s, &d, in.Action)
	if err != nil {
		return "", err
	}
	if several && ids == nil { // a toggle: the screen again
		return Stay, nil
	}
	if !several {
		if ids, err = pickChannels(ctx, t, in.Action); err != nil {
			return "", err
		}
	}
	d.ChannelID, d.ChannelIDs, d.Several, d.Picked = ids[0], nil, false, nil
	if len(ids) > 1 {
		d.ChannelIDs = ids
	}
	// The audience depends on the bots: chosen again for new ones.
	d.Audience, d.BatchID, d.Source, d.Since = "", 0, "", time.Time{}
	return guideOn(ctx, t, s, d)
}

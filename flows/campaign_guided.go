package flows

import (
	"context"
	"fmt"
	"strings"

	"github.com/looplab/fsm"

	"herald/i18n"
	"herald/store"
)

// The guided campaign: "🚀 New campaign" does it all. After each choice the wizard
// goes to the next piece still missing (template, recipient list, sender bot, then
// the summary): the only option is chosen by itself (the summary says so, with a
// button to change it), and a missing one is made in a sub-dialog (subdialog.go)
// that returns with it chosen, the choices so far kept. "🔁 Same as last time"
// opens the summary with the admin's previous campaign's three pieces.

// repeatArg is ActCampaignNew's argument for "🔁 Same as last time": the wizard opens
// at the summary with the admin's last campaign's template, list and bot.
const repeatArg = "last"

// The pieces of a campaign, in the order the wizard asks for them.
const (
	pieceTemplate = "template"
	pieceBatch    = "batch"
	pieceChannel  = "channel"
)

// pieceChild is how a missing piece is made: the dialog, the state it starts at
// (skipping the name, which defaults from the content) and what is said first.
var pieceChild = map[string]struct{ flow, state, intro string }{
	pieceTemplate: {FlowTemplateNew, "content", "guide.intro_template"},
	pieceBatch:    {FlowBatchNew, "source", "guide.intro_batch"},
	pieceChannel:  {FlowChannelAdd, "token", "guide.intro_channel"},
}

// pieceState is the wizard's step that asks for a piece: the recipient list is chosen
// on the audience step, among the bots' subscribers, groups and the lists.
var pieceState = map[string]string{pieceTemplate: "template", pieceBatch: "audience", pieceChannel: "channel"}

// guideEvents lead from any step of the wizard to the step of a piece, or to the
// summary; "schedule" leads from the summary to the time steps.
func guideEvents() []fsm.EventDesc {
	all := []string{"template", "channel", "audience", "since", "when", "zone", "when_sure", "summary"}
	return []fsm.EventDesc{
		{Name: "to_template", Src: all, Dst: "template"},
		{Name: "to_channel", Src: all, Dst: "channel"},
		{Name: "to_audience", Src: all, Dst: "audience"},
		{Name: "to_summary", Src: all, Dst: "summary"},
		{Name: "to_since", Src: all, Dst: "since"}, // Back along the screens seen
		{Name: "to_when", Src: all, Dst: "when"},
		{Name: "schedule", Src: []string{"summary"}, Dst: "when"},
	}
}

// guide finds the draft's next missing piece (template, sender bot, then the
// audience, which depends on the bots): it fills the only option in (noting it in
// d.Auto), and returns the state that asks for a piece with several options, or a
// call for a piece with none, or "summary".
func guide(ctx context.Context, t *Turn, d *campaignDraft) (string, *callRequest, error) {
	for _, piece := range []string{pieceTemplate, pieceChannel, pieceBatch} {
		if d.has(piece) {
			continue
		}
		ids, err := pieceOptions(ctx, t, d, piece)
		if err != nil {
			return "", nil, err
		}
		state := pieceState[piece]
		switch len(ids) {
		case 0:
			c := pieceChild[piece]
			return state, &callRequest{flow: c.flow, state: c.state, resume: state, intro: c.intro}, nil
		case 1:
			*d.piece(piece) = ids[0]
			if piece == pieceBatch {
				d.Audience = store.AudienceBatch
			}
			d.Auto = append(d.Auto, piece)
		default:
			return state, nil, nil
		}
	}
	return "summary", nil, nil
}

// has reports whether the draft has piece: the audience counts as the list when it
// is not a list's.
func (d *campaignDraft) has(piece string) bool {
	if piece == pieceBatch && d.Audience != "" && d.Audience != store.AudienceBatch && d.Audience != store.AudienceBatchSubscribers {
		return true
	}
	return *d.piece(piece) != 0
}

// guideOn saves d and moves the wizard to its next piece (for Step.Handle).
func guideOn(ctx context.Context, t *Turn, s *Session, d campaignDraft) (string, error) {
	next, call, err := guide(ctx, t, &d)
	if err != nil {
		return "", err
	}
	if next == "summary" && call == nil {
		d.Prev = s.State // the summary's Back returns to the screen it came from
	}
	if err := s.Save(d); err != nil {
		return "", err
	}
	if call != nil {
		return s.Call(call.flow, call.state, nil, call.resume, call.intro), nil
	}
	return "to_" + next, nil
}

// piece is the draft's field for piece.
func (d *campaignDraft) piece(piece string) *int64 {
	switch piece {
	case pieceTemplate:
		return &d.TemplateID
	case pieceBatch:
		return &d.BatchID
	default:
		return &d.ChannelID
	}
}

// pieceOptions are the ids the wizard could choose for piece, up to two (enough to
// tell none, one and several apart). For the list, the bots' subscribers or groups
// are a choice too: then the audience step asks (two "ids" that are not lists).
func pieceOptions(ctx context.Context, t *Turn, d *campaignDraft, piece string) ([]int64, error) {
	var ids []int64
	if piece == pieceBatch {
		opts, err := audiences(t).AudienceOptions(ctx, d.channels(), 0)
		if err != nil {
			return nil, err
		}
		if opts.Subscribers > 0 || opts.Chats > 0 {
			return []int64{0, 0}, nil
		}
	}
	switch piece {
	case pieceTemplate:
		list, _, err := templates(t).TemplateList(ctx, 2, 0)
		if err != nil {
			return nil, err
		}
		for _, tp := range list {
			ids = append(ids, tp.ID)
		}
	case pieceBatch:
		list, _, err := batches(t).BatchList(ctx, 0, 2)
		if err != nil {
			return nil, err
		}
		for _, b := range list {
			ids = append(ids, b.ID)
		}
	default:
		list, err := channels(t).ChannelList(ctx)
		if err != nil {
			return nil, err
		}
		for _, c := range list {
			if c.Enabled && len(ids) < 2 {
				ids = append(ids, c.ID)
			}
		}
	}
	return ids, nil
}

// startCampaignNew opens the wizard with its request key at the first piece to ask
// for, or straight in the sub-dialog that makes a missing one; with repeatArg, at the
// summary of the last campaign's pieces.
func startCampaignNew(ctx context.Context, t *Turn, arg string) error {
	if arg == repeatArg {
		return repeatCampaign(ctx, t)
	}
	d := campaignDraft{Key: fmt.Sprintf("wizard:%d:%d", t.ChatID, t.Now.UnixNano())}
	next, call, err := guide(ctx, t, &d)
	if err != nil {
		return err
	}
	if call != nil {
		t.startCalling(FlowCampaignNew, d, call)
		return nil
	}
	t.startAt(FlowCampaignNew, next, d)
	return nil
}

// resumeCampaign takes the piece a sub-dialog made (Definition.Resume): chosen, and
// on to the next; a cancelled one leaves the step that asks for it.
func resumeCampaign(ctx context.Context, t *Turn, s *Session, child string, id int64) (string, error) {
	d, err := loadCampaignDraft(s)
	if err != nil {
		return "", err
	}
	if id == 0 {
		return Stay, nil
	}
	for piece, c := range pieceChild {
		if c.flow == child {
			*d.piece(piece) = id
			if piece == pieceBatch {
				d.Audience = store.AudienceBatch
			}
		}
	}
	return guideOn(ctx, t, s, d)
}

// newPieceAction is the button of a wizard step that makes its piece in a sub-dialog.
const newPieceAction = "new"

// newPiece answers newPieceAction at the step of piece.
func newPiece(s *Session, piece string) string {
	c := pieceChild[piece]
	return s.Call(c.flow, c.state, nil, pieceState[piece], "")
}

// newPieceButton is the step's "➕ New …" button.
func newPieceButton(t *Turn, s *Session, piece string) []Button {
	key := map[string]string{pieceTemplate: "button.new_template", pieceBatch: "button.new_batch", pieceChannel: "button.new_channel"}[piece]
	return []Button{s.Button(t.L.T(key), newPieceAction)}
}

// pieceKeys name each piece in the summary's note and on its change button.
var pieceKeys = map[string]struct{ name, change string }{
	pieceTemplate: {"guide.piece.template", "button.change_template"},
	pieceBatch:    {"guide.piece.batch", "button.change_batch"},
	pieceChannel:  {"guide.piece.channel", "button.change_channel"},
}

// changeAction is the summary's button that asks again for a piece chosen by itself.
const changeAction = "chg:"

// guidedSummaryNote says which pieces were chosen by themselves.
func guidedSummaryNote(t *Turn, d campaignDraft) string {
	if len(d.Auto) == 0 {
		return ""
	}
	var names []string
	for _, piece := range d.Auto {
		names = append(names, t.L.T(pieceKeys[piece].name))
	}
	return "\n" + t.L.T("guide.auto", i18n.Data{"Pieces": strings.Join(names, ", ")})
}

// guidedSummaryRows labels the summary's Confirm "Send now" when no time was chosen
// and adds, above "Send test", Schedule and a button to change each piece chosen by
// itself.
func guidedSummaryRows(t *Turn, s *Session, d campaignDraft, rows [][]Button) [][]Button {
	confirm := s.Button("", "confirm").Data
	for _, row := range rows {
		for i := range row {
			if row[i].Data == confirm && d.At.IsZero() {
				row[i].Text = t.L.T("button.send_now_go")
			}
		}
	}
	extra := [][]Button{{s.Button(t.L.T("button.schedule"), "schedule")}}
	var change []Button
	for _, piece := range d.Auto {
		change = append(change, s.Button(t.L.T(pieceKeys[piece].change), changeAction+piece))
	}
	if len(change) > 0 {
		extra = append(extra, change)
	}
	test := s.Button("", "test").Data
	at := len(rows)
	for i, row := range rows {
		if len(row) > 0 && row[0].Data == test {
			at = i
			break
		}
	}
	return append(rows[:at:at], append(extra, rows[at:]...)...)
}

// guidedSummaryAction handles the summary's guided buttons: schedule, and change a
// piece chosen by itself. ok is false for other actions.
func guidedSummaryAction(s *Session, d campaignDraft, action string) (string, bool, error) {
	if action == "schedule" {
		return "schedule", true, nil
	}
	piece, ok := strings.CutPrefix(action, changeAction)
	if !ok || pieceChild[piece].flow == "" {
		return "", false, nil
	}
	*d.piece(piece) = 0
	if piece == pieceBatch {
		d.Audience = ""
	}
	var auto []string
	for _, p := range d.Auto {
		if p != piece {
			auto = append(auto, p)
		}
	}
	d.Auto = auto
	return "to_" + pieceState[piece], true, s.Save(d)
}

// lastCampaign is the newest campaign the actor created among the latest ones, or nil.
func lastCampaign(ctx context.Context, t *Turn) (*store.CampaignListItem, error) {
	list, _, err := campaigns(t).CampaignList(ctx, 0, 50)
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].CreatedBy == t.Actor.UserID {
			return &list[i], nil
		}
	}
	return nil, nil
}

// repeatCampaign opens the wizard's summary with the last campaign's template, list
// and bot: a repeat is a look and a press.
func repeatCampaign(ctx context.Context, t *Turn) error {
	last, err := lastCampaign(ctx, t)
	if err != nil {
		return err
	}
	if last == nil {
		return NotFound("guide.no_last")
	}
	d := campaignDraft{Key: fmt.Sprintf("wizard:%d:%d", t.ChatID, t.Now.UnixNano()),
		TemplateID: last.TemplateID, BatchID: last.BatchID, ChannelID: last.ChannelID,
		Audience: last.Audience, Source: last.AudienceSource}
	if last.AudienceSince != nil {
		d.Since = *last.AudienceSince
	}
	if ids, err := t.st.CampaignChannelIDs(ctx, last.ID); err != nil {
		return err
	} else if len(ids) > 1 {
		d.ChannelIDs = ids
	}
	t.startAt(FlowCampaignNew, "summary", d)
	return nil
}

// campaignShortcuts is the menu's and the campaigns screen's row: "🚀 New campaign",
// and "🔁 Same as last time" for an admin with a previous campaign (nil for viewers).
func campaignShortcuts(ctx context.Context, t *Turn) ([]Button, error) {
	if !t.Actor.CanChange() {
		return nil, nil
	}
	row := []Button{{Text: t.L.T("button.new_campaign"), Data: ScreenCallback(ActCampaignNew, "")}}
	last, err := lastCampaign(ctx, t)
	if err != nil || last == nil {
		return row, err
	}
	return append(row, Button{Text: t.L.T("button.repeat_campaign"), Data: ScreenCallback(ActCampaignNew, repeatArg)}), nil
}

// appendRepeat adds "🔁 Same as last time" to the campaigns screen's rows, for an
// admin with a previous campaign.
func appendRepeat(ctx context.Context, t *Turn, rows *[][]Button) error {
	row, err := campaignShortcuts(ctx, t)
	if err != nil || len(row) < 2 {
		return err
	}
	*rows = append(*rows, row[1:])
	return nil
}

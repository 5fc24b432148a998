package flows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/looplab/fsm"
	"github.com/mymmrac/telego"

	"herald/i18n"
	"herald/render"
	"herald/store"
)

// The "Edit sent messages" dialog: the new text (same variables as templates, checked
// as the template builder checks it), then one question naming how many messages
// change and that the old text is gone, then the operation.

// editDraft is what the edit dialog has collected.
type editDraft struct {
	CampaignID int64                  `json:"campaign_id"`
	Caption    bool                   `json:"caption,omitempty"` // the messages carry media
	Body       string                 `json:"body,omitempty"`
	Entities   []telego.MessageEntity `json:"entities,omitempty"`
}

func dialogCampaignEdit() *Definition {
	return &Definition{
		Name:    FlowCampaignEdit,
		Role:    store.RoleAdmin,
		Initial: "content",
		Events:  []fsm.EventDesc{{Name: "written", Src: []string{"content"}, Dst: "confirm"}},
		Steps: map[string]*Step{
			"content": {Prompt: promptEditContent, Handle: handleEditContent},
			"confirm": {Prompt: promptEditConfirm, Handle: handleEditConfirm, Back: "content"},
		},
	}
}

// startCampaignEdit opens the dialog for a campaign that sent something.
func startCampaignEdit(ctx context.Context, t *Turn, arg string) error {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || id <= 0 {
		return NotFound("cmp.gone")
	}
	cm, err := operations(t).CampaignMessageGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return NotFound("cmp.gone")
	}
	if err != nil {
		return err
	}
	n, _, err := operations(t).OperationTargets(ctx, id, store.OperationEdit)
	if err != nil {
		return err
	}
	if n == 0 {
		t.Reply(Reply{Text: t.L.T("op.nothing.edit", i18n.Data{"ID": id}), HTML: true, Edit: true,
			Keyboard: [][]Button{{{Text: t.L.T("button.delete_no"), Data: ScreenCallback(ActCampaignView, itoa(id))}}}})
		return nil
	}
	t.Start(FlowCampaignEdit, editDraft{CampaignID: id, Caption: cm.MediaKind != nil})
	return nil
}

func promptEditContent(_ context.Context, t *Turn, s *Session) error {
	var d editDraft
	if err := s.Load(&d); err != nil {
		return err
	}
	key := "op.edit.ask_text"
	if d.Caption {
		key = "op.edit.ask_caption"
	}
	r := Reply{Text: t.L.T(key, i18n.Data{"ID": d.CampaignID}), HTML: true}
	if d.Body != "" {
		r.Text += "\n\n" + t.L.T("tpl.content_kept")
		r.Keyboard = [][]Button{{s.Button(t.L.T("button.keep_value"), keepAction)}}
	}
	t.Reply(r)
	return nil
}

// handleEditContent checks the new text like the template builder: not empty, not
// media, at most MaxEntities formats, valid {{variables}} that some list has, and
// within Telegram's limit with the longest values.
func handleEditContent(ctx context.Context, t *Turn, s *Session, in Input) (string, error) {
	var d editDraft
	if err := s.Load(&d); err != nil {
		return "", err
	}
	if in.Action == keepAction && d.Body != "" {
		return "written", nil
	}
	if in.Action != "" {
		return "", Outdated()
	}
	if in.Media != nil {
		return "", Invalid("op.edit.text_only", nil)
	}
	if strings.TrimSpace(in.Text) == "" {
		return "", Invalid("tpl.content_empty", nil)
	}
	if len(in.Entities) > MaxEntities {
		return "", Invalid("tpl.too_many_entities", i18n.Data{"Count": len(in.Entities), "Max": MaxEntities})
	}
	tpl, err := render.Parse(in.Text, in.Entities)
	if err != nil {
		return "", syntaxError(err)
	}
	limit, key := MaxTextLength, "tpl.text_too_long"
	if d.Caption {
		limit, key = MaxCaptionLength, "tpl.caption_too_long"
	}
	if n := LongestLength(tpl); n > limit {
		return "", Invalid(key, i18n.Data{"Count": n, "Max": limit, "Over": n - limit})
	}
	known, err := knownVars(ctx, t)
	if err != nil {
		return "", err
	}
	if unknown := unknownVars(tpl.Vars(), known); len(unknown) > 0 {
		u := unknown[0]
		data := i18n.Data{"Var": esc("{{" + u.Name + "}}"), "Suggest": esc("{{" + u.Suggest + "}}")}
		if u.Suggest == "" {
			return "", Invalid("op.edit.var_unknown", data)
		}
		return "", Invalid("op.edit.var_did_you_mean", data)
	}
	d.Body, d.Entities = in.Text, in.Entities
	return "written", s.Save(d)
}

func promptEditConfirm(ctx context.Context, t *Turn, s *Session) error {
	var d editDraft
	if err := s.Load(&d); err != nil {
		return err
	}
	n, _, err := operations(t).OperationTargets(ctx, d.CampaignID, store.OperationEdit)
	if err != nil {
		return err
	}
	tpl, err := render.Parse(d.Body, d.Entities)
	if err != nil {
		return fmt.Errorf("edit draft: %w", err)
	}
	sample, _ := tpl.Render(SampleValues(t.L, tpl.Vars()))
	t.Reply(Reply{Text: t.L.N("op.ask.edit", int(n), i18n.Data{"ID": d.CampaignID, "Sample": esc(sample)}), HTML: true,
		Keyboard: [][]Button{{s.Button(t.L.T("button.op.sure.edit"), "go")}}})
	return nil
}

func handleEditConfirm(ctx context.Context, t *Turn, s *Session, in Input) (string, error) {
	var d editDraft
	if err := s.Load(&d); err != nil {
		return "", err
	}
	if in.Action != "go" {
		return "", Outdated()
	}
	entities, err := json.Marshal(nonNil(d.Entities))
	if err != nil {
		return "", err
	}
	if err := startOperation(ctx, t, store.NewOperation{CampaignID: d.CampaignID, Kind: store.OperationEdit,
		Body: d.Body, Entities: entities}); err != nil {
		return "", err
	}
	return Done, nil
}

package flows

import (
	"context"
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

// Telegram's limits on what one message may carry, in UTF-16 code units.
const (
	MaxTextLength    = 4096
	MaxCaptionLength = 1024
	maxNameLength    = 64
	// MaxEntities: Telegram applies the first 100 formatting entities of a message and
	// silently drops the rest, so a template with more would not look as previewed.
	MaxEntities = 100
	// MaxMediaSize is the most getFile lets a bot download: the delivery engine must
	// download a template's medium to upload it to each channel bot.
	MaxMediaSize = 20 << 20
)

// Flow names.
const (
	FlowTemplateNew    = "tpl_new"
	FlowTemplateRename = "tpl_rename"
)

// templateDraft is what the template builder has collected so far.
type templateDraft struct {
	ID       int64                           `json:"id,omitempty"` // rename: the template
	Name     string                          `json:"name,omitempty"`
	Body     string                          `json:"body,omitempty"`
	Entities []telego.MessageEntity          `json:"entities,omitempty"`
	Media    *Media                          `json:"media,omitempty"`
	Buttons  [][]telego.InlineKeyboardButton `json:"buttons,omitempty"`
}

// dialogTemplateNew is the template builder: name → content → buttons → preview → save.
func dialogTemplateNew() *Definition {
	return &Definition{
		Name:    FlowTemplateNew,
		Role:    store.RoleAdmin,
		Initial: "name",
		Events: []fsm.EventDesc{
			{Name: "named", Src: []string{"name"}, Dst: "content"},
			{Name: "composed", Src: []string{"content"}, Dst: "buttons"},
			{Name: "buttoned", Src: []string{"buttons"}, Dst: "preview"},
		},
		Steps: map[string]*Step{
			"name":    {Prompt: promptTemplateName, Handle: handleTemplateName("named")},
			"content": {Prompt: promptTemplateContent, Handle: handleTemplateContent, Back: "name"},
			"buttons": {Prompt: promptTemplateButtons, Handle: handleTemplateButtons, Back: "content"},
			"preview": {Prompt: promptTemplatePreview, Handle: handleTemplatePreview, Back: "buttons"},
		},
	}
}

// dialogTemplateRename asks for a new name of the template in the draft's ID.
func dialogTemplateRename() *Definition {
	return &Definition{
		Name:    FlowTemplateRename,
		Role:    store.RoleAdmin,
		Initial: "name",
		Steps: map[string]*Step{
			"name": {Prompt: promptTemplateName, Handle: handleTemplateName(Done)},
		},
	}
}

func promptTemplateName(_ context.Context, t *Turn, s *Session) error {
	var d templateDraft
	if err := s.Load(&d); err != nil {
		return err
	}
	if s.Flow == FlowTemplateRename {
		t.Reply(Reply{Text: t.L.T("tpl.ask_new_name", i18n.Data{"Name": esc(d.Name)}), HTML: true})
		return nil
	}
	r := Reply{Text: t.L.T("tpl.ask_name"), HTML: true}
	if d.Name != "" { // back here: what was entered stays one press away
		r.Text += "\n\n" + t.L.T("tpl.current_value", i18n.Data{"Value": esc(d.Name)})
		r.Keyboard = [][]Button{{s.Button(t.L.T("button.keep_value"), keepAction)}}
	}
	t.Reply(r)
	return nil
}

// keepAction goes forward with what the draft already holds for a step, after Back.
// ("keep" itself is the engine's answer to the drop-the-draft question.)
const keepAction = "same"

// handleTemplateName checks the name, then fires next; for Done it renames the template.
func handleTemplateName(next string) func(context.Context, *Turn, *Session, Input) (string, error) {
	return func(ctx context.Context, t *Turn, s *Session, in Input) (string, error) {
		var d templateDraft
		if err := s.Load(&d); err != nil {
			return "", err
		}
		if in.Action == keepAction && d.Name != "" && next != Done {
			return next, nil
		}
		if in.Action != "" {
			return "", Outdated()
		}
		name, err := checkName(in)
		if err != nil {
			return "", err
		}
		taken, err := templates(t).TemplateNameTaken(ctx, name, d.ID)
		if err != nil {
			return "", err
		}
		if taken {
			return "", Invalid("tpl.name_taken", i18n.Data{"Name": esc(name)})
		}
		if next != Done {
			d.Name = name
			return next, s.Save(d)
		}
		old, err := templates(t).TemplateGet(ctx, d.ID)
		if errors.Is(err, store.ErrNotFound) {
			t.Say("tpl.gone")
			return Done, nil
		}
		if err != nil {
			return "", err
		}
		switch err := templates(t).TemplateRename(ctx, d.ID, name); {
		case errors.Is(err, store.ErrTemplateNameTaken):
			return "", Invalid("tpl.name_taken", i18n.Data{"Name": esc(name)})
		case err != nil:
			return "", err
		}
		if err := t.Audit(ctx, "template.renamed", templateTarget(d.ID), map[string]any{"from": old.Name, "to": name}); err != nil {
			return "", err
		}
		t.Reply(Reply{Text: t.L.T("tpl.renamed", i18n.Data{"Name": esc(name)}), HTML: true,
			Keyboard: [][]Button{{{Text: t.L.T("button.open"), Data: ScreenCallback(ActTemplateView, itoa(d.ID))}}}})
		return Done, nil
	}
}

// checkName accepts 1–64 characters of plain text on one line.
func checkName(in Input) (string, error) {
	if in.Media != nil || in.ContactUserID != 0 {
		return "", Invalid("tpl.name_not_text", nil)
	}
	return CheckName(in.Text)
}

func promptTemplateContent(_ context.Context, t *Turn, s *Session) error {
	var d templateDraft
	if err := s.Load(&d); err != nil {
		return err
	}
	r := Reply{Text: t.L.T("tpl.ask_content"), HTML: true}
	if d.Body != "" || d.Media != nil {
		r.Text += "\n\n" + t.L.T("tpl.content_kept")
		r.Keyboard = [][]Button{{s.Button(t.L.T("button.keep_value"), keepAction)}}
	}
	t.Reply(r)
	return nil
}

func handleTemplateContent(_ context.Context, t *Turn, s *Session, in Input) (string, error) {
	var d templateDraft
	if err := s.Load(&d); err != nil {
		return "", err
	}
	if in.Action == keepAction && (d.Body != "" || d.Media != nil) {
		return "composed", nil
	}
	if in.Action != "" {
		return "", Outdated()
	}
	if in.Media == nil && strings.TrimSpace(in.Text) == "" {
		return "", Invalid("tpl.content_empty", nil)
	}
	if err := CheckTemplateContent(in.Text, in.Entities, in.Media); err != nil {
		return "", err
	}
	d.Body, d.Entities, d.Media = in.Text, in.Entities, in.Media
	return "composed", s.Save(d)
}

func syntaxError(err error) error {
	var se *render.SyntaxError
	if !errors.As(err, &se) {
		return fmt.Errorf("parse template: %w", err)
	}
	return Invalid("tpl.syntax."+se.Reason, i18n.Data{"Offset": se.Offset, "Detail": esc(se.Detail)})
}

func promptTemplateButtons(_ context.Context, t *Turn, s *Session) error {
	var d templateDraft
	if err := s.Load(&d); err != nil {
		return err
	}
	var keyboard [][]Button
	if len(d.Buttons) > 0 {
		keyboard = append(keyboard, []Button{s.Button(t.L.N("button.keep_buttons", len(d.Buttons)), keepAction)})
	}
	keyboard = append(keyboard, []Button{s.Button(t.L.T("button.no_buttons"), "skip")})
	t.Reply(Reply{Text: t.L.T("tpl.ask_buttons"), HTML: true, Keyboard: keyboard})
	return nil
}

func handleTemplateButtons(_ context.Context, _ *Turn, s *Session, in Input) (string, error) {
	var d templateDraft
	if err := s.Load(&d); err != nil {
		return "", err
	}
	switch in.Action {
	case keepAction:
		if len(d.Buttons) == 0 {
			return "", Outdated()
		}
		return "buttoned", nil
	case "skip":
		d.Buttons = nil
		return "buttoned", s.Save(d)
	case "":
	default:
		return "", Outdated()
	}
	if in.Media != nil || strings.TrimSpace(in.Text) == "" {
		return "", Invalid("tpl.buttons_not_text", nil)
	}
	rows, err := ParseButtons(in.Text)
	if err != nil {
		return "", err
	}
	d.Buttons = rows
	return "buttoned", s.Save(d)
}

func promptTemplatePreview(ctx context.Context, t *Turn, s *Session) error {
	var d templateDraft
	if err := s.Load(&d); err != nil {
		return err
	}
	preview, samples, err := previewReply(t.L, d.Body, d.Entities, d.Media, d.Buttons)
	if err != nil {
		return err
	}
	unknown, err := draftUnknownVars(ctx, t, d)
	if err != nil {
		return err
	}
	t.Reply(preview)
	var kb [][]Button
	for i, u := range unknown { // under the samples, where the typo shows
		data := i18n.Data{"Var": esc("{{" + u.Name + "}}"), "Suggest": esc("{{" + u.Suggest + "}}")}
		if u.Suggest == "" {
			samples += "\n" + t.L.T("tpl.var_unknown", data)
			continue
		}
		samples += "\n" + t.L.T("tpl.var_did_you_mean", data)
		kb = append(kb, []Button{s.Button(t.L.T("button.fix_var", i18n.Data{"Var": "{{" + u.Name + "}}", "Suggest": "{{" + u.Suggest + "}}"}),
			fixVarAction+strconv.Itoa(i))})
	}
	text := t.L.T("tpl.preview_caption", i18n.Data{"Name": esc(d.Name), "Samples": samples})
	kb = append(kb, []Button{s.Button(t.L.T("button.save"), "save")})
	t.Reply(Reply{Text: text, HTML: true, Keyboard: kb})
	return nil
}

// draftUnknownVars are the draft's variables that no list has.
func draftUnknownVars(ctx context.Context, t *Turn, d templateDraft) ([]unknownVar, error) {
	tpl, err := render.Parse(d.Body, d.Entities)
	if err != nil {
		return nil, fmt.Errorf("parse draft template: %w", err)
	}
	known, err := knownVars(ctx, t)
	if err != nil {
		return nil, err
	}
	return unknownVars(tpl.Vars(), known), nil
}

// fixTemplateVar replaces the unknown variable number arg (as the preview listed
// them) with its suggestion; the preview is then shown again.
func fixTemplateVar(ctx context.Context, t *Turn, s *Session, arg string) (string, error) {
	var d templateDraft
	if err := s.Load(&d); err != nil {
		return "", err
	}
	unknown, err := draftUnknownVars(ctx, t, d)
	if err != nil {
		return "", err
	}
	i, err := strconv.Atoi(arg)
	if err != nil || i < 0 || i >= len(unknown) || unknown[i].Suggest == "" {
		return "", Outdated()
	}
	d.Body, d.Entities = renameVar(d.Body, d.Entities, unknown[i].Name, unknown[i].Suggest)
	return Stay, s.Save(d)
}

func handleTemplatePreview(ctx context.Context, t *Turn, s *Session, in Input) (string, error) {
	if arg, ok := strings.CutPrefix(in.Action, fixVarAction); ok {
		return fixTemplateVar(ctx, t, s, arg)
	}
	if in.Action != "save" {
		if in.Action == "" {
			return "", Invalid("tpl.press_save", nil)
		}
		return "", Outdated()
	}
	var d templateDraft
	if err := s.Load(&d); err != nil {
		return "", err
	}
	id, err := SaveTemplate(ctx, t.st, t.Audit, TemplateContent{Name: d.Name, Body: d.Body, Entities: d.Entities,
		Media: d.Media, Buttons: d.Buttons}, t.Actor.UserID)
	if err != nil {
		return "", err
	}
	t.Reply(Reply{Text: t.L.T("tpl.saved", i18n.Data{"Name": esc(d.Name)}), HTML: true,
		Keyboard: [][]Button{
			{{Text: t.L.T("button.open"), Data: ScreenCallback(ActTemplateView, itoa(id))}},
			{{Text: t.L.T("button.menu"), Data: ScreenCallback(ActMenu, "")}},
		}})
	return Done, nil
}

// SampleValues are the values a preview fills in: a realistic sample for well-known
// variables, the default for others, and the variable's name in brackets otherwise.
func SampleValues(l *i18n.Localizer, vars []render.Var) map[string]string {
	values := make(map[string]string, len(vars))
	for _, v := range vars {
		key := "sample." + v.Name
		if s := l.T(key); s != key {
			values[v.Name] = s
		} else if v.HasDefault {
			values[v.Name] = v.Default
		} else {
			values[v.Name] = "‹" + v.Name + "›"
		}
	}
	return values
}

// longestSampleLength is the length assumed for a variable without a longer default:
// Telegram's limit on first and last names, the usual personalisation.
const longestSampleLength = 64

// LongestLength is the template's length in UTF-16 code units when every variable
// takes its longest plausible value (64 characters, or a longer default), the figure
// checked against Telegram's limits when a template is built.
func LongestLength(tpl *render.Template) int {
	values := map[string]string{}
	for _, v := range tpl.Vars() {
		long := strings.Repeat("W", longestSampleLength)
		if render.UTF16Len(v.Default) > longestSampleLength {
			long = v.Default
		}
		values[v.Name] = long
	}
	text, _ := tpl.Render(values)
	return render.UTF16Len(text)
}

// previewReply renders a template with sample values, as a recipient would see it.
// It also returns the samples, listed for the admin.
func previewReply(l *i18n.Localizer, body string, entities []telego.MessageEntity, media *Media, buttons [][]telego.InlineKeyboardButton) (Reply, string, error) {
	tpl, err := render.Parse(body, entities)
	if err != nil {
		return Reply{}, "", fmt.Errorf("parse saved template: %w", err)
	}
	values := SampleValues(l, tpl.Vars())
	text, ents := tpl.Render(values)
	r := Reply{Text: text, Entities: ents, Media: media}
	for _, row := range buttons {
		var out []Button
		for _, b := range row {
			out = append(out, Button{Text: b.Text, URL: b.URL})
		}
		r.Keyboard = append(r.Keyboard, out)
	}
	var lines []string
	for _, v := range tpl.Vars() {
		lines = append(lines, "<code>{{"+esc(v.Name)+"}}</code> → "+esc(values[v.Name]))
	}
	samples := l.T("tpl.no_variables")
	if len(lines) > 0 {
		samples = strings.Join(lines, "\n")
	}
	return r, samples, nil
}

func templateTarget(id int64) string { return "template:" + itoa(id) }

func mediaKind(m *Media) string {
	if m == nil {
		return "text"
	}
	return m.Kind
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

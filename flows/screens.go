package flows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"strconv"
	"strings"

	"github.com/mymmrac/telego"

	"herald/i18n"
	"herald/render"
	"herald/store"
)

// Names of the stateless screens; each is also the callback prefix of its buttons
// (bot/routes.go registers them with the least role that may use them).
const (
	ActMenu                  = "menu"
	ActHelp                  = "help"
	ActSoon                  = "soon" // sections other engineers are building
	ActTemplates             = "tl"   // arg: page
	ActTemplateNew           = "tn"
	ActTemplateView          = "tv" // arg: template id
	ActTemplatePreview       = "tp"
	ActTemplateRename        = "tr"
	ActTemplateDuplicate     = "td"
	ActTemplateDelete        = "tx" // asks
	ActTemplateDeleteConfirm = "ty"
	ActAdmins                = "al"
	ActAdminAdd              = "aa"
	ActAdminRemove           = "ar" // asks; arg: user id
	ActAdminRemoveConfirm    = "ay"
	ActAudit                 = "au"
)

// PageSize is how many objects a list screen shows at once.
const PageSize = 8

func esc(s string) string { return html.EscapeString(s) }

// showMenu is the main menu.
func showMenu(ctx context.Context, t *Turn, _ string) error {
	b := func(key, action, arg string) Button {
		return Button{Text: t.L.T(key), Data: ScreenCallback(action, arg)}
	}
	shortcuts, err := campaignShortcuts(ctx, t) // the guided campaign first (campaign_guided.go)
	if err != nil {
		return err
	}
	kb := [][]Button{
		{b("menu.templates", ActTemplates, "0"), b("menu.batches", ActBatches, "0")},
		{b("menu.channels", ActChannels, ""), b("menu.campaigns", ActCampaigns, "0")},
		{b("menu.admins", ActAdmins, ""), b("menu.settings", ActSettings, "")},
		{b("menu.help", ActHelp, "")},
	}
	if shortcuts != nil {
		kb = append([][]Button{shortcuts}, kb...)
	}
	t.Reply(Reply{Text: t.L.T("menu.title", i18n.Data{"Name": esc(t.Actor.Name)}), HTML: true, Edit: true, Keyboard: kb})
	return nil
}

// showHelp explains the commands.
func showHelp(_ context.Context, t *Turn, _ string) error {
	t.Reply(Reply{Text: t.L.T("help.text"), HTML: true, Edit: true, Keyboard: backToMenu(t)})
	return nil
}

// showSoon stands in for a section whose screens are not built yet.
func showSoon(_ context.Context, t *Turn, section string) error {
	t.Reply(Reply{Text: t.L.T("menu.soon", i18n.Data{"Section": t.L.T("menu." + section)}), HTML: true, Edit: true, Keyboard: backToMenu(t)})
	return nil
}

func backToMenu(t *Turn) [][]Button {
	return [][]Button{{{Text: t.L.T("button.menu"), Data: ScreenCallback(ActMenu, "")}}}
}

// askOnce shows the one confirmation a destructive action asks, in place of the
// screen the press came from: question (HTML) names the consequence, yesLabel's
// button (a catalogue key) does it, "No" goes back to the screen at back.
func askOnce(t *Turn, question, yesLabel, yes, back string) {
	t.Reply(Reply{Text: question, HTML: true, Edit: true, Keyboard: [][]Button{
		{{Text: t.L.T(yesLabel), Data: yes}},
		{{Text: t.L.T("button.delete_no"), Data: back}},
	}})
}

// listScreen shows a list in place of the screen the press came from: header, one
// line per item, the items' buttons (rows), then the add button when there is one
// and the way back to the menu.
func listScreen(t *Turn, header string, lines []string, rows [][]Button, add *Button) {
	var b strings.Builder
	b.WriteString(header)
	for _, l := range lines {
		b.WriteString("\n• " + l)
	}
	if add != nil {
		rows = append(rows, []Button{*add})
	}
	rows = append(rows, backToMenu(t)...)
	t.Reply(Reply{Text: b.String(), HTML: true, Edit: true, Keyboard: rows})
}

// showTemplates lists templates, PageSize per page (arg: page number from 0).
func showTemplates(ctx context.Context, t *Turn, arg string) error {
	page, _ := strconv.Atoi(arg)
	page = max(page, 0)
	list, total, err := templates(t).TemplateList(ctx, PageSize, page*PageSize)
	if err != nil {
		return err
	}
	if len(list) == 0 && page > 0 { // the list shrank under an old page button
		page = (total - 1) / PageSize
		if list, total, err = templates(t).TemplateList(ctx, PageSize, max(page, 0)*PageSize); err != nil {
			return err
		}
	}
	text := t.L.N("tpl.list_header", total)
	if total == 0 {
		text = t.L.T("tpl.list_empty")
	}
	var rows [][]Button
	for _, tp := range list {
		icon := "📝"
		if tp.MediaKind != "" {
			icon = "🖼"
		}
		rows = append(rows, []Button{{Text: icon + " " + tp.Name, Data: ScreenCallback(ActTemplateView, itoa(tp.ID))}})
	}
	rows = append(rows, pager(t, ActTemplates, page, total)...)
	if t.Actor.CanChange() {
		rows = append(rows, []Button{{Text: t.L.T("button.new_template"), Data: ScreenCallback(ActTemplateNew, "")}})
	}
	rows = append(rows, backToMenu(t)...)
	t.Reply(Reply{Text: text, HTML: true, Edit: true, Keyboard: rows})
	return nil
}

// pager is the ◀ page/pages ▶ row of a long list, or nothing for a short one.
func pager(t *Turn, action string, page, total int) [][]Button {
	pages := (total + PageSize - 1) / PageSize
	if pages <= 1 {
		return nil
	}
	var row []Button
	if page > 0 {
		row = append(row, Button{Text: "◀️", Data: ScreenCallback(action, strconv.Itoa(page-1))})
	}
	row = append(row, Button{Text: fmt.Sprintf("%d / %d", page+1, pages), Data: ScreenCallback(action, strconv.Itoa(page))})
	if page+1 < pages {
		row = append(row, Button{Text: "▶️", Data: ScreenCallback(action, strconv.Itoa(page+1))})
	}
	return [][]Button{row}
}

// startTemplateNew opens the template builder.
func startTemplateNew(_ context.Context, t *Turn, _ string) error {
	t.Start(FlowTemplateNew, nil)
	return nil
}

func templateArg(ctx context.Context, t *Turn, arg string) (store.Template, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil {
		return store.Template{}, NotFound("tpl.gone")
	}
	tp, err := templates(t).TemplateGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Template{}, NotFound("tpl.gone")
	}
	return tp, err
}

// showTemplate is a template's card.
func showTemplate(ctx context.Context, t *Turn, arg string) error {
	tp, err := templateArg(ctx, t, arg)
	if err != nil {
		return err
	}
	var entities []telego.MessageEntity
	if err := json.Unmarshal(tp.Entities, &entities); err != nil {
		return fmt.Errorf("decode template %d entities: %w", tp.ID, err)
	}
	var buttons [][]telego.InlineKeyboardButton
	if err := json.Unmarshal(tp.Buttons, &buttons); err != nil {
		return fmt.Errorf("decode template %d buttons: %w", tp.ID, err)
	}
	vars := t.L.T("tpl.no_variables")
	if parsed, err := render.Parse(tp.Body, entities); err == nil && len(parsed.Vars()) > 0 {
		var names []string
		for _, v := range parsed.Vars() {
			names = append(names, "<code>{{"+esc(v.Name)+"}}</code>")
		}
		vars = strings.Join(names, ", ")
	}
	kind := t.L.T("tpl.kind.text")
	if tp.MediaKind != "" {
		kind = t.L.T("tpl.kind." + tp.MediaKind)
	}
	text := t.L.T("tpl.card", i18n.Data{"Name": esc(tp.Name), "Kind": kind, "Vars": vars,
		"Buttons": t.L.N("tpl.buttons_count", len(buttons)), "Length": render.UTF16Len(tp.Body)})
	id := itoa(tp.ID)
	rows := [][]Button{{{Text: t.L.T("button.preview"), Data: ScreenCallback(ActTemplatePreview, id)}}}
	if t.Actor.CanChange() {
		rows = append(rows,
			[]Button{{Text: t.L.T("button.rename"), Data: ScreenCallback(ActTemplateRename, id)},
				{Text: t.L.T("button.duplicate"), Data: ScreenCallback(ActTemplateDuplicate, id)}},
			[]Button{{Text: t.L.T("button.delete"), Data: ScreenCallback(ActTemplateDelete, id)}})
	}
	rows = append(rows, []Button{{Text: t.L.T("button.to_list"), Data: ScreenCallback(ActTemplates, "0")}})
	t.Reply(Reply{Text: text, HTML: true, Edit: true, Keyboard: rows})
	return nil
}

// previewTemplate sends a saved template rendered with sample values.
func previewTemplate(ctx context.Context, t *Turn, arg string) error {
	tp, err := templateArg(ctx, t, arg)
	if err != nil {
		return err
	}
	var entities []telego.MessageEntity
	var buttons [][]telego.InlineKeyboardButton
	if err := json.Unmarshal(tp.Entities, &entities); err != nil {
		return fmt.Errorf("decode template %d entities: %w", tp.ID, err)
	}
	if err := json.Unmarshal(tp.Buttons, &buttons); err != nil {
		return fmt.Errorf("decode template %d buttons: %w", tp.ID, err)
	}
	var media *Media
	if tp.MediaKind != "" {
		media = &Media{Kind: tp.MediaKind, FileID: tp.MediaFileID, UniqueID: tp.MediaUniqueID}
	}
	preview, samples, err := previewReply(t.L, tp.Body, entities, media, buttons)
	if err != nil {
		return err
	}
	t.Reply(preview)
	t.Reply(Reply{Text: t.L.T("tpl.preview_saved", i18n.Data{"Name": esc(tp.Name), "Samples": samples}), HTML: true,
		Keyboard: [][]Button{{{Text: t.L.T("button.open"), Data: ScreenCallback(ActTemplateView, itoa(tp.ID))}}}})
	return nil
}

// startTemplateRename opens the rename dialog.
func startTemplateRename(ctx context.Context, t *Turn, arg string) error {
	tp, err := templateArg(ctx, t, arg)
	if err != nil {
		return err
	}
	t.Start(FlowTemplateRename, templateDraft{ID: tp.ID, Name: tp.Name})
	return nil
}

// duplicateTemplate copies a template under the first free name "<name> (2)", "(3)"…
func duplicateTemplate(ctx context.Context, t *Turn, arg string) error {
	tp, err := templateArg(ctx, t, arg)
	if err != nil {
		return err
	}
	copyRow := tp
	copyRow.CreatedBy = t.Actor.UserID
	var id int64
	for n := 2; ; n++ {
		suffix := fmt.Sprintf(" (%d)", n)
		base := []rune(tp.Name)
		if len(base)+len([]rune(suffix)) > maxNameLength {
			base = base[:maxNameLength-len([]rune(suffix))]
		}
		copyRow.Name = string(base) + suffix
		id, err = templates(t).TemplateCreate(ctx, copyRow)
		if !errors.Is(err, store.ErrTemplateNameTaken) || n > 100 {
			break
		}
	}
	if err != nil {
		return err
	}
	if err := t.Audit(ctx, "template.duplicated", templateTarget(id), map[string]any{"from": tp.ID, "name": copyRow.Name}); err != nil {
		return err
	}
	t.Notice(t.L.T("tpl.duplicated", i18n.Data{"Name": copyRow.Name}))
	return showTemplate(ctx, t, itoa(id))
}

// askDeleteTemplate asks for confirmation.
func askDeleteTemplate(ctx context.Context, t *Turn, arg string) error {
	tp, err := templateArg(ctx, t, arg)
	if err != nil {
		return err
	}
	id := itoa(tp.ID)
	askOnce(t, t.L.T("tpl.delete_question", i18n.Data{"Name": esc(tp.Name)}),
		"button.delete_yes", ScreenCallback(ActTemplateDeleteConfirm, id), ScreenCallback(ActTemplateView, id))
	return nil
}

// deleteTemplate deletes after confirmation; refused while a campaign uses it.
func deleteTemplate(ctx context.Context, t *Turn, arg string) error {
	tp, err := templateArg(ctx, t, arg)
	if err != nil {
		return err
	}
	switch err := templates(t).TemplateDelete(ctx, tp.ID); {
	case errors.Is(err, store.ErrTemplateInUse):
		return Conflict("tpl.in_use", i18n.Data{"Name": esc(tp.Name)})
	case errors.Is(err, store.ErrNotFound):
		return NotFound("tpl.gone")
	case err != nil:
		return err
	}
	if err := t.Audit(ctx, "template.deleted", templateTarget(tp.ID), map[string]any{"name": tp.Name}); err != nil {
		return err
	}
	t.Notice(t.L.T("tpl.deleted", i18n.Data{"Name": tp.Name}))
	return showTemplates(ctx, t, "0")
}

// showAudit lists the latest audit entries (owners).
func showAudit(ctx context.Context, t *Turn, _ string) error {
	entries, err := auditLog(t).AuditLatest(ctx, 20)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		t.Say("audit.empty")
		return nil
	}
	tz, err := campaigns(t).AdminTimeZone(ctx, t.Actor.UserID)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString(t.L.T("audit.title"))
	for _, e := range entries {
		details := ""
		if len(e.Details) > 0 {
			raw, _ := json.Marshal(e.Details)
			details = " " + esc(clipRunes(string(raw), 120))
		}
		line := fmt.Sprintf("\n%s · <code>%d</code> · <b>%s</b> %s%s",
			t.L.DateTime(e.At, loadZone(tz)), e.ActorID, esc(e.Action), esc(e.Target), details)
		if render.UTF16Len(b.String()+line) > MaxTextLength-96 { // room for the markup
			break
		}
		b.WriteString(line)
	}
	t.Reply(Reply{Text: b.String(), HTML: true})
	return nil
}

// clipRunes shortens s to at most n characters, marking the cut.
func clipRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

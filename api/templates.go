package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/mymmrac/telego"

	"herald/flows"
	"herald/store"
)

// Entity is a Telegram MessageEntity (offsets and lengths in UTF-16 code units).
type Entity struct {
	Type     string `json:"type" doc:"bold, italic, underline, strikethrough, spoiler, code, pre, text_link, blockquote, …"`
	Offset   int    `json:"offset" minimum:"0"`
	Length   int    `json:"length" minimum:"1"`
	URL      string `json:"url,omitempty"`
	Language string `json:"language,omitempty"`
}

// Button is a URL button under the message.
type Button struct {
	Text string `json:"text"`
	URL  string `json:"url"`
}

// Template as the API shows it.
type Template struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Text      string     `json:"text"`
	Entities  []Entity   `json:"entities"`
	MediaKind string     `json:"media_kind,omitempty"`
	Buttons   [][]Button `json:"buttons"`
	CreatedAt time.Time  `json:"created_at"`
}

func templateOut(t store.Template) Template {
	out := Template{ID: t.ID, Name: t.Name, Text: t.Body, MediaKind: t.MediaKind, CreatedAt: t.CreatedAt,
		Entities: []Entity{}, Buttons: [][]Button{}}
	_ = json.Unmarshal(t.Entities, &out.Entities) // written by us, from telego's types
	_ = json.Unmarshal(t.Buttons, &out.Buttons)
	return out
}

// NewTemplate is a template to create: text with entities, as Telegram sends a
// formatted message, and buttons in the bot's syntax.
type NewTemplate struct {
	Name     string   `json:"name" minLength:"1" maxLength:"256"`
	Text     string   `json:"text,omitempty" maxLength:"65536" doc:"The message text with {{variables}}; or give html"`
	HTML     string   `json:"html,omitempty" maxLength:"131072" doc:"The message as Telegram-HTML (parse_mode HTML: b, i, u, s, code, pre, a, tg-spoiler, blockquote), instead of text and entities"`
	Entities []Entity `json:"entities,omitempty" maxItems:"1000" doc:"Formatting, as Telegram's MessageEntity"`
	Buttons  string   `json:"buttons,omitempty" maxLength:"16384" doc:"URL buttons as in the bot: one row a line, 'Text - https://…', buttons of a row separated by ' | '"`
}

type templateCreateIn struct {
	IdempotencyHeader
	Body NewTemplate
}

type templateOut1 struct {
	Body Template
}

type idIn struct {
	ID int64 `path:"id" minimum:"1"`
}

type templateListOut struct {
	Body struct {
		Items      []Template `json:"items"`
		NextCursor string     `json:"next_cursor,omitempty"`
		Total      int        `json:"total"`
	}
}

// Preview is a template rendered for a recipient.
type Preview struct {
	Text     string            `json:"text"`
	Entities []Entity          `json:"entities"`
	Values   map[string]string `json:"values" doc:"The value each variable took"`
}

type previewIn struct {
	ID   int64 `path:"id" minimum:"1"`
	Body struct {
		Values map[string]string `json:"values,omitempty" doc:"Values for variables; the others take the bot's samples"`
	}
}

func (s *Server) registerTemplates() {
	o := op("createTemplate", http.MethodPost, "/templates", "Create a template", roleAdmin)
	o.DefaultStatus = http.StatusCreated
	o.MaxBodyBytes = 256 << 10
	huma.Register(s.api, o, s.createTemplate)
	huma.Register(s.api, op("listTemplates", http.MethodGet, "/templates", "List templates, newest first", roleViewer), s.listTemplates)
	huma.Register(s.api, op("getTemplate", http.MethodGet, "/templates/{id}", "Get a template", roleViewer), s.getTemplate)
	o = op("deleteTemplate", http.MethodDelete, "/templates/{id}", "Delete a template no unfinished campaign uses", roleAdmin)
	o.DefaultStatus = http.StatusNoContent
	huma.Register(s.api, o, s.deleteTemplate)
	o = op("previewTemplate", http.MethodPost, "/templates/{id}/preview", "Render a template with sample values", roleViewer)
	o.MaxBodyBytes = 64 << 10
	huma.Register(s.api, o, s.previewTemplate)
}

func toTelego(es []Entity) []telego.MessageEntity {
	out := make([]telego.MessageEntity, 0, len(es))
	for _, e := range es {
		out = append(out, telego.MessageEntity{Type: e.Type, Offset: e.Offset, Length: e.Length, URL: e.URL, Language: e.Language})
	}
	return out
}

func fromTelego(es []telego.MessageEntity) []Entity {
	out := make([]Entity, 0, len(es))
	for _, e := range es {
		out = append(out, Entity{Type: e.Type, Offset: e.Offset, Length: e.Length, URL: e.URL, Language: e.Language})
	}
	return out
}

func (s *Server) createTemplate(ctx context.Context, in *templateCreateIn) (*templateOut1, error) {
	hash := requestHash("createTemplate", in.Body)
	out, err := idempotent(ctx, s, in.IdempotencyKey, "createTemplate", hash, func(tx *store.Store) (Template, error) {
		name, err := flows.CheckName(in.Body.Name)
		if err != nil {
			return Template{}, err
		}
		text, entities := in.Body.Text, toTelego(in.Body.Entities)
		if in.Body.HTML != "" {
			if text != "" || len(entities) > 0 {
				return Template{}, invalid("api.html_and_text", "give either html or text with entities, not both")
			}
			if text, entities, err = fromHTML(in.Body.HTML); err != nil {
				return Template{}, invalid("api.bad_html", "html: "+err.Error())
			}
		}
		if err := flows.CheckTemplateContent(text, entities, nil); err != nil {
			return Template{}, err
		}
		var buttons [][]telego.InlineKeyboardButton
		if in.Body.Buttons != "" {
			if buttons, err = flows.ParseButtons(in.Body.Buttons); err != nil {
				return Template{}, err
			}
		}
		id, err := flows.SaveTemplate(ctx, tx, s.audit(ctx, tx), flows.TemplateContent{Name: name, Body: text,
			Entities: entities, Buttons: buttons}, keyOf(ctx).CreatedBy)
		if err != nil {
			return Template{}, err
		}
		t, err := tx.TemplateGet(ctx, id)
		return templateOut(t), err
	})
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &templateOut1{Body: out}, nil
}

func (s *Server) listTemplates(ctx context.Context, in *Page) (*templateListOut, error) {
	offset, err := in.offset()
	if err != nil {
		return nil, err
	}
	list, total, err := s.cfg.Store.TemplateList(ctx, limitOf(*in), offset)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	out := &templateListOut{}
	out.Body.Items = make([]Template, 0, len(list))
	for _, t := range list {
		out.Body.Items = append(out.Body.Items, templateOut(t))
	}
	out.Body.Total, out.Body.NextCursor = total, next(offset, len(list), total)
	return out, nil
}

func (s *Server) getTemplate(ctx context.Context, in *idIn) (*templateOut1, error) {
	t, err := s.cfg.Store.TemplateGet(ctx, in.ID)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &templateOut1{Body: templateOut(t)}, nil
}

func (s *Server) deleteTemplate(ctx context.Context, in *idIn) (*struct{}, error) {
	err := s.cfg.Store.InTx(ctx, func(tx *store.Store) error {
		t, err := tx.TemplateGet(ctx, in.ID)
		if err != nil {
			return err
		}
		switch err := tx.TemplateDelete(ctx, in.ID); {
		case errors.Is(err, store.ErrTemplateInUse):
			return flows.Conflict("tpl.in_use", map[string]any{"Name": t.Name})
		case err != nil:
			return err
		}
		return s.audit(ctx, tx)(ctx, "template.deleted", "template:"+itoa(in.ID), map[string]any{"name": t.Name})
	})
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return nil, nil
}

func (s *Server) previewTemplate(ctx context.Context, in *previewIn) (*struct{ Body Preview }, error) {
	t, err := s.cfg.Store.TemplateGet(ctx, in.ID)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	r, values, err := flows.PreviewTemplate(s.en, t, in.Body.Values)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &struct{ Body Preview }{Body: Preview{Text: r.Text, Entities: fromTelego(r.Entities), Values: values}}, nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

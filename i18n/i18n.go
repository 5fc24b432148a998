// Package i18n holds the management bot's texts in English and Russian (go-i18n
// catalogs embedded from locales/*.json) and picks the language from the admin's
// Telegram language, falling back to HERALD_DEFAULT_LANG. Plural forms follow CLDR:
// 1 шаблон, 2 шаблона, 5 шаблонов.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"strings"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

//go:embed locales/*.json
var locales embed.FS

// Languages are the supported language codes.
var Languages = []string{"en", "ru"}

// Catalog is the loaded set of texts. It is safe for concurrent use.
type Catalog struct {
	bundle      *goi18n.Bundle
	defaultLang string
}

// New loads the embedded catalogs; defaultLang is used for users whose Telegram
// language is neither English nor Russian.
func New(defaultLang string) (*Catalog, error) {
	bundle := goi18n.NewBundle(language.English)
	bundle.RegisterUnmarshalFunc("json", json.Unmarshal)
	for _, lang := range Languages {
		if _, err := bundle.LoadMessageFileFS(locales, "locales/"+lang+".json"); err != nil {
			return nil, fmt.Errorf("load %s catalog: %w", lang, err)
		}
	}
	if defaultLang != "ru" {
		defaultLang = "en"
	}
	return &Catalog{bundle: bundle, defaultLang: defaultLang}, nil
}

// Lang maps a Telegram language_code ("ru", "en-US", "") to a supported language.
func (c *Catalog) Lang(telegramCode string) string {
	base, _, _ := strings.Cut(strings.ToLower(telegramCode), "-")
	for _, l := range Languages {
		if base == l {
			return l
		}
	}
	return c.defaultLang
}

// For returns the texts in lang (a supported code; anything else means the default).
func (c *Catalog) For(lang string) *Localizer {
	lang = c.Lang(lang)
	return &Localizer{Lang: lang, l: goi18n.NewLocalizer(c.bundle, lang), catalog: c}
}

// Localizer renders texts in one language.
type Localizer struct {
	Lang    string
	l       *goi18n.Localizer
	catalog *Catalog
}

// In returns the texts of the same catalog in lang: the settings screen answers in
// the language just chosen.
func (l *Localizer) In(lang string) *Localizer { return l.catalog.For(lang) }

// Data is the template data of a text: {{.Name}} in the catalog.
type Data = map[string]any

// T renders the text id with data. A missing id renders as the id itself, so a
// forgotten translation shows up in tests instead of as an empty message.
func (l *Localizer) T(id string, data ...Data) string {
	var d Data
	if len(data) > 0 {
		d = data[0]
	}
	s, err := l.l.Localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: d})
	if err != nil {
		return id
	}
	return s
}

// N renders the plural text id for count; {{.Count}} is available in the text.
func (l *Localizer) N(id string, count int, data ...Data) string {
	d := Data{}
	if len(data) > 0 {
		for k, v := range data[0] {
			d[k] = v
		}
	}
	d["Count"] = count
	s, err := l.l.Localize(&goi18n.LocalizeConfig{MessageID: id, PluralCount: count, TemplateData: d})
	if err != nil {
		return id
	}
	return s
}

// Has reports whether id exists in this language (for catalog tests).
func (l *Localizer) Has(id string) bool {
	_, tag, err := l.l.LocalizeWithTag(&goi18n.LocalizeConfig{MessageID: id})
	return err == nil && tag.String() == l.Lang
}

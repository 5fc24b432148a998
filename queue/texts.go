package queue

import (
	"embed"
	"encoding/json"
	"fmt"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// The engine's own texts (progress, report, alerts) in en and ru. Their ids start
// with "delivery." so they can join the bot's catalog unchanged.
//
//go:embed locales/*.json
var locales embed.FS

type texts struct {
	bundle      *goi18n.Bundle
	defaultLang string
}

func newTexts(defaultLang string) (*texts, error) {
	bundle := goi18n.NewBundle(language.English)
	bundle.RegisterUnmarshalFunc("json", json.Unmarshal)
	for _, lang := range []string{"en", "ru"} {
		if _, err := bundle.LoadMessageFileFS(locales, "locales/"+lang+".json"); err != nil {
			return nil, fmt.Errorf("load %s delivery texts: %w", lang, err)
		}
	}
	if defaultLang != "ru" {
		defaultLang = "en"
	}
	return &texts{bundle: bundle, defaultLang: defaultLang}, nil
}

// t renders text id in lang ("" or unsupported: the default language); count, when
// not nil, selects the plural form and is available as {{.Count}}.
func (t *texts) t(lang, id string, data map[string]any, count ...int) string {
	if lang != "en" && lang != "ru" {
		lang = t.defaultLang
	}
	cfg := &goi18n.LocalizeConfig{MessageID: id, TemplateData: data}
	if len(count) > 0 {
		if data == nil {
			data = map[string]any{}
		}
		data["Count"] = count[0]
		cfg.TemplateData, cfg.PluralCount = data, count[0]
	}
	s, err := goi18n.NewLocalizer(t.bundle, lang).Localize(cfg)
	if err != nil {
		return id
	}
	return s
}

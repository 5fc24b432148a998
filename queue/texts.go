package queue

import (
	"fmt"

	"herald/i18n"
)

// texts renders the engine's own texts (progress, report, alerts, ids "delivery.…")
// from the catalog the bot uses.
type texts struct {
	catalog *i18n.Catalog
}

func newTexts(defaultLang string) (*texts, error) {
	catalog, err := i18n.New(defaultLang)
	if err != nil {
		return nil, fmt.Errorf("delivery texts: %w", err)
	}
	return &texts{catalog: catalog}, nil
}

// t renders text id in lang ("" or unsupported: the default language); count, when
// given, selects the plural form and is available as {{.Count}}.
func (t *texts) t(lang, id string, data map[string]any, count ...int) string {
	l := t.catalog.For(lang)
	if len(count) > 0 {
		return l.N(id, count[0], data)
	}
	return l.T(id, data)
}

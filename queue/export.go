package queue

import (
	"context"
	"io"

	"herald/store"
)

// Exports writes a campaign's per-recipient outcomes as a CSV at any time, running
// or finished (issue 17.5), in the report CSV's format: chat_id, the batch's
// columns, status and reason in the admin's language, ';' and a BOM for ru. The
// dialogs' "⬇️ Outcomes CSV" button uses it (flows.CampaignExporter).
type Exports struct {
	store *store.Store
	texts *texts
}

// NewExports builds the exporter; defaultLang is the language for an admin without one.
func NewExports(st *store.Store, defaultLang string) (*Exports, error) {
	tx, err := newTexts(defaultLang)
	if err != nil {
		return nil, err
	}
	return &Exports{store: st, texts: tx}, nil
}

// CampaignCSV writes every delivery of campaign id to w as the rows come from the
// database (store.ErrNotFound when there is no such campaign). Nothing is held in
// memory beyond a row; w should not be the network (the query stays open while w
// is written): the caller spools to a file and uploads that afterwards.
func (x *Exports) CampaignCSV(ctx context.Context, id int64, lang string, w io.Writer) error {
	return writeOutcomesCSV(ctx, x.store, x.texts, w, id, lang, false)
}

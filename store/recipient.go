package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// RecipientSource streams the recipients of an import, already checked and
// de-duplicated: *importer.Reader implements it. Next advances; ChatID and Vars (a JSON
// object, valid until the next Next) describe the current recipient; Rows, Duplicates
// and Invalid are running counts of the rows read; Err is why Next stopped, if it was
// not the end of the file.
type RecipientSource interface {
	Columns() []string
	Next() bool
	ChatID() int64
	Vars() []byte
	Rows() int
	Duplicates() int
	Invalid() int
	Err() error
}

// Recipient is one chat of a batch and its template variables.
type Recipient struct {
	ChatID int64
	Vars   map[string]string
}

// RecipientSample returns up to limit recipients of a batch in chat id order, for a
// preview.
func (s *Store) RecipientSample(ctx context.Context, batchID int64, limit int) ([]Recipient, error) {
	return recipientSample(ctx, s.db, batchID, limit)
}

func recipientSample(ctx context.Context, db DBTX, batchID int64, limit int) ([]Recipient, error) {
	rows, err := db.Query(ctx, `
		SELECT chat_id, vars FROM recipients
		WHERE batch_id = $1
		ORDER BY chat_id
		LIMIT $2`, batchID, limit)
	if err != nil {
		return nil, fmt.Errorf("sample recipients of batch %d: %w", batchID, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Recipient, error) {
		var r Recipient
		var vars []byte
		if err := row.Scan(&r.ChatID, &vars); err != nil {
			return r, err
		}
		return r, json.Unmarshal(vars, &r.Vars)
	})
	if err != nil {
		return nil, fmt.Errorf("sample recipients of batch %d: %w", batchID, err)
	}
	return out, nil
}

// recipientRows adapts a RecipientSource to pgx.CopyFromSource and reports progress.
type recipientRows struct {
	batchID  int64
	src      RecipientSource
	values   [3]any
	copied   int
	progress func(BatchImportProgress)
	every    func() bool // true when a progress report is due
}

// progressCheckRows is how often (in rows) the clock is looked at for a progress report.
const progressCheckRows = 1024

func (r *recipientRows) Next() bool {
	if !r.src.Next() {
		return false
	}
	r.copied++
	if r.progress != nil && r.copied%progressCheckRows == 0 && r.every() {
		r.progress(BatchImportProgress{Rows: r.src.Rows(), Imported: r.copied})
	}
	return true
}

func (r *recipientRows) Values() ([]any, error) {
	r.values[0], r.values[1], r.values[2] = r.batchID, r.src.ChatID(), r.src.Vars()
	return r.values[:], nil
}

func (r *recipientRows) Err() error { return r.src.Err() }

// copyRecipients COPYs every recipient of src into batchID and returns how many.
// Source errors come back unwrapped-by-pgx: the source's own error wins over the
// "copy aborted" pgx reports for it.
func copyRecipients(ctx context.Context, tx pgx.Tx, rows *recipientRows) (int, error) {
	n, err := tx.CopyFrom(ctx, pgx.Identifier{"recipients"}, []string{"batch_id", "chat_id", "vars"}, rows)
	if srcErr := rows.src.Err(); srcErr != nil {
		return 0, srcErr
	}
	if err != nil {
		return 0, fmt.Errorf("copy recipients: %w", err)
	}
	if int(n) != rows.copied {
		return 0, errors.New("copy recipients: row count mismatch")
	}
	return int(n), nil
}

package flows

import (
	"context"
	"errors"
	"strings"

	"herald/store"
)

// Variable chips (issue 18.6): the builder's content step shows the list's columns
// as buttons. A chip is a copy_text button: a tap copies «{{column}}» to the
// clipboard, ready to paste where the admin's cursor is, which is as close to
// "insert" as a bot can get (a bot cannot write into the admin's input field; a
// switch-inline button would prefix the bot's @name and need inline mode).
//
// Whose columns: the list a campaign being built has chosen (templateDraft.BatchID,
// set by the dialog that opens the builder from a campaign), else the columns of the
// newest lists; none when no list exists.

// maxChips bounds the chips on one prompt: a keyboard of more is a wall.
const (
	maxChips     = 12
	chipsPerRow  = 3
	chipBatchCap = 20 // newest lists whose columns are offered without a chosen one
)

// chipColumns are the variable names to offer, in order.
func chipColumns(ctx context.Context, t *Turn, batchID int64) ([]string, error) {
	var lists []store.Batch
	if batchID != 0 {
		b, _, err := batches(t).BatchGet(ctx, batchID)
		switch {
		case errors.Is(err, store.ErrNotFound): // deleted meanwhile: fall back to all lists
		case err != nil:
			return nil, err
		default:
			lists = []store.Batch{b}
		}
	}
	if lists == nil {
		var err error
		if lists, _, err = batches(t).BatchList(ctx, 0, chipBatchCap); err != nil {
			return nil, err
		}
	}
	seen := map[string]bool{}
	var out []string
	for _, b := range lists {
		for _, c := range b.Columns {
			c = strings.ToLower(strings.TrimSpace(c))
			if c == "" || seen[c] || len(out) == maxChips {
				continue
			}
			seen[c] = true
			out = append(out, c)
		}
	}
	return out, nil
}

// variableChips are the chip rows for the content step, and whether there are any.
func variableChips(ctx context.Context, t *Turn, batchID int64) ([][]Button, error) {
	cols, err := chipColumns(ctx, t, batchID)
	if err != nil || len(cols) == 0 {
		return nil, err
	}
	var rows [][]Button
	for i, c := range cols {
		placeholder := "{{" + c + "}}"
		if i%chipsPerRow == 0 {
			rows = append(rows, nil)
		}
		rows[len(rows)-1] = append(rows[len(rows)-1], Button{Text: placeholder, CopyText: placeholder})
	}
	return rows, nil
}

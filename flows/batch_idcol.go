package flows

import (
	"cmp"
	"context"
	"errors"
	"strconv"
	"strings"

	"herald/i18n"
	"herald/importer"
)

// A file whose header names no recipient column we know, but has columns that hold
// only ids (importer.Error.Candidates): instead of listing the two dozen names we
// accept, the idcol step offers those columns as buttons and imports the file again
// with the one pressed. The file stays in the draft meanwhile.

// idColumnAction is an idcol button; arg: the index among batchDraft.IDChoices.
const idColumnAction = "id:"

// offerIDColumns turns a failed open of the upload into the idcol step when the file
// has columns of ids; any other error is answered in words.
func offerIDColumns(s *Session, d batchDraft, in Input, err error) (string, error) {
	var ie *importer.Error
	if !errors.As(err, &ie) || ie.Code != importer.CodeNoIDColumn || len(ie.Candidates) == 0 ||
		in.Media == nil || d.IDColumn != "" {
		return "", ImportError(err)
	}
	d.File, d.IDChoices = pendingFrom(in.Media), ie.Candidates
	return "need_id", s.Save(d)
}

func promptBatchIDColumn(_ context.Context, t *Turn, s *Session) error {
	var d batchDraft
	if err := s.Load(&d); err != nil {
		return err
	}
	var rows [][]Button
	for i, c := range d.IDChoices {
		rows = append(rows, []Button{s.Button(t.L.T("button.id_column", i18n.Data{"Column": c}), idColumnAction+strconv.Itoa(i))})
	}
	t.Reply(Reply{Text: t.L.T("batch.ask_id_column"), HTML: true, Keyboard: rows})
	return nil
}

// chosenIDColumn is the column an idcol button names.
func chosenIDColumn(d batchDraft, action string) (string, bool) {
	arg, ok := strings.CutPrefix(action, idColumnAction)
	i, err := strconv.Atoi(arg)
	if !ok || err != nil || i < 0 || i >= len(d.IDChoices) || d.File == nil {
		return "", false
	}
	return d.IDChoices[i], true
}

// prepareBatchIDColumn downloads the file again for the column pressed; another file
// sent instead is prepared as at the source step.
func prepareBatchIDColumn(ctx context.Context, t *Turn, s *Session, in Input) (Input, error) {
	if in.Action == "" {
		return prepareBatchSource(ctx, t, s, in)
	}
	var d batchDraft
	if err := s.Load(&d); err != nil {
		return in, err
	}
	if _, ok := chosenIDColumn(d, in.Action); !ok {
		return in, nil
	}
	up, err := download(ctx, t, d.File.FileID, cmp.Or(d.Name, nameFromFile(d.File.FileName)))
	if err != nil {
		return in, err
	}
	in.prepared = up
	return in, nil
}

func handleBatchIDColumn(ctx context.Context, t *Turn, s *Session, in Input) (string, error) {
	var d batchDraft
	if err := s.Load(&d); err != nil {
		return "", err
	}
	if in.Action == "" {
		if in.Media == nil {
			return "", Invalid("batch.id_column_press", nil)
		}
		d.IDColumn, d.IDChoices = "", nil // another file: read afresh
		if err := s.Save(d); err != nil {
			return "", err
		}
		return handleBatchSource(ctx, t, s, in)
	}
	column, ok := chosenIDColumn(d, in.Action)
	if !ok || in.prepared == nil {
		return "", Outdated()
	}
	d.IDColumn = column
	if err := s.Save(d); err != nil {
		return "", err
	}
	return handleBatchSource(ctx, t, s, Input{Media: d.File.media(), prepared: in.prepared})
}

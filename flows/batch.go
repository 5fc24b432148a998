package flows

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/looplab/fsm"

	"herald/i18n"
	"herald/importer"
	"herald/store"
)

// Flow names of the batch dialogs.
const (
	FlowBatchNew    = "batch_new"
	FlowBatchRename = "batch_rename"
)

// Batch screens (callback prefixes).
const (
	ActBatches            = "bl" // arg: page
	ActBatchView          = "bv" // arg: batch id
	ActBatchNew           = "bn"
	ActBatchRename        = "br"
	ActBatchDelete        = "bx" // asks
	ActBatchDeleteConfirm = "by"
)

type batchStore interface {
	BatchImport(ctx context.Context, p store.BatchImportParams) (store.Batch, error)
	BatchList(ctx context.Context, offset, limit int) ([]store.Batch, int, error)
	BatchGet(ctx context.Context, id int64) (store.Batch, *store.Recipient, error)
	BatchRename(ctx context.Context, id int64, name string) error
	BatchDelete(ctx context.Context, id int64) error
	BatchNameTaken(ctx context.Context, name string) (bool, error)
}

func batches(t *Turn) batchStore { return t.st }

// batchDraft is what the upload dialog has collected.
type batchDraft struct {
	ID   int64        `json:"id,omitempty"` // rename: the batch
	Name string       `json:"name,omitempty"`
	File *pendingFile `json:"file,omitempty"` // a file sent before the name (batch_document.go)
}

// importProgressEvery is how often the progress message of a long import is edited,
// unless Services.ImportProgressEvery says otherwise.
const importProgressEvery = 2 * time.Second

// dialogBatchNew is the upload dialog: name → a CSV/XLSX file or pasted ids → summary.
func dialogBatchNew() *Definition {
	return &Definition{
		Name: FlowBatchNew, Role: store.RoleAdmin, Initial: "name",
		Events: []fsm.EventDesc{{Name: "named", Src: []string{"name"}, Dst: "source"}},
		Steps: map[string]*Step{
			"name":   {Prompt: promptBatchName, Prepare: prepareBatchName, Handle: handleBatchName},
			"source": {Prompt: promptBatchSource, Prepare: prepareBatchSource, Handle: handleBatchSource, Back: "name"},
		},
	}
}

// dialogBatchRename asks for a new name of the batch in the draft's ID.
func dialogBatchRename() *Definition {
	return &Definition{
		Name: FlowBatchRename, Role: store.RoleAdmin, Initial: "name",
		Steps: map[string]*Step{"name": {Prompt: promptBatchName, Handle: handleBatchName}},
	}
}

func promptBatchName(_ context.Context, t *Turn, s *Session) error {
	var d batchDraft
	if err := s.Load(&d); err != nil {
		return err
	}
	if s.Flow == FlowBatchRename {
		t.Say("batch.ask_new_name", i18n.Data{"Name": esc(d.Name)})
		return nil
	}
	r := Reply{Text: t.L.T("batch.ask_name"), HTML: true}
	if d.File != nil {
		r.Text = t.L.T("batch.ask_name_file", i18n.Data{"File": esc(d.File.FileName)})
	}
	if d.File != nil && d.Name != "" {
		r.Keyboard = [][]Button{{s.Button(t.L.T("button.use_name", i18n.Data{"Name": d.Name}), keepAction)}}
	} else if d.Name != "" {
		r.Text += "\n\n" + t.L.T("tpl.current_value", i18n.Data{"Value": esc(d.Name)})
		r.Keyboard = [][]Button{{s.Button(t.L.T("button.keep_value"), keepAction)}}
	}
	t.Reply(r)
	return nil
}

func handleBatchName(ctx context.Context, t *Turn, s *Session, in Input) (string, error) {
	var d batchDraft
	if err := s.Load(&d); err != nil {
		return "", err
	}
	if s.Flow == FlowBatchNew && isListDocument(in.Media) { // the file first: kept, the name asked
		d.File = pendingFrom(in.Media)
		if d.Name == "" {
			d.Name = nameFromFile(in.Media.FileName)
		}
		return Stay, s.Save(d)
	}
	if in.Action == keepAction && d.Name != "" && s.Flow == FlowBatchNew {
		if d.File != nil {
			return importPending(ctx, t, s, d, in)
		}
		return "named", nil
	}
	if in.Action != "" {
		return "", Outdated()
	}
	name, err := checkName(in)
	if err != nil {
		return "", err
	}
	if s.Flow == FlowBatchRename {
		switch err := batches(t).BatchRename(ctx, d.ID, name); {
		case errors.Is(err, store.ErrNameTaken):
			return "", Invalid("batch.name_taken", i18n.Data{"Name": esc(name)})
		case errors.Is(err, store.ErrNotFound):
			t.Say("batch.gone")
			return Done, nil
		case err != nil:
			return "", err
		}
		if err := t.Audit(ctx, "batch.renamed", batchTarget(d.ID), map[string]any{"from": d.Name, "to": name}); err != nil {
			return "", err
		}
		t.Reply(Reply{Text: t.L.T("batch.renamed", i18n.Data{"Name": esc(name)}), HTML: true,
			Keyboard: [][]Button{{{Text: t.L.T("button.open"), Data: ScreenCallback(ActBatchView, itoa(d.ID))}}}})
		return Done, nil
	}
	taken, err := batches(t).BatchNameTaken(ctx, name)
	if err != nil {
		return "", err
	}
	if taken {
		return "", Invalid("batch.name_taken", i18n.Data{"Name": esc(name)})
	}
	d.Name = name
	if d.File != nil {
		return importPending(ctx, t, s, d, in)
	}
	return "named", s.Save(d)
}

func promptBatchSource(_ context.Context, t *Turn, s *Session) error {
	var d batchDraft
	if err := s.Load(&d); err != nil {
		return err
	}
	t.Say("batch.ask_source", i18n.Data{"Name": esc(d.Name), "MaxMB": importer.MaxFileSize >> 20})
	return nil
}

// upload is a document downloaded before the transaction into a temporary file,
// with the progress message of its import. The engine closes it after the
// transaction: the last progress edit goes out then, and the file is removed.
type upload struct {
	file     *os.File
	progress func(store.BatchImportProgress)
	stop     func()
}

func (u *upload) Close() error {
	u.stop()
	_ = u.file.Close()
	return os.Remove(u.file.Name())
}

// prepareBatchSource downloads an uploaded file before the transaction, so that the
// transaction only copies rows (importer.MaxFileSize bounds the download).
func prepareBatchSource(ctx context.Context, t *Turn, s *Session, in Input) (Input, error) {
	if in.Action != "" || in.Media == nil || in.Media.Kind != "document" {
		return in, nil
	}
	// Check the announced size first: getFile refuses files over 20 MB anyway, and
	// the admin deserves to know why.
	if err := importer.CheckSize(in.Media.FileSize); err != nil {
		return in, importError(t, err)
	}
	var d batchDraft
	if err := s.Load(&d); err != nil {
		return in, err
	}
	up, err := download(ctx, t, in.Media.FileID, d.Name)
	if err != nil {
		return in, err
	}
	in.prepared = up
	return in, nil
}

// download fetches a document into a temporary file and readies the progress
// message of its import as list name.
func download(ctx context.Context, t *Turn, fileID, name string) (*upload, error) {
	files := t.Services().Files
	if files == nil {
		return nil, errors.New("batch upload: no file fetcher configured")
	}
	body, err := files.Fetch(ctx, fileID, importer.MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", fileID, err)
	}
	defer body.Close()
	f, err := os.CreateTemp("", "herald-upload-*")
	if err != nil {
		return nil, fmt.Errorf("batch upload: %w", err)
	}
	if _, err := io.Copy(f, body); err != nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return nil, fmt.Errorf("download %s: %w", fileID, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return nil, fmt.Errorf("batch upload: %w", err)
	}
	up := &upload{file: f}
	up.progress, up.stop = startImportProgress(ctx, t, name)
	return up, nil
}

func handleBatchSource(ctx context.Context, t *Turn, s *Session, in Input) (string, error) {
	var d batchDraft
	if err := s.Load(&d); err != nil {
		return "", err
	}
	if in.Action != "" {
		return "", Outdated()
	}
	rd, sourceName, progress, err := openBatchSource(t, in)
	if err != nil {
		return "", err
	}
	defer rd.Close()
	every := t.Services().ImportProgressEvery
	if every <= 0 {
		every = importProgressEvery
	}
	b, err := batches(t).BatchImport(ctx, store.BatchImportParams{
		Name: d.Name, SourceName: sourceName, CreatedBy: t.Actor.UserID, Source: rd,
		Progress: progress, ProgressInterval: every,
	})
	switch {
	case errors.Is(err, store.ErrNameTaken):
		return "", Invalid("batch.name_taken_back", i18n.Data{"Name": esc(d.Name)})
	case err != nil:
		return "", importError(t, err)
	}
	sum := rd.Summary()
	if err := t.Audit(ctx, "batch.imported", batchTarget(b.ID), map[string]any{
		"name": b.Name, "source": sourceName, "recipients": b.RecipientCount,
		"duplicates": b.DuplicateCount, "invalid": b.InvalidCount, "columns": b.Columns,
	}); err != nil {
		return "", err
	}
	text := t.L.T("batch.imported", i18n.Data{"Name": esc(b.Name),
		"Recipients": t.L.N("batch.n_recipients", b.RecipientCount),
		"Duplicates": b.DuplicateCount, "Invalid": b.InvalidCount, "Columns": columnList(t, b.Columns)})
	if len(sum.InvalidSample) > 0 {
		text += "\n\n" + t.L.T("batch.invalid_sample") + "\n" + invalidLines(t, sum.InvalidSample)
	}
	t.Reply(Reply{Text: text, HTML: true, Keyboard: [][]Button{
		{{Text: t.L.T("button.open"), Data: ScreenCallback(ActBatchView, itoa(b.ID))}},
		{{Text: t.L.T("button.new_campaign"), Data: ScreenCallback(ActCampaignNew, "")}},
		{{Text: t.L.T("button.menu"), Data: ScreenCallback(ActMenu, "")}},
	}})
	return Done, nil
}

// openBatchSource opens the file prepareBatchSource downloaded, or the pasted ids.
func openBatchSource(t *Turn, in Input) (*importer.Reader, string, func(store.BatchImportProgress), error) {
	switch {
	case in.Media != nil && in.Media.Kind == "document":
		up, ok := in.prepared.(*upload)
		if !ok {
			return nil, "", nil, errors.New("batch upload: the file was not downloaded")
		}
		format := importer.FormatAuto
		if strings.HasSuffix(strings.ToLower(in.Media.FileName), ".xlsx") {
			format = importer.FormatXLSX
		}
		rd, err := importer.Open(up.file, importer.Options{Format: format, MaxBytes: importer.MaxFileSize})
		if err != nil {
			return nil, "", nil, importError(t, err)
		}
		return rd, in.Media.FileName, up.progress, nil
	case in.Media != nil, strings.TrimSpace(in.Text) == "":
		return nil, "", nil, Invalid("batch.not_a_file", nil)
	}
	rd, err := importer.OpenIDList(in.Text)
	if err != nil {
		return nil, "", nil, importError(t, err)
	}
	return rd, "", nil, nil
}

// startImportProgress returns a progress callback for store.BatchImport and a stop
// function to call once the import returned. The callback only hands the figures to
// a goroutine that sends, then edits, one progress message, so the copy never waits
// for Telegram.
func startImportProgress(ctx context.Context, t *Turn, name string) (func(store.BatchImportProgress), func()) {
	chat := t.Services().Chat
	if chat == nil {
		return nil, func() {}
	}
	figures := make(chan store.BatchImportProgress, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // owned by stop, which closes figures and waits
		defer wg.Done()
		messageID := 0
		for p := range figures {
			text := t.L.T("batch.importing", i18n.Data{"Name": esc(name), "Rows": p.Rows, "Imported": p.Imported})
			if messageID == 0 {
				id, err := chat.SendProgress(ctx, t.ChatID, text)
				if err == nil {
					messageID = id
				}
				continue
			}
			_ = chat.EditProgress(ctx, t.ChatID, messageID, text) // progress is best effort
		}
		if messageID != 0 {
			_ = chat.EditProgress(ctx, t.ChatID, messageID, t.L.T("batch.import_done", i18n.Data{"Name": esc(name)}))
		}
	}()
	report := func(p store.BatchImportProgress) {
		select { // keep only the latest figures
		case <-figures:
		default:
		}
		figures <- p
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			close(figures)
			wg.Wait()
		})
	}
	return report, stop
}

// importError turns an importer or store error into a message that says what is wrong
// with the file; other errors stay internal.
func importError(_ *Turn, err error) error { return ImportError(err) }

// ImportError turns an importer error into an Invalid naming the problem with the
// file (key "import.err.<code>"); other errors are returned as they are.
func ImportError(err error) error {
	var ie *importer.Error
	if !errors.As(err, &ie) {
		return err
	}
	data := i18n.Data{"Line": ie.Line, "Column": ie.Column, "Detail": esc(ie.Detail), "Name": esc(ie.Name),
		"Limit": ie.Limit, "LimitKB": sizeIn(ie.Limit, 1<<10), "LimitMB": sizeIn(ie.Limit, 1<<20),
		"MaxMB": importer.MaxFileSize >> 20, "MaxColumns": importer.MaxColumns}
	switch ie.Code {
	case importer.CodeTooBig:
		size, _ := strconv.ParseInt(ie.Detail, 10, 64)
		data["SizeMB"] = fmt.Sprintf("%.1f", float64(size)/(1<<20))
	case importer.CodeNoIDColumn:
		data["Found"] = codeList(ie.Found)
		data["Accepted"] = codeList(ie.Accepted)
	}
	return Invalid("import.err."+string(ie.Code), data)
}

// sizeIn writes n bytes in units of unit bytes: "1" for 1 KB, "1.5" for 1.5 KB.
func sizeIn(n, unit int64) string {
	if n%unit == 0 {
		return strconv.FormatInt(n/unit, 10)
	}
	return strconv.FormatFloat(float64(n)/float64(unit), 'f', 1, 64)
}

func codeList(items []string) string {
	out := make([]string, 0, len(items))
	for _, s := range items {
		out = append(out, "<code>"+esc(s)+"</code>")
	}
	return strings.Join(out, ", ")
}

func invalidLines(t *Turn, rows []importer.InvalidRow) string {
	lines := make([]string, 0, len(rows))
	for _, r := range rows {
		lines = append(lines, t.L.T("import.invalid_row", i18n.Data{"Line": r.Line, "Value": esc(r.Value),
			"Reason": t.L.T("import.reason." + string(r.Reason))}))
	}
	return strings.Join(lines, "\n")
}

func columnList(t *Turn, columns []string) string {
	if len(columns) == 0 {
		return t.L.T("batch.no_columns")
	}
	out := make([]string, 0, len(columns))
	for _, c := range columns {
		out = append(out, "<code>{{"+esc(c)+"}}</code>")
	}
	return strings.Join(out, ", ")
}

func batchTarget(id int64) string { return "batch:" + itoa(id) }

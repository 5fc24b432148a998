package flows

import (
	"context"
	"encoding/json"
	"path"
	"strings"
	"unicode/utf8"

	"herald/i18n"
	"herald/importer"
)

// A recipient list is taken where the admin drops it: a CSV or XLSX sent with no
// dialog open starts the upload dialog with that file, which then asks only for the
// name (defaulting from the file name); sent at the name step, it is kept for the
// import; sent where another dialog waits for text, the answer offers to import it.

// pendingFile is a document the upload dialog imports once it has a name. (Media
// keeps the file name and size out of JSON; here they are needed.)
type pendingFile struct {
	FileID   string `json:"file_id"`
	FileName string `json:"file_name"`
	FileSize int64  `json:"file_size"`
}

func (f *pendingFile) media() *Media {
	return &Media{Kind: "document", FileID: f.FileID, FileName: f.FileName, FileSize: f.FileSize}
}

// importFileAction is the engine's "Import this file" button under the answer to a
// list sent at another dialog's text step; stashedFileKey holds that file in the
// dialog's draft until the button is pressed (or the draft is next saved).
const (
	importFileAction = "import"
	stashedFileKey   = "_import_file"
)

// isListDocument reports whether m is a document that looks like a recipient list.
func isListDocument(m *Media) bool {
	if m == nil || m.Kind != "document" {
		return false
	}
	switch strings.ToLower(path.Ext(m.FileName)) {
	case ".csv", ".xlsx", ".txt", ".tsv":
		return true
	}
	return false
}

func pendingFrom(m *Media) *pendingFile {
	return &pendingFile{FileID: m.FileID, FileName: m.FileName, FileSize: m.FileSize}
}

// nameFromFile is the list name a file suggests: its name without the extension.
func nameFromFile(fileName string) string {
	name := strings.Join(strings.Fields(strings.TrimSuffix(fileName, path.Ext(fileName))), " ")
	for utf8.RuneCountInString(name) > maxNameLength {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	return name
}

// startImportWith opens the upload dialog for a file sent outside it.
func startImportWith(t *Turn, m *Media) {
	t.Start(FlowBatchNew, batchDraft{Name: nameFromFile(m.FileName), File: pendingFrom(m)})
}

// prepareBatchName downloads the pending file, when the upload dialog has one and the
// admin is naming the list (a typed name or the default's button): the import then
// runs in this update.
func prepareBatchName(ctx context.Context, t *Turn, s *Session, in Input) (Input, error) {
	if s.Flow != FlowBatchNew || in.Media != nil || (in.Action != "" && in.Action != keepAction) {
		return in, nil
	}
	var d batchDraft
	if err := s.Load(&d); err != nil {
		return in, err
	}
	if d.File == nil {
		return in, nil
	}
	if err := importer.CheckSize(d.File.FileSize); err != nil {
		return in, importError(t, err)
	}
	name := d.Name
	if in.Action == "" {
		name = strings.TrimSpace(in.Text)
	}
	up, err := download(ctx, t, d.File.FileID, name)
	if err != nil {
		return in, err
	}
	in.prepared = up
	return in, nil
}

// importPending imports the draft's pending file under d.Name, which handleBatchName
// has checked.
func importPending(ctx context.Context, t *Turn, s *Session, d batchDraft, in Input) (string, error) {
	taken, err := batches(t).BatchNameTaken(ctx, d.Name)
	if err != nil {
		return "", err
	}
	if taken {
		return "", Invalid("batch.name_taken", i18n.Data{"Name": esc(d.Name)})
	}
	if err := s.Save(d); err != nil {
		return "", err
	}
	return handleBatchSource(ctx, t, s, Input{Media: d.File.media(), prepared: in.prepared})
}

// stashFile keeps m in a draft (a JSON object) under stashedFileKey.
func stashFile(draft []byte, m *Media) ([]byte, error) {
	obj := map[string]json.RawMessage{}
	if len(draft) > 0 && string(draft) != "null" {
		if err := json.Unmarshal(draft, &obj); err != nil {
			return nil, err
		}
	}
	f, err := json.Marshal(pendingFrom(m))
	if err != nil {
		return nil, err
	}
	obj[stashedFileKey] = f
	return json.Marshal(obj)
}

// stashedFile is the file stashFile kept, or nil.
func stashedFile(draft []byte) *pendingFile {
	var obj map[string]json.RawMessage
	if json.Unmarshal(draft, &obj) != nil || obj[stashedFileKey] == nil {
		return nil
	}
	var f pendingFile
	if json.Unmarshal(obj[stashedFileKey], &f) != nil || f.FileID == "" {
		return nil
	}
	return &f
}

package api

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"herald/flows"
	"herald/importer"
	"herald/store"
)

// Batch as the API shows it: the import summary the bot shows.
type Batch struct {
	ID             int64     `json:"id"`
	Name           string    `json:"name"`
	Columns        []string  `json:"columns" doc:"Variable names"`
	RecipientCount int       `json:"recipient_count"`
	DuplicateCount int       `json:"duplicate_count"`
	InvalidCount   int       `json:"invalid_count"`
	SourceName     string    `json:"source_name,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	// InvalidSample is only in the answer to the upload.
	InvalidSample []InvalidRow `json:"invalid_sample,omitempty" doc:"The first invalid rows, with their line numbers"`
}

// InvalidRow is a row the importer skipped.
type InvalidRow struct {
	Line   int    `json:"line"`
	Value  string `json:"value"`
	Reason string `json:"reason"`
}

func batchOut(b store.Batch) Batch {
	return Batch{ID: b.ID, Name: b.Name, Columns: b.Columns, RecipientCount: b.RecipientCount, DuplicateCount: b.DuplicateCount,
		InvalidCount: b.InvalidCount, SourceName: b.SourceName, CreatedAt: b.CreatedAt}
}

type batchCreateIn struct {
	IdempotencyHeader
	Name        string `query:"name" required:"true" minLength:"1" maxLength:"256" doc:"The batch's name"`
	Filename    string `query:"filename" maxLength:"256" doc:"The file's name, kept with the batch"`
	ContentType string `header:"Content-Type" doc:"text/csv, application/vnd.openxmlformats-officedocument.spreadsheetml.sheet, multipart/form-data (a part named file) or application/json (an array of {chat_id, vars})"`
}

type batchListOut struct {
	Body struct {
		Items      []Batch `json:"items"`
		NextCursor string  `json:"next_cursor,omitempty"`
		Total      int     `json:"total"`
	}
}

// JSONRecipient is one element of a JSON batch.
type JSONRecipient struct {
	ChatID int64             `json:"chat_id"`
	Vars   map[string]string `json:"vars,omitempty"`
}

// maxUpload is the bot's limit (getFile's 20 MB) plus room for a multipart envelope.
const maxUpload = importer.MaxFileSize + 64<<10

// uploadTimeout bounds reading an upload and importing it.
const uploadTimeout = 5 * time.Minute

func (s *Server) registerBatches() {
	o := op("createBatch", http.MethodPost, "/batches", "Import a batch of recipients (streamed)", roleAdmin)
	o.DefaultStatus = http.StatusCreated
	o.MaxBodyBytes = maxUpload
	huma.Register(s.api, o, s.createBatch)
	// Documented after registration: declared before, huma would read the body itself
	// (whole, into memory) instead of leaving the stream to the importer.
	s.api.OpenAPI().Paths[o.Path].Post.RequestBody = &huma.RequestBody{Required: true, Description: "The recipient list, read as it arrives, with the bot's importer and limits",
		Content: map[string]*huma.MediaType{
			"text/csv": {Schema: &huma.Schema{Type: "string"}},
			"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {Schema: &huma.Schema{Type: "string", ContentEncoding: "binary"}},
			"multipart/form-data": {Schema: &huma.Schema{Type: "object", Properties: map[string]*huma.Schema{
				"file": {Type: "string", ContentEncoding: "binary"}}}},
			"application/json": {Schema: s.api.OpenAPI().Components.Schemas.Schema(typeOf[[]JSONRecipient](), true, "")},
		}}
	huma.Register(s.api, op("listBatches", http.MethodGet, "/batches", "List batches, newest first", roleViewer), s.listBatches)
	huma.Register(s.api, op("getBatch", http.MethodGet, "/batches/{id}", "Get a batch", roleViewer), s.getBatch)
	o = op("deleteBatch", http.MethodDelete, "/batches/{id}", "Delete a batch no unfinished campaign uses", roleAdmin)
	o.DefaultStatus = http.StatusNoContent
	huma.Register(s.api, o, s.deleteBatch)
}

// hashingReader hashes what is read through it, for the Idempotency-Key.
type hashingReader struct {
	r io.Reader
	h hash.Hash
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	return n, err
}

func (s *Server) createBatch(ctx context.Context, in *batchCreateIn) (*struct{ Body Batch }, error) {
	req := bodyOf(ctx)
	if req == nil {
		return nil, errors.New("createBatch: no request body")
	}
	extendDeadlines(ctx, uploadTimeout)
	body := &hashingReader{r: http.MaxBytesReader(nil, req.Body, maxUpload), h: sha256.New()}
	body.h.Write(requestHash("createBatch", in.Name, in.Filename, in.ContentType))
	if in.IdempotencyKey != "" {
		// A retry is recognised by its whole body, so read (and discard) it first.
		if _, err := s.cfg.Store.IdempotencyGet(ctx, keyOf(ctx).ID, in.IdempotencyKey); err == nil {
			if _, err := io.Copy(io.Discard, body); err != nil {
				return nil, s.bodyErr(ctx, err)
			}
			out, _, err := replayed[Batch](ctx, s, in.IdempotencyKey, "createBatch", body.h.Sum(nil))
			if err != nil {
				return nil, s.fail(ctx, err)
			}
			return &struct{ Body Batch }{Body: out}, nil
		}
	}
	name, err := flows.CheckName(in.Name)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	rd, source, closeSrc, err := openSource(body, in)
	if err != nil {
		return nil, s.bodyErr(ctx, flows.ImportError(err))
	}
	defer closeSrc()
	defer rd.Close()
	var b store.Batch
	var hashAfter []byte
	out, err := idempotentLate(ctx, s, in.IdempotencyKey, "createBatch", func() []byte {
		if hashAfter == nil {
			_, _ = io.Copy(io.Discard, body) // the importer may stop before the end
			hashAfter = body.h.Sum(nil)
		}
		return hashAfter
	}, func(tx *store.Store) (Batch, error) {
		var err error
		b, err = tx.BatchImport(ctx, store.BatchImportParams{Name: name, SourceName: source, CreatedBy: keyOf(ctx).CreatedBy, Source: rd})
		switch {
		case errors.Is(err, store.ErrNameTaken):
			return Batch{}, flows.Invalid("batch.name_taken", map[string]any{"Name": name})
		case err != nil:
			return Batch{}, flows.ImportError(err)
		}
		if err := s.audit(ctx, tx)(ctx, "batch.imported", "batch:"+itoa(b.ID), map[string]any{
			"name": b.Name, "source": source, "recipients": b.RecipientCount,
			"duplicates": b.DuplicateCount, "invalid": b.InvalidCount, "columns": b.Columns,
		}); err != nil {
			return Batch{}, err
		}
		out := batchOut(b)
		for _, r := range rd.Summary().InvalidSample {
			out.InvalidSample = append(out.InvalidSample, InvalidRow{Line: r.Line, Value: r.Value, Reason: string(r.Reason)})
		}
		return out, nil
	})
	if err != nil {
		return nil, s.bodyErr(ctx, err)
	}
	return &struct{ Body Batch }{Body: out}, nil
}

// bodyErr answers a body over the limit with 413, other errors as fail does.
func (s *Server) bodyErr(ctx context.Context, err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &Problem{Status: http.StatusRequestEntityTooLarge, Title: "Request Entity Too Large", Code: "too_large",
			Detail: fmt.Sprintf("request body too large (limit %d bytes)", mbe.Limit)}
	}
	return s.fail(ctx, err)
}

// openSource opens the importer on the body as its content type says.
func openSource(body io.Reader, in *batchCreateIn) (*importer.Reader, string, func(), error) {
	mt, params, _ := mime.ParseMediaType(in.ContentType)
	opts := importer.Options{MaxBytes: importer.MaxFileSize}
	if strings.HasSuffix(strings.ToLower(in.Filename), ".xlsx") || mt == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
		opts.Format = importer.FormatXLSX
	}
	noop := func() {}
	switch mt {
	case "multipart/form-data":
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if err != nil {
				return nil, "", noop, flows.Invalid("batch.not_a_file", nil)
			}
			if part.FormName() != "file" {
				continue
			}
			name := part.FileName()
			if in.Filename != "" {
				name = in.Filename
			}
			if strings.HasSuffix(strings.ToLower(name), ".xlsx") {
				opts.Format = importer.FormatXLSX
			}
			rd, err := importer.Open(part, opts)
			return rd, name, noop, err
		}
	case "application/json":
		pr := jsonAsCSV(body)
		rd, err := importer.Open(pr, importer.Options{Format: importer.FormatCSV, MaxBytes: importer.MaxFileSize})
		return rd, in.Filename, func() { _ = pr.Close() }, err
	}
	rd, err := importer.Open(body, opts)
	return rd, in.Filename, noop, err
}

// jsonAsCSV streams a JSON array of {chat_id, vars} as CSV for the importer, so the
// same rules and limits apply: the header is chat_id and the first element's variable
// names; a later element with another variable is refused. The goroutine ends when the
// array ends, on an error, or when the importer closes the reader.
func jsonAsCSV(body io.Reader) *io.PipeReader {
	pr, pw := io.Pipe()
	go func() { // owned by the pipe: the reader's Close ends it
		pw.CloseWithError(writeJSONAsCSV(body, pw))
	}()
	return pr
}

func writeJSONAsCSV(body io.Reader, w io.Writer) error {
	dec := json.NewDecoder(body)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return flows.Invalid("api.json_batch_not_array", nil)
	}
	cw := csv.NewWriter(w)
	var columns []string
	for i := 0; dec.More(); i++ {
		var r JSONRecipient
		if err := dec.Decode(&r); err != nil {
			return flows.Invalid("api.json_batch_bad_element", map[string]any{"Index": i, "Detail": err.Error()})
		}
		if columns == nil {
			columns = []string{}
			for k := range r.Vars {
				columns = append(columns, k)
			}
			slices.Sort(columns)
			if err := cw.Write(append([]string{"chat_id"}, columns...)); err != nil {
				return err
			}
		}
		row := []string{strconv.FormatInt(r.ChatID, 10)}
		for _, c := range columns {
			row = append(row, r.Vars[c])
		}
		for k := range r.Vars {
			if _, ok := slices.BinarySearch(columns, k); !ok {
				return flows.Invalid("api.json_batch_var_mismatch", map[string]any{"Index": i, "Var": k})
			}
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func (s *Server) listBatches(ctx context.Context, in *Page) (*batchListOut, error) {
	offset, err := in.offset()
	if err != nil {
		return nil, err
	}
	list, total, err := s.cfg.Store.BatchList(ctx, offset, limitOf(*in))
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	out := &batchListOut{}
	out.Body.Items = make([]Batch, 0, len(list))
	for _, b := range list {
		out.Body.Items = append(out.Body.Items, batchOut(b))
	}
	out.Body.Total, out.Body.NextCursor = total, next(offset, len(list), total)
	return out, nil
}

func (s *Server) getBatch(ctx context.Context, in *idIn) (*struct{ Body Batch }, error) {
	b, _, err := s.cfg.Store.BatchGet(ctx, in.ID)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &struct{ Body Batch }{Body: batchOut(b)}, nil
}

func (s *Server) deleteBatch(ctx context.Context, in *idIn) (*struct{}, error) {
	err := s.cfg.Store.InTx(ctx, func(tx *store.Store) error {
		b, _, err := tx.BatchGet(ctx, in.ID)
		if err != nil {
			return err
		}
		var inUse *store.InUseError
		switch err := tx.BatchDelete(ctx, in.ID); {
		case errors.As(err, &inUse):
			return flows.Conflict("batch.in_use", map[string]any{"Name": b.Name, "Campaigns": inUse.CampaignIDs})
		case err != nil:
			return err
		}
		return s.audit(ctx, tx)(ctx, "batch.deleted", "batch:"+itoa(in.ID), map[string]any{"name": b.Name})
	})
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return nil, nil
}

package importer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"herald/jsonstr"
)

// MaxFileSize is the largest file a bot can download with getFile (20 MB); larger
// uploads must be refused before downloading. See CheckSize.
const MaxFileSize = 20 << 20

// MaxColumns bounds the header, so a file with a wild header cannot make every
// recipient's variables huge.
const MaxColumns = 100

// maxSample is how many invalid rows a Summary keeps for the admin to see.
const maxSample = 10

// CheckSize returns a CodeTooBig *Error when a file of size bytes cannot be imported,
// so the dialog can answer before calling getFile.
func CheckSize(size int64) error {
	if size > MaxFileSize {
		return &Error{Code: CodeTooBig, Detail: strconv.FormatInt(size, 10)}
	}
	return nil
}

// Format is the kind of file being imported.
type Format string

// Formats Open understands.
const (
	FormatAuto   Format = ""       // XLSX if the file starts like a ZIP archive, else CSV
	FormatCSV    Format = "csv"    // also tab-separated text
	FormatXLSX   Format = "xlsx"   // the first sheet of a workbook
	FormatIDList Format = "idlist" // numbers pasted into a message, no header
)

// Options tune Open.
type Options struct {
	Format Format
	// MaxBytes rejects input longer than this with CodeTooBig; 0 means no limit.
	MaxBytes int64
	// Limits bound cells, rows and the whole file; zero fields take DefaultLimits.
	Limits Limits
	// IDColumn names the recipient column (a header cell, compared once normalised)
	// when the admin chose it among Error.Candidates; "" finds it by IDColumnNames.
	IDColumn string
}

// Summary describes an import: what the file looked like and what became of its rows.
// It is complete once Next has returned false.
type Summary struct {
	Format        Format
	Encoding      Encoding     // CSV only
	Delimiter     rune         // CSV only: ',', ';', '\t' (or '|' from a "sep=|" line)
	IDColumn      string       // the recipient column's header as written in the file
	Columns       []string     // variable names, in file order, normalised (see NormalizeName)
	Rows          int          // non-blank data rows read
	Imported      int          // distinct valid recipients
	Duplicates    int          // rows whose id appeared on an earlier row; the first row wins
	Invalid       int          // rows skipped as invalid
	InvalidSample []InvalidRow // the first ten invalid rows, in file order
}

// Reader streams the recipients of one file. Create it with Open (or OpenCSV,
// OpenXLSX, OpenIDList), call Next until it returns false, then Err and Summary. Rows
// are checked and de-duplicated as they stream: only the first row of each chat id is
// returned, and invalid rows are counted and sampled instead of returned. The set of ids
// seen is the only state that grows (about 20 bytes per recipient).
//
// Reader satisfies store.RecipientSource, so store.BatchImport can COPY it straight
// into Postgres.
type Reader struct {
	src        rowSource
	limits     Limits
	totalBytes int64    // cell bytes read so far, for Limits.TotalBytes
	header     []string // header cells as written, to name a column in an error
	summary    Summary
	encoding   *Encoding // written by the decoder when it decides, after Open returned
	idCol      int
	ncols      int      // header cells; 0 for pasted ids
	varCols    []int    // field index of each variable, parallel to summary.Columns
	keys       [][]byte // `"name":` for each variable, pre-encoded
	seen       map[int64]struct{}
	chatID     int64
	line       int
	vars       []byte
	err        error
	done       bool
}

// rowSource yields raw rows: the cells and the 1-based line or row number they start on,
// io.EOF after the last.
type rowSource interface {
	next() (fields []string, line int, err error)
	close() error
}

// Open reads the header of r and returns a Reader positioned before the first data
// row. Problems with the file as a whole are *Error values (see Code); I/O errors are
// returned wrapped.
func Open(r io.Reader, opts Options) (*Reader, error) {
	if opts.MaxBytes > 0 {
		r = &limitReader{r: r, left: opts.MaxBytes}
	}
	lim := opts.Limits.withDefaults()
	lim.idColumn = opts.IDColumn
	switch opts.Format {
	case FormatCSV:
		return openCSV(r, lim)
	case FormatXLSX:
		return openXLSX(r, lim)
	case FormatIDList:
		return openIDList(r, lim)
	case FormatAuto:
		br := bufio.NewReaderSize(r, textBufSize)
		head, err := br.Peek(4)
		if err != nil && err != io.EOF {
			return nil, readErr(err)
		}
		if bytes.HasPrefix(head, []byte("PK\x03\x04")) {
			return openXLSX(br, lim)
		}
		return openCSV(br, lim)
	default:
		return nil, fmt.Errorf("import: unknown format %q", opts.Format)
	}
}

// OpenIDList reads recipient ids pasted as text: numbers separated by spaces, commas,
// semicolons or newlines, no header and no variables.
func OpenIDList(text string) (*Reader, error) {
	return openIDList(strings.NewReader(text), DefaultLimits)
}

// newReader reads the header from src and prepares the Reader. With header == false
// (pasted ids) every row's first cell is the id and there are no variables.
func newReader(src rowSource, sum Summary, enc *Encoding, header bool, lim Limits) (*Reader, error) {
	rd := &Reader{src: src, limits: lim, summary: sum, encoding: enc, seen: make(map[int64]struct{}, 1024)}
	if !header {
		rd.summary.Columns = []string{}
		return rd, nil
	}
	var cells []string
	var line int
	for {
		fields, l, err := src.next()
		if err == io.EOF {
			_ = src.close()
			return nil, &Error{Code: CodeEmpty}
		}
		if err == nil {
			err = rd.checkRow(fields, l)
		}
		if err != nil {
			_ = src.close()
			return nil, readErr(err)
		}
		if !blank(fields) {
			cells, line = fields, l
			break
		}
	}
	if err := rd.useHeader(cells, line); err != nil {
		var ie *Error
		if errors.As(err, &ie) && ie.Code == CodeNoIDColumn {
			ie.Candidates = rd.idCandidates()
		}
		_ = src.close()
		return nil, err
	}
	return rd, nil
}

func (rd *Reader) useHeader(cells []string, line int) error {
	// Excel writes a trailing delimiter for an empty last column: ignore empty cells at
	// the end, but not in the middle, where they would hide a column of data.
	for len(cells) > 0 && strings.TrimSpace(cells[len(cells)-1]) == "" {
		cells = cells[:len(cells)-1]
	}
	if len(cells) > MaxColumns {
		return &Error{Code: CodeTooManyColumns, Line: line, Detail: strconv.Itoa(len(cells))}
	}
	names := make([]string, len(cells))
	where := make(map[string]int, len(cells))
	for i, c := range cells {
		n := NormalizeName(c)
		if n == "" {
			return &Error{Code: CodeBadHeader, Line: line, Column: i + 1, Detail: strings.TrimSpace(c)}
		}
		if utf8.RuneCountInString(n) > MaxNameLength {
			return &Error{Code: CodeLongHeader, Line: line, Column: i + 1, Detail: cut(strings.TrimSpace(c), 80)}
		}
		if j, dup := where[n]; dup {
			return &Error{Code: CodeDuplicateColumn, Line: line, Column: i + 1,
				Detail: n, Found: []string{strings.TrimSpace(cells[j]), strings.TrimSpace(c)}}
		}
		where[n] = i
		names[i] = n
	}
	rd.ncols = len(names)
	rd.header = headerCells(cells)
	rd.idCol = idColumn(names)
	if rd.limits.idColumn != "" {
		rd.idCol = slices.Index(names, NormalizeName(rd.limits.idColumn))
	}
	if rd.idCol < 0 {
		found := make([]string, len(cells))
		for i, c := range cells {
			found[i] = strings.TrimSpace(c)
		}
		return &Error{Code: CodeNoIDColumn, Line: line, Found: found, Accepted: slices.Clone(IDColumnNames)}
	}
	rd.summary.IDColumn = strings.TrimSpace(cells[rd.idCol])
	rd.summary.Columns = make([]string, 0, len(names)-1)
	for i, n := range names {
		if i == rd.idCol {
			continue
		}
		rd.summary.Columns = append(rd.summary.Columns, n)
		rd.varCols = append(rd.varCols, i)
		rd.keys = append(rd.keys, jsonstr.Append(nil, n, jsonstr.DropNUL))
	}
	return nil
}

// Columns are the variable names, in file order.
func (rd *Reader) Columns() []string { return rd.summary.Columns }

// Next advances to the next new, valid recipient.
func (rd *Reader) Next() bool {
	if rd.done {
		return false
	}
	for {
		fields, line, err := rd.src.next()
		if err == io.EOF {
			rd.finish(nil)
			return false
		}
		if err == nil {
			err = rd.checkRow(fields, line)
		}
		if err != nil {
			rd.finish(readErr(rd.located(err)))
			return false
		}
		if blank(fields) {
			continue
		}
		rd.summary.Rows++
		if rd.summary.Rows > rd.limits.Rows {
			rd.finish(&Error{Code: CodeTooManyRows, Line: line, Limit: int64(rd.limits.Rows)})
			return false
		}
		id, reason, raw := rd.parseRow(fields)
		if reason != "" {
			rd.summary.Invalid++
			if len(rd.summary.InvalidSample) < maxSample {
				rd.summary.InvalidSample = append(rd.summary.InvalidSample,
					InvalidRow{Line: line, Reason: reason, Value: cut(raw, 32)})
			}
			continue
		}
		if _, dup := rd.seen[id]; dup {
			rd.summary.Duplicates++
			continue
		}
		rd.seen[id] = struct{}{}
		rd.summary.Imported++
		rd.chatID, rd.line = id, line
		rd.vars = rd.encodeVars(rd.vars[:0], fields)
		return true
	}
}

func (rd *Reader) finish(err error) {
	rd.done = true
	rd.seen = nil // the biggest allocation; the summary is all that is left to ask for
	if cerr := rd.src.close(); err == nil && cerr != nil {
		err = readErr(cerr)
	}
	if err == nil {
		switch {
		case rd.summary.Rows == 0 && rd.ncols == 0:
			err = &Error{Code: CodeEmpty} // pasted text without a single id
		case rd.summary.Rows == 0:
			err = &Error{Code: CodeNoRows}
		case rd.summary.Imported == 0:
			err = &Error{Code: CodeNoValidRows}
		}
	}
	rd.err = err
}

func (rd *Reader) parseRow(fields []string) (int64, Reason, string) {
	if rd.ncols > 0 && len(fields) > rd.ncols {
		for _, f := range fields[rd.ncols:] {
			if strings.TrimSpace(f) != "" {
				return 0, ReasonExtraFields, f
			}
		}
	}
	raw := ""
	if rd.idCol < len(fields) {
		raw = strings.TrimSpace(fields[rd.idCol])
	}
	if raw == "" {
		return 0, ReasonEmptyID, ""
	}
	id, reason := ParseChatID(raw)
	return id, reason, raw
}

// ChatID is the current recipient's chat id.
func (rd *Reader) ChatID() int64 { return rd.chatID }

// Line is the line (CSV) or row (XLSX) the current recipient was read from.
func (rd *Reader) Line() int { return rd.line }

// Vars is the current recipient's variables as a JSON object, every column present
// (empty cells as ""). It is valid until the next call to Next.
func (rd *Reader) Vars() []byte { return rd.vars }

// Rows is the number of non-blank data rows read so far, for progress reports.
func (rd *Reader) Rows() int { return rd.summary.Rows }

// Duplicates is the number of rows merged into an earlier row with the same id so far.
func (rd *Reader) Duplicates() int { return rd.summary.Duplicates }

// Invalid is the number of invalid rows so far.
func (rd *Reader) Invalid() int { return rd.summary.Invalid }

// Err is the error that stopped Next, if any: an *Error for a problem with the file
// (including CodeNoRows and CodeNoValidRows), or a wrapped I/O error.
func (rd *Reader) Err() error { return rd.err }

// Summary describes the import so far; final once Next has returned false.
func (rd *Reader) Summary() Summary {
	sum := rd.summary
	if rd.encoding != nil {
		sum.Encoding = *rd.encoding
	}
	return sum
}

// Close releases what the reader holds (an XLSX reader may spill a big sheet to a
// temporary file). Reading to the end closes too; Close is for giving up early.
func (rd *Reader) Close() error {
	if rd.done {
		return nil
	}
	rd.done = true
	return rd.src.close()
}

func (rd *Reader) encodeVars(dst []byte, fields []string) []byte {
	dst = append(dst, '{')
	for i, col := range rd.varCols {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, rd.keys[i]...)
		dst = append(dst, ':')
		v := ""
		if col < len(fields) {
			v = strings.TrimSpace(fields[col])
		}
		dst = jsonstr.Append(dst, v, jsonstr.DropNUL) // jsonb refuses NUL
	}
	return append(dst, '}')
}

func blank(fields []string) bool {
	for _, f := range fields {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// readErr passes *Error through and wraps anything else once.
func readErr(err error) error {
	var ie *Error
	if errors.As(err, &ie) {
		return ie
	}
	return fmt.Errorf("import: read: %w", err)
}

// limitReader fails with CodeTooBig once more than left bytes are read.
type limitReader struct {
	r    io.Reader
	left int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, &Error{Code: CodeTooBig}
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return 0, &Error{Code: CodeTooBig}
	}
	return n, err
}

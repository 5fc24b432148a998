package importer

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// OpenXLSX reads the first sheet of an .xlsx workbook with DefaultLimits and the same
// rules as a CSV file: the first non-empty row is the header.
//
// The workbook is read by this package, not by excelize: excelize keeps the
// shared-string table as Go values and copies a string into every cell that uses it,
// so a small workbook with one huge shared string used by many rows took gigabytes.
// Here the ZIP directory is read from memory (the upload is at most MaxFileSize), each
// part is inflated as a stream counted against Limits.UnzippedBytes, the shared strings
// are held compactly within Limits.SharedStringsBytes, and the sheet is decoded row by
// row with a bound on each row's XML. Cells arrive as stored: text as written, numbers
// in full (an id never loses digits to a display format), dates as 2006-01-02 (with
// the time when there is one), booleans as TRUE/FALSE.
func OpenXLSX(r io.Reader) (*Reader, error) { return openXLSX(r, DefaultLimits) }

func openXLSX(r io.Reader, lim Limits) (*Reader, error) {
	wb, err := spoolWorkbook(r, lim)
	if err != nil {
		return nil, err
	}
	src, err := openSheet(wb, lim)
	if err != nil {
		_ = wb.file.Close()
		return nil, err
	}
	return newReader(src, Summary{Format: FormatXLSX}, nil, true, lim)
}

// spoolWorkbook copies the upload to an unlinked temporary file and opens it: the ZIP
// directory is at the end and needs random access, and the file (up to MaxFileSize in
// the upload dialog, where r is bounded by Options.MaxBytes) need not sit in memory.
func spoolWorkbook(r io.Reader, lim Limits) (*workbook, error) {
	f, err := os.CreateTemp("", "herald-xlsx-*")
	if err != nil {
		return nil, fmt.Errorf("import: spool: %w", err)
	}
	_ = os.Remove(f.Name()) // the open file stays readable; nothing is left behind
	size, err := io.Copy(f, r)
	if err != nil {
		_ = f.Close()
		return nil, readErr(err)
	}
	wb, err := openWorkbook(f, size, lim)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return wb, nil
}

func openSheet(wb *workbook, lim Limits) (*xlsxSource, error) {
	l, err := wb.layout()
	if err != nil {
		return nil, err
	}
	sst, err := readSharedStrings(wb, l.sst, lim)
	if err != nil {
		return nil, err
	}
	dates, err := dateStyles(wb, l.styles)
	if err != nil {
		return nil, err
	}
	rc, ok, err := wb.open(l.sheet, lim.UnzippedBytes)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &Error{Code: CodeBadXLSX, Detail: "no " + l.sheet}
	}
	br := rc.(*budgetReader)
	// One row's XML: generous for the markup of RowCells cells plus escaped text.
	br.span(64<<10+64*int64(lim.RowCells)+8*int64(lim.RowBytes), errRowXML)
	return &xlsxSource{wb: wb, br: br, dec: xml.NewDecoder(br), name: l.sheet, sst: sst, dates: dates, date1904: l.date1904, lim: lim}, nil
}

// errRowXML is the budgetReader's signal that one row's XML is too long; the sheet
// reader replaces it with an error that says where.
var errRowXML = &Error{Code: CodeRowTooLong}

type xlsxSource struct {
	wb       *workbook
	br       *budgetReader
	dec      *xml.Decoder
	name     string
	sst      *sharedStrings
	dates    []bool // by style index: the cell's number is a date
	date1904 bool
	lim      Limits
	row      int // the last row's number
	cells    []string
}

// cell is the state of the <c> element being read.
type cell struct {
	col       int
	typ       string
	style     int
	value     []byte
	collect   bool // inside <v>, or <t> of an inline string
	inline    bool // inside <is>
	phonetic  int  // inside <rPh>, whose text is not the cell's
	open      bool
	valueSize int
}

func (s *xlsxSource) next() ([]string, int, error) {
	for {
		s.br.mark()
		tok, err := s.dec.RawToken()
		if err == io.EOF {
			return nil, 0, io.EOF
		}
		if err != nil {
			return nil, 0, s.fail(err, s.row+1, 0)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == "row" {
				row := s.row + 1
				if n, err := strconv.Atoi(attr(t, "r")); err == nil && n > 0 {
					row = n
				}
				s.row = row
				return s.readRow(row)
			}
		case xml.EndElement:
			if t.Name.Local == "sheetData" {
				return nil, 0, io.EOF
			}
		}
	}
}

func (s *xlsxSource) readRow(row int) ([]string, int, error) {
	s.cells = s.cells[:0]
	var c cell
	for {
		tok, err := s.dec.RawToken()
		if err == io.EOF {
			return nil, 0, &Error{Code: CodeBadXLSX, Line: row, Detail: "unexpected end of the sheet"}
		}
		if err != nil {
			col := 0
			if c.open {
				col = c.col
			}
			return nil, 0, s.fail(err, row, col)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := s.start(&c, t, row); err != nil {
				return nil, 0, err
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "v", "t":
				c.collect = false
			case "is":
				c.inline = false
			case "rPh":
				c.phonetic--
			case "c":
				if err := s.endCell(&c, row); err != nil {
					return nil, 0, err
				}
			case "row":
				return s.cells, row, nil
			}
		case xml.CharData:
			if !c.collect {
				continue
			}
			c.valueSize += len(t)
			if c.valueSize > s.lim.CellBytes {
				return nil, 0, &Error{Code: CodeCellTooLong, Line: row, Column: c.col, Limit: int64(s.lim.CellBytes)}
			}
			c.value = append(c.value, t...)
		}
	}
}

func (s *xlsxSource) start(c *cell, t xml.StartElement, row int) error {
	switch t.Name.Local {
	case "c":
		col := c.col + 1
		if ref := attr(t, "r"); ref != "" {
			col = columnOf(ref)
		}
		if col <= 0 {
			return &Error{Code: CodeBadXLSX, Line: row, Detail: "bad cell reference " + cut(attr(t, "r"), 16)}
		}
		if col > s.lim.RowCells {
			return &Error{Code: CodeRowTooWide, Line: row, Column: col, Limit: int64(s.lim.RowCells)}
		}
		style, _ := strconv.Atoi(attr(t, "s"))
		*c = cell{col: col, typ: attr(t, "t"), style: style, value: c.value[:0], open: true}
	case "v":
		c.collect = c.open
	case "is":
		c.inline = c.open
	case "t":
		c.collect = c.inline && c.phonetic == 0
	case "rPh":
		c.phonetic++
	}
	return nil
}

func (s *xlsxSource) endCell(c *cell, row int) error {
	v, err := s.value(c, row)
	if err != nil {
		return err
	}
	for len(s.cells) < c.col {
		s.cells = append(s.cells, "")
	}
	s.cells[c.col-1] = v
	c.open = false
	return nil
}

func (s *xlsxSource) value(c *cell, row int) (string, error) {
	raw := string(c.value)
	switch c.typ {
	case "s":
		i, err := strconv.Atoi(strings.TrimSpace(raw))
		text, long, ok := s.sst.get(i)
		switch {
		case err != nil || !ok:
			return "", &Error{Code: CodeBadXLSX, Line: row, Column: c.col, Detail: "no shared string " + cut(raw, 16)}
		case long > 0:
			return "", &Error{Code: CodeCellTooLong, Line: row, Column: c.col, Limit: int64(s.lim.CellBytes)}
		}
		return text, nil
	case "b":
		if strings.TrimSpace(raw) == "1" {
			return "TRUE", nil
		}
		return "FALSE", nil
	case "", "n":
		return s.number(strings.TrimSpace(raw), c.style), nil
	default: // inlineStr, str (a formula's text), e (an error such as #N/A), d (ISO date)
		return raw, nil
	}
}

// number renders a numeric cell: integers as written, dates by their style, other
// numbers to 15 significant digits as Excel shows them (0.1+0.2 is 0.3, not
// 0.30000000000000004).
func (s *xlsxSource) number(raw string, style int) string {
	v, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		return raw
	}
	if style >= 0 && style < len(s.dates) && s.dates[style] {
		if d, ok := excelDate(v, s.date1904); ok {
			return d
		}
	}
	if _, err := strconv.ParseInt(raw, 10, 64); err == nil {
		return raw
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'G', 15, 64)
}

// excelDate turns a date serial (days since 1899-12-30, or since 1904-01-01) into
// ISO text; a serial below 1 is a time of day.
func excelDate(v float64, date1904 bool) (string, bool) {
	if v < 0 || v > 2958465 { // after 9999-12-31: not a date
		return "", false
	}
	base := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
	if date1904 {
		base = time.Date(1904, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	t := base.Add(time.Duration(math.Round(v*86400)) * time.Second)
	switch {
	case v < 1:
		return t.Format("15:04:05"), true
	case t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0:
		return t.Format("2006-01-02"), true
	default:
		return t.Format("2006-01-02 15:04:05"), true
	}
}

// columnOf returns the 1-based column of a cell reference such as "AB12", 0 if it has
// none; it stops counting once past any sheet's width.
func columnOf(ref string) int {
	col := 0
	for i := 0; i < len(ref); i++ {
		c := ref[i] | 0x20 // lower case
		if c < 'a' || c > 'z' {
			break
		}
		col = col*26 + int(c-'a'+1)
		if col > 1<<20 {
			return 1 << 20
		}
	}
	return col
}

// fail turns a read error into one that says where: the row's XML going over its
// bound is a cell too long when it happened inside a cell, else a row too long.
func (s *xlsxSource) fail(err error, row, col int) error {
	if err == errRowXML { // the same pointer, handed back by encoding/xml as it was read
		code, limit := CodeRowTooLong, int64(s.lim.RowBytes)
		if col > 0 {
			code, limit = CodeCellTooLong, int64(s.lim.CellBytes)
		}
		return &Error{Code: code, Line: row, Column: col, Limit: limit}
	}
	return xmlErr(s.name, err)
}

func (s *xlsxSource) close() error {
	err := s.br.Close()
	if cerr := s.wb.file.Close(); err == nil {
		err = cerr
	}
	return err
}

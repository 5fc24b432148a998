package importer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"io"
)

// OpenCSV reads a CSV (or tab-separated) file with DefaultLimits: UTF-8 with or without
// BOM, UTF-16 with BOM, or Windows-1251; delimiter from a "sep=;" first line (as Excel
// writes) or else detected from the header line; header required.
func OpenCSV(r io.Reader) (*Reader, error) { return openCSV(r, DefaultLimits) }

func openCSV(r io.Reader, lim Limits) (*Reader, error) {
	sum := Summary{Format: FormatCSV}
	enc := new(Encoding)
	text, err := decodeText(r, enc)
	if err != nil {
		return nil, readErr(err)
	}
	br := bufio.NewReaderSize(text, textBufSize)
	head, err := br.Peek(textBufSize)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, readErr(err)
	}
	if err == io.EOF && blankBytes(head) {
		return nil, &Error{Code: CodeEmpty}
	}
	skipped := 0
	if comma, n := sepLine(head); n > 0 {
		// Excel's "sep=;" line names the delimiter and is not data: the header follows.
		sum.Delimiter, skipped = comma, 1
		_, _ = br.Discard(n)
	} else {
		sum.Delimiter = sniffDelimiter(head)
	}
	guard := &csvGuard{r: br, comma: byte(sum.Delimiter), lim: &lim, line: 1 + skipped, recLine: 1 + skipped, atStart: true}
	cr := csv.NewReader(guard)
	cr.Comma = sum.Delimiter
	cr.FieldsPerRecord = -1 // rows may be shorter or longer than the header; judged per row
	cr.ReuseRecord = true
	return newReader(&csvSource{cr: cr, skipped: skipped}, sum, enc, true, lim)
}

// sepLine recognises Excel's delimiter hint, a first line "sep=;" (also "sep=," and
// "sep=<tab>", possibly quoted), returning the delimiter and the line's length.
func sepLine(head []byte) (rune, int) {
	end := bytes.IndexByte(head, '\n')
	line := head
	if end >= 0 {
		line = head[:end]
	}
	line = bytes.Trim(bytes.TrimRight(line, "\r"), `"`)
	if len(line) != 5 || !bytes.EqualFold(line[:4], []byte("sep=")) {
		return 0, 0
	}
	switch c := line[4]; c {
	case ',', ';', '\t', '|':
		if end < 0 {
			return rune(c), len(head)
		}
		return rune(c), end + 1
	}
	return 0, 0
}

type csvSource struct {
	cr      *csv.Reader
	skipped int // lines before the header that are not CSV (the "sep=" line)
}

func (s *csvSource) next() ([]string, int, error) {
	rec, err := s.cr.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, 0, &Error{Code: CodeMalformed, Line: pe.StartLine + s.skipped, Column: pe.Column, Detail: pe.Err.Error()}
		}
		return nil, 0, err
	}
	line, _ := s.cr.FieldPos(0) // the line the record starts on, counting newlines in quotes
	return rec, line + s.skipped, nil
}

func (s *csvSource) close() error { return nil }

// sniffDelimiter picks the most frequent of ',', ';' and '\t' outside quotes on the
// first line (the header, whose cells are names and rarely contain a delimiter).
// Ties and a one-column header fall back to ',' then ';'.
func sniffDelimiter(head []byte) rune {
	var comma, semi, tab int
	inQuotes := false
scan:
	for _, c := range head {
		switch c {
		case '"':
			inQuotes = !inQuotes
		case '\n':
			if !inQuotes {
				break scan
			}
		case ',':
			if !inQuotes {
				comma++
			}
		case ';':
			if !inQuotes {
				semi++
			}
		case '\t':
			if !inQuotes {
				tab++
			}
		}
	}
	switch {
	case tab > comma && tab > semi:
		return '\t'
	case semi > comma:
		return ';'
	default:
		return ','
	}
}

func blankBytes(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n', '\f', '\v':
		default:
			return false
		}
	}
	return true
}

package importer

import (
	"bufio"
	"encoding/csv"
	"errors"
	"io"
)

// OpenCSV reads a CSV (or tab-separated) file: UTF-8 with or without BOM, UTF-16 with
// BOM, or Windows-1251; delimiter detected from the header line; header required.
func OpenCSV(r io.Reader) (*Reader, error) {
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
	sum.Delimiter = sniffDelimiter(head)
	cr := csv.NewReader(br) // reuses br: csv.NewReader keeps a big enough *bufio.Reader
	cr.Comma = sum.Delimiter
	cr.FieldsPerRecord = -1 // rows may be shorter or longer than the header; judged per row
	cr.ReuseRecord = true
	return newReader(&csvSource{cr: cr}, sum, enc, true)
}

type csvSource struct {
	cr *csv.Reader
}

func (s *csvSource) next() ([]string, int, error) {
	rec, err := s.cr.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, 0, &Error{Code: CodeMalformed, Line: pe.StartLine, Column: pe.Column, Detail: pe.Err.Error()}
		}
		return nil, 0, err
	}
	line, _ := s.cr.FieldPos(0) // the line the record starts on, counting newlines in quotes
	return rec, line, nil
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

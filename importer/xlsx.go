package importer

import (
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"
)

// xlsxUnzipLimit bounds how much a workbook may inflate to: a 20 MB upload of real
// data stays far below, a zip bomb does not.
const xlsxUnzipLimit = 256 << 20

// OpenXLSX reads the first sheet of an .xlsx workbook with the same rules as a CSV file:
// the first non-empty row is the header. Cells are read as Excel displays them, so an id
// formatted "0.00" arrives as "123.00" (accepted, see ParseChatID). The workbook's ZIP
// directory needs random access, so the file is read into memory (it is at most
// MaxFileSize); a big sheet's XML is streamed, spilling to a temporary file.
func OpenXLSX(r io.Reader) (rd *Reader, err error) {
	// excelize is a large parser fed untrusted input; a panic in it must not take the
	// process down with it.
	defer func() {
		if p := recover(); p != nil {
			rd, err = nil, &Error{Code: CodeBadXLSX, Detail: fmt.Sprint(p)}
		}
	}()
	f, err := excelize.OpenReader(r, excelize.Options{UnzipSizeLimit: xlsxUnzipLimit})
	if err != nil {
		if ie := readErr(err); isImportError(ie) {
			return nil, ie
		}
		return nil, &Error{Code: CodeBadXLSX, Detail: err.Error()}
	}
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		_ = f.Close()
		return nil, &Error{Code: CodeBadXLSX, Detail: "no sheet"}
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		_ = f.Close()
		return nil, &Error{Code: CodeBadXLSX, Detail: err.Error()}
	}
	return newReader(&xlsxSource{f: f, rows: rows}, Summary{Format: FormatXLSX}, nil, true)
}

type xlsxSource struct {
	f    *excelize.File
	rows *excelize.Rows
	row  int
}

func (s *xlsxSource) next() (fields []string, line int, err error) {
	defer func() {
		if p := recover(); p != nil {
			fields, line, err = nil, 0, &Error{Code: CodeBadXLSX, Line: s.row, Detail: fmt.Sprint(p)}
		}
	}()
	if !s.rows.Next() {
		if err := s.rows.Error(); err != nil {
			return nil, 0, &Error{Code: CodeBadXLSX, Line: s.row + 1, Detail: err.Error()}
		}
		return nil, 0, io.EOF
	}
	s.row++ // Next steps through every sheet row, also empty ones, so this is the row number
	cells, err := s.rows.Columns()
	if err != nil {
		return nil, 0, &Error{Code: CodeBadXLSX, Line: s.row, Detail: err.Error()}
	}
	return cells, s.row, nil
}

func (s *xlsxSource) close() error {
	err := s.rows.Close()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	return err
}

func isImportError(err error) bool {
	_, ok := err.(*Error)
	return ok
}

package importer

import (
	"math"
	"strings"
	"unicode/utf8"
)

// Limits bound what one file may hold, so that no upload — a 10 MB cell, a workbook
// whose one huge shared string fills a thousand rows — can exhaust Herald's memory or
// fill PostgreSQL. They are checked as the file streams, before a row is handed to the
// caller: a file over a limit is refused whole with an *Error (CodeCellTooLong,
// CodeRowTooLong, CodeRowTooWide, CodeTooManyRows, CodeTooMuchData, CodeXLSXTooLarge)
// naming the line or row, the column and the limit. Sizes are UTF-8 bytes after
// decoding. A zero field takes its default (DefaultLimits).
type Limits struct {
	CellBytes  int   // one cell (a variable's value, the id); default 1 KB
	RowBytes   int   // all the cells of one row together; default 16 KB
	RowCells   int   // cells in one row, empty ones between included; default 1,024
	Rows       int   // data rows in one file; default 2,000,000 (a 20 MB list of bare ids)
	TotalBytes int64 // all the cells of the file together; default 128 MB

	// XLSX only. A workbook is a ZIP of XML parts; these bound what reading it costs.
	UnzippedBytes int64 // XML read from all its parts together, once inflated; default 256 MB
	// SharedStringsBytes bounds the memory of the workbook's shared-string table, which
	// must be held while the sheet is read: the text kept (each string is kept only up to
	// CellBytes+1 bytes, longer ones are remembered as too long) plus 4 bytes a string.
	// Default 64 MB.
	SharedStringsBytes int64

	// idColumn is Options.IDColumn, carried with the limits from Open to the header.
	idColumn string
}

// DefaultLimits are the limits an import gets when Options.Limits leaves a field zero.
var DefaultLimits = Limits{
	CellBytes:          1 << 10,
	RowBytes:           16 << 10,
	RowCells:           1024,
	Rows:               2_000_000,
	TotalBytes:         128 << 20,
	UnzippedBytes:      256 << 20,
	SharedStringsBytes: 64 << 20,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.CellBytes > 0 {
		d.CellBytes = l.CellBytes
	}
	if l.RowBytes > 0 {
		d.RowBytes = l.RowBytes
	}
	if l.RowCells > 0 {
		d.RowCells = l.RowCells
	}
	if l.Rows > 0 {
		d.Rows = l.Rows
	}
	if l.TotalBytes > 0 {
		d.TotalBytes = l.TotalBytes
	}
	if l.UnzippedBytes > 0 {
		d.UnzippedBytes = l.UnzippedBytes
	}
	if l.SharedStringsBytes > 0 {
		d.SharedStringsBytes = min(l.SharedStringsBytes, math.MaxUint32) // offsets are uint32
	}
	return d
}

// checkRow applies the cell, row and file limits to one row as it arrives (the header
// too), so nothing over a limit reaches the caller.
func (rd *Reader) checkRow(fields []string, line int) error {
	lim := &rd.limits
	if len(fields) > lim.RowCells {
		return &Error{Code: CodeRowTooWide, Line: line, Column: lim.RowCells + 1, Limit: int64(lim.RowCells)}
	}
	total := 0
	for i, f := range fields {
		n := storedLen(f)
		if n > lim.CellBytes {
			return rd.located(&Error{Code: CodeCellTooLong, Line: line, Column: i + 1, Limit: int64(lim.CellBytes)})
		}
		total += n
		if total > lim.RowBytes {
			return rd.located(&Error{Code: CodeRowTooLong, Line: line, Column: i + 1, Limit: int64(lim.RowBytes)})
		}
	}
	rd.totalBytes += int64(total)
	if rd.totalBytes > lim.TotalBytes {
		return &Error{Code: CodeTooMuchData, Line: line, Limit: lim.TotalBytes}
	}
	return nil
}

// storedLen is how many bytes a cell takes once stored: invalid UTF-8 bytes become
// U+FFFD, three bytes each (see appendJSONString).
func storedLen(s string) int {
	if utf8.ValidString(s) {
		return len(s)
	}
	n := 0
	for _, r := range s {
		n += utf8.RuneLen(r) // RuneError, for an invalid byte, is 3
	}
	return n
}

// located adds the column's header to an error a source or checkRow raised, so the
// admin reads "column 3 (Комментарий)" rather than a bare number.
func (rd *Reader) located(err error) error {
	ie, ok := err.(*Error)
	if !ok || ie.Column <= 0 || ie.Name != "" || ie.Column > len(rd.header) {
		return err
	}
	ie.Name = rd.header[ie.Column-1]
	return ie
}

// headerCells are the header as written (trimmed), for naming columns in errors.
func headerCells(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = cut(strings.TrimSpace(c), 64)
	}
	return out
}

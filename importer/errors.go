package importer

import (
	"fmt"
	"strings"
)

// Code says what went wrong with a whole file. Dialogs map it to a message in the
// admin's language; Error.Error is only for logs and tests.
type Code string

// Codes of errors that reject a whole file.
const (
	CodeEmpty           Code = "empty"            // nothing but whitespace (or a BOM)
	CodeBinary          Code = "binary"           // not text: NUL bytes, a picture renamed .csv, …
	CodeTooBig          Code = "too_big"          // larger than MaxFileSize (Detail: the size in bytes)
	CodeBadHeader       Code = "bad_header"       // a header cell that normalises to nothing (Column: its 1-based index)
	CodeLongHeader      Code = "long_header"      // a header cell longer than MaxNameLength once normalised (Column, Detail: the cell)
	CodeDuplicateColumn Code = "duplicate_column" // two header cells with the same normalised name (Detail: the name)
	CodeNoIDColumn      Code = "no_id_column"     // no recipient column; Found lists the header, Accepted the names we know
	CodeTooManyColumns  Code = "too_many_columns" // more than MaxColumns header cells
	CodeMalformed       Code = "malformed"        // CSV syntax error such as an unterminated quote (Line: where its record starts)
	CodeBadXLSX         Code = "bad_xlsx"         // not a readable .xlsx workbook, or no sheet
	CodeNoRows          Code = "no_rows"          // a header but not a single data row
	CodeNoValidRows     Code = "no_valid_rows"    // data rows, but none with a usable id (see Summary.InvalidSample)

	// Limits (see Limits). Line and Column say where, Limit what was exceeded.
	CodeCellTooLong  Code = "cell_too_long"  // a cell over Limits.CellBytes (Name: its column's header; Line 0: a shared string of an XLSX)
	CodeRowTooLong   Code = "row_too_long"   // a row whose cells add up to more than Limits.RowBytes (Column: where it went over)
	CodeRowTooWide   Code = "row_too_wide"   // a row with more than Limits.RowCells cells (Column: the cell that went over)
	CodeTooManyRows  Code = "too_many_rows"  // more than Limits.Rows data rows
	CodeTooMuchData  Code = "too_much_data"  // cells adding up to more than Limits.TotalBytes
	CodeXLSXTooLarge Code = "xlsx_too_large" // a workbook that unpacks (Detail "unzipped") or whose text table (Detail "shared_strings") goes over its Limit
)

// Error rejects a whole file. Only Code is meant for people (through a catalog); the
// other fields fill the message's placeholders.
type Error struct {
	Code     Code
	Line     int      // 1-based line (CSV) or row (XLSX) the problem is on, 0 if none
	Column   int      // 1-based column, 0 if none
	Detail   string   // a value to show: the offending name, the size, the parser's words
	Name     string   // the column's header cell as written, when Column names a header column
	Limit    int64    // the limit exceeded (bytes, cells or rows, by Code), 0 if none
	Found    []string // CodeNoIDColumn: the header cells as found
	Accepted []string // CodeNoIDColumn: the id column names we recognise
	// Candidates (CodeNoIDColumn) are the header cells, as written, of the columns
	// whose cells all hold chat ids (see Reader.idCandidates): one to offer as a button.
	Candidates []string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("import: ")
	b.WriteString(string(e.Code))
	if e.Line > 0 {
		fmt.Fprintf(&b, " at line %d", e.Line)
	}
	if e.Column > 0 {
		fmt.Fprintf(&b, " column %d", e.Column)
	}
	if e.Limit > 0 {
		fmt.Fprintf(&b, " (limit %d)", e.Limit)
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if len(e.Found) > 0 {
		fmt.Fprintf(&b, " (found %q)", e.Found)
	}
	return b.String()
}

// Is lets errors.Is(err, &Error{Code: CodeEmpty}) match by code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Reason says why one data row was skipped.
type Reason string

// Reasons a data row is invalid.
const (
	ReasonEmptyID     Reason = "empty_id"     // the id cell is empty but the row is not
	ReasonNotNumeric  Reason = "not_numeric"  // the id is not an integer (letters, @username, …)
	ReasonExcelDigits Reason = "excel_digits" // the id is in exponent notation (1.23457E+11): Excel dropped its last digits
	ReasonZeroID      Reason = "zero_id"      // the id is 0, which no chat has
	ReasonOutOfRange  Reason = "out_of_range" // the id does not fit in 64 bits
	ReasonExtraFields Reason = "extra_fields" // more non-empty cells than header columns
)

// InvalidRow is one skipped data row.
type InvalidRow struct {
	Line   int    // the file's 1-based line (CSV, counting newlines inside quotes) or sheet row (XLSX)
	Reason Reason // why
	Value  string // the id cell as found, cut to 32 characters
}

package importer

import "io"

// csvGuard sits under encoding/csv, which has no bound of its own: it would read a
// 10 MB cell, or a file-long unterminated quote, into memory before returning the
// record. The guard follows the CSV syntax on the raw bytes as they pass (quotes,
// doubled quotes, delimiters, newlines), so it knows the line and the cell it is in,
// and fails the read as soon as a cell or a record surely exceeds Limits. "Surely":
// a quoted cell of n raw bytes decodes to at least (n-2)/2 bytes, so the thresholds
// are about twice the limits; the Reader checks the exact figures on decoded cells.
// Memory per record thus stays within a few times Limits.RowBytes.
type csvGuard struct {
	r     io.Reader
	comma byte
	lim   *Limits

	line, recLine int  // current line and the line the current record started on (1-based)
	col           int  // 0-based cell of the current record
	cell, row     int  // raw bytes of the current cell, and of all cells of the record
	atStart       bool // at the start of a cell, where a quote opens a quoted cell
	inQuotes      bool
	quote         bool // in a quoted cell, the previous byte was a quote
	err           error
}

func (g *csvGuard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.r.Read(p)
	for i := 0; i < n; i++ {
		if g.step(p[i]) {
			// Hand on what came before the offending byte; the error follows on the next
			// Read, after encoding/csv has taken those bytes.
			return i, nil
		}
	}
	return n, err
}

// step advances the state by one byte and reports whether a limit was crossed.
func (g *csvGuard) step(c byte) bool {
	if g.inQuotes {
		switch {
		case g.quote && c == '"': // a doubled quote: one quote in the cell
			g.quote = false
			return g.grow()
		case g.quote: // the closing quote was the previous byte
			g.quote, g.inQuotes = false, false
		case c == '"':
			g.quote = true
			return false
		default:
			if c == '\n' {
				g.line++
			}
			return g.grow()
		}
	}
	switch {
	case c == g.comma:
		g.col++
		g.cell, g.atStart = 0, true
		if g.col >= g.lim.RowCells {
			g.err = &Error{Code: CodeRowTooWide, Line: g.recLine, Column: g.col + 1, Limit: int64(g.lim.RowCells)}
			return true
		}
		return false
	case c == '\n':
		g.line++
		g.recLine, g.col, g.cell, g.row, g.atStart = g.line, 0, 0, 0, true
		return false
	case c == '"' && g.atStart:
		g.inQuotes, g.atStart = true, false
		return false
	}
	g.atStart = false
	return g.grow()
}

// grow counts one byte of cell content.
func (g *csvGuard) grow() bool {
	g.cell++
	g.row++
	switch {
	case g.cell > 2*g.lim.CellBytes+2:
		g.err = &Error{Code: CodeCellTooLong, Line: g.recLine, Column: g.col + 1, Limit: int64(g.lim.CellBytes)}
	case g.row > 2*g.lim.RowBytes+2*(g.col+1):
		g.err = &Error{Code: CodeRowTooLong, Line: g.recLine, Column: g.col + 1, Limit: int64(g.lim.RowBytes)}
	default:
		return false
	}
	return true
}

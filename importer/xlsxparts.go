package importer

import (
	"encoding/xml"
	"io"
	"strconv"
	"strings"
)

// sharedStrings is a workbook's shared-string table, held compactly: the texts one
// after another in chunks of sstChunk bytes (a string never crosses two), each
// string's end offset, and for the strings over Limits.CellBytes only their length
// (they are never kept: a cell that uses one is refused). Chunks rather than one
// growing slice, because append's doubling would hold up to three times the table
// while it grows. Excelize keeps each string as a Go value in a slice and a map, and
// copies it into every cell that refers to it; a 200 MB string used by 1,000 rows is
// how a 216 KB workbook once took 1.45 GB.
type sharedStrings struct {
	text  [][]byte   // chunks of chunk bytes
	ends  [][]uint32 // end offset of string i at ends[i/sstEnds][i%sstEnds]
	n     int        // strings
	size  uint32     // next free offset, counting the chunks' unused tails
	used  int64      // bytes of text held, for the budget
	chunk uint32
	long  map[int]int
}

const (
	sstChunk = 1 << 20 // text chunk, unless a cell may be longer
	sstEnds  = 1 << 18 // offsets per chunk: 1 MB
)

func newSharedStrings(lim Limits) *sharedStrings {
	return &sharedStrings{chunk: uint32(max(sstChunk, lim.CellBytes+1)), long: map[int]int{}}
}

// end is the end offset of string i.
func (s *sharedStrings) end(i int) uint32 { return s.ends[i/sstEnds][i%sstEnds] }

// get returns shared string i, or its length when it is over the cell limit (long).
func (s *sharedStrings) get(i int) (text string, long int, ok bool) {
	if i < 0 || i >= s.n {
		return "", 0, false
	}
	if n, isLong := s.long[i]; isLong {
		return "", n, true
	}
	start, end := uint32(0), s.end(i)
	if i > 0 {
		start = s.end(i - 1)
	}
	if end == start {
		return "", 0, true
	}
	// A string that did not fit the rest of a chunk starts the next one.
	if c := (end - 1) / s.chunk; start/s.chunk != c {
		start = c * s.chunk
	}
	c := start / s.chunk
	return string(s.text[c][start-c*s.chunk : end-c*s.chunk]), 0, true
}

// readSharedStrings reads the table as a stream. Memory is bounded by
// Limits.SharedStringsBytes; one <si> element may take at most siXMLLimit bytes of XML
// (a legitimate cell holds at most 32,767 characters), so a huge string is refused
// after reading a little of it instead of being inflated whole.
func readSharedStrings(wb *workbook, name string, lim Limits) (*sharedStrings, error) {
	s := newSharedStrings(lim)
	rc, ok, err := wb.open(name, lim.UnzippedBytes)
	if err != nil || !ok {
		return s, err
	}
	defer rc.Close()
	br := rc.(*budgetReader)
	siLimit := max(256<<10, 8*int64(lim.CellBytes))
	dec := xml.NewDecoder(br)
	var cur []byte
	curLen, phonetic := 0, 0
	inSI, inT := false, false
	for {
		br.span(siLimit, &Error{Code: CodeCellTooLong, Detail: "shared string " + strconv.Itoa(s.n+1), Limit: int64(lim.CellBytes)})
		tok, err := dec.RawToken()
		if err == io.EOF {
			return s, nil
		}
		if err != nil {
			return nil, xmlErr(name, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "si":
				inSI, cur, curLen = true, cur[:0], 0
				br.mark()
			case "t":
				inT = inSI && phonetic == 0
			case "rPh": // phonetic guide (furigana) is not part of the text
				phonetic++
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "t":
				inT = false
			case "rPh":
				phonetic--
			case "si":
				inSI = false
				if err := s.add(cur, curLen, lim); err != nil {
					return nil, err
				}
				br.mark()
			}
		case xml.CharData:
			if inT {
				curLen += len(t)
				if curLen <= lim.CellBytes {
					cur = append(cur, t...)
				}
			}
		}
	}
}

func (s *sharedStrings) add(text []byte, n int, lim Limits) error {
	if n > lim.CellBytes {
		s.long[s.n] = n
		text = nil
	}
	if len(text) > 0 {
		if uint32(len(s.text))*s.chunk-s.size < uint32(len(text)) { // the last chunk cannot take it
			s.size = uint32(len(s.text)) * s.chunk
			s.text = append(s.text, make([]byte, 0, s.chunk))
		}
		c := len(s.text) - 1
		s.text[c] = append(s.text[c], text...)
		s.size += uint32(len(text))
		s.used += int64(len(text))
	}
	if s.n%sstEnds == 0 {
		s.ends = append(s.ends, make([]uint32, 0, sstEnds))
	}
	s.ends[len(s.ends)-1] = append(s.ends[len(s.ends)-1], s.size)
	s.n++
	if s.used+4*int64(s.n)+32*int64(len(s.long)) > lim.SharedStringsBytes {
		return &Error{Code: CodeXLSXTooLarge, Detail: "shared_strings", Limit: lim.SharedStringsBytes}
	}
	return nil
}

// dateStyles reads which cell formats (the s attribute of a cell) show a number as a
// date or time, so such cells arrive as "2026-12-02" rather than 46358. Other number
// formats are not applied: the stored number is what a template should print.
func dateStyles(wb *workbook, name string) ([]bool, error) {
	custom := map[string]string{}
	var xfs []string
	inCellXfs := false
	rc, ok, err := wb.open(name, partXMLLimit)
	if err != nil || !ok {
		return nil, err
	}
	defer rc.Close()
	dec := xml.NewDecoder(rc)
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, xmlErr(name, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "numFmt":
				custom[attr(t, "numFmtId")] = attr(t, "formatCode")
			case "cellXfs":
				inCellXfs = true
			case "xf":
				if inCellXfs {
					xfs = append(xfs, attr(t, "numFmtId"))
				}
			}
		case xml.EndElement:
			if t.Name.Local == "cellXfs" {
				inCellXfs = false
			}
		}
	}
	dates := make([]bool, len(xfs))
	for i, id := range xfs {
		if code, ok := custom[id]; ok {
			dates[i] = isDateFormat(code)
			continue
		}
		n, _ := strconv.Atoi(id)
		dates[i] = (n >= 14 && n <= 22) || (n >= 27 && n <= 36) || (n >= 45 && n <= 47) || (n >= 50 && n <= 58)
	}
	return dates, nil
}

// isDateFormat says whether a custom number format shows a date or time: it has a
// y, m, d, h or s outside quoted text, escapes and [colour]/[$-locale] brackets.
func isDateFormat(code string) bool {
	if strings.EqualFold(code, "general") {
		return false
	}
	quoted, bracket := false, false
	for i := 0; i < len(code); i++ {
		c := code[i]
		switch {
		case quoted:
			quoted = c != '"'
		case bracket:
			// [h], [mm], [ss] are elapsed time; [Red], [$-419] are not
			if c == ']' {
				bracket = false
			} else if c == 'h' || c == 'H' || c == 's' || c == 'S' || (c == 'm' || c == 'M') && i > 0 && code[i-1] == '[' {
				return true
			}
		case c == '"':
			quoted = true
		case c == '[':
			bracket = true
		case c == '\\' || c == '_' || c == '*':
			i++ // the next character is literal (or padding)
		case strings.IndexByte("ymdhsYMDHS", c) >= 0:
			return true
		}
	}
	return false
}

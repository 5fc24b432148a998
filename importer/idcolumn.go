package importer

import "strings"

// A file whose recipient column has a name we do not know ("Номер", "tg") is common;
// listing the two dozen names we know sends the admin to Excel. Instead the columns
// that hold nothing but chat ids are offered, and the import runs again with the one
// chosen (Options.IDColumn).

// idCandidateRows bounds the data rows looked at to find the columns of ids.
const idCandidateRows = 1000

// minLikelyID: a column of small numbers (ages, counts, row numbers) is not one of
// chat ids, which run to six digits and more; one value this large is required.
const minLikelyID = 10_000

// idCandidates reads up to idCandidateRows data rows after the header and returns
// the header cells of the columns whose every non-empty cell parses as a chat id,
// with at least one cell filled and one id of five digits or more. It reads from
// the source useHeader refused, which is closed afterwards; an error ends the look.
func (rd *Reader) idCandidates() []string {
	n := rd.ncols
	if n == 0 {
		return nil
	}
	ok := make([]bool, n)
	large := make([]bool, n)
	for i := range ok {
		ok[i] = true
	}
	for rows := 0; rows < idCandidateRows; {
		fields, line, err := rd.src.next()
		if err != nil || rd.checkRow(fields, line) != nil { // io.EOF included
			break
		}
		if blank(fields) {
			continue
		}
		rows++
		for i := range n {
			cell := ""
			if i < len(fields) {
				cell = strings.TrimSpace(fields[i])
			}
			if cell == "" || !ok[i] {
				continue
			}
			id, reason := ParseChatID(cell)
			if reason != "" {
				ok[i] = false
				continue
			}
			large[i] = large[i] || id >= minLikelyID || id <= -minLikelyID
		}
	}
	var out []string
	for i := range n {
		if ok[i] && large[i] && i < len(rd.header) {
			out = append(out, rd.header[i])
		}
	}
	return out
}

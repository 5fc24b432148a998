package importer

import (
	"bufio"
	"io"
	"strings"
)

// openIDList reads ids separated by whitespace, commas or semicolons, one "row" per id
// so that each bad token is reported with its line.
func openIDList(r io.Reader, lim Limits) (*Reader, error) {
	enc := new(Encoding)
	text, err := decodeText(r, enc)
	if err != nil {
		return nil, readErr(err)
	}
	sc := bufio.NewScanner(text)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	return newReader(&idListSource{sc: sc}, Summary{Format: FormatIDList}, enc, false, lim)
}

type idListSource struct {
	sc     *bufio.Scanner
	line   int
	tokens []string
	row    [1]string
}

func (s *idListSource) next() ([]string, int, error) {
	for len(s.tokens) == 0 {
		if !s.sc.Scan() {
			if err := s.sc.Err(); err != nil {
				return nil, 0, err
			}
			return nil, 0, io.EOF
		}
		s.line++
		s.tokens = strings.FieldsFunc(s.sc.Text(), func(r rune) bool {
			return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\r' || r == '\u00A0'
		})
	}
	s.row[0], s.tokens = s.tokens[0], s.tokens[1:]
	return s.row[:], s.line, nil
}

func (s *idListSource) close() error { return nil }

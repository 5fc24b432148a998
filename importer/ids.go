package importer

import (
	"regexp"
	"strconv"
	"strings"
)

// exponentRE matches a number in exponent notation as Excel writes it ("1.23457E+11",
// "1,23457E+11" in Russian locales).
var exponentRE = regexp.MustCompile(`^[+-]?[0-9]+([.,][0-9]+)?[eE][+-]?[0-9]+$`)

// ParseChatID parses a recipient id as admins type or export it: an optional sign and
// digits, allowing digit grouping with spaces or apostrophes (Excel in Russian locales
// writes "123 456 789" with no-break spaces) and a zero fraction ("123.0", "123,00"). Exponent
// notation ("1.23457E+11") is refused with ReasonExcelDigits: it is how Excel displays,
// and exports to CSV, a long number in a General column, its last digits already lost.
// Negative ids are group chats and allowed; 0 is not an id.
func ParseChatID(s string) (int64, Reason) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		var ok bool
		if id, ok, err = parseLooseInt(s); !ok {
			if exponentRE.MatchString(s) {
				return 0, ReasonExcelDigits
			}
			return 0, ReasonNotNumeric
		}
	}
	if err != nil {
		return 0, ReasonOutOfRange
	}
	if id == 0 {
		return 0, ReasonZeroID
	}
	return id, ""
}

// parseLooseInt handles the spellings strconv.ParseInt refuses; ok is false when s is
// not an integer at all. Digit groups must be well-formed (1–3 digits, then groups of
// exactly 3), so "1234567 7654321" — two ids in one cell — is refused, not glued.
func parseLooseInt(s string) (int64, bool, error) {
	if i := strings.IndexAny(s, ".,"); i >= 0 {
		frac := s[i+1:]
		// "1,000" is a thousands separator as often as a decimal comma: refuse it.
		if frac == "" || strings.Trim(frac, "0") != "" || (s[i] == ',' && len(frac) == 3) {
			return 0, false, nil
		}
		s = s[:i]
	}
	sign := ""
	if s != "" && (s[0] == '+' || s[0] == '-') {
		sign, s = s[:1], s[1:]
	}
	groups := strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '\u00A0' || r == '\u202F' || r == '\u2009' || r == '\''
	})
	if len(groups) == 0 || strings.Join(groups, "") == "" {
		return 0, false, nil
	}
	var b strings.Builder
	b.WriteString(sign)
	for i, g := range groups {
		if (i == 0 && len(g) > 3 && len(groups) > 1) || (i > 0 && len(g) != 3) {
			return 0, false, nil
		}
		for _, r := range g {
			if r < '0' || r > '9' {
				return 0, false, nil
			}
		}
		b.WriteString(g)
	}
	id, err := strconv.ParseInt(b.String(), 10, 64)
	return id, true, err
}

package importer

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// NormalizeName turns a header cell into a variable name usable in a template as
// {{name}}: surrounding space trimmed, lower-cased, every run of characters that are
// not letters or digits (spaces, hyphens, dots, …) replaced by a single "_", and "_"
// trimmed from both ends. Letters and digits of any script are kept, so "Имя клиента"
// becomes "имя_клиента" and "First-Name" becomes "first_name". A cell with no letter
// or digit ("", "#", "№") normalises to "".
func NormalizeName(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	pendingSep := false
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if pendingSep && b.Len() > 0 {
				b.WriteByte('_')
			}
			pendingSep = false
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		pendingSep = true // "_" itself is a separator too, so "a__b" and "a _ b" agree
	}
	return b.String()
}

// MaxNameLength is the longest variable name, in characters; render.MaxNameLength
// refuses longer names in templates.
const MaxNameLength = 64

// ValidName reports whether s is a variable name as NormalizeName produces them: one or
// more lower-case letters or digits of any script, single "_" between them. Templates
// use it to recognise {{name}}.
func ValidName(s string) bool {
	return s != "" && utf8.RuneCountInString(s) <= MaxNameLength && NormalizeName(s) == s
}

// IDColumnNames are the normalised header names recognised as the recipient column, in
// order of preference when a file has several of them (the others become variables).
// The Russian ones are what admins name that column in Excel: "ID пользователя",
// "Телеграм ID", "ИД", "Айди", "Идентификатор", "ID чата".
var IDColumnNames = []string{
	"chat_id", "user_id", "telegram_id", "tg_id", "id",
	"chatid", "userid", "telegramid", "tgid",
	"id_чата", "ид_чата", "чат_id", "чат_ид",
	"id_пользователя", "ид_пользователя", "пользователь_id",
	"телеграм_id", "телеграм_ид", "id_телеграм", "ид_телеграм", "telegram_ид",
	"ид", "айди", "идентификатор",
}

// idColumn returns the index of the recipient column among normalised names, or -1.
func idColumn(names []string) int {
	for _, want := range IDColumnNames {
		for i, n := range names {
			if n == want {
				return i
			}
		}
	}
	return -1
}

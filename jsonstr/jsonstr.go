// Package jsonstr is Herald's one JSON string escaper, for the two hot paths that
// write JSON by hand instead of through encoding/json: the importer's recipient
// variables (a COPY into jsonb per row) and the delivery engine's sendMessage bodies.
// Both need the same escaping; they differ only in what a NUL becomes, so that is a
// parameter.
package jsonstr

import "unicode/utf8"

// NUL says what Append does with a U+0000 character.
type NUL bool

const (
	// EscapeNUL writes it as \u0000, which JSON allows (Telegram's request bodies).
	EscapeNUL NUL = false
	// DropNUL leaves it out: PostgreSQL's jsonb refuses \u0000.
	DropNUL NUL = true
)

const hexDigits = "0123456789abcdef"

// safe[c] is whether ASCII byte c is written as it is.
var safe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// Append appends s to dst as a JSON string. Invalid UTF-8 becomes U+FFFD, one per bad
// byte, as encoding/json does (neither Telegram nor jsonb accept it); nul decides
// what a NUL becomes.
func Append(dst []byte, s string, nul NUL) []byte {
	if !utf8.ValidString(s) {
		return appendInvalid(dst, s, nul)
	}
	// Valid UTF-8 (the usual case): every byte ≥ 0x80 belongs to a character that is
	// written as it is, so one pass over the bytes suffices.
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || safe[c] {
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = appendEscaped(dst, c, nul)
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendInvalid is Append for a string with invalid UTF-8.
func appendInvalid(dst []byte, s string, nul NUL) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if !safe[c] {
				dst = append(dst, s[start:i]...)
				dst = appendEscaped(dst, c, nul)
				start = i + 1
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\uFFFD"...)
			start = i + 1
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendEscaped writes ASCII byte c, which is not written as it is.
func appendEscaped(dst []byte, c byte, nul NUL) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	case 0:
		if nul == DropNUL {
			return dst
		}
	}
	return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
}

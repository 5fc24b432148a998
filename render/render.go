// Package render turns a stored template into the message one recipient receives.
//
// A template is text plus Telegram entities (bold, links, …) whose offsets and lengths
// count UTF-16 code units, as the Bot API defines them. Variables are written
// {{name}} or {{name|default}}. Substituting a value changes the text's length, so every
// entity after (or around) a variable must move by the UTF-16 length difference; an
// entity that encloses a variable grows or shrinks with it. Parse does the expensive work
// once; Render is then a linear pass per recipient, cheap enough for the delivery lanes.
package render

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/mymmrac/telego"
	tu "github.com/mymmrac/telego/telegoutil"
)

// Var is a variable a template uses.
type Var struct {
	Name    string
	Default string
	// HasDefault is true when every use of the variable gives a default, so a recipient
	// without a value still gets a sensible text.
	HasDefault bool
}

// SyntaxError reports a malformed {{…}} placeholder or an entity that does not fit the
// text. Offset is in UTF-16 code units, like entity offsets.
type SyntaxError struct {
	Offset int
	Reason string // one of the Reason* constants
	Detail string // the offending placeholder or entity type
}

// Reasons a template is refused; flows turn them into localized messages.
const (
	ReasonUnclosed    = "unclosed"     // "{{" without "}}"
	ReasonEmptyName   = "empty_name"   // "{{}}" or "{{|x}}"
	ReasonBadName     = "bad_name"     // characters other than letters, digits, "_"
	ReasonEntityRange = "entity_range" // an entity outside the text or splitting a character
)

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("template syntax: %s at UTF-16 offset %d: %q", e.Reason, e.Offset, e.Detail)
}

// MaxNameLength bounds a variable name.
const MaxNameLength = 64

// Template is a parsed template, safe for concurrent use.
type Template struct {
	segments []segment
	entities []telego.MessageEntity
	vars     []Var
	// literal16 is the UTF-16 length of all literal segments, to size outputs.
	literalLen int
}

type segment struct {
	literal string // when !isVar
	isVar   bool
	name    string
	def     string
	start16 int // placeholder (or literal) position in the source, UTF-16 units
	end16   int
}

// Parse splits text into literals and variables and checks entities against the text.
func Parse(text string, entities []telego.MessageEntity) (*Template, error) {
	text = validUTF8(text)
	t := &Template{}
	pos16 := 0 // UTF-16 offset of text[i]
	i := 0
	litStart, litStart16 := 0, 0
	flush := func(end, end16 int) {
		if end > litStart {
			t.segments = append(t.segments, segment{literal: text[litStart:end], start16: litStart16, end16: end16})
			t.literalLen += len(text[litStart:end])
		}
	}
	seen := map[string]int{}
	for i < len(text) {
		if strings.HasPrefix(text[i:], "{{") {
			closeAt := strings.Index(text[i+2:], "}}")
			if closeAt < 0 {
				return nil, &SyntaxError{Offset: pos16, Reason: ReasonUnclosed, Detail: clip(text[i:])}
			}
			inner := text[i+2 : i+2+closeAt]
			placeholder := text[i : i+2+closeAt+2]
			name, def, hasDef := strings.Cut(inner, "|")
			name = strings.TrimSpace(name)
			if name == "" {
				return nil, &SyntaxError{Offset: pos16, Reason: ReasonEmptyName, Detail: placeholder}
			}
			if !validName(name) {
				return nil, &SyntaxError{Offset: pos16, Reason: ReasonBadName, Detail: placeholder}
			}
			name = strings.ToLower(name)
			flush(i, pos16)
			end16 := pos16 + UTF16Len(placeholder)
			t.segments = append(t.segments, segment{isVar: true, name: name, def: def, start16: pos16, end16: end16})
			if k, ok := seen[name]; ok {
				t.vars[k].HasDefault = t.vars[k].HasDefault && hasDef
			} else {
				seen[name] = len(t.vars)
				t.vars = append(t.vars, Var{Name: name, Default: def, HasDefault: hasDef})
			}
			i += len(placeholder)
			pos16 = end16
			litStart, litStart16 = i, pos16
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		i += size
		pos16 += utf16.RuneLen(r)
	}
	flush(len(text), pos16)
	total16 := pos16
	for _, e := range entities {
		if e.Offset < 0 || e.Length <= 0 || e.Offset+e.Length > total16 ||
			splitsPair(text, e.Offset) || splitsPair(text, e.Offset+e.Length) {
			return nil, &SyntaxError{Offset: e.Offset, Reason: ReasonEntityRange, Detail: e.Type}
		}
	}
	t.entities = append([]telego.MessageEntity(nil), entities...)
	return t, nil
}

// Vars lists the template's variables in order of first use.
func (t *Template) Vars() []Var { return append([]Var(nil), t.vars...) }

// Entities returns the template's own entities (unrendered).
func (t *Template) Entities() []telego.MessageEntity {
	return append([]telego.MessageEntity(nil), t.entities...)
}

// Render substitutes values (a missing or empty value falls back to the default, then to
// the empty string) and returns the text with its entities moved accordingly. Entities
// left empty by the substitution are dropped, since Telegram refuses them.
func (t *Template) Render(values map[string]string) (string, []telego.MessageEntity) {
	var b strings.Builder
	b.Grow(t.literalLen + 16*len(t.vars))
	// outStart16[k], outEnd16[k]: segment k's position in the output.
	type span struct{ start, end int }
	var stackSpans [16]span
	spans := stackSpans[:0]
	out16 := 0
	for _, s := range t.segments {
		start := out16
		if s.isVar {
			v := validUTF8(values[s.name])
			if v == "" {
				v = s.def
			}
			b.WriteString(v)
			out16 += UTF16Len(v)
		} else {
			b.WriteString(s.literal)
			out16 += s.end16 - s.start16
		}
		spans = append(spans, span{start, out16})
	}
	if len(t.entities) == 0 {
		return b.String(), nil
	}
	// mapPos moves a source offset to the output. Inside a literal it keeps its distance
	// from the literal's start; inside a placeholder it snaps to the variable's start (for
	// an entity's start) or end (for its end), so the entity covers the whole value.
	mapPos := func(p int, isEnd bool) int {
		lo, hi := 0, len(t.segments)
		for lo < hi { // first segment whose end16 > p (or == p for ends)
			mid := (lo + hi) / 2
			if t.segments[mid].end16 < p || (!isEnd && t.segments[mid].end16 == p) {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		if lo == len(t.segments) {
			return out16
		}
		s := t.segments[lo]
		if !s.isVar {
			return spans[lo].start + (p - s.start16)
		}
		if p <= s.start16 {
			return spans[lo].start
		}
		if isEnd || p >= s.end16 {
			return spans[lo].end
		}
		return spans[lo].start
	}
	entities := make([]telego.MessageEntity, 0, len(t.entities))
	for _, e := range t.entities {
		start := mapPos(e.Offset, false)
		end := mapPos(e.Offset+e.Length, true)
		if end <= start {
			continue
		}
		e.Offset, e.Length = start, end-start
		entities = append(entities, e)
	}
	return b.String(), entities
}

// validUTF8 replaces every byte that is not part of valid UTF-8 with U+FFFD, one for
// one, so lengths in UTF-16 units stay the same (an invalid byte counts as one unit, as
// U+FFFD does). Without it, invalid fragments of a template and of a value could fuse
// into one character when put side by side, and every later entity would be off by
// one (found by FuzzRender). Telegram and PostgreSQL carry valid UTF-8 only; this
// guards against what a direct caller passes.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// UTF16Len is the length of s in UTF-16 code units, the unit of Telegram's limits and
// entity offsets: telego's count (tu.UTF16TextLen), under the name flows and the
// renderer use. For valid UTF-8, which is all Render measures (see validUTF8) and all
// Telegram sends, it equals the length of utf16.Encode.
func UTF16Len(s string) int { return tu.UTF16TextLen(s) }

// splitsPair reports whether UTF-16 offset p falls between the two halves of a
// surrogate pair in s.
func splitsPair(s string, p int) bool {
	pos := 0
	for _, r := range s {
		if pos >= p {
			return false
		}
		w := 1
		if r >= 0x10000 {
			w = 2
		}
		if pos+w > p {
			return true
		}
		pos += w
	}
	return false
}

func validName(name string) bool {
	if utf8.RuneCountInString(name) > MaxNameLength {
		return false
	}
	for _, r := range name {
		if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	cut := 40
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

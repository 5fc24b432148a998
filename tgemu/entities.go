package tgemu

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/mymmrac/telego"
)

// utf16Len counts UTF-16 code units: the unit of entity offsets and, in
// the emulator, of the length limits.
func utf16Len(s string) int {
	n := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			n++
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		n += utf16.RuneLen(r) // an invalid byte is U+FFFD: one unit
	}
	return n
}

var knownEntityTypes = map[string]bool{
	"mention": true, "hashtag": true, "cashtag": true, "bot_command": true, "url": true, "email": true,
	"phone_number": true, "bold": true, "italic": true, "underline": true, "strikethrough": true,
	"spoiler": true, "blockquote": true, "expandable_blockquote": true, "code": true, "pre": true,
	"text_link": true, "text_mention": true, "custom_emoji": true,
}

// formatText applies parse_mode, or validates explicit entities. Errors
// carry Telegram's "can't parse entities: …" prefix.
func formatText(text, mode string, ents []telego.MessageEntity) (string, []telego.MessageEntity, *apiError) {
	var err error
	switch strings.ToLower(mode) {
	case "":
		if len(ents) == 0 {
			return text, nil, nil
		}
		n := utf16Len(text)
		for _, e := range ents {
			if !knownEntityTypes[e.Type] {
				return "", nil, badRequest("can't parse entities: unsupported entity type \"" + e.Type + "\"")
			}
			if e.Offset < 0 || e.Length <= 0 || e.Offset+e.Length > n {
				return "", nil, badRequest("can't parse entities: entity beyond the end of text")
			}
			if e.Type == "text_link" && e.URL == "" {
				return "", nil, badRequest("can't parse entities: text_link entity without url")
			}
		}
		return text, slices.Clone(ents), nil
	case "html":
		text, ents, err = parseHTML(text)
	case "markdownv2":
		text, ents, err = parseMarkdown(text, true)
	case "markdown":
		text, ents, err = parseMarkdown(text, false)
	default:
		return "", nil, badRequest("unsupported parse_mode")
	}
	if err != nil {
		return "", nil, badRequest("can't parse entities: " + err.Error())
	}
	sortEntities(ents)
	return text, ents, nil
}

func sortEntities(ents []telego.MessageEntity) {
	slices.SortStableFunc(ents, func(a, b telego.MessageEntity) int {
		if a.Offset != b.Offset {
			return a.Offset - b.Offset
		}
		return b.Length - a.Length
	})
}

// textBuilder accumulates parsed text and tracks its UTF-16 length.
type textBuilder struct {
	sb  strings.Builder
	pos int // UTF-16 units written
}

func (t *textBuilder) writeRune(r rune) {
	t.sb.WriteRune(r)
	t.pos += utf16.RuneLen(r)
}

// writeFrom copies one UTF-8 sequence of s at i and returns its size.
func (t *textBuilder) writeFrom(s string, i int) int {
	if s[i] < utf8.RuneSelf {
		t.sb.WriteByte(s[i])
		t.pos++
		return 1
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	t.sb.WriteString(s[i : i+size])
	t.pos += utf16.RuneLen(r)
	return size
}

type openTag struct {
	name  string
	start int // UTF-16 offset in the output
	attr  string
	lang  string // pre: language taken from a nested <code class="language-…">
}

var htmlTags = map[string]string{
	"b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
	"s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "tg-spoiler": "spoiler",
	"span": "spoiler", "a": "text_link", "code": "code", "pre": "pre", "blockquote": "blockquote",
	"tg-emoji": "custom_emoji",
}

// parseHTML follows Telegram's (TDLib's) HTML rules and error texts.
func parseHTML(s string) (string, []telego.MessageEntity, error) {
	var out textBuilder
	var stack []openTag
	var ents []telego.MessageEntity
	for i := 0; i < len(s); {
		c := s[i]
		if c == '&' {
			if r, n := htmlEntity(s[i:]); n > 0 {
				out.writeRune(r)
				i += n
				continue
			}
			out.writeFrom(s, i)
			i++
			continue
		}
		if c != '<' {
			i += out.writeFrom(s, i)
			continue
		}
		begin := i
		i++
		if i < len(s) && s[i] == '/' { // end tag
			i++
			j := i
			for j < len(s) && s[j] != '>' {
				j++
			}
			if j == len(s) {
				return "", nil, fmt.Errorf("Unclosed end tag at byte offset %d", begin)
			}
			name := strings.ToLower(strings.TrimSpace(s[i:j]))
			i = j + 1
			if len(stack) == 0 {
				return "", nil, fmt.Errorf("Unexpected end tag at byte offset %d", begin)
			}
			top := stack[len(stack)-1]
			if name != top.name {
				return "", nil, fmt.Errorf("Unmatched end tag at byte offset %d, expected \"</%s>\", found \"</%s>\"", begin, top.name, name)
			}
			stack = stack[:len(stack)-1]
			length := out.pos - top.start
			if top.name == "code" && top.lang != "" && len(stack) > 0 && stack[len(stack)-1].name == "pre" {
				stack[len(stack)-1].lang = top.lang // <pre><code class="language-x">: one pre entity
				continue
			}
			if length == 0 {
				continue
			}
			e := telego.MessageEntity{Type: htmlTags[top.name], Offset: top.start, Length: length}
			switch top.name {
			case "a":
				if uid, ok := strings.CutPrefix(top.attr, "tg://user?id="); ok {
					id, _ := strconv.ParseInt(uid, 10, 64)
					e.Type, e.User = "text_mention", &telego.User{ID: id}
				} else {
					e.URL = top.attr
				}
			case "pre":
				e.Language = top.lang
			case "tg-emoji":
				e.CustomEmojiID = top.attr
			case "blockquote":
				if top.attr == "expandable" {
					e.Type = "expandable_blockquote"
				}
			}
			ents = append(ents, e)
			continue
		}
		// start tag
		j := i
		for j < len(s) && s[j] != ' ' && s[j] != '>' && s[j] != '\t' && s[j] != '\n' && s[j] != '/' {
			j++
		}
		if j == len(s) {
			return "", nil, fmt.Errorf("Unclosed start tag at byte offset %d", begin)
		}
		name := strings.ToLower(s[i:j])
		if _, ok := htmlTags[name]; !ok {
			return "", nil, fmt.Errorf("Unsupported start tag \"%s\" at byte offset %d", name, begin)
		}
		attrs := map[string]string{}
		i = j
		for {
			for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '/') {
				i++
			}
			if i == len(s) {
				return "", nil, fmt.Errorf("Unclosed start tag at byte offset %d", begin)
			}
			if s[i] == '>' {
				i++
				break
			}
			k := i
			for i < len(s) && s[i] != '=' && s[i] != ' ' && s[i] != '>' {
				i++
			}
			key := strings.ToLower(s[k:i])
			val := ""
			if i < len(s) && s[i] == '=' {
				i++
				if i == len(s) {
					return "", nil, fmt.Errorf("Unclosed start tag at byte offset %d", begin)
				}
				if q := s[i]; q == '"' || q == '\'' {
					end := strings.IndexByte(s[i+1:], q)
					if end < 0 {
						return "", nil, fmt.Errorf("Unclosed start tag at byte offset %d", begin)
					}
					val = htmlUnescape(s[i+1 : i+1+end])
					i += end + 2
				} else {
					v := i
					for i < len(s) && s[i] != ' ' && s[i] != '>' {
						i++
					}
					val = htmlUnescape(s[v:i])
				}
			}
			attrs[key] = val
		}
		t := openTag{name: name, start: out.pos}
		switch name {
		case "a":
			t.attr = attrs["href"]
		case "span":
			if attrs["class"] != "tg-spoiler" {
				return "", nil, fmt.Errorf("Tag \"span\" must have class \"tg-spoiler\" at byte offset %d", begin)
			}
		case "code":
			t.lang, _ = strings.CutPrefix(attrs["class"], "language-")
		case "tg-emoji":
			t.attr = attrs["emoji-id"]
		case "blockquote":
			if _, ok := attrs["expandable"]; ok {
				t.attr = "expandable"
			}
		}
		stack = append(stack, t)
	}
	if len(stack) > 0 {
		return "", nil, fmt.Errorf("Can't find end tag corresponding to start tag \"%s\"", stack[len(stack)-1].name)
	}
	return out.sb.String(), ents, nil
}

// htmlEntity decodes &lt; &gt; &amp; &quot; and numeric references; TDLib
// keeps any other '&' literally.
func htmlEntity(s string) (rune, int) {
	end := strings.IndexByte(s, ';')
	if end < 2 || end > 10 {
		return 0, 0
	}
	name := s[1:end]
	switch name {
	case "lt":
		return '<', end + 1
	case "gt":
		return '>', end + 1
	case "amp":
		return '&', end + 1
	case "quot":
		return '"', end + 1
	}
	if name[0] == '#' {
		var v uint64
		var err error
		if len(name) > 1 && (name[1] == 'x' || name[1] == 'X') {
			v, err = strconv.ParseUint(name[2:], 16, 32)
		} else {
			v, err = strconv.ParseUint(name[1:], 10, 32)
		}
		if err == nil && v > 0 && v <= utf8.MaxRune {
			return rune(v), end + 1
		}
	}
	return 0, 0
}

func htmlUnescape(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] == '&' {
			if r, n := htmlEntity(s[i:]); n > 0 {
				b.WriteRune(r)
				i += n
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

type mdOpen struct {
	marker string
	typ    string
	name   string // TDLib's entity name, used in error texts
	byteAt int
	start  int
}

const mdV2Reserved = "_*[]()~`>#+-=|{}.!"

// parseMarkdown implements MarkdownV2 (v2=true) and legacy Markdown.
func parseMarkdown(s string, v2 bool) (string, []telego.MessageEntity, error) {
	var out textBuilder
	var stack []mdOpen
	var ents []telego.MessageEntity
	quoteOpen, quoteStart := false, 0
	closeQuote := func() {
		if quoteOpen && out.pos > quoteStart {
			ents = append(ents, telego.MessageEntity{Type: "blockquote", Offset: quoteStart, Length: out.pos - quoteStart})
		}
		quoteOpen = false
	}
	find := func(marker string) int {
		for k := len(stack) - 1; k >= 0; k-- {
			if stack[k].marker == marker {
				return k
			}
		}
		return -1
	}
	for i := 0; i < len(s); {
		c := s[i]
		lineStart := i == 0 || s[i-1] == '\n'
		if c == '\\' && i+1 < len(s) && (v2 && s[i+1] > 0 && s[i+1] < 127 || !v2 && strings.IndexByte("_*`[", s[i+1]) >= 0) {
			out.writeFrom(s, i+1)
			i += 2
			continue
		}
		if v2 && c == '>' && lineStart {
			if !quoteOpen {
				quoteOpen, quoteStart = true, out.pos
			}
			i++
			continue
		}
		if c == '\n' && quoteOpen && (i+1 >= len(s) || s[i+1] != '>') {
			closeQuote()
		}
		switch {
		case c == '`':
			begin := i
			pre := strings.HasPrefix(s[i:], "```")
			marker, typ, name := "`", "code", "Code"
			if pre {
				marker, typ, name = "```", "pre", "Pre"
			}
			i += len(marker)
			lang := ""
			if pre {
				if nl := strings.IndexByte(s[i:], '\n'); nl >= 0 && !strings.ContainsAny(s[i:i+nl], " `") {
					lang = s[i : i+nl]
					i += nl + 1
				}
			}
			start := out.pos
			closed := false
			for i < len(s) {
				if strings.HasPrefix(s[i:], marker) {
					closed = true
					i += len(marker)
					break
				}
				if v2 && s[i] == '\\' && i+1 < len(s) && (s[i+1] == '`' || s[i+1] == '\\') {
					i++
				}
				i += out.writeFrom(s, i)
			}
			if !closed {
				if v2 {
					return "", nil, fmt.Errorf("Can't find end of %s entity at byte offset %d", name, begin)
				}
				return "", nil, fmt.Errorf("Can't find end of the entity starting at byte offset %d", begin)
			}
			if out.pos > start {
				ents = append(ents, telego.MessageEntity{Type: typ, Offset: start, Length: out.pos - start, Language: lang})
			}
			continue
		case c == '[':
			stack = append(stack, mdOpen{marker: "[", typ: "text_link", name: "TextUrl", byteAt: i, start: out.pos})
			i++
			continue
		case c == ']' && find("[") >= 0 && stack[len(stack)-1].marker == "[":
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			i++
			link := ""
			if i < len(s) && s[i] == '(' {
				end := strings.IndexByte(s[i:], ')')
				if end < 0 {
					return "", nil, fmt.Errorf("Can't find end of a URL at byte offset %d", i)
				}
				link = strings.ReplaceAll(s[i+1:i+end], `\)`, ")")
				i += end + 1
			}
			if link != "" && out.pos > top.start {
				ents = append(ents, telego.MessageEntity{Type: "text_link", Offset: top.start, Length: out.pos - top.start, URL: link})
			}
			continue
		}
		marker, typ, name := "", "", ""
		switch {
		case c == '*':
			marker, typ, name = "*", "bold", "Bold"
		case c == '_' && v2 && strings.HasPrefix(s[i:], "__"):
			marker, typ, name = "__", "underline", "Underline"
		case c == '_':
			marker, typ, name = "_", "italic", "Italic"
		case c == '~' && v2:
			marker, typ, name = "~", "strikethrough", "Strikethrough"
		case c == '|' && v2 && strings.HasPrefix(s[i:], "||"):
			marker, typ, name = "||", "spoiler", "Spoiler"
		}
		if marker == "" {
			if v2 && strings.IndexByte(mdV2Reserved, c) >= 0 {
				return "", nil, fmt.Errorf("Character '%c' is reserved and must be escaped with the preceding '\\'", c)
			}
			i += out.writeFrom(s, i)
			continue
		}
		if k := find(marker); k >= 0 {
			if k != len(stack)-1 && !v2 {
				return "", nil, fmt.Errorf("Can't find end of the entity starting at byte offset %d", stack[len(stack)-1].byteAt)
			}
			top := stack[k]
			stack = slices.Delete(stack, k, k+1)
			if out.pos > top.start {
				ents = append(ents, telego.MessageEntity{Type: top.typ, Offset: top.start, Length: out.pos - top.start})
			}
		} else {
			if !v2 && len(stack) > 0 {
				// Legacy Markdown does not nest: the marker is literal text.
				out.writeFrom(s, i)
				i++
				continue
			}
			stack = append(stack, mdOpen{marker: marker, typ: typ, name: name, byteAt: i, start: out.pos})
		}
		i += len(marker)
	}
	closeQuote()
	if len(stack) > 0 {
		top := stack[len(stack)-1]
		if v2 {
			return "", nil, fmt.Errorf("Can't find end of %s entity at byte offset %d", top.name, top.byteAt)
		}
		return "", nil, fmt.Errorf("Can't find end of the entity starting at byte offset %d", top.byteAt)
	}
	return out.sb.String(), ents, nil
}

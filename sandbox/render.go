package sandbox

import (
	"fmt"
	"html"
	"net/url"
	"slices"
	"strings"
	"unicode/utf16"

	"github.com/mymmrac/telego"
)

// FormatHTML renders a message text with its entities as HTML, the way a Telegram
// client shows it. Every character of text is escaped, so a template containing
// <script> shows as those characters. Offsets and lengths count UTF-16 code units, as
// in the Bot API; entities that overlap without nesting are split so the HTML stays
// well formed, and entities outside the text are clipped.
func FormatHTML(text string, entities []telego.MessageEntity) string {
	units := utf16.Encode([]rune(text))
	spans := clipEntities(units, entities)
	// Boundaries are every entity edge; between two boundaries the set of open
	// entities does not change.
	bounds := []int{0, len(units)}
	for _, s := range spans {
		bounds = append(bounds, s.start, s.end)
	}
	slices.Sort(bounds)
	bounds = slices.Compact(bounds)

	var b strings.Builder
	var open []span // the stack of open tags, outermost first
	for i, at := range bounds {
		// Close what ends here; entities above them on the stack close too and are
		// reopened, which is how partial overlaps become nesting.
		if k := slices.IndexFunc(open, func(s span) bool { return s.end <= at }); k >= 0 {
			for j := len(open) - 1; j >= k; j-- {
				b.WriteString(open[j].closeTag())
			}
			var reopen []span
			for _, s := range open[k:] {
				if s.end > at {
					reopen = append(reopen, s)
				}
			}
			open = open[:k]
			for _, s := range reopen {
				b.WriteString(s.openTag(units))
				open = append(open, s)
			}
		}
		for _, s := range spans { // spans are sorted: outer (longer) first
			if s.start == at && s.end > at {
				b.WriteString(s.openTag(units))
				open = append(open, s)
			}
		}
		if i+1 < len(bounds) {
			b.WriteString(html.EscapeString(string(utf16.Decode(units[at:bounds[i+1]]))))
		}
	}
	for j := len(open) - 1; j >= 0; j-- {
		b.WriteString(open[j].closeTag())
	}
	return b.String()
}

// span is an entity in UTF-16 units, clipped to the text.
type span struct {
	start, end int
	e          telego.MessageEntity
}

func clipEntities(units []uint16, entities []telego.MessageEntity) []span {
	var spans []span
	for _, e := range entities {
		start, end := max(e.Offset, 0), min(e.Offset+e.Length, len(units))
		// Never split a surrogate pair: the half would decode as U+FFFD.
		if start > 0 && start < len(units) && utf16.IsSurrogate(rune(units[start])) && units[start] >= 0xDC00 {
			start--
		}
		if end > 0 && end < len(units) && utf16.IsSurrogate(rune(units[end])) && units[end] >= 0xDC00 {
			end++
		}
		if start < end && tagName(e.Type) != "" {
			spans = append(spans, span{start, end, e})
		}
	}
	slices.SortStableFunc(spans, func(a, b span) int {
		if a.start != b.start {
			return a.start - b.start
		}
		return b.end - a.end
	})
	return spans
}

func tagName(typ string) string {
	switch typ {
	case "bold":
		return "b"
	case "italic":
		return "i"
	case "underline":
		return "u"
	case "strikethrough":
		return "s"
	case "code":
		return "code"
	case "pre":
		return "pre"
	case "blockquote", "expandable_blockquote":
		return "blockquote"
	case "text_link", "url", "email":
		return "a"
	case "spoiler", "mention", "text_mention", "hashtag", "cashtag", "bot_command", "phone_number", "custom_emoji":
		return "span"
	}
	return ""
}

func (s span) openTag(units []uint16) string {
	e := s.e
	switch e.Type {
	case "pre":
		if e.Language != "" {
			return `<pre data-lang="` + html.EscapeString(e.Language) + `">`
		}
		return "<pre>"
	case "text_link", "url", "email":
		target := e.URL
		if e.Type != "text_link" {
			target = string(utf16.Decode(units[s.start:s.end]))
		}
		if href := safeHref(e.Type, target); href != "" {
			return `<a href="` + html.EscapeString(href) + `" target="_blank" rel="noopener noreferrer">`
		}
		return `<a>` // not a link we would follow: shown, not clickable
	case "bot_command":
		cmd := string(utf16.Decode(units[s.start:s.end]))
		return `<span class="cmd" data-cmd="` + html.EscapeString(cmd) + `">`
	case "spoiler":
		return `<span class="spoiler">`
	case "text_mention", "mention":
		return `<span class="mention">`
	case "hashtag", "cashtag", "phone_number", "custom_emoji":
		return `<span class="` + e.Type + `">`
	}
	return "<" + tagName(e.Type) + ">"
}

func (s span) closeTag() string { return "</" + tagName(s.e.Type) + ">" }

// safeHref allows http(s), tg and mailto targets only: a link is never javascript:.
func safeHref(typ, target string) string {
	if typ == "email" {
		return "mailto:" + target
	}
	if typ == "url" && !strings.Contains(target, "://") {
		target = "https://" + target
	}
	u, err := url.Parse(target)
	if err != nil {
		return ""
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "tg", "mailto":
		return u.String()
	}
	return ""
}

// Button is one inline keyboard button as the web chat lays it out.
type Button struct {
	Text string
	Data string // callback data: pressing sends a callback query
	URL  string // opens a page
}

// KeyboardRows lays out an inline keyboard: Telegram keeps the bot's rows and gives the
// buttons of a row equal widths. Buttons of kinds a web page cannot act on (login,
// inline queries, games, payments) are kept, inert, so the layout matches.
func KeyboardRows(m *telego.InlineKeyboardMarkup) [][]Button {
	if m == nil {
		return nil
	}
	var rows [][]Button
	for _, row := range m.InlineKeyboard {
		var out []Button
		for _, b := range row {
			out = append(out, Button{Text: b.Text, Data: b.CallbackData, URL: safeHref("text_link", b.URL)})
		}
		if len(out) > 0 {
			rows = append(rows, out)
		}
	}
	return rows
}

func keyboardHTML(m *telego.InlineKeyboardMarkup) string {
	rows := KeyboardRows(m)
	if len(rows) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(`<div class="kb">`)
	for _, row := range rows {
		b.WriteString(`<div class="kb-row">`)
		for _, btn := range row {
			text := html.EscapeString(btn.Text)
			switch {
			case btn.URL != "":
				fmt.Fprintf(&b, `<a class="kb-btn kb-url" href="%s" target="_blank" rel="noopener noreferrer">%s</a>`, html.EscapeString(btn.URL), text)
			case btn.Data != "":
				fmt.Fprintf(&b, `<button type="button" class="kb-btn" data-cb="%s">%s</button>`, html.EscapeString(btn.Data), text)
			default:
				fmt.Fprintf(&b, `<button type="button" class="kb-btn" disabled>%s</button>`, text)
			}
		}
		b.WriteString(`</div>`)
	}
	b.WriteString(`</div>`)
	return b.String()
}

// MessageHTML renders a whole message bubble's body: media, text or caption, keyboard.
// Files are linked through fileURL.
func MessageHTML(m telego.Message, fileURL func(fileID string) string) string {
	var b strings.Builder
	switch {
	case len(m.Photo) > 0:
		p := m.Photo[len(m.Photo)-1]
		fmt.Fprintf(&b, `<img class="photo" src="%s" alt="" loading="lazy">`, html.EscapeString(fileURL(p.FileID)))
	case m.Document != nil:
		writeDocument(&b, m.Document.FileName, m.Document.FileSize, fileURL(m.Document.FileID))
	case m.Video != nil:
		writeDocument(&b, m.Video.FileName, m.Video.FileSize, fileURL(m.Video.FileID))
	case m.Contact != nil:
		fmt.Fprintf(&b, `<div class="contact">👤 %s %s</div>`, html.EscapeString(m.Contact.FirstName), html.EscapeString(m.Contact.PhoneNumber))
	}
	text, ents := m.Text, m.Entities
	if text == "" {
		text, ents = m.Caption, m.CaptionEntities
	}
	if text != "" {
		b.WriteString(`<div class="text">`)
		b.WriteString(FormatHTML(text, ents))
		b.WriteString(`</div>`)
	}
	b.WriteString(keyboardHTML(m.ReplyMarkup))
	return b.String()
}

func writeDocument(b *strings.Builder, name string, size int64, href string) {
	if name == "" {
		name = "file"
	}
	ext := strings.ToUpper(strings.TrimPrefix(name[strings.LastIndexByte(name, '.')+1:], "."))
	if len(ext) > 4 || !strings.Contains(name, ".") {
		ext = "FILE"
	}
	fmt.Fprintf(b, `<a class="doc" href="%s" download="%s"><span class="doc-icon">%s</span><span class="doc-meta"><span class="doc-name">%s</span><span class="doc-size">%s</span></span></a>`,
		html.EscapeString(href), html.EscapeString(name), html.EscapeString(ext), html.EscapeString(name), humanSize(size))
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

package render

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/mymmrac/telego"
)

// ButtonError names the line of a button list that is wrong and why.
type ButtonError struct {
	Line   int    // 1-based
	Reason string // one of the Button* constants
	Text   string // the line as written
}

// Reasons a button line is refused.
const (
	ButtonNoSeparator = "no_separator" // not "Text - https://…"
	ButtonEmptyText   = "empty_text"
	ButtonTextTooLong = "text_too_long"
	ButtonBadURL      = "bad_url"
	ButtonTooMany     = "too_many"
)

func (e *ButtonError) Error() string {
	return fmt.Sprintf("button line %d: %s: %q", e.Line, e.Reason, e.Text)
}

// Limits on URL buttons. Telegram allows 100 buttons per keyboard; a text longer than
// 64 characters is cut off by most clients.
const (
	MaxButtons          = 100
	MaxButtonTextLength = 64
)

// separators between a button's text and its URL. Phones and Macs often turn " - "
// into an en or em dash, so those are accepted too.
var separators = []string{" - ", " – ", " — "}

// ParseButtons reads one URL button per line, "Text - https://example.com", each on a
// row of its own. Blank lines are skipped.
func ParseButtons(text string) ([][]telego.InlineKeyboardButton, error) {
	var rows [][]telego.InlineKeyboardButton
	for n, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		lineNo := n + 1
		if len(rows) == MaxButtons {
			return nil, &ButtonError{Line: lineNo, Reason: ButtonTooMany, Text: clip(line)}
		}
		padded := " " + line // so "- https://…" (no text) is seen as a separator
		cut := -1
		sepLen := 0
		for _, sep := range separators {
			if i := strings.LastIndex(padded, sep); i > cut {
				cut, sepLen = i, len(sep)
			}
		}
		if cut < 0 {
			return nil, &ButtonError{Line: lineNo, Reason: ButtonNoSeparator, Text: clip(line)}
		}
		label := strings.TrimSpace(padded[:cut])
		link := strings.TrimSpace(padded[cut+sepLen:])
		if label == "" {
			return nil, &ButtonError{Line: lineNo, Reason: ButtonEmptyText, Text: clip(line)}
		}
		if utf8.RuneCountInString(label) > MaxButtonTextLength {
			return nil, &ButtonError{Line: lineNo, Reason: ButtonTextTooLong, Text: clip(line)}
		}
		if !validButtonURL(link) {
			return nil, &ButtonError{Line: lineNo, Reason: ButtonBadURL, Text: clip(line)}
		}
		rows = append(rows, []telego.InlineKeyboardButton{{Text: label, URL: link}})
	}
	return rows, nil
}

// validButtonURL accepts what Telegram accepts for URL buttons: http(s) with a host, and
// tg:// links.
func validButtonURL(s string) bool {
	if strings.ContainsAny(s, " \t") || len(s) > 2048 {
		return false
	}
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "http", "https":
		return u.Host != "" && !strings.HasPrefix(u.Host, ".") && strings.Contains(u.Hostname(), ".")
	case "tg":
		return u.Host != "" || u.Opaque != ""
	}
	return false
}

package api

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/mymmrac/telego"
	"golang.org/x/net/html"

	"herald/render"
)

// htmlEntityTypes are the tags of Telegram's HTML parse mode and their entity types.
var htmlEntityTypes = map[string]string{
	"b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
	"s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "code": "code", "pre": "pre",
	"a": "text_link", "tg-spoiler": "spoiler", "blockquote": "blockquote",
}

// fromHTML turns Telegram-HTML (parse_mode HTML) into text and entities, with offsets
// in UTF-16 code units as Telegram counts them, so an HTML template is stored exactly
// like one the admin typed with formatting in the bot.
func fromHTML(src string) (string, []telego.MessageEntity, error) {
	z := html.NewTokenizer(strings.NewReader(src))
	var text strings.Builder
	units := 0
	type open struct {
		tag string
		e   telego.MessageEntity
	}
	var stack []open
	var out []telego.MessageEntity
	for {
		switch z.Next() {
		case html.ErrorToken:
			if !errors.Is(z.Err(), io.EOF) {
				return "", nil, z.Err()
			}
			if len(stack) > 0 {
				return "", nil, fmt.Errorf("<%s> is not closed", stack[len(stack)-1].tag)
			}
			sort.SliceStable(out, func(i, j int) bool { return out[i].Offset < out[j].Offset })
			return text.String(), out, nil
		case html.TextToken:
			t := string(z.Text())
			text.WriteString(t)
			units += render.UTF16Len(t)
		case html.StartTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			typ := htmlEntityTypes[tag]
			e := telego.MessageEntity{Type: typ, Offset: units}
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				switch {
				case tag == "a" && string(k) == "href":
					e.URL = string(v)
				case tag == "span" && string(k) == "class" && string(v) == "tg-spoiler":
					e.Type = "spoiler"
				case tag == "blockquote" && string(k) == "expandable":
					e.Type = "expandable_blockquote"
				case tag == "code" && string(k) == "class" && strings.HasPrefix(string(v), "language-"):
					// <pre><code class="language-go">: the language belongs to the pre.
					if n := len(stack); n > 0 && stack[n-1].tag == "pre" {
						stack[n-1].e.Language = strings.TrimPrefix(string(v), "language-")
					}
				}
			}
			if e.Type == "" {
				return "", nil, fmt.Errorf("<%s> is not a tag Telegram formats", tag)
			}
			if tag == "a" && e.URL == "" {
				return "", nil, errors.New("<a> needs an href")
			}
			stack = append(stack, open{tag: tag, e: e})
		case html.EndTagToken:
			name, _ := z.TagName()
			n := len(stack)
			if n == 0 || stack[n-1].tag != string(name) {
				return "", nil, fmt.Errorf("</%s> closes nothing open", name)
			}
			o := stack[n-1]
			stack = stack[:n-1]
			if o.tag == "code" && n > 1 && stack[n-2].tag == "pre" {
				continue // the pre carries it
			}
			if o.e.Length = units - o.e.Offset; o.e.Length > 0 {
				out = append(out, o.e)
			}
		case html.SelfClosingTagToken:
			name, _ := z.TagName()
			return "", nil, fmt.Errorf("<%s/> is not a tag Telegram formats", name)
		}
	}
}

package flows

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/mymmrac/telego"

	"herald/render"
)

// FuzzFlowCallback decodes arbitrary callback data as a dialog button: never a panic,
// and whatever decodes re-encodes to data that decodes the same way.
func FuzzFlowCallback(f *testing.F) {
	f.Add(FlowCallback(123456, "save")[2:])
	f.Add("zz:drop:newtemplate")
	f.Add("-1:x")
	f.Add(":")
	f.Add("1:")
	f.Add("9999999999999:back")
	f.Fuzz(func(t *testing.T, rest string) {
		version, action, ok := parseFlowCallback(rest)
		if !ok {
			return
		}
		if version < 0 || action == "" {
			t.Fatalf("%q decoded to version %d, action %q", rest, version, action)
		}
		v2, a2, ok2 := parseFlowCallback(FlowCallback(version, action)[len(flowPrefix)+1:])
		if !ok2 || v2 != version || a2 != action {
			t.Fatalf("%q → (%d, %q) does not survive re-encoding: (%d, %q, %v)", rest, version, action, v2, a2, ok2)
		}
	})
}

// entityTypes are the types a received message can carry (automatic ones too).
var entityTypes = []string{"bold", "italic", "underline", "strikethrough", "spoiler", "code", "pre",
	"text_link", "text_mention", "custom_emoji", "blockquote", "expandable_blockquote",
	"url", "mention", "hashtag", "bot_command", "email", "phone_number", "cashtag"}

// entitiesFrom turns fuzz bytes into entities, four bytes each: type, offset, length,
// and a byte that scales offset and length (so long texts are reachable too).
func entitiesFrom(raw []byte) []telego.MessageEntity {
	var out []telego.MessageEntity
	for len(raw) >= 4 && len(out) < 200 {
		scale := int(raw[3]%8) + 1
		e := telego.MessageEntity{Type: entityTypes[int(raw[0])%len(entityTypes)],
			Offset: int(int8(raw[1])) * scale, Length: int(int8(raw[2])) * scale}
		if e.Type == "text_link" {
			e.URL = "https://example.org"
		}
		out = append(out, e)
		raw = raw[4:]
	}
	return out
}

// FuzzTemplateContent feeds the template builder's content step a received message's
// text and entities. An input is either refused with an expected error (never an
// internal one, never half-saved), or saved so that the stored draft renders, for any
// values, to a message within Telegram's length whose entities stay inside the text
// and never split a character.
func FuzzTemplateContent(f *testing.F) {
	f.Add("Hello, {{first_name|friend}}! 🎉", []byte{0, 0, 5, 0, 1, 7, 21, 0})
	f.Add("🇷🇺 {{a}}{{b}}", []byte{2, 1, 1, 0, 6, 5, 5, 0})
	f.Add(strings.Repeat("Я", 4096), []byte{0, 0, 127, 7})
	f.Add("{{unclosed", []byte{})
	f.Add("x", []byte{0, 0, 2, 0})
	f.Fuzz(func(t *testing.T, text string, raw []byte) {
		if !utf8.ValidString(text) {
			return // Telegram's JSON carries valid UTF-8 only
		}
		in := Input{Text: text, Entities: entitiesFrom(raw)}
		s := &Session{Flow: FlowTemplateNew}
		event, err := handleTemplateContent(context.Background(), &Turn{}, s, in)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) || fe.Code == CodeInternal {
				t.Fatalf("internal error for %q %+v: %v", text, in.Entities, err)
			}
			if len(s.draft) != 0 {
				t.Fatalf("refused input was saved: %s", s.draft)
			}
			return
		}
		if event != "composed" {
			t.Fatalf("event %q", event)
		}
		var d templateDraft
		if err := s.Load(&d); err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(in.Entities)
		got, _ := json.Marshal(d.Entities)
		if d.Body != text || string(got) != string(want) {
			t.Fatalf("draft %q %s differs from the message %q %s", d.Body, got, text, want)
		}
		tpl, err := render.Parse(d.Body, d.Entities)
		if err != nil {
			t.Fatalf("saved draft does not parse: %v", err)
		}
		if n := LongestLength(tpl); n > MaxTextLength {
			t.Fatalf("saved template renders to %d UTF-16 units", n)
		}
		for _, value := range []string{"", "🎉", "Анна-Мария", strings.Repeat("W", longestSampleLength)} {
			values := map[string]string{}
			for _, v := range tpl.Vars() {
				values[v.Name] = value
			}
			out, ents := tpl.Render(values)
			units := utf16.Encode([]rune(out))
			if len(units) > MaxTextLength {
				t.Fatalf("rendered %d UTF-16 units", len(units))
			}
			for _, e := range ents {
				if e.Offset < 0 || e.Length <= 0 || e.Offset+e.Length > len(units) {
					t.Fatalf("entity %+v outside %q", e, out)
				}
				for _, p := range []int{e.Offset, e.Offset + e.Length} {
					if p > 0 && p < len(units) && units[p] >= 0xDC00 && units[p] <= 0xDFFF {
						t.Fatalf("entity %+v splits a surrogate pair in %q", e, out)
					}
				}
			}
		}
	})
}

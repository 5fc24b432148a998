package render_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"

	"herald/render"
)

// slice16 returns the part of s an entity covers, counting UTF-16 units like Telegram.
func slice16(s string, offset, length int) string {
	u := utf16.Encode([]rune(s))
	return string(utf16.Decode(u[offset : offset+length]))
}

// entityAt builds an entity covering the first occurrence of part in s.
func entityAt(t *testing.T, typ, s, part string) telego.MessageEntity {
	t.Helper()
	i := strings.Index(s, part)
	require.GreaterOrEqual(t, i, 0, "%q not in %q", part, s)
	return telego.MessageEntity{Type: typ, Offset: render.UTF16Len(s[:i]), Length: render.UTF16Len(part)}
}

func TestRenderShiftsEntitiesInUTF16(t *testing.T) {
	t.Parallel()
	text := "🎉 Привет, {{first_name|друг}}! Скидка {{discount}} 🔥 на сайте и в {{city}}"
	entities := []telego.MessageEntity{
		entityAt(t, "bold", text, "Привет, {{first_name|друг}}!"), // encloses a variable
		entityAt(t, "italic", text, "🔥"),                          // after two variables
		entityAt(t, "text_link", text, "сайте"),
		entityAt(t, "underline", text, "{{city}}"), // exactly a variable
		entityAt(t, "spoiler", text, "first_name"), // inside a placeholder: snaps to the value
	}
	entities[2].URL = "https://example.com/?a=1"
	tpl, err := render.Parse(text, entities)
	require.NoError(t, err)

	cases := []struct {
		values map[string]string
		want   map[string]string // entity type → covered text
	}{
		{
			values: map[string]string{"first_name": "Анна-Мария 👩‍💻", "discount": "15%", "city": "Санкт-Петербург"},
			want: map[string]string{"bold": "Привет, Анна-Мария 👩‍💻!", "italic": "🔥", "text_link": "сайте",
				"underline": "Санкт-Петербург", "spoiler": "Анна-Мария 👩‍💻"},
		},
		{
			values: map[string]string{"discount": "7", "city": "Ё"}, // first_name falls back to its default
			want: map[string]string{"bold": "Привет, друг!", "italic": "🔥", "text_link": "сайте",
				"underline": "Ё", "spoiler": "друг"},
		},
	}
	for _, tc := range cases {
		out, got := tpl.Render(tc.values)
		require.Len(t, got, len(tc.want), "entities of %q", out)
		for _, e := range got {
			require.Equal(t, tc.want[e.Type], slice16(out, e.Offset, e.Length), "entity %s in %q", e.Type, out)
		}
		require.Equal(t, "https://example.com/?a=1", got[2].URL)
	}
}

func TestRenderDropsEntityOfEmptyValue(t *testing.T) {
	t.Parallel()
	text := "Hi {{name}}!"
	tpl, err := render.Parse(text, []telego.MessageEntity{entityAt(t, "bold", text, "{{name}}")})
	require.NoError(t, err)
	out, entities := tpl.Render(nil)
	require.Equal(t, "Hi !", out)
	require.Empty(t, entities)
}

func TestVars(t *testing.T) {
	t.Parallel()
	tpl, err := render.Parse("{{ First_Name | friend }} {{city}} {{first_name}} {{код|1}}", nil)
	require.NoError(t, err)
	require.Equal(t, []render.Var{
		{Name: "first_name", Default: " friend ", HasDefault: false}, // second use has no default
		{Name: "city"},
		{Name: "код", Default: "1", HasDefault: true},
	}, tpl.Vars())
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		text     string
		entities []telego.MessageEntity
		reason   string
		offset   int
	}{
		{text: "Hello {{name", reason: render.ReasonUnclosed, offset: 6},
		{text: "🎉 {{}}", reason: render.ReasonEmptyName, offset: 3},
		{text: "{{|x}}", reason: render.ReasonEmptyName},
		{text: "a {{first name}}", reason: render.ReasonBadName, offset: 2},
		{text: "a {{na-me}}", reason: render.ReasonBadName, offset: 2},
		{text: "abc", entities: []telego.MessageEntity{{Type: "bold", Offset: 2, Length: 2}}, reason: render.ReasonEntityRange, offset: 2},
		{text: "a🎉", entities: []telego.MessageEntity{{Type: "bold", Offset: 0, Length: 2}}, reason: render.ReasonEntityRange},
		{text: "abc", entities: []telego.MessageEntity{{Type: "bold", Offset: 1, Length: 0}}, reason: render.ReasonEntityRange, offset: 1},
	} {
		_, err := render.Parse(tc.text, tc.entities)
		var se *render.SyntaxError
		require.ErrorAs(t, err, &se, tc.text)
		require.Equal(t, tc.reason, se.Reason, tc.text)
		require.Equal(t, tc.offset, se.Offset, tc.text)
	}
}

func TestUTF16Len(t *testing.T) {
	t.Parallel()
	for s, n := range map[string]int{"": 0, "abc": 3, "Привет": 6, "🎉": 2, "👩‍💻": 5, "a\u00e9🇷🇺": 6} {
		require.Equal(t, n, render.UTF16Len(s), s)
		require.Equal(t, len(utf16.Encode([]rune(s))), render.UTF16Len(s), s)
	}
}

func TestParseButtons(t *testing.T) {
	t.Parallel()
	rows, err := render.ParseButtons("Наш сайт - https://example.com/path?q=1\n\n  Chat — tg://resolve?domain=herald  \nA - B - https://x.org")
	require.NoError(t, err)
	require.Equal(t, [][]telego.InlineKeyboardButton{
		{{Text: "Наш сайт", URL: "https://example.com/path?q=1"}},
		{{Text: "Chat", URL: "tg://resolve?domain=herald"}},
		{{Text: "A - B", URL: "https://x.org"}},
	}, rows)

	for _, tc := range []struct {
		text   string
		line   int
		reason string
	}{
		{"Site https://example.com", 1, render.ButtonNoSeparator},
		{"ok - https://a.org\n - https://example.com", 2, render.ButtonEmptyText},
		{"ok - https://a.org\n\nSite - example.com", 3, render.ButtonBadURL},
		{"Site - javascript:alert(1)", 1, render.ButtonBadURL},
		{"Site - https://localhost", 1, render.ButtonBadURL},
		{strings.Repeat("Я", 65) + " - https://a.org", 1, render.ButtonTextTooLong},
		{strings.Repeat("b - https://a.org\n", 101), 101, render.ButtonTooMany},
	} {
		_, err := render.ParseButtons(tc.text)
		var be *render.ButtonError
		require.ErrorAs(t, err, &be, tc.text)
		require.Equal(t, tc.line, be.Line, tc.text)
		require.Equal(t, tc.reason, be.Reason, tc.text)
	}
}

// FuzzRender checks that rendering never produces an entity outside the text or one that
// splits a surrogate pair, whatever the template, entities and values.
func FuzzRender(f *testing.F) {
	f.Add("🎉 Привет, {{first_name|друг}}!", 2, 9, "Анна 👩‍💻")
	f.Add("{{a}}{{b}}", 0, 5, "")
	f.Add("x {{a|🎉}} y", 1, 7, "🇷🇺")
	f.Fuzz(func(t *testing.T, text string, offset, length int, value string) {
		tpl, err := render.Parse(text, []telego.MessageEntity{{Type: "bold", Offset: offset, Length: length}})
		if err != nil {
			return
		}
		values := map[string]string{}
		for _, v := range tpl.Vars() {
			values[v.Name] = value
		}
		out, entities := tpl.Render(values)
		units := utf16.Encode([]rune(out))
		for _, e := range entities {
			if e.Offset < 0 || e.Length <= 0 || e.Offset+e.Length > len(units) {
				t.Fatalf("entity %+v outside %q (%d units)", e, out, len(units))
			}
			for _, p := range []int{e.Offset, e.Offset + e.Length} {
				if p > 0 && p < len(units) && utf16.IsSurrogate(rune(units[p])) && units[p] >= 0xDC00 {
					t.Fatalf("entity %+v splits a surrogate pair in %q", e, out)
				}
			}
		}
	})
}

func Example() {
	text := "Привет, {{first_name|друг}}! 🎁 Ваш код: {{code}}"
	bold := telego.MessageEntity{Type: "bold", Offset: 8, Length: 19} // {{first_name|друг}}
	code := telego.MessageEntity{Type: "code", Offset: 41, Length: 8} // {{code}}
	tpl, _ := render.Parse(text, []telego.MessageEntity{bold, code})
	out, entities := tpl.Render(map[string]string{"first_name": "Анна", "code": "SPRING-25"})
	fmt.Println(out)
	for _, e := range entities {
		fmt.Println(e.Type, slice16(out, e.Offset, e.Length))
	}
	// Output:
	// Привет, Анна! 🎁 Ваш код: SPRING-25
	// bold Анна
	// code SPRING-25
}

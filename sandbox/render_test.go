package sandbox

import (
	"testing"

	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"
)

func ent(typ string, offset, length int) telego.MessageEntity {
	return telego.MessageEntity{Type: typ, Offset: offset, Length: length}
}

func TestFormatHTML(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		text     string
		entities []telego.MessageEntity
		want     string
	}{
		{"plain text is escaped", `<script>alert("x")</script> & co`, nil,
			`&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co`},
		{"formatting around markup stays text", "Hi <b>!", []telego.MessageEntity{ent("bold", 3, 3)},
			`Hi <b>&lt;b&gt;</b>!`},
		{"every simple style", "b i u s c", []telego.MessageEntity{
			ent("bold", 0, 1), ent("italic", 2, 1), ent("underline", 4, 1), ent("strikethrough", 6, 1), ent("code", 8, 1)},
			`<b>b</b> <i>i</i> <u>u</u> <s>s</s> <code>c</code>`},
		{"nested: bold around italic", "bold italic", []telego.MessageEntity{ent("bold", 0, 11), ent("italic", 5, 6)},
			`<b>bold <i>italic</i></b>`},
		{"same range: the longer outside, the order kept", "ab", []telego.MessageEntity{ent("italic", 0, 2), ent("bold", 0, 1)},
			`<i><b>a</b>b</i>`},
		{"overlapping entities are split, never crossed", "abcdef", []telego.MessageEntity{ent("bold", 0, 4), ent("italic", 2, 4)},
			`<b>ab<i>cd</i></b><i>ef</i>`},
		{"UTF-16 offsets after emoji", "👋 Hi Ann", []telego.MessageEntity{ent("bold", 3, 2), ent("italic", 6, 3)},
			`👋 <b>Hi</b> <i>Ann</i>`},
		{"an entity on an emoji", "a😀b", []telego.MessageEntity{ent("spoiler", 1, 2)},
			`a<span class="spoiler">😀</span>b`},
		{"an offset inside a surrogate pair widens, never splits", "a😀b", []telego.MessageEntity{ent("bold", 2, 2)},
			`a<b>😀b</b>`},
		{"entities beyond the text are clipped", "abc", []telego.MessageEntity{ent("bold", 1, 50), ent("italic", 10, 2)},
			`a<b>bc</b>`},
		{"text_link with its URL escaped", "site", []telego.MessageEntity{{Type: "text_link", Offset: 0, Length: 4, URL: `https://e.com/?a=1&b="2"`}},
			`<a href="https://e.com/?a=1&amp;b=&#34;2&#34;" target="_blank" rel="noopener noreferrer">site</a>`},
		{"javascript: links are not links", "x", []telego.MessageEntity{{Type: "text_link", Offset: 0, Length: 1, URL: "javascript:alert(1)"}},
			`<a>x</a>`},
		{"url entity gets a scheme", "go example.com", []telego.MessageEntity{ent("url", 3, 11)},
			`go <a href="https://example.com" target="_blank" rel="noopener noreferrer">example.com</a>`},
		{"pre with a language", "x := 1", []telego.MessageEntity{{Type: "pre", Offset: 0, Length: 6, Language: `go"><script>`}},
			`<pre data-lang="go&#34;&gt;&lt;script&gt;">x := 1</pre>`},
		{"bot command is clickable", "try /menu", []telego.MessageEntity{ent("bot_command", 4, 5)},
			`try <span class="cmd" data-cmd="/menu">/menu</span>`},
		{"unknown entity types are ignored", "abc", []telego.MessageEntity{ent("future_thing", 0, 3)}, `abc`},
		{"newlines stay (CSS keeps them)", "a\nb", []telego.MessageEntity{ent("bold", 0, 3)}, "<b>a\nb</b>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, FormatHTML(tc.text, tc.entities))
		})
	}
}

func TestKeyboardRows(t *testing.T) {
	t.Parallel()
	require.Nil(t, KeyboardRows(nil))
	m := &telego.InlineKeyboardMarkup{InlineKeyboard: [][]telego.InlineKeyboardButton{
		{{Text: "✅ Confirm", CallbackData: "f:3:confirm"}},
		{{Text: "◀️ Back", CallbackData: "f:3:back"}, {Text: "✖️ Cancel", CallbackData: "f:3:cancel"}},
		{},
		{{Text: "Shop", URL: "https://example.com/shop"}, {Text: "Bad", URL: "javascript:alert(1)"}},
	}}
	require.Equal(t, [][]Button{
		{{Text: "✅ Confirm", Data: "f:3:confirm"}},
		{{Text: "◀️ Back", Data: "f:3:back"}, {Text: "✖️ Cancel", Data: "f:3:cancel"}},
		{{Text: "Shop", URL: "https://example.com/shop"}, {Text: "Bad"}},
	}, KeyboardRows(m), "rows kept, empty rows dropped, unsafe URLs inert")

	html := keyboardHTML(&telego.InlineKeyboardMarkup{InlineKeyboard: [][]telego.InlineKeyboardButton{
		{{Text: "<img src=x>", CallbackData: `a"b`}, {Text: "Go", URL: "https://e.com"}},
	}})
	require.Equal(t, `<div class="kb"><div class="kb-row">`+
		`<button type="button" class="kb-btn" data-cb="a&#34;b">&lt;img src=x&gt;</button>`+
		`<a class="kb-btn kb-url" href="https://e.com" target="_blank" rel="noopener noreferrer">Go</a>`+
		`</div></div>`, html)
}

func TestMessageHTML(t *testing.T) {
	t.Parallel()
	url := func(id string) string { return "/sandbox/file/" + id }
	doc := MessageHTML(telego.Message{
		Document: &telego.Document{FileID: "F1", FileName: `report<1>.csv`, FileSize: 2048},
		Caption:  "Not sent", CaptionEntities: []telego.MessageEntity{ent("italic", 0, 3)},
	}, url)
	require.Contains(t, doc, `href="/sandbox/file/F1" download="report&lt;1&gt;.csv"`)
	require.Contains(t, doc, `<span class="doc-icon">CSV</span>`)
	require.Contains(t, doc, `2.0 KB`)
	require.Contains(t, doc, `<div class="text"><i>Not</i> sent</div>`)

	photo := MessageHTML(telego.Message{Photo: []telego.PhotoSize{{FileID: "small"}, {FileID: "big"}}}, url)
	require.Equal(t, `<img class="photo" src="/sandbox/file/big" alt="" loading="lazy">`, photo)
}

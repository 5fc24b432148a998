package tgemu

import (
	"testing"

	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"
)

func TestParseHTML(t *testing.T) {
	t.Parallel()
	text, ents, err := parseHTML(`<b>bo<i>ld</i></b> &lt;x&gt; 😀<a href="https://e.x/?a=1&amp;b=2">link</a> <pre><code class="language-go">x</code></pre><tg-spoiler>s</tg-spoiler>`)
	require.NoError(t, err)
	require.Equal(t, "bold <x> 😀link xs", text)
	sortEntities(ents)
	require.Equal(t, []telego.MessageEntity{
		{Type: "bold", Offset: 0, Length: 4},
		{Type: "italic", Offset: 2, Length: 2},
		{Type: "text_link", Offset: 11, Length: 4, URL: "https://e.x/?a=1&b=2"},
		{Type: "pre", Offset: 16, Length: 1, Language: "go"},
		{Type: "spoiler", Offset: 17, Length: 1},
	}, ents)

	for in, want := range map[string]string{
		"<b>x":           `Can't find end tag corresponding to start tag "b"`,
		"x</b>":          "Unexpected end tag at byte offset 1",
		"<b>x</i>":       `Unmatched end tag at byte offset 4, expected "</b>", found "</i>"`,
		"<b":             "Unclosed start tag at byte offset 0",
		"a <p>x</p>":     `Unsupported start tag "p" at byte offset 2`,
		"<span>x</span>": `Tag "span" must have class "tg-spoiler" at byte offset 0`,
	} {
		_, _, err := parseHTML(in)
		require.EqualError(t, err, want, in)
	}
	// A lone '&' is kept, as Telegram does.
	text, _, err = parseHTML("Q&A")
	require.NoError(t, err)
	require.Equal(t, "Q&A", text)
}

func TestParseMarkdownV2(t *testing.T) {
	t.Parallel()
	text, ents, err := parseMarkdown("*b* _i_ __u__ ~s~ ||sp|| [l](https://x.y) `c\\`` 1\\.5\n```go\nfmt()\n```", true)
	require.NoError(t, err)
	require.Equal(t, "b i u s sp l c` 1.5\nfmt()\n", text)
	sortEntities(ents)
	require.Equal(t, []telego.MessageEntity{
		{Type: "bold", Offset: 0, Length: 1},
		{Type: "italic", Offset: 2, Length: 1},
		{Type: "underline", Offset: 4, Length: 1},
		{Type: "strikethrough", Offset: 6, Length: 1},
		{Type: "spoiler", Offset: 8, Length: 2},
		{Type: "text_link", Offset: 11, Length: 1, URL: "https://x.y"},
		{Type: "code", Offset: 13, Length: 2},
		{Type: "pre", Offset: 20, Length: 6, Language: "go"},
	}, ents)
	_, _, err = parseMarkdown("ok _it", true)
	require.EqualError(t, err, "Can't find end of Italic entity at byte offset 3")
	_, _, err = parseMarkdown("a-b", true)
	require.EqualError(t, err, `Character '-' is reserved and must be escaped with the preceding '\'`)
	// Legacy Markdown: no reserved characters, TDLib's older error text.
	text, _, err = parseMarkdown("1.5 - *b*", false)
	require.NoError(t, err)
	require.Equal(t, "1.5 - b", text)
	_, _, err = parseMarkdown("x *b", false)
	require.EqualError(t, err, "Can't find end of the entity starting at byte offset 2")
}

func TestUTF16Len(t *testing.T) {
	t.Parallel()
	require.Equal(t, 0, utf16Len(""))
	require.Equal(t, 3, utf16Len("abc"))
	require.Equal(t, 2, utf16Len("я!"))
	require.Equal(t, 2, utf16Len("😀"))
}

// The limiter's window is exact: a send is accepted only while fewer than
// rate sends were accepted in the last second.
func TestLimiterWindow(t *testing.T) {
	t.Parallel()
	l := limiter{rate: 3, paid: 5}
	ms := int64(1e6)
	for _, at := range []int64{0, 100, 200} {
		ok, _ := l.check(at*ms, false)
		require.True(t, ok)
		l.accept(at * ms)
	}
	ok, retry := l.check(999*ms, false)
	require.False(t, ok)
	require.Equal(t, 1, retry)
	ok, _ = l.check(1000*ms, false) // the send at 0 left (t-1s, t]
	require.True(t, ok)
	l.accept(1000 * ms)
	ok, _ = l.check(1000*ms, true)
	require.True(t, ok, "paid sends use the higher limit")
	require.Equal(t, 3, l.maxWindow)
}

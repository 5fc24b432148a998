package api

import (
	"testing"

	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"
)

func TestFromHTML(t *testing.T) {
	t.Parallel()
	text, ents, err := fromHTML(`<b>Hi</b> 👋 {{name}}, <a href="https://x.example/?a=1&amp;b=2">see <i>this</i></a> &lt;3` +
		"\n<pre><code class=\"language-go\">x := 1</code></pre>")
	require.NoError(t, err)
	require.Equal(t, "Hi 👋 {{name}}, see this <3\nx := 1", text)
	require.Equal(t, []telego.MessageEntity{
		{Type: "bold", Offset: 0, Length: 2},
		{Type: "text_link", Offset: 16, Length: 8, URL: "https://x.example/?a=1&b=2"}, // 👋 is two UTF-16 units
		{Type: "italic", Offset: 20, Length: 4},
		{Type: "pre", Offset: 28, Length: 6, Language: "go"},
	}, ents)
	for _, bad := range []string{"<b>open", "<div>x</div>", "</b>", "<a>x</a>", "<br/>", "<b><i>x</b></i>"} {
		_, _, err := fromHTML(bad)
		require.Error(t, err, bad)
	}
}

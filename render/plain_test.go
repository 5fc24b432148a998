package render_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"herald/render"
)

func TestPlainText(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                                    "",
		"plain":                               "plain",
		"<b>Campaign</b> #7 is <i>paused</i>": "Campaign #7 is paused",
		`<a href="https://x.org/?a=1&amp;b=>2">link</a>`:   "link",
		"1 &lt; 2 &amp;&amp; 3 &gt; 2":                     "1 < 2 && 3 > 2",
		"&#34;quoted&#34; &quot;too&quot; it&#39;s &#x41;": `"quoted" "too" it's A`,
		"Привет, <code>{{name}}</code> 🎉":                  "Привет, {{name}} 🎉",
		"a < b": "a < b",
	} {
		require.Equal(t, want, render.PlainText(in), in)
	}
}

package render

import (
	"strings"

	"golang.org/x/net/html"
)

// PlainText turns a text in Telegram's HTML parse mode (as the catalogs write it) into
// what a recipient reads, for places that show no formatting, such as callback
// answers: tags go, entities (&lt; &amp; &#39; …) are decoded. It uses the HTML
// tokenizer of golang.org/x/net/html rather than a regular expression, so a "<" that
// starts no tag, a ">" inside an attribute and every named or numeric entity come out
// as a browser would show them.
func PlainText(htmlText string) string {
	z := html.NewTokenizer(strings.NewReader(htmlText))
	var b strings.Builder
	b.Grow(len(htmlText))
	for {
		switch z.Next() {
		case html.ErrorToken: // io.EOF: a strings.Reader fails no other way
			return b.String()
		case html.TextToken:
			b.Write(z.Text())
		}
	}
}

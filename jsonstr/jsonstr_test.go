package jsonstr_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"herald/jsonstr"
)

var cases = []string{"", "plain", `q"b\s`, "nl\nt\tcr\r", "\x01\x1f\x7f", "bad\xffutf8", "\xe2\x82", "nul\x00x",
	"Юникод 🎉", "<a href=\"x\">&amp;</a>", "\u2028\u2029", "mixed \x00 Ж \xc3", "00000000\xd0\x00\x89"}

func TestAppendRoundTrips(t *testing.T) {
	t.Parallel()
	for _, s := range cases {
		for _, nul := range []jsonstr.NUL{jsonstr.EscapeNUL, jsonstr.DropNUL} {
			b := jsonstr.Append([]byte("x"), s, nul)
			require.Equal(t, byte('x'), b[0], "appends")
			var back string
			require.NoError(t, json.Unmarshal(b[1:], &back), "%q -> %s", s, b)
			require.Equal(t, reference(s, nul), back, "the same string as encoding/json")
		}
	}
}

// reference is what encoding/json reads back from its own encoding of s, without the
// NULs when nul drops them (after the invalid bytes are replaced: dropping a NUL never
// joins two bytes into a character).
func reference(s string, nul jsonstr.NUL) string {
	b, _ := json.Marshal(s)
	var out string
	_ = json.Unmarshal(b, &out)
	if nul == jsonstr.DropNUL {
		out = strings.ReplaceAll(out, "\x00", "")
	}
	return out
}

func FuzzAppend(f *testing.F) {
	for _, s := range cases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, nul := range []jsonstr.NUL{jsonstr.EscapeNUL, jsonstr.DropNUL} {
			var back string
			b := jsonstr.Append(nil, s, nul)
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("%q -> %s: %v", s, b, err)
			}
			if fromStd := reference(s, nul); back != fromStd {
				t.Fatalf("%q: got %q, encoding/json %q", s, back, fromStd)
			}
		}
	})
}

var benchInputs = []struct{ name, s string }{
	{"ascii", strings.Repeat("Hello, dear customer! Your order #12345 is ready. ", 6)},
	{"cyrillic", strings.Repeat("Здравствуйте! Ваш заказ №12345 готов к выдаче. ", 6)},
	{"short", "Иван"},
	{"escapes", strings.Repeat("line \"one\"\n\ttab\\ ", 10)},
}

// BenchmarkAppend: a sendMessage text (ascii, cyrillic, escapes) and a variable value
// (short), the two hot paths.
func BenchmarkAppend(b *testing.B) {
	for _, in := range benchInputs {
		b.Run(in.name, func(b *testing.B) {
			buf := make([]byte, 0, 1024)
			b.SetBytes(int64(len(in.s)))
			for b.Loop() {
				buf = jsonstr.Append(buf[:0], in.s, jsonstr.EscapeNUL)
			}
		})
	}
}

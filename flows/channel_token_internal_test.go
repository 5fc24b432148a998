package flows

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestExtractToken(t *testing.T) {
	t.Parallel()
	tok := "123456789:AAEhBP0av28k-Zb_" + strings.Repeat("x", 19) // 35 after the colon, as BotFather gives
	for in, want := range map[string]string{
		tok:                        tok,
		"  " + tok + "\n":          tok,
		tok[:12] + "\n" + tok[12:]: tok,
		tok[:20] + " " + tok[20:]:  tok,
		tok[:42] + "\n" + tok[42:]: tok, // the first part alone would pass for a token
		"Done! Congratulations on your new bot. Use this token to access the HTTP API:\n" + tok + "\nKeep your token secure": tok,
		"token: " + tok + ".": tok,
	} {
		got, ok := extractToken(in)
		require.True(t, ok, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "hello", "123:abc", tok + " and " + strings.Replace(tok, "1", "2", 1), "see you at 12:30 today"} {
		_, ok := extractToken(bad)
		require.False(t, ok, bad)
	}
}

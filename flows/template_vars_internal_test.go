package flows

import (
	"testing"

	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"

	"herald/render"
)

func TestClosestName(t *testing.T) {
	t.Parallel()
	known := []string{"first_name", "last_name", "username", "name", "city"}
	for in, want := range map[string]string{
		"first_nmae": "first_name", // a swap is one edit
		"firstname":  "first_name",
		"frist_name": "first_name",
		"usrname":    "username",
		"nmae":       "name",
		"cty":        "city",
		"promo":      "",
		"fist_nam":   "first_name",
		"xyz":        "",
	} {
		require.Equal(t, want, closestName(in, known), in)
	}
	require.Equal(t, 0, editDistance("имя", "имя"))
	require.Equal(t, 1, editDistance("имя", "мия"))
}

func TestRenameVarMovesEntities(t *testing.T) {
	t.Parallel()
	body := "🎉 {{first_nmae}}, {{ first_nmae | друг }}! 🎁 bye"
	u := render.UTF16Len
	at := func(s, sub string) int {
		for i := range s {
			if len(s[i:]) >= len(sub) && s[i:i+len(sub)] == sub {
				return u(s[:i])
			}
		}
		t.Fatalf("no %q", sub)
		return 0
	}
	ents := []telego.MessageEntity{
		{Type: "bold", Offset: 0, Length: u("🎉 {{first_nmae}}")},
		{Type: "italic", Offset: at(body, "🎁"), Length: u("🎁 bye")},
	}
	got, gotEnts := renameVar(body, ents, "first_nmae", "first_name_long")
	want := "🎉 {{first_name_long}}, {{ first_name_long | друг }}! 🎁 bye"
	require.Equal(t, want, got)
	require.Equal(t, []telego.MessageEntity{
		{Type: "bold", Offset: 0, Length: u("🎉 {{first_name_long}}")},
		{Type: "italic", Offset: at(want, "🎁"), Length: u("🎁 bye")},
	}, gotEnts)
}

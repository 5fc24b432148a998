package render_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"herald/render"
)

func TestLongestLen(t *testing.T) {
	t.Parallel()
	tpl, err := render.Parse("Hi {{name}}, {{name}} from {{city|nowhere}}", nil)
	require.NoError(t, err)
	literal, uses := tpl.LengthModel()
	require.Equal(t, len("Hi "+", "+" from "), literal)
	require.Equal(t, []render.VarUse{{Name: "name", Count: 2}, {Name: "city", Count: 1, DefaultLen: 7}}, uses)
	require.Equal(t, literal+7, tpl.LongestLen(nil), "every variable at its default")
	require.Equal(t, literal+2*5000+7, tpl.LongestLen(map[string]int{"name": 5000, "city": 3}))
	text, _ := tpl.Render(map[string]string{"name": "Ann", "city": "Rome"})
	require.LessOrEqual(t, render.UTF16Len(text), tpl.LongestLen(map[string]int{"name": 3, "city": 4}))
}

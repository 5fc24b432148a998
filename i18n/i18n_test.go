package i18n_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"herald/i18n"
)

func TestPluralsAndFallback(t *testing.T) {
	t.Parallel()
	c, err := i18n.New("en")
	require.NoError(t, err)
	ru := c.For("ru")
	require.Equal(t, "📝 <b>1 шаблон</b>", ru.N("tpl.list_header", 1))
	require.Equal(t, "📝 <b>2 шаблона</b>", ru.N("tpl.list_header", 2))
	require.Equal(t, "📝 <b>5 шаблонов</b>", ru.N("tpl.list_header", 5))
	require.Equal(t, "📝 <b>21 шаблон</b>", ru.N("tpl.list_header", 21))
	en := c.For("en-GB")
	require.Equal(t, "en", en.Lang)
	require.Equal(t, "📝 <b>1 template</b>", en.N("tpl.list_header", 1))
	require.Equal(t, "📝 <b>5 templates</b>", en.N("tpl.list_header", 5))
	require.Equal(t, "en", c.Lang("de"))
	cr, err := i18n.New("ru")
	require.NoError(t, err)
	require.Equal(t, "ru", cr.Lang("de"))
	require.Equal(t, "no.such.key", en.T("no.such.key"))
	require.Contains(t, en.T("tpl.ask_content"), "<code>{{first_name}}</code>")
}

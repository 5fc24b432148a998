package i18n_test

import (
	"testing"
	"time"

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

func TestLocaleFormats(t *testing.T) {
	t.Parallel()
	c, err := i18n.New("en")
	require.NoError(t, err)
	ru, en := c.For("ru"), c.For("en")
	require.Equal(t, "12\u202f345\u202f678", ru.Number(12345678))
	require.Equal(t, "12,345", en.Number(12345))
	require.Equal(t, "999", ru.Number(999))
	require.Equal(t, "2,5", ru.Decimal(2.5))
	require.Equal(t, "2 мин 5 с", ru.Duration(125*time.Second))
	require.Equal(t, "2 min 5 s", en.Duration(125*time.Second))
	require.Equal(t, "1 ч", ru.Duration(time.Hour+10*time.Second))
	require.Equal(t, "0,8 с", ru.Duration(800*time.Millisecond))
	at := time.Date(2027, 12, 1, 18, 30, 0, 0, time.UTC)
	require.Equal(t, "1 декабря 2027, 18:30", ru.Date(at))
	require.Equal(t, "1 December 2027, 18:30", en.Date(at))
}

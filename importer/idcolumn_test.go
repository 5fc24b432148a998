package importer

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Issue 18.10: a file whose id column has an unknown name names the columns that hold
// only ids (not ages, not names), and imports with the one chosen.
func TestNoIDColumnOffersColumnsOfIDs(t *testing.T) {
	t.Parallel()
	const file = "Номер;Имя;Возраст;Telegram\n123456789;Анна;30;-1001234567890\n987654321;Пётр;41;\n\n555000111;Олег;;-1009876543210\n"
	_, err := Open(strings.NewReader(file), Options{})
	var ie *Error
	require.True(t, errors.As(err, &ie), "%v", err)
	require.Equal(t, CodeNoIDColumn, ie.Code)
	require.Equal(t, []string{"Номер", "Telegram"}, ie.Candidates)

	rd, err := Open(strings.NewReader(file), Options{IDColumn: "Номер"})
	require.NoError(t, err)
	var ids []int64
	for rd.Next() {
		ids = append(ids, rd.ChatID())
	}
	require.NoError(t, rd.Err())
	require.Equal(t, []int64{123456789, 987654321, 555000111}, ids)
	require.Equal(t, "Номер", rd.Summary().IDColumn)
	require.Equal(t, []string{"имя", "возраст", "telegram"}, rd.Columns())

	// A column of words or of small numbers only: nothing to offer.
	_, err = Open(strings.NewReader("n;name\n1;Anna\n2;Petr\n"), Options{})
	require.True(t, errors.As(err, &ie))
	require.Empty(t, ie.Candidates)
}

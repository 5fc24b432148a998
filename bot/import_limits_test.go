package bot_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"herald/store"
)

// Files over the importer's limits are refused with the row, the column and the
// limit, in the admin's language, and nothing is stored; Excel's sep= line and ids
// it rounded get their own answers.
func TestBatchUploadLimits(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)
	owner := b.owner
	ru := b.user(t, "Дарья", "ru")
	b.addAdmin(t, ru, store.RoleAdmin)
	long := strings.Repeat("ж", 600) // 1,200 bytes: over the 1 KB cell limit

	cases := []struct {
		file     string
		data     []byte
		ok       bool
		contains []string
	}{
		{file: "long.csv", data: []byte("chat_id,Note\n1,ok\n2," + long + "\n"),
			contains: []string{"Row 3, column 2 («Note»): the value is longer than 1 KB"}},
		{file: "long.xlsx", data: xlsxFile(t, [][]any{{"chat_id", "Note"}, {1, "ok"}, {2, long}}),
			contains: []string{"Row 3, column 2 («Note»): the value is longer than 1 KB"}},
		{file: "wide.csv", data: []byte("chat_id,Note\n1,ok" + strings.Repeat(",", 2000) + "\n"),
			contains: []string{"Row 2 has a cell in column 1025; at most 1024 columns are read"}},
		{file: "excel_sep.csv", data: fixture(t, "excel_sep.csv"), ok: true,
			contains: []string{"2 recipients", "{{name}}", "line 5: «1,23457E+11» — Excel dropped digits: format the column as Text and export again"}},
	}
	for i, tc := range cases {
		name := "Limits " + string(rune('A'+i))
		text := b.uploadBatch(t, owner, name, tc.file, tc.data)
		for _, want := range tc.contains {
			require.Contains(t, text, want, tc.file)
		}
		want := 0
		if tc.ok {
			want = 1
		}
		require.Equal(t, want, b.count(t, `SELECT count(*) FROM batches WHERE name = $1`, name), tc.file)
		b.command(t, owner, "/cancel")
		b.next(t, owner)
	}

	text := b.uploadBatch(t, ru, "Длинные", "long.csv", cases[0].data)
	require.Contains(t, text, "Строка 3, столбец 2 («Note»): значение длиннее 1 КБ")
	b.command(t, ru, "/cancel")
	b.next(t, ru)
	text = b.uploadBatch(t, ru, "Из Excel", "excel_sep.csv", fixture(t, "excel_sep.csv"))
	require.Contains(t, text, "Excel отбросил цифры: задайте столбцу формат «Текстовый» и выгрузите снова")
}

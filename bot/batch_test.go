package bot_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"herald/importer"
	"herald/store"
	"herald/tgemu"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "importer", "testdata", name))
	require.NoError(t, err)
	return data
}

func xlsxFile(t *testing.T, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, row := range rows {
		cell, err := excelize.CoordinatesToCellName(1, i+1)
		require.NoError(t, err)
		require.NoError(t, f.SetSheetRow("Sheet1", cell, &row))
	}
	var buf bytes.Buffer
	require.NoError(t, f.Write(&buf))
	return buf.Bytes()
}

// uploadBatch runs the upload dialog up to the file and returns the bot's answer.
func (b *testBundle) uploadBatch(t *testing.T, u *tgemu.User, name, file string, data []byte) string {
	t.Helper()
	b.command(t, u, "/newbatch")
	b.next(t, u) // the name question
	b.send(t, u, name)
	b.next(t, u) // the file question
	_, err := u.SendDocument(b.token, file, "text/csv", data, "")
	require.NoError(t, err)
	return b.next(t, u).Text
}

func TestBatchUploadFixtures(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)
	owner := b.owner

	cases := []struct {
		file     string
		data     []byte
		ok       bool
		contains []string
	}{
		{file: "bom_semicolon.csv", ok: true, contains: []string{"3 recipients", "{{имя}}", "{{город}}", "Duplicates merged: 0"}},
		{file: "cp1251.csv", ok: true, contains: []string{"3 recipients", "{{имя_клиента}}", "{{сумма_заказа}}"}},
		{file: "tab.tsv", ok: true, contains: []string{"2 recipients", "{{name}}", "{{plan}}"}},
		{file: "list.xlsx", ok: true, data: xlsxFile(t, [][]any{{"Telegram ID", "First name"}, {111, "Ann"}, {222, "Bob"}, {"x", "Bad"}}),
			contains: []string{"2 recipients", "{{first_name}}", "Invalid rows skipped: 1", "line 4: «x» — not a number"}},
		{file: "quoted_newlines.csv", ok: true, contains: []string{"3 recipients", "{{note}}", "Invalid rows skipped: 1", "«abc» — not a number"}},
		{file: "duplicates.csv", ok: true, contains: []string{"3 recipients", "Duplicates merged: 3"}},
		{file: "non_numeric.csv", ok: true, contains: []string{"«@username» — not a number", "«0» — 0 is not a chat id",
			"the id is empty", "the number is too large", "more cells than the header has"}},
		{file: "empty.csv", contains: []string{"The file is empty"}},
		{file: "binary.csv", contains: []string{"does not look like a CSV or XLSX file"}},
		{file: "no_id.csv", contains: []string{"could not find the recipient column", "The header has: name, email, phone", "chat_id, user_id"}},
		{file: "huge.csv", data: bytes.Repeat([]byte("1\n"), 10<<20+100), contains: []string{"Telegram lets bots download at most 20 MB"}},
	}
	for i, tc := range cases {
		data := tc.data
		if data == nil {
			data = fixture(t, tc.file)
		}
		name := "Batch " + string(rune('A'+i))
		text := b.uploadBatch(t, owner, name, tc.file, data)
		for _, want := range tc.contains {
			require.Contains(t, text, want, tc.file)
		}
		if tc.ok {
			require.Contains(t, text, "is ready", tc.file)
			require.Equal(t, 1, b.count(t, `SELECT count(*) FROM batches WHERE name = $1`, name), tc.file)
			require.Equal(t, 1, b.count(t, `SELECT count(*) FROM audit_log WHERE action = 'batch.imported' AND details->>'name' = $1`, name))
			continue
		}
		require.True(t, strings.HasPrefix(text, "⚠️"), "%s: %q", tc.file, text)
		require.Equal(t, 0, b.count(t, `SELECT count(*) FROM batches WHERE name = $1`, name), tc.file)
		b.command(t, owner, "/cancel")
		require.Contains(t, b.next(t, owner).Text, "Cancelled")
	}
	// The recipients and variables went into the database as the files had them.
	var vars string
	require.NoError(t, b.st.Pool().QueryRow(b.ctx, `
		SELECT r.vars::text FROM recipients r JOIN batches b ON b.id = r.batch_id
		WHERE b.name = 'Batch B' AND r.chat_id = 201`).Scan(&vars))
	require.Contains(t, vars, `"имя_клиента": "Дмитрий"`)

	// Pasted ids, then the list, the card with its sample, and deletion.
	b.command(t, owner, "/newbatch")
	b.next(t, owner)
	b.send(t, owner, "Pasted")
	b.next(t, owner)
	b.send(t, owner, "1001\n1002, 1002\nabc")
	summary := b.next(t, owner)
	require.Contains(t, summary.Text, "2 recipients")
	require.Contains(t, summary.Text, "Duplicates merged: 1")
	require.Contains(t, summary.Text, "none (ids only)")
	b.press(t, owner, summary, "Open")
	card := b.waitEdited(t, owner, summary.MessageID, "Sample recipient")
	require.Contains(t, card.Text, "Pasted")
	require.Contains(t, card.Text, "chat id 1001")
	b.press(t, owner, card, "Delete")
	ask := b.current(t, owner, card.MessageID)
	require.Contains(t, ask.Text, "Delete the batch")
	b.press(t, owner, ask, "Yes, delete")
	list := b.waitEdited(t, owner, card.MessageID, "batches")
	require.Contains(t, list.Text, "batches of recipients")
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM batches WHERE name = 'Pasted'`))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM audit_log WHERE action = 'batch.deleted'`))
	require.Empty(t, b.srv.UnansweredCallbacks(b.token))
}

func TestBatchUploadRussian(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)
	ru := b.user(t, "Дарья", "ru")
	b.addAdmin(t, ru, store.RoleAdmin)

	text := b.uploadBatch(t, ru, "Клиенты", "cp1251.csv", fixture(t, "cp1251.csv"))
	require.Contains(t, text, "Список Клиенты готов: 3 получателя")
	require.Contains(t, text, "{{имя_клиента}}")

	b.command(t, ru, "/cancel")
	b.next(t, ru)
	text = b.uploadBatch(t, ru, "Без ID", "no_id.csv", fixture(t, "no_id.csv"))
	require.Contains(t, text, "Не нашёл столбец с получателями")
	require.Contains(t, text, "В заголовке есть: name, email, phone")

	// The admin fixes the file and sends it again in the same step.
	_, err := ru.SendDocument(b.token, "ids.csv", "text/csv", []byte("ИД;Имя\n5;Аня\n6;Боря\n7;Вера\n8;Гоша\n9;Даша\n"), "")
	require.NoError(t, err)
	require.Contains(t, b.next(t, ru).Text, "Список Без ID готов: 5 получателей")
}

// A long import keeps one progress message in the chat: sent once, edited while rows
// arrive, and finally marked finished — then the summary follows.
func TestBatchImportShowsProgress(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.cfg.Services.ImportProgressEvery = time.Millisecond
	b.start(t)
	const rows = 100_000
	data, err := io.ReadAll(importer.SyntheticCSV(rows))
	require.NoError(t, err)

	first := b.uploadBatch(t, b.owner, "Big list", "big.csv", data)
	require.Contains(t, first, "Importing Big list", "a long import first shows its progress")
	// The summary comes when the import is done: a hang guard long enough for 100,000
	// rows under the race detector on a loaded machine, not a speed figure.
	summary := b.nextContainingWithin(t, b.owner, "is ready", 2*time.Minute)
	require.Contains(t, summary.Text, "100000 recipients")

	var progress *tgemu.Entry
	for _, e := range b.srv.Transcript(b.token, b.owner.ID) {
		if e.FromBot && strings.Contains(e.Message.Text, "Big list: import finished") {
			progress = &e
		}
	}
	require.NotNil(t, progress, "no progress message marked finished")
	require.NotEmpty(t, progress.History, "the progress message was never edited")
	require.Contains(t, progress.History[0].Text, "Importing Big list")
	require.Contains(t, progress.History[0].Text, "rows read")
}

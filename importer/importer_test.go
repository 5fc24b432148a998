package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"herald/jsonstr"
)

type recipient struct {
	Line   int
	ChatID int64
	Vars   map[string]string
}

// drain reads rd to the end, checking that every Vars is a JSON object of strings.
func drain(t *testing.T, rd *Reader) ([]recipient, Summary, error) {
	t.Helper()
	var got []recipient
	for rd.Next() {
		var vars map[string]string
		require.NoError(t, json.Unmarshal(rd.Vars(), &vars), "vars %q", rd.Vars())
		got = append(got, recipient{Line: rd.Line(), ChatID: rd.ChatID(), Vars: vars})
	}
	return got, rd.Summary(), rd.Err()
}

func openFixture(t *testing.T, name string) (*Reader, error) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	return Open(f, Options{})
}

func requireCode(t *testing.T, err error, code Code) *Error {
	t.Helper()
	var ie *Error
	require.ErrorAs(t, err, &ie)
	require.Equal(t, code, ie.Code, "error: %v", err)
	require.ErrorIs(t, err, &Error{Code: code})
	return ie
}

func TestFixtureBOMSemicolon(t *testing.T) {
	t.Parallel()
	rd, err := openFixture(t, "bom_semicolon.csv")
	require.NoError(t, err)
	got, sum, err := drain(t, rd)
	require.NoError(t, err)
	require.Equal(t, EncodingUTF8BOM, sum.Encoding)
	require.Equal(t, ';', sum.Delimiter)
	require.Equal(t, "ID пользователя", sum.IDColumn)
	require.Equal(t, []string{"имя", "город"}, sum.Columns)
	require.Equal(t, []recipient{
		{2, 101, map[string]string{"имя": "Анна", "город": "Москва"}},
		{3, 102, map[string]string{"имя": "Борис", "город": "Санкт-Петербург; Невский"}},
		{4, 103, map[string]string{"имя": "Вера", "город": "Казань"}},
	}, got)
	require.Equal(t, 3, sum.Imported)
	require.Zero(t, sum.Duplicates+sum.Invalid)
}

func TestFixtureWindows1251(t *testing.T) {
	t.Parallel()
	rd, err := openFixture(t, "cp1251.csv")
	require.NoError(t, err)
	got, sum, err := drain(t, rd)
	require.NoError(t, err)
	require.Equal(t, EncodingWindows1251, sum.Encoding)
	require.Equal(t, "Телеграм ID", sum.IDColumn)
	require.Equal(t, []string{"имя_клиента", "сумма_заказа"}, sum.Columns)
	require.Equal(t, []recipient{
		{2, 201, map[string]string{"имя_клиента": "Дмитрий", "сумма_заказа": "1500"}},
		{3, 202, map[string]string{"имя_клиента": "Елена", "сумма_заказа": "2 300"}},
		{4, 203, map[string]string{"имя_клиента": "Ёжик", "сумма_заказа": "0"}},
	}, got)
}

// A Windows-1251 file whose first kilobytes are ASCII is still decoded as Windows-1251
// once its first Cyrillic byte arrives.
func TestWindows1251AfterLongASCIIPrefix(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	b.WriteString("chat_id,name\n")
	for i := 1; i <= 5000; i++ {
		fmt.Fprintf(&b, "%d,user%d\n", i, i)
	}
	b.WriteString("5001,")
	b.Write([]byte{0xCC, 0xE0, 0xF0, 0xE8, 0xFF}) // "Мария" in Windows-1251
	b.WriteString("\n")
	rd, err := Open(&b, Options{})
	require.NoError(t, err)
	got, sum, err := drain(t, rd)
	require.NoError(t, err)
	require.Equal(t, EncodingWindows1251, sum.Encoding)
	require.Equal(t, "Мария", got[len(got)-1].Vars["name"])
}

func TestUTF16WithBOM(t *testing.T) {
	t.Parallel()
	text := "chat_id\tимя\r\n7\tЖанна\r\n"
	var b bytes.Buffer
	b.Write([]byte{0xFF, 0xFE})
	for _, r := range text { // BMP only, so one UTF-16 unit per rune
		b.WriteByte(byte(r))
		b.WriteByte(byte(r >> 8))
	}
	rd, err := Open(&b, Options{})
	require.NoError(t, err)
	got, sum, err := drain(t, rd)
	require.NoError(t, err)
	require.Equal(t, EncodingUTF16, sum.Encoding)
	require.Equal(t, []recipient{{2, 7, map[string]string{"имя": "Жанна"}}}, got)
}

func TestFixtureTab(t *testing.T) {
	t.Parallel()
	rd, err := openFixture(t, "tab.tsv")
	require.NoError(t, err)
	got, sum, err := drain(t, rd)
	require.NoError(t, err)
	require.Equal(t, '\t', sum.Delimiter)
	require.Equal(t, []string{"name", "plan"}, sum.Columns)
	require.Equal(t, []recipient{
		{2, 301, map[string]string{"name": "alice", "plan": "pro"}},
		{3, -1001234567890, map[string]string{"name": "bob", "plan": "free"}},
	}, got)
}

func TestFixtureQuotedNewlines(t *testing.T) {
	t.Parallel()
	rd, err := openFixture(t, "quoted_newlines.csv")
	require.NoError(t, err)
	got, sum, err := drain(t, rd)
	require.NoError(t, err)
	require.Equal(t, []recipient{
		{2, 401, map[string]string{"note": "first line\nsecond line", "name": "Ann"}},
		{4, 402, map[string]string{"note": `a "quoted" word`, "name": "Ben"}},
		{5, 403, map[string]string{"note": "x\n\ny", "name": "Cy"}},
	}, got)
	// The bad row starts on line 8 of the file, after the two newlines inside quotes.
	require.Equal(t, []InvalidRow{{Line: 8, Reason: ReasonNotNumeric, Value: "abc"}}, sum.InvalidSample)
}

func TestFixtureDuplicates(t *testing.T) {
	t.Parallel()
	rd, err := openFixture(t, "duplicates.csv")
	require.NoError(t, err)
	got, sum, err := drain(t, rd)
	require.NoError(t, err)
	require.Equal(t, []recipient{ // the first row of each id wins
		{2, 501, map[string]string{"name": "first"}},
		{3, 502, map[string]string{"name": "second"}},
		{5, 503, map[string]string{"name": "third"}},
	}, got)
	require.Equal(t, Summary{Format: FormatCSV, Encoding: EncodingUTF8, Delimiter: ',', IDColumn: "user_id",
		Columns: []string{"name"}, Rows: 6, Imported: 3, Duplicates: 3}, sum)
}

func TestFixtureNonNumeric(t *testing.T) {
	t.Parallel()
	rd, err := openFixture(t, "non_numeric.csv")
	require.NoError(t, err)
	got, sum, err := drain(t, rd)
	require.NoError(t, err)
	ids := make([]int64, len(got))
	for i, r := range got {
		ids[i] = r.ChatID
	}
	require.Equal(t, []int64{601, 602, 604}, ids)
	require.Equal(t, []InvalidRow{
		{3, ReasonNotNumeric, "@username"},
		{4, ReasonZeroID, "0"},
		{5, ReasonEmptyID, ""},
		{6, ReasonExcelDigits, "1.23457E+11"},
		{7, ReasonOutOfRange, "99999999999999999999"},
		{9, ReasonExtraFields, "extra"},
	}, sum.InvalidSample)
	require.Equal(t, 6, sum.Invalid)
	require.Equal(t, 9, sum.Rows)
}

func TestFixtureEmpty(t *testing.T) {
	t.Parallel()
	_, err := openFixture(t, "empty.csv")
	requireCode(t, err, CodeEmpty)
	for _, in := range []string{"\xEF\xBB\xBF", "  \r\n\n\t", ""} {
		_, err := Open(strings.NewReader(in), Options{})
		requireCode(t, err, CodeEmpty)
	}
}

func TestFixtureBinary(t *testing.T) {
	t.Parallel()
	_, err := openFixture(t, "binary.csv")
	ie := requireCode(t, err, CodeBinary)
	require.Equal(t, "png", ie.Detail)
	_, err = Open(strings.NewReader("chat_id\n1\x00\x00\x002\n"), Options{Format: FormatCSV})
	requireCode(t, err, CodeBinary)
	_, err = Open(strings.NewReader("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1 an old .xls"), Options{})
	ie = requireCode(t, err, CodeBinary)
	require.Equal(t, "xls", ie.Detail, "an Excel 97 workbook gets its own hint")
	_, err = Open(strings.NewReader(strings.Repeat("\x01\x02\x03abc", 100)), Options{})
	requireCode(t, err, CodeBinary)
}

func TestFixtureNoIDColumn(t *testing.T) {
	t.Parallel()
	_, err := openFixture(t, "no_id.csv")
	ie := requireCode(t, err, CodeNoIDColumn)
	require.Equal(t, []string{"name", "email", "phone"}, ie.Found)
	require.Contains(t, ie.Accepted, "chat_id")
	require.Equal(t, 1, ie.Line)
}

func TestHeaderErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		code Code
		col  int
	}{
		{"chat_id,,name\n1,,a\n", CodeBadHeader, 2},
		{"chat_id,№,name\n1,2,a\n", CodeBadHeader, 2},
		{"chat_id,Name,NAME \n1,a,b\n", CodeDuplicateColumn, 3},
		{"chat_id,first name,First-Name\n1,a,b\n", CodeDuplicateColumn, 3},
		{"chat_id,name," + strings.Repeat("я", 65) + "\n1,a,b\n", CodeLongHeader, 3},
		{"chat_id,name\n", CodeNoRows, 0},
		{"chat_id,name\n,\n , \n", CodeNoRows, 0},
		{"chat_id,name\nx,a\n0,b\n", CodeNoValidRows, 0},
		{"chat_id,name\n1,\"unterminated\n2,b\n", CodeMalformed, -1},
		{"chat_id" + strings.Repeat(",c", MaxColumns) + "\n1\n", CodeTooManyColumns, 0},
	} {
		rd, err := Open(strings.NewReader(tc.in), Options{})
		if err == nil {
			_, _, err = drain(t, rd)
		}
		ie := requireCode(t, err, tc.code)
		if tc.col >= 0 {
			require.Equal(t, tc.col, ie.Column, "input %q", tc.in)
		} else {
			require.Equal(t, 2, ie.Line, "input %q", tc.in) // where the bad quote opened
		}
	}
}

func TestTrailingEmptyHeaderCellIgnored(t *testing.T) {
	t.Parallel()
	rd, err := Open(strings.NewReader("chat_id;name;\n1;a;\n2;b;\n"), Options{})
	require.NoError(t, err)
	got, sum, err := drain(t, rd)
	require.NoError(t, err)
	require.Equal(t, []string{"name"}, sum.Columns)
	require.Len(t, got, 2)
}

func TestIDColumnPreference(t *testing.T) {
	t.Parallel()
	rd, err := Open(strings.NewReader("id,Chat ID,name\n9,1,a\n"), Options{})
	require.NoError(t, err)
	got, sum, err := drain(t, rd)
	require.NoError(t, err)
	require.Equal(t, "Chat ID", sum.IDColumn)
	require.Equal(t, []recipient{{2, 1, map[string]string{"id": "9", "name": "a"}}}, got)
}

func TestTooBig(t *testing.T) {
	t.Parallel()
	requireCode(t, CheckSize(MaxFileSize+1), CodeTooBig)
	require.NoError(t, CheckSize(MaxFileSize))
	in := "chat_id\n" + strings.Repeat("12345\n", 1000)
	rd, err := Open(strings.NewReader(in), Options{MaxBytes: 100})
	if err == nil {
		_, _, err = drain(t, rd)
	}
	requireCode(t, err, CodeTooBig)
	rd, err = Open(strings.NewReader(in), Options{MaxBytes: int64(len(in))})
	require.NoError(t, err)
	_, _, err = drain(t, rd)
	require.NoError(t, err)
}

func TestIDList(t *testing.T) {
	t.Parallel()
	rd, err := OpenIDList("111, 222;333\n\n444 111\n@bob -100500\n")
	require.NoError(t, err)
	got, sum, err := drain(t, rd)
	require.NoError(t, err)
	ids := make([]int64, len(got))
	for i, r := range got {
		ids[i] = r.ChatID
		require.Empty(t, r.Vars)
	}
	require.Equal(t, []int64{111, 222, 333, 444, -100500}, ids)
	require.Equal(t, 1, sum.Duplicates)
	require.Equal(t, []InvalidRow{{4, ReasonNotNumeric, "@bob"}}, sum.InvalidSample)
	require.Empty(t, sum.Columns)

	_, err = OpenIDList(" \n ")
	if err == nil {
		rd, _ := OpenIDList(" \n ")
		_, _, err = drain(t, rd)
	}
	requireCode(t, err, CodeEmpty)
}

func TestParseChatID(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{
		"123": 123, "+123": 123, "-1001234567890": -1001234567890, "123 456 789": 123456789,
		"123\u00A0456": 123456, "7.0": 7, "7,00": 7, "9223372036854775807": 9223372036854775807,
		"-100 123 456": -100123456, "1'234'567": 1234567, "1 234.00": 1234,
	} {
		got, reason := ParseChatID(in)
		require.Empty(t, reason, in)
		require.Equal(t, want, got, in)
	}
	for in, want := range map[string]Reason{
		"abc": ReasonNotNumeric, "1.5": ReasonNotNumeric, "1e5": ReasonExcelDigits, "1,23457E+11": ReasonExcelDigits, "1.2.3E4": ReasonNotNumeric, "0": ReasonZeroID,
		"-0": ReasonZeroID, "0.0": ReasonZeroID, "9223372036854775808": ReasonOutOfRange, "-": ReasonNotNumeric,
		"12-34": ReasonNotNumeric, ".": ReasonNotNumeric, "1234567 7654321": ReasonNotNumeric,
		"12 34": ReasonNotNumeric, "1 2345": ReasonNotNumeric, " ": ReasonNotNumeric, "+": ReasonNotNumeric,
		"1 000 000 000 000 000 000 000": ReasonOutOfRange, "-1 00": ReasonNotNumeric,
		"1,000": ReasonNotNumeric, "5,000,000": ReasonNotNumeric,
	} {
		_, reason := ParseChatID(in)
		require.Equal(t, want, reason, in)
	}
}

func TestNormalizeName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		" First Name ": "first_name", "Имя клиента": "имя_клиента", "e-mail": "e_mail",
		"__a__b__": "a_b", "Сумма, ₽": "сумма", "#": "", "ID пользователя": "id_пользователя",
		"Straße": "straße", "2nd": "2nd",
	} {
		require.Equal(t, want, NormalizeName(in), in)
		if want != "" {
			require.True(t, ValidName(want), want)
		}
	}
	require.False(t, ValidName("First"))
	require.False(t, ValidName("a b"))
	require.False(t, ValidName(""))
}

func TestJSONEscaping(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"plain", `q"b\s`, "nl\nt\tcr\r", "\x01\x1f", "bad\xffutf8", "nul\x00x", "Юникод 🎉"} {
		b := jsonstr.Append(nil, s, jsonstr.DropNUL) // as encodeVars writes values
		var back string
		require.NoError(t, json.Unmarshal(b, &back), "%q -> %s", s, b)
		want := strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
		require.Equal(t, want, back)
	}
}

// makeXLSX writes rows into the first sheet of a new workbook.
func makeXLSX(t testing.TB, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, row := range rows {
		cell, err := excelize.CoordinatesToCellName(1, i+1)
		require.NoError(t, err)
		require.NoError(t, f.SetSheetRow("Sheet1", cell, &row))
	}
	var b bytes.Buffer
	_, err := f.WriteTo(&b)
	require.NoError(t, err)
	return b.Bytes()
}

func TestXLSX(t *testing.T) {
	t.Parallel()
	data := makeXLSX(t, [][]any{
		{}, // an empty first row: the header is the first non-empty one
		{"Имя", "Telegram ID", "Баланс"},
		{"Анна", 1001, 12.5},
		{"Борис", "1002", ""},
		{},
		{"Вера", 1001, 3},
		{"Гоша", "@gosha", 1},
		{"Дина", int64(-1001234567890), nil},
	})
	rd, err := Open(bytes.NewReader(data), Options{}) // detected by its ZIP signature
	require.NoError(t, err)
	got, sum, err := drain(t, rd)
	require.NoError(t, err)
	require.Equal(t, FormatXLSX, sum.Format)
	require.Equal(t, []string{"имя", "баланс"}, sum.Columns)
	require.Equal(t, []recipient{
		{3, 1001, map[string]string{"имя": "Анна", "баланс": "12.5"}},
		{4, 1002, map[string]string{"имя": "Борис", "баланс": ""}},
		{8, -1001234567890, map[string]string{"имя": "Дина", "баланс": ""}},
	}, got)
	require.Equal(t, 1, sum.Duplicates)
	require.Equal(t, []InvalidRow{{7, ReasonNotNumeric, "@gosha"}}, sum.InvalidSample)
}

func TestXLSXErrors(t *testing.T) {
	t.Parallel()
	_, err := Open(bytes.NewReader(makeXLSX(t, [][]any{{"name", "email"}, {"a", "b"}})), Options{})
	requireCode(t, err, CodeNoIDColumn)
	_, err = Open(bytes.NewReader(makeXLSX(t, nil)), Options{})
	requireCode(t, err, CodeEmpty)
	_, err = Open(strings.NewReader("PK\x03\x04 not really a zip"), Options{})
	requireCode(t, err, CodeBadXLSX)
	_, err = Open(strings.NewReader("chat_id\n1\n"), Options{Format: FormatXLSX})
	requireCode(t, err, CodeBadXLSX)
}

func TestReadErrorIsWrappedNotCoded(t *testing.T) {
	t.Parallel()
	boom := errors.New("connection reset")
	rd, err := Open(io.MultiReader(strings.NewReader("chat_id\n1\n2\n"), &failingReader{err: boom}), Options{})
	if err == nil { // the error may come while sniffing the header or while reading rows
		_, _, err = drain(t, rd)
	}
	require.ErrorIs(t, err, boom)
	var ie *Error
	require.False(t, errors.As(err, &ie))
}

type failingReader struct{ err error }

func (f *failingReader) Read([]byte) (int, error) { return 0, f.err }

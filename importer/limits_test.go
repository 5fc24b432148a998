package importer

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
)

// workbookParts writes a minimal workbook: the parts SyntheticXLSX writes besides its
// sheet and strings, then the given sheet XML and shared-strings XML (streamed from
// sst, so a 200 MB string never sits in memory), compressed as hard as flate can.
func workbookParts(t testing.TB, sheet string, sst io.Reader) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestCompression)
	})
	for _, p := range syntheticParts {
		require.NoError(t, writePart(zw, p[0], p[1]))
	}
	w, err := zw.Create("xl/sharedStrings.xml")
	require.NoError(t, err)
	_, err = io.Copy(w, sst)
	require.NoError(t, err)
	require.NoError(t, writePart(zw, "xl/worksheets/sheet1.xml", sheet))
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// sheetXML is a sheet whose rows are given as cell XML (without the row element).
func sheetXML(rows ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?><worksheet xmlns="` + ssmlNS + `"><sheetData>`)
	for i, r := range rows {
		fmt.Fprintf(&b, `<row r="%d">%s</row>`, i+1, r)
	}
	b.WriteString(`</sheetData></worksheet>`)
	return b.String()
}

// bombStrings is a shared-string table whose second string (index 1) is size bytes.
func bombStrings(size int) io.Reader {
	return io.MultiReader(
		strings.NewReader(`<?xml version="1.0"?><sst xmlns="`+ssmlNS+`"><si><t>chat_id</t></si><si><t>`),
		io.LimitReader(repeatByte('A'), int64(size)),
		strings.NewReader(`</t></si><si><t>note</t></si></sst>`))
}

type repeatByte byte

func (r repeatByte) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// The attack of issue 13: a small workbook whose one 200 MB shared string is used by
// 1,000 rows. It is refused with the cell limit after reading a little of the string,
// allocating a few megabytes instead of the string a thousand times.
func TestSharedStringsBomb(t *testing.T) {
	t.Parallel()
	rows := []string{`<c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>2</v></c>`}
	for i := 2; i <= 1001; i++ {
		rows = append(rows, fmt.Sprintf(`<c r="A%d"><v>%d</v></c><c r="B%d" t="s"><v>1</v></c>`, i, 1000+i, i))
	}
	data := workbookParts(t, sheetXML(rows...), bombStrings(200<<20))
	require.Less(t, len(data), 400<<10, "the bomb is a small file")

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Open(bytes.NewReader(data), Options{MaxBytes: MaxFileSize})
	runtime.ReadMemStats(&after)
	ie := requireCode(t, err, CodeCellTooLong)
	require.EqualValues(t, DefaultLimits.CellBytes, ie.Limit)
	// Other tests run in parallel, so this is an upper bound on what Open allocated.
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20), "allocated while refusing")
}

// A shared string over the cell limit but small enough to be an ordinary cell is
// remembered as too long, and the first cell that uses it is refused by row, column
// and header.
func TestSharedStringOverCellLimitNamesTheCell(t *testing.T) {
	t.Parallel()
	data := workbookParts(t, sheetXML(
		`<c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>2</v></c>`,
		`<c r="A2"><v>5</v></c>`,
		`<c r="A3"><v>6</v></c><c r="B3" t="s"><v>1</v></c>`,
	), bombStrings(2000))
	rd, err := Open(bytes.NewReader(data), Options{})
	require.NoError(t, err)
	_, _, err = drain(t, rd)
	ie := requireCode(t, err, CodeCellTooLong)
	require.Equal(t, 3, ie.Line)
	require.Equal(t, 2, ie.Column)
	require.Equal(t, "note", ie.Name)
	require.EqualValues(t, 1024, ie.Limit)

	// A higher limit takes it.
	rd, err = Open(bytes.NewReader(data), Options{Limits: Limits{CellBytes: 4000}})
	require.NoError(t, err)
	got, _, err := drain(t, rd)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Len(t, got[1].Vars["note"], 2000)
}

// Shared strings are held within Limits.SharedStringsBytes: a table of many small
// strings over the budget is refused as a whole, before the sheet is read.
func TestSharedStringsBudget(t *testing.T) {
	t.Parallel()
	var sst strings.Builder
	sst.WriteString(`<sst xmlns="` + ssmlNS + `"><si><t>chat_id</t></si>`)
	for i := range 200_000 {
		fmt.Fprintf(&sst, "<si><t>s%d</t></si>", i)
	}
	sst.WriteString(`</sst>`)
	data := workbookParts(t, sheetXML(`<c r="A1" t="s"><v>0</v></c>`, `<c r="A2"><v>1</v></c>`), strings.NewReader(sst.String()))
	_, err := Open(bytes.NewReader(data), Options{Limits: Limits{SharedStringsBytes: 1 << 20}})
	ie := requireCode(t, err, CodeXLSXTooLarge)
	require.Equal(t, "shared_strings", ie.Detail)
	require.EqualValues(t, 1<<20, ie.Limit)

	rd, err := Open(bytes.NewReader(data), Options{})
	require.NoError(t, err, "the default budget holds 200,000 short strings")
	_, sum, err := drain(t, rd)
	require.NoError(t, err)
	require.Equal(t, 1, sum.Imported)
}

// A workbook that inflates past Limits.UnzippedBytes is refused while inflating.
func TestXLSXUnzippedLimit(t *testing.T) {
	t.Parallel()
	var file bytes.Buffer
	require.NoError(t, SyntheticXLSX(&file, 20_000))
	rd, err := Open(bytes.NewReader(file.Bytes()), Options{Limits: Limits{UnzippedBytes: 1 << 20}})
	if err == nil {
		_, _, err = drain(t, rd)
	}
	ie := requireCode(t, err, CodeXLSXTooLarge)
	require.Equal(t, "unzipped", ie.Detail)
	require.EqualValues(t, 1<<20, ie.Limit)
}

// A 10 MB cell in a CSV file is refused naming its line, column and header, without
// the parser holding the cell: the guard stops the read a few KB into it.
func TestCSVHugeCell(t *testing.T) {
	t.Parallel()
	file := io.MultiReader(strings.NewReader("chat_id,Комментарий\n1,ok\n2,"),
		io.LimitReader(repeatByte('x'), 10<<20), strings.NewReader("\n3,ok\n"))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	rd, err := Open(file, Options{MaxBytes: MaxFileSize})
	require.NoError(t, err)
	got, _, err := drain(t, rd)
	runtime.ReadMemStats(&after)
	ie := requireCode(t, err, CodeCellTooLong)
	require.Equal(t, 3, ie.Line)
	require.Equal(t, 2, ie.Column)
	require.Equal(t, "Комментарий", ie.Name)
	require.EqualValues(t, 1024, ie.Limit)
	require.Len(t, got, 1, "rows before the refusal were read; the caller discards them with the file")
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(5<<20), "the cell was buffered")

	// The same inside quotes, with newlines in it.
	quoted := "chat_id;note\n1;\"" + strings.Repeat("ab\n", 1000) + "\"\n"
	rd, err = Open(strings.NewReader(quoted), Options{})
	require.NoError(t, err)
	_, _, err = drain(t, rd)
	ie = requireCode(t, err, CodeCellTooLong)
	require.Equal(t, 2, ie.Line)
	require.Equal(t, 2, ie.Column)
}

// Exactly at a limit is accepted, one byte over is refused: for CSV and XLSX, cell and
// row; then rows, cells in a row and the file's total.
func TestLimitsAtTheEdge(t *testing.T) {
	t.Parallel()
	lim := Limits{CellBytes: 10, RowBytes: 25}
	csvOpen := func(body string) error {
		rd, err := Open(strings.NewReader(body), Options{Limits: lim})
		if err == nil {
			_, _, err = drain(t, rd)
		}
		return err
	}
	require.NoError(t, csvOpen("id,a,b\n1,"+strings.Repeat("x", 10)+",\n"))
	ie := requireCode(t, csvOpen("id,a,b\n1,"+strings.Repeat("x", 11)+",\n"), CodeCellTooLong)
	require.Equal(t, Error{Code: CodeCellTooLong, Line: 2, Column: 2, Name: "a", Limit: 10}, *ie)
	ten := strings.Repeat("x", 10)
	require.NoError(t, csvOpen("id,a,b\n22222,"+ten+","+ten+"\n"))
	ie = requireCode(t, csvOpen("id,a,b\n22222,"+ten+","+ten+"\n333333,"+ten+","+ten+"\n"), CodeRowTooLong)
	require.Equal(t, Error{Code: CodeRowTooLong, Line: 3, Column: 3, Name: "b", Limit: 25}, *ie)

	xlsxOpen := func(rows [][]any) error {
		rd, err := Open(bytes.NewReader(makeXLSX(t, rows)), Options{Limits: lim})
		if err == nil {
			_, _, err = drain(t, rd)
		}
		return err
	}
	require.NoError(t, xlsxOpen([][]any{{"id", "a"}, {1, strings.Repeat("ж", 5)}}))
	ie = requireCode(t, xlsxOpen([][]any{{"id", "a"}, {1, "ok"}, {2, strings.Repeat("ж", 5) + "!"}}), CodeCellTooLong)
	require.Equal(t, Error{Code: CodeCellTooLong, Line: 3, Column: 2, Name: "a", Limit: 10}, *ie)

	ie = requireCode(t, openAll(t, "id\n1\n2\n3\n", Limits{Rows: 2}), CodeTooManyRows)
	require.Equal(t, Error{Code: CodeTooManyRows, Line: 4, Limit: 2}, *ie)
	require.NoError(t, openAll(t, "id\n1\n2\n", Limits{Rows: 2}))
	ie = requireCode(t, openAll(t, "id,a\n1,"+strings.Repeat(",", 30)+"\n", Limits{RowCells: 8}), CodeRowTooWide)
	require.Equal(t, 2, ie.Line)
	require.EqualValues(t, 8, ie.Limit)
	ie = requireCode(t, openAll(t, "id,a\n1,abcd\n2,abcd\n", Limits{TotalBytes: 12}), CodeTooMuchData)
	require.Equal(t, Error{Code: CodeTooMuchData, Line: 3, Limit: 12}, *ie)
}

func openAll(t *testing.T, body string, lim Limits) error {
	t.Helper()
	rd, err := Open(strings.NewReader(body), Options{Limits: lim})
	if err == nil {
		_, _, err = drain(t, rd)
	}
	return err
}

// Excel's CSV export with a "sep=;" first line: the line names the delimiter and is
// skipped; line numbers stay the file's.
func TestFixtureExcelSep(t *testing.T) {
	t.Parallel()
	rd, err := openFixture(t, "excel_sep.csv")
	require.NoError(t, err)
	got, sum, err := drain(t, rd)
	require.NoError(t, err)
	require.Equal(t, ';', sum.Delimiter)
	require.Equal(t, []string{"name", "city"}, sum.Columns)
	require.Equal(t, []recipient{
		{3, 501, map[string]string{"name": "Anna, Jr.", "city": "Berlin"}},
		{4, 502, map[string]string{"name": "Bob", "city": "Paris"}},
	}, got)
	require.Equal(t, []InvalidRow{{5, ReasonExcelDigits, "1,23457E+11"}}, sum.InvalidSample)

	for _, tc := range []struct {
		head  string
		delim rune
	}{{"sep=,\r\n", ','}, {"\"sep=\t\"\n", '\t'}, {"SEP=|\n", '|'}} {
		body := tc.head + strings.ReplaceAll("id;name\n7;Ann\n", ";", string(tc.delim))
		rd, err := Open(strings.NewReader(body), Options{})
		require.NoError(t, err, "%q", tc.head)
		got, sum, err := drain(t, rd)
		require.NoError(t, err)
		require.Equal(t, tc.delim, sum.Delimiter)
		require.Equal(t, []recipient{{3, 7, map[string]string{"name": "Ann"}}}, got)
	}
}

// Ids that Excel turned into exponent notation are told apart from words.
func TestFixtureScientificIDs(t *testing.T) {
	t.Parallel()
	rd, err := openFixture(t, "scientific_ids.csv")
	require.NoError(t, err)
	got, sum, err := drain(t, rd)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, []InvalidRow{
		{3, ReasonExcelDigits, "1.23457E+11"},
		{4, ReasonExcelDigits, "9,87654E+11"},
		{5, ReasonExcelDigits, "1E+15"},
		{6, ReasonNotNumeric, "E+11"},
	}, sum.InvalidSample)
}

// Dates in a workbook arrive as dates, numbers in full, whatever their display format.
func TestXLSXValuesAsStored(t *testing.T) {
	t.Parallel()
	f := excelize.NewFile()
	defer f.Close()
	require.NoError(t, f.SetSheetRow("Sheet1", "A1", &[]any{"chat_id", "since", "balance", "ok"}))
	require.NoError(t, f.SetSheetRow("Sheet1", "A2", &[]any{123456789012, 46358.5, 0.1 + 0.2, true}))
	date, err := f.NewStyle(&excelize.Style{NumFmt: 22}) // m/d/yy h:mm
	require.NoError(t, err)
	fixed, err := f.NewStyle(&excelize.Style{NumFmt: 11}) // 0.00E+00
	require.NoError(t, err)
	require.NoError(t, f.SetCellStyle("Sheet1", "B2", "B2", date))
	require.NoError(t, f.SetCellStyle("Sheet1", "A2", "A2", fixed))
	var buf bytes.Buffer
	_, err = f.WriteTo(&buf)
	require.NoError(t, err)
	rd, err := Open(&buf, Options{})
	require.NoError(t, err)
	got, _, err := drain(t, rd)
	require.NoError(t, err)
	require.Equal(t, []recipient{{2, 123456789012, map[string]string{"since": "2026-12-02 12:00:00", "balance": "0.3", "ok": "TRUE"}}}, got)
}

// SyntheticXLSX is a workbook Excel's readers accept, with the rows SyntheticCSV has.
func TestSyntheticXLSX(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	require.NoError(t, SyntheticXLSX(&buf, 300))
	f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	defer f.Close()
	rows, err := f.GetRows("Sheet1")
	require.NoError(t, err)
	require.Len(t, rows, 301)

	want, err := Open(SyntheticCSV(300), Options{})
	require.NoError(t, err)
	wantRows, _, err := drain(t, want)
	require.NoError(t, err)
	rd, err := Open(bytes.NewReader(buf.Bytes()), Options{})
	require.NoError(t, err)
	got, sum, err := drain(t, rd)
	require.NoError(t, err)
	require.Equal(t, FormatXLSX, sum.Format)
	for i := range wantRows { // the workbook stores 12.50 as the number 12.5
		wantRows[i].Vars["balance"] = strings.TrimSuffix(wantRows[i].Vars["balance"], "0")
	}
	require.Equal(t, wantRows, got)
}

// The 1M-row workbook of issue 13, when asked for: go test -run MillionRowXLSX
// -v ./importer/ with HERALD_BIG_TESTS=1. (BenchmarkParseXLSX reports the same with
// throughput.)
func TestMillionRowXLSX(t *testing.T) {
	if os.Getenv("HERALD_BIG_TESTS") == "" {
		t.Skip("set HERALD_BIG_TESTS=1: builds and reads a 1,000,000-row workbook")
	}
	path := filepath.Join(t.TempDir(), "million.xlsx")
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, SyntheticXLSX(f, 1_000_000))
	require.NoError(t, f.Close())
	runtime.GC()
	resetPeakRSS()
	stop := sampleHeap()
	in, err := os.Open(path)
	require.NoError(t, err)
	defer in.Close()
	rd, err := Open(in, Options{})
	require.NoError(t, err)
	n := 0
	for rd.Next() {
		n++
	}
	heap := stop()
	require.NoError(t, rd.Err())
	require.Equal(t, 1_000_000, n)
	t.Logf("peak heap %.0f MB, peak RSS %.0f MB", heap, peakRSSMB())
	require.Less(t, peakRSSMB(), 200.0)
}

// 10,000,000 shared strings (issue 13: ~1 GB before), when asked for, as above: the
// table is refused once over Limits.SharedStringsBytes, and memory stays near it.
func TestTenMillionSharedStrings(t *testing.T) {
	if os.Getenv("HERALD_BIG_TESTS") == "" {
		t.Skip("set HERALD_BIG_TESTS=1: builds and reads a workbook of 10,000,000 shared strings")
	}
	pr, pw := io.Pipe()
	go func() { // owned by the pipe: workbookParts reads it to the end
		bw := bufio.NewWriterSize(pw, 64<<10)
		bw.WriteString(`<sst xmlns="` + ssmlNS + `"><si><t>chat_id</t></si>`)
		for i := range 10_000_000 {
			fmt.Fprintf(bw, "<si><t>Name %d</t></si>", i)
		}
		bw.WriteString(`</sst>`)
		_ = bw.Flush()
		_ = pw.Close()
	}()
	data := workbookParts(t, sheetXML(`<c r="A1" t="s"><v>0</v></c>`, `<c r="A2"><v>1</v></c>`), pr)
	t.Logf("workbook: %.1f MB", float64(len(data))/(1<<20))
	runtime.GC()
	debug.FreeOSMemory()
	resetPeakRSS()
	stop := sampleHeap()
	_, err := Open(bytes.NewReader(data), Options{})
	heap := stop()
	t.Logf("peak heap %.0f MB, peak RSS %.0f MB: %v", heap, peakRSSMB(), err)
	ie := requireCode(t, err, CodeXLSXTooLarge)
	require.Equal(t, "shared_strings", ie.Detail)
	require.Less(t, peakRSSMB(), 200.0)
}

// Strings that do not fit the rest of a chunk start the next one, and each comes back
// as it went in.
func TestSharedStringsChunks(t *testing.T) {
	t.Parallel()
	lim := Limits{CellBytes: 6}.withDefaults()
	s := newSharedStrings(lim)
	s.chunk = 8
	in := []string{"abc", "", "defgh", "ij", "klmnop", "q", "", "rstuvw", "too long!", "xy"}
	for _, v := range in {
		require.NoError(t, s.add([]byte(v), len(v), lim))
	}
	for i, v := range in {
		got, long, ok := s.get(i)
		require.True(t, ok, i)
		if len(v) > lim.CellBytes {
			require.Equal(t, len(v), long)
			continue
		}
		require.Equal(t, v, got, i)
	}
	_, _, ok := s.get(len(in))
	require.False(t, ok)
	require.Len(t, s.text, 4)
}

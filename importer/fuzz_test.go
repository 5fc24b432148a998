package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// checkReader drains rd and checks what every import promises, whatever the input:
// Next ends, each recipient has a distinct non-zero id and a JSON object of strings
// with exactly the summary's columns, the counts add up, and a failure is an *Error
// (bytes.Reader never fails to read).
func checkReader(t *testing.T, rd *Reader, err error) {
	checkLimited(t, rd, err, DefaultLimits)
}

// fuzzLimits are small, so that fuzzed input reaches them.
var fuzzLimits = Limits{CellBytes: 16, RowBytes: 40, RowCells: 8, Rows: 50, TotalBytes: 600, SharedStringsBytes: 256}

// checkLimited is checkReader that also holds every recipient to lim: no value over
// CellBytes, no row over RowBytes, no more than Rows rows.
func checkLimited(t *testing.T, rd *Reader, err error, lim Limits) {
	if err != nil {
		var ie *Error
		if !errors.As(err, &ie) {
			t.Fatalf("Open: not an *Error: %v", err)
		}
		return
	}
	seen := map[int64]bool{}
	for rd.Next() {
		id := rd.ChatID()
		if id == 0 || seen[id] {
			t.Fatalf("id %d zero or repeated", id)
		}
		seen[id] = true
		var vars map[string]string
		if err := json.Unmarshal(rd.Vars(), &vars); err != nil {
			t.Fatalf("vars %q: %v", rd.Vars(), err)
		}
		if len(vars) != len(rd.Columns()) {
			t.Fatalf("vars %q for columns %q", rd.Vars(), rd.Columns())
		}
		rowBytes := 0
		for _, c := range rd.Columns() {
			if _, ok := vars[c]; !ok || !ValidName(c) {
				t.Fatalf("column %q missing from %q or not a valid name", c, rd.Vars())
			}
			if len(vars[c]) > lim.CellBytes {
				t.Fatalf("value %q over the cell limit %d", vars[c], lim.CellBytes)
			}
			rowBytes += len(vars[c])
		}
		if rowBytes > lim.RowBytes || len(seen) > lim.Rows {
			t.Fatalf("row %d of %d bytes (limits: %d bytes, %d rows)", len(seen), rowBytes, lim.RowBytes, lim.Rows)
		}
	}
	sum := rd.Summary()
	if sum.Imported+sum.Duplicates+sum.Invalid != sum.Rows || sum.Imported != len(seen) {
		t.Fatalf("counts do not add up: %+v, %d returned", sum, len(seen))
	}
	if len(sum.InvalidSample) != min(sum.Invalid, maxSample) {
		t.Fatalf("sample of %d for %d invalid rows", len(sum.InvalidSample), sum.Invalid)
	}
	if err := rd.Err(); err != nil {
		var ie *Error
		if !errors.As(err, &ie) {
			t.Fatalf("Err: not an *Error: %v", err)
		}
	}
}

func FuzzCSV(f *testing.F) {
	f.Add([]byte("chat_id,name\n1,a\n2,\"b\nc\"\n1,d\nx,e\n"))
	f.Add([]byte("\xEF\xBB\xBFid;имя\r\n1;Ф\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rd, err := Open(bytes.NewReader(data), Options{Format: FormatCSV})
		checkReader(t, rd, err)
		rd, err = Open(bytes.NewReader(data), Options{Format: FormatCSV, Limits: fuzzLimits})
		checkLimited(t, rd, err, fuzzLimits)
	})
}

func FuzzXLSX(f *testing.F) {
	f.Add(makeXLSX(f, [][]any{{"chat_id", "name"}, {1, "a"}, {"2", "b"}}))
	f.Add(workbookParts(f, sheetXML(`<c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>2</v></c>`,
		`<c r="A2"><v>7</v></c><c r="B2" t="s"><v>1</v></c>`, `<c r="A3"><v>8</v></c><c r="B3" t="inlineStr"><is><t>x</t></is></c>`),
		bombStrings(40)))
	var synthetic bytes.Buffer
	if err := SyntheticXLSX(&synthetic, 60); err != nil {
		f.Fatal(err)
	}
	f.Add(synthetic.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		rd, err := Open(bytes.NewReader(data), Options{Format: FormatXLSX})
		checkReader(t, rd, err)
		rd, err = Open(bytes.NewReader(data), Options{Format: FormatXLSX, Limits: fuzzLimits})
		checkLimited(t, rd, err, fuzzLimits)
	})
}

func FuzzIDList(f *testing.F) {
	f.Add([]byte("1 2, 3;4\n5 @x 0"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rd, err := OpenIDList(string(data))
		checkReader(t, rd, err)
	})
}

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
		for _, c := range rd.Columns() {
			if _, ok := vars[c]; !ok || !ValidName(c) {
				t.Fatalf("column %q missing from %q or not a valid name", c, rd.Vars())
			}
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
	})
}

func FuzzXLSX(f *testing.F) {
	f.Add(makeXLSX(f, [][]any{{"chat_id", "name"}, {1, "a"}, {"2", "b"}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		rd, err := Open(bytes.NewReader(data), Options{Format: FormatXLSX})
		checkReader(t, rd, err)
	})
}

func FuzzIDList(f *testing.F) {
	f.Add([]byte("1 2, 3;4\n5 @x 0"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rd, err := OpenIDList(string(data))
		checkReader(t, rd, err)
	})
}

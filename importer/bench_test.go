package importer

import (
	"io"
	"testing"
)

// BenchmarkParseCSV measures parsing alone: decoding, CSV, id checks, de-duplication
// and encoding each row's variables as JSON. b.N rows per run, so ns/op is per row.
func BenchmarkParseCSV(b *testing.B) {
	size := countBytes(SyntheticCSV(b.N))
	b.SetBytes(size / int64(b.N))
	b.ReportAllocs()
	b.ResetTimer()
	rd, err := Open(SyntheticCSV(b.N), Options{})
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for rd.Next() {
		n++
	}
	if err := rd.Err(); err != nil || n != b.N {
		b.Fatalf("read %d of %d rows: %v", n, b.N, err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func countBytes(r io.Reader) int64 {
	n, _ := io.Copy(io.Discard, r)
	return n
}

func TestGenCSV(t *testing.T) {
	t.Parallel()
	rd, err := Open(SyntheticCSV(3000), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, sum, err := drain(t, rd)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3000 || sum.Duplicates != 0 || sum.Invalid != 0 || got[2999].Line != 3001 {
		t.Fatalf("generator broken: %d rows, %+v", len(got), sum)
	}
}

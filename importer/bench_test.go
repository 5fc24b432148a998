package importer

import (
	"io"
	"strconv"
	"testing"
)

// genCSV produces a CSV of n recipients with three variable columns on the fly, so a
// million rows never sit in memory.
type genCSV struct {
	n, i int
	buf  []byte
	off  int
}

var genNames = []string{"Анна", "Борис", "Вера", "Глеб", "Alice", "Bob", "Carol", "Dmitry"}

func newGenCSV(n int) *genCSV {
	return &genCSV{n: n, buf: []byte("chat_id,first_name,city,balance\n")}
}

func (g *genCSV) Read(p []byte) (int, error) {
	for len(g.buf)-g.off < len(p) && g.i < g.n {
		if g.off > 0 {
			g.buf = append(g.buf[:0], g.buf[g.off:]...)
			g.off = 0
		}
		g.i++
		g.buf = strconv.AppendInt(g.buf, int64(100000000+g.i*7), 10)
		g.buf = append(g.buf, ',')
		g.buf = append(g.buf, genNames[g.i%len(genNames)]...)
		g.buf = append(g.buf, ",City "...)
		g.buf = strconv.AppendInt(g.buf, int64(g.i%1000), 10)
		g.buf = append(g.buf, ',')
		g.buf = strconv.AppendInt(g.buf, int64(g.i%100000), 10)
		g.buf = append(g.buf, ".50\n"...)
	}
	if g.off == len(g.buf) {
		return 0, io.EOF
	}
	n := copy(p, g.buf[g.off:])
	g.off += n
	return n, nil
}

// BenchmarkParseCSV measures parsing alone: decoding, CSV, id checks, de-duplication
// and encoding each row's variables as JSON. b.N rows per run, so ns/op is per row.
func BenchmarkParseCSV(b *testing.B) {
	size := countBytes(newGenCSV(b.N))
	b.SetBytes(size / int64(b.N))
	b.ReportAllocs()
	b.ResetTimer()
	rd, err := Open(newGenCSV(b.N), Options{})
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
	rd, err := Open(newGenCSV(3000), Options{})
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

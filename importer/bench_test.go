package importer

import (
	"bytes"
	"io"
	"runtime"
	"runtime/debug"
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

// BenchmarkParseXLSX is BenchmarkParseCSV for a workbook (SyntheticXLSX): b.N rows,
// so ns/op is per row. With -benchtime 1000000x it is the 1M-row XLSX import's parse
// half; peak-heap-MB is the most the Go heap held while reading (sampled), and
// peak-rss-MB the process's VmHWM over the read alone (reset before it, on Linux).
func BenchmarkParseXLSX(b *testing.B) {
	var file bytes.Buffer
	if err := SyntheticXLSX(&file, b.N); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(file.Len()) / int64(b.N))
	b.ReportMetric(float64(file.Len())/(1<<20), "file-MB")
	b.ReportAllocs()
	runtime.GC()
	debug.FreeOSMemory()
	resetPeakRSS()
	stop := sampleHeap()
	cpu0 := cpuTime()
	b.ResetTimer()
	rd, err := Open(bytes.NewReader(file.Bytes()), Options{})
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
	b.StopTimer()
	// The machine is shared: CPU time per row says more than the wall clock.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/row")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(stop(), "peak-heap-MB")
	if rss := peakRSSMB(); rss > 0 {
		b.ReportMetric(rss, "peak-rss-MB")
	}
}

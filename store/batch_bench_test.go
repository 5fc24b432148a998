package store_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"herald/importer"
	"herald/pgtest"
	"herald/store"
)

// genCSV produces a CSV of n recipients with three variable columns on the fly, so a
// million rows never sit in memory (the same shape as importer's benchmark input).
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

// BenchmarkBatchImport measures the real import path, parse + COPY into Postgres, with
// b.N rows in one batch (ns/op is per row).
func BenchmarkBatchImport(b *testing.B) {
	st := store.New(pgtest.NewPool(b))
	b.ReportAllocs()
	b.ResetTimer()
	rd, err := importer.Open(newGenCSV(b.N), importer.Options{})
	if err != nil {
		b.Fatal(err)
	}
	batch, err := st.BatchImport(context.Background(), store.BatchImportParams{Name: "bench", CreatedBy: 1, Source: rd})
	if err != nil {
		b.Fatal(err)
	}
	if batch.RecipientCount != b.N {
		b.Fatalf("imported %d of %d", batch.RecipientCount, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// TestBatchImportMillionRows imports a generated 1,000,000-row CSV (three variable
// columns) through the real path and reports the rate and this process's peak RSS. The
// targets are 150,000 rows/s and 150 MB; the rate is only logged, because a shared
// test machine's speed varies, while the memory bound is checked.
func TestBatchImportMillionRows(t *testing.T) {
	if testing.Short() {
		t.Skip("imports a million rows (about 5 s)")
	}
	if raceEnabled {
		t.Skip("measures speed and memory, which the race detector distorts")
	}
	// Not parallel: VmHWM is the whole process's peak.
	const rows = 1_000_000
	ctx := context.Background()
	st := store.New(pgtest.NewPool(t))
	rd, err := importer.Open(newGenCSV(rows), importer.Options{})
	require.NoError(t, err)
	var reports int
	start := time.Now()
	b, err := st.BatchImport(ctx, store.BatchImportParams{Name: "million", CreatedBy: 1, Source: rd,
		Progress: func(store.BatchImportProgress) { reports++ }})
	elapsed := time.Since(start)
	require.NoError(t, err)
	require.Equal(t, rows, b.RecipientCount)
	peak := peakRSS(t)
	t.Logf("imported %d rows in %v: %.0f rows/s, peak RSS %.1f MB, %d progress reports",
		rows, elapsed.Round(time.Millisecond), rows/elapsed.Seconds(), float64(peak)/(1<<20), reports)
	require.Less(t, peak, int64(150<<20), "peak RSS")
	if elapsed > time.Second {
		require.Positive(t, reports, "a import longer than a second reports progress")
	}
	var n int
	require.NoError(t, st.Pool().QueryRow(ctx, `SELECT count(*) FROM recipients WHERE batch_id = $1 AND vars ? 'first_name'`, b.ID).Scan(&n))
	require.Equal(t, rows, n)
}

// peakRSS reads VmHWM, the process's peak resident set size, from /proc/self/status.
func peakRSS(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status:", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmHWM:")); ok {
			var kb int64
			_, err := fmt.Sscanf(string(rest), "%d kB", &kb)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}

package store_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"herald/importer"
	"herald/pgtest"
	"herald/store"
)

// BenchmarkBatchImport measures the real import path, parse + COPY into Postgres, with
// b.N rows in one batch (ns/op is per row).
func BenchmarkBatchImport(b *testing.B) {
	st := store.New(pgtest.NewPool(b))
	b.ReportAllocs()
	b.ResetTimer()
	rd, err := importer.Open(importer.SyntheticCSV(b.N), importer.Options{})
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
	rd, err := importer.Open(importer.SyntheticCSV(rows), importer.Options{})
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

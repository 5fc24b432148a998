package bench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"herald/importer"
	"herald/store"
)

// importXLSX is the import scenario's second case: the same recipients as the CSV
// case, as a workbook (importer.SyntheticXLSX: text in the shared-string table as Excel
// writes it), imported through importer.Open and store.BatchImport. Its figures carry
// the prefix xlsx_. Peak RSS is measured from a reset of VmHWM after the CSV case,
// so it covers this import alone.
func importXLSX(ctx context.Context, h *herald, r *Result, rows int) error {
	f, err := os.CreateTemp("", "herald-bench-*.xlsx")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := importer.SyntheticXLSX(f, rows); err != nil { // not timed
		return err
	}
	if fi, err := f.Stat(); err == nil {
		r.Params["xlsx_file_mb"] = float64(fi.Size()) / (1 << 20)
	}
	if _, err := f.Seek(0, 0); err != nil {
		return err
	}
	runtime.GC() // what the CSV case left on the heap is not this case's
	debug.FreeOSMemory()
	resetPeakRSS()
	cpu0, start := cpuTime(), time.Now()
	rd, err := importer.Open(f, importer.Options{})
	if err != nil {
		return err
	}
	defer rd.Close()
	b, err := h.store.BatchImport(ctx, store.BatchImportParams{Name: "bench import xlsx", SourceName: "bench.xlsx", CreatedBy: h.admin, Source: rd})
	if err != nil {
		return err
	}
	took, cpu := time.Since(start), cpuTime()-cpu0
	if b.RecipientCount != rows {
		return fmt.Errorf("xlsx: imported %d of %d rows", b.RecipientCount, rows)
	}
	r.Metrics["xlsx_rows_per_s"] = float64(rows) / took.Seconds()
	r.Metrics["xlsx_seconds"] = took.Seconds()
	r.Metrics["xlsx_cpu_s"] = cpu.Seconds()
	r.Metrics["xlsx_peak_rss_mb"] = peakRSSMB()
	r.target("xlsx_peak_rss_mb", "<=", 200)
	return nil
}

// resetPeakRSS resets this process's VmHWM (Linux ≥ 4.0), so that peakRSSMB measures
// from here on.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"herald/importer"
	"herald/store"
)

// importCSV: a generated CSV of 10 × size rows (1,000,000 by default) with three
// variable columns (importer.SyntheticCSV), streamed to a temporary file, then imported through
// importer.Open and store.BatchImport (parse, de-duplicate, COPY) as the upload
// dialog does. Peak RSS is this child process's VmHWM, which covers only the import.
// Then the same recipients as a workbook (importXLSX).
func importCSV(ctx context.Context, s *scenario) (Result, error) {
	r := newResult("import")
	rows := 10 * s.size
	r.Params["rows"], r.Params["variable_columns"] = rows, 3
	f, err := os.CreateTemp("", "herald-bench-*.csv")
	if err != nil {
		return r, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	// Written out first (not timed), so the import reads a file as the dialog does.
	if _, err := io.Copy(f, importer.SyntheticCSV(rows)); err != nil {
		return r, err
	}
	if fi, err := f.Stat(); err == nil {
		r.Params["file_mb"] = float64(fi.Size()) / (1 << 20)
	}
	if _, err := f.Seek(0, 0); err != nil {
		return r, err
	}
	h, err := openHerald(ctx, s, 1)
	if err != nil {
		return r, err
	}
	defer h.close()

	cpu0, start := cpuTime(), time.Now()
	rd, err := importer.Open(f, importer.Options{})
	if err != nil {
		return r, err
	}
	defer rd.Close()
	b, err := h.store.BatchImport(ctx, store.BatchImportParams{Name: "bench import", SourceName: "bench.csv", CreatedBy: h.admin, Source: rd})
	if err != nil {
		return r, err
	}
	took, cpu := time.Since(start), cpuTime()-cpu0
	if b.RecipientCount != rows {
		return r, fmt.Errorf("imported %d of %d rows", b.RecipientCount, rows)
	}
	r.Metrics["rows_per_s"] = float64(rows) / took.Seconds()
	r.Metrics["seconds"] = took.Seconds()
	r.Metrics["cpu_s"] = cpu.Seconds()
	r.Metrics["peak_rss_mb"] = peakRSSMB()
	r.target("rows_per_s", ">=", 150_000)
	r.target("peak_rss_mb", "<=", 150)
	return r, importXLSX(ctx, h, &r, rows)
}

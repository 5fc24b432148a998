// Package importer reads recipient lists — CSV, XLSX, or ids pasted into a message — as
// a stream of checked, de-duplicated recipients with their template variables, ready
// for store.BatchImport to COPY into Postgres. It knows nothing of Telegram or SQL.
//
// # Rules
//
//   - CSV text is UTF-8 (with or without BOM), UTF-16 with BOM, or Windows-1251. The
//     choice between UTF-8 and Windows-1251 is made at the first non-ASCII byte by
//     looking at the next 4 KB, so a file is decoded as it streams.
//   - The delimiter is named by Excel's "sep=;" first line when there is one (that line is
//     skipped; line numbers stay the file's), else it is the most frequent of comma,
//     semicolon and tab on the header line.
//   - A header is required. Header cells become variable names through NormalizeName
//     (trimmed, lower-cased, runs of non-letters/digits → "_", letters of any script
//     kept: "Имя клиента" → {{имя_клиента}}). An empty or symbol-only cell in the middle
//     of the header, or two cells with the same name, reject the file; empty cells at the
//     end of the header are dropped (Excel writes a trailing delimiter).
//   - The recipient column is the first of IDColumnNames present (chat_id, user_id,
//     telegram_id, id, … and Russian names such as "ID пользователя", "Телеграм ID",
//     "ИД"); every other column is a variable, present in every recipient's Vars ("" when
//     the cell is empty).
//   - XLSX: the first sheet, same rules, the first non-empty row being the header; cells
//     are read as stored (text as written, numbers in full, dates as 2006-01-02), by this
//     package's own streaming reader (see OpenXLSX).
//   - Ids: see ParseChatID. Invalid rows (empty id, not a number, digits Excel dropped
//     (1.23457E+11), 0, out of range, more non-empty cells than the header) are skipped, counted and the first ten kept with
//     their line numbers — the file's own lines, counting newlines inside quoted fields.
//   - Duplicate ids: the first row wins; later rows are counted as duplicates.
//   - Blank rows are skipped silently.
//   - Problems with the file as a whole are *Error with a Code for the dialog to
//     translate: empty, binary (a picture renamed .csv, an old .xls), too_big, bad_header,
//     duplicate_column, no_id_column (with the header found and the names accepted),
//     too_many_columns, malformed (unterminated quote), bad_xlsx, no_rows, no_valid_rows.
//   - Limits (see Limits; defaults in DefaultLimits: 1 KB a cell, 16 KB a row, 1,024
//     cells a row, 2,000,000 rows, 128 MB of cells a file; for XLSX 256 MB of XML
//     inflated and 64 MB of shared strings) are checked while the file streams, before
//     a row is handed on: a file over one is refused whole, the *Error naming the line,
//     the column with its header, and the limit (cell_too_long, row_too_long,
//     row_too_wide, too_many_rows, too_much_data, xlsx_too_large).
//
// # Performance
//
// Measured on the 2-core development machine (AMD EPYC, shared with other builds, load
// average about 2–3), Go 1.26, PostgreSQL 15, with a generated CSV of 1,000,000 distinct
// recipients and three variable columns (35 MB):
//
//	parsing alone (decode, CSV, ids, de-dup, JSON vars):
//	    go test -run '^$' -bench ParseCSV -benchtime 1000000x ./importer/
//	    → 1,280,000 rows/s, 783 ns/row, 114 B and 1 allocation per row
//	full import (parse + COPY into recipients, one transaction):
//	    go test -run TestBatchImportMillionRows -v ./store/
//	    → 1,000,000 rows in 2.5–4.1 s: 244,000–400,000 rows/s (the machine was shared),
//	      peak RSS (VmHWM) 69–70 MB
//	    go test -run '^$' -bench BatchImport -benchtime 1000000x ./store/
//	    → 254,000 rows/s, 3.9 µs/row; 147 B and 3 allocations per row in this process
//
// Fuzz targets FuzzCSV, FuzzXLSX and FuzzIDList (seed corpora in testdata/fuzz, run by
// every go test) ran 90, 90 and 45 s with -parallel 1 without a failure:
//
//	go test -run '^$' -fuzz '^FuzzCSV$' -fuzztime 90s ./importer/
//
// XLSX, 1,000,000 rows (SyntheticXLSX, 20.8 MB), load average 10–28 on the shared machine:
//
//	go test -run '^$' -bench ParseXLSX -benchtime 1000000x ./importer/
//	    → about 15 µs of CPU a row (encoding/xml is most of it), peak RSS 92–125 MB
//	./herald bench --scenario import   (parse + COPY, figures xlsx_*)
//	    → 39,153 rows/s, 13.4 s CPU, peak RSS 99 MB at load 10.7
//
// Memory is bounded by the set of ids seen (about 20 bytes per recipient), fixed
// buffers and, for XLSX, the shared-string table (Limits.SharedStringsBytes): the file
// is never held whole; a workbook, whose ZIP directory needs random access, is spooled
// to an unlinked temporary file. Most of the import's time is Postgres
// parsing jsonb and maintaining the primary key; the recipients table checks its batch
// once per statement rather than per row for this reason (migration 00004: a per-row
// foreign key made the same import take 9–10 s).
package importer

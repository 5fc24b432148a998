package importer

import (
	"archive/zip"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path"
	"strings"
)

// partXMLLimit bounds the small parts read whole into structures (workbook, its
// relationships, styles): real ones are kilobytes, a few megabytes at worst.
const partXMLLimit = 16 << 20

// workbook is an opened .xlsx: its ZIP directory and what reading it has cost so far.
type workbook struct {
	file  *os.File             // the upload, spooled
	parts map[string]*zip.File // by lower-cased name: Excel matches part names case-insensitively
	left  int64                // Limits.UnzippedBytes not yet read
	limit int64                // Limits.UnzippedBytes
}

func openWorkbook(file *os.File, size int64, lim Limits) (*workbook, error) {
	zr, err := zip.NewReader(file, size)
	if err != nil {
		return nil, &Error{Code: CodeBadXLSX, Detail: err.Error()}
	}
	wb := &workbook{file: file, parts: make(map[string]*zip.File, len(zr.File)), left: lim.UnzippedBytes, limit: lim.UnzippedBytes}
	for _, f := range zr.File {
		wb.parts[strings.ToLower(strings.TrimPrefix(strings.ReplaceAll(f.Name, "\\", "/"), "/"))] = f
	}
	return wb, nil
}

// open returns a part's inflated bytes, counted against Limits.UnzippedBytes as they are
// read (a ZIP header's sizes are not trusted), and at most max bytes of this part. ok
// is false when the part does not exist.
func (wb *workbook) open(name string, max int64) (io.ReadCloser, bool, error) {
	f, ok := wb.parts[strings.ToLower(strings.TrimPrefix(name, "/"))]
	if !ok {
		return nil, false, nil
	}
	rc, err := f.Open()
	if err != nil {
		return nil, true, &Error{Code: CodeBadXLSX, Detail: name + ": " + err.Error()}
	}
	return &budgetReader{rc: rc, wb: wb, left: max, limit: max, name: name}, true, nil
}

// budgetReader counts a part's bytes against the part's and the workbook's budgets.
type budgetReader struct {
	rc    io.ReadCloser
	wb    *workbook
	left  int64 // of this part's own limit
	limit int64
	name  string
	n     int64 // bytes read so far

	from      int64  // n at mark
	spanLimit int64  // 0: no span limit
	spanErr   *Error // returned once the span limit is crossed
}

// mark starts measuring an element (a row, a shared string) for span.
func (b *budgetReader) mark() { b.from = b.n }

// span makes reading fail with err once more than limit bytes were read since mark:
// encoding/xml holds a whole text node in memory, so the bound must be under it.
func (b *budgetReader) span(limit int64, err *Error) { b.spanLimit, b.spanErr = limit, err }

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.spanLimit > 0 && b.n-b.from > b.spanLimit {
		return 0, b.spanErr
	}
	n, err := b.rc.Read(p)
	b.n += int64(n)
	b.left -= int64(n)
	b.wb.left -= int64(n)
	switch {
	case b.wb.left < 0:
		return 0, &Error{Code: CodeXLSXTooLarge, Detail: "unzipped", Limit: b.wb.limit}
	case b.left < 0:
		return 0, &Error{Code: CodeXLSXTooLarge, Detail: b.name, Limit: b.limit}
	}
	if err != nil && !errors.Is(err, io.EOF) {
		err = &Error{Code: CodeBadXLSX, Detail: b.name + ": " + err.Error()}
	}
	return n, err
}

func (b *budgetReader) Close() error { return b.rc.Close() }

// layout is where a workbook keeps what the import reads.
type layout struct {
	sheet, sst, styles string // part names
	date1904           bool   // dates count from 1904 (old Mac workbooks)
}

// layout finds the first sheet's part and the shared strings and styles parts through
// the workbook's relationships, falling back to the names Excel uses.
func (wb *workbook) layout() (layout, error) {
	l := layout{sst: "xl/sharedStrings.xml", styles: "xl/styles.xml"}
	firstID := ""
	err := wb.scan("xl/workbook.xml", func(se xml.StartElement) bool {
		switch se.Name.Local {
		case "workbookPr":
			v := attr(se, "date1904")
			l.date1904 = v == "1" || v == "true"
		case "sheet":
			firstID = attr(se, "id")
			return false
		}
		return true
	})
	if err != nil {
		return l, err
	}
	if firstID == "" {
		return l, &Error{Code: CodeBadXLSX, Detail: "no sheet"}
	}
	err = wb.scan("xl/_rels/workbook.xml.rels", func(se xml.StartElement) bool {
		if se.Name.Local != "Relationship" {
			return true
		}
		target := attr(se, "Target")
		if strings.HasPrefix(target, "/") {
			target = strings.TrimPrefix(target, "/")
		} else {
			target = path.Join("xl", target)
		}
		typ := attr(se, "Type")
		switch {
		case attr(se, "Id") == firstID:
			l.sheet = target
		case strings.HasSuffix(typ, "/sharedStrings"):
			l.sst = target
		case strings.HasSuffix(typ, "/styles"):
			l.styles = target
		}
		return true
	})
	if err == nil && l.sheet == "" {
		err = &Error{Code: CodeBadXLSX, Detail: "first sheet not found"}
	}
	return l, err
}

// scan calls fn with each start element of a small part until fn returns false. A
// missing part is an error: the workbook and its relationships are required.
func (wb *workbook) scan(name string, fn func(xml.StartElement) bool) error {
	rc, ok, err := wb.open(name, partXMLLimit)
	if err != nil {
		return err
	}
	if !ok {
		return &Error{Code: CodeBadXLSX, Detail: "no " + name}
	}
	defer rc.Close()
	return scanXML(xml.NewDecoder(rc), name, fn)
}

func scanXML(dec *xml.Decoder, name string, fn func(xml.StartElement) bool) error {
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return xmlErr(name, err)
		}
		if se, ok := tok.(xml.StartElement); ok && !fn(se) {
			return nil
		}
	}
}

// xmlErr passes a budget's *Error through; anything else is a broken workbook.
func xmlErr(name string, err error) error {
	var ie *Error
	if errors.As(err, &ie) {
		return ie
	}
	return &Error{Code: CodeBadXLSX, Detail: name + ": " + err.Error()}
}

func attr(se xml.StartElement, local string) string {
	for _, a := range se.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

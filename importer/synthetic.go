package importer

import (
	"archive/zip"
	"bufio"
	"encoding/xml"
	"io"
	"strconv"
	"strings"
)

// SyntheticCSV returns a CSV of n distinct recipients with three variable columns
// (first_name, city, balance), generated as it is read so that a million rows never sit
// in memory. Tests, benchmarks and `herald bench` import it through the real path.
func SyntheticCSV(n int) io.Reader {
	return &syntheticCSV{n: n, buf: []byte("chat_id,first_name,city,balance\n")}
}

type syntheticCSV struct {
	n, i int
	buf  []byte
	off  int
}

var syntheticNames = []string{"Анна", "Борис", "Вера", "Глеб", "Alice", "Bob", "Carol", "Dmitry"}

// SyntheticChatID is the chat id of the i-th (1-based) recipient of SyntheticCSV.
func SyntheticChatID(i int) int64 { return int64(100000000 + i*7) }

func (g *syntheticCSV) Read(p []byte) (int, error) {
	for len(g.buf)-g.off < len(p) && g.i < g.n {
		if g.off > 0 {
			g.buf = append(g.buf[:0], g.buf[g.off:]...)
			g.off = 0
		}
		g.i++
		g.buf = strconv.AppendInt(g.buf, SyntheticChatID(g.i), 10)
		g.buf = append(g.buf, ',')
		g.buf = append(g.buf, syntheticNames[g.i%len(syntheticNames)]...)
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

// SyntheticXLSX writes to w a workbook whose first sheet holds the same recipients as
// SyntheticCSV(n), laid out as Excel saves them: text cells in the shared-string table
// (the eight names, a thousand cities), numbers in the sheet. The sheet is written as
// it is generated, so a million rows never sit in memory.
func SyntheticXLSX(w io.Writer, n int) error {
	zw := zip.NewWriter(w)
	for _, part := range syntheticParts {
		if err := writePart(zw, part[0], part[1]); err != nil {
			return err
		}
	}
	sst := []string{"chat_id", "first_name", "city", "balance"}
	sst = append(sst, syntheticNames...)
	for i := range 1000 {
		sst = append(sst, "City "+strconv.Itoa(i))
	}
	var b strings.Builder
	b.WriteString(xml.Header + `<sst xmlns="` + ssmlNS + `" count="` + strconv.Itoa(len(sst)) + `" uniqueCount="` + strconv.Itoa(len(sst)) + `">`)
	for _, s := range sst {
		b.WriteString("<si><t>")
		_ = xml.EscapeText(&b, []byte(s))
		b.WriteString("</t></si>")
	}
	b.WriteString("</sst>")
	if err := writePart(zw, "xl/sharedStrings.xml", b.String()); err != nil {
		return err
	}
	sheet, err := zw.Create("xl/worksheets/sheet1.xml")
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(sheet, 64<<10)
	bw.WriteString(xml.Header + `<worksheet xmlns="` + ssmlNS + `"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c></row>`)
	buf := make([]byte, 0, 256)
	for i := 1; i <= n; i++ {
		r := strconv.AppendInt(nil, int64(i+1), 10)
		buf = append(buf[:0], `<row r="`...)
		buf = append(buf, r...)
		buf = append(buf, `"><c r="A`...)
		buf = append(buf, r...)
		buf = append(buf, `"><v>`...)
		buf = strconv.AppendInt(buf, SyntheticChatID(i), 10)
		buf = append(buf, `</v></c><c r="B`...)
		buf = append(buf, r...)
		buf = append(buf, `" t="s"><v>`...)
		buf = strconv.AppendInt(buf, int64(4+i%len(syntheticNames)), 10)
		buf = append(buf, `</v></c><c r="C`...)
		buf = append(buf, r...)
		buf = append(buf, `" t="s"><v>`...)
		buf = strconv.AppendInt(buf, int64(4+len(syntheticNames)+i%1000), 10)
		buf = append(buf, `</v></c><c r="D`...)
		buf = append(buf, r...)
		buf = append(buf, `"><v>`...)
		buf = strconv.AppendInt(buf, int64(i%100000), 10)
		buf = append(buf, `.5</v></c></row>`...)
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	bw.WriteString(`</sheetData></worksheet>`)
	if err := bw.Flush(); err != nil {
		return err
	}
	return zw.Close()
}

const ssmlNS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

// syntheticParts are the parts every workbook has besides its sheet and strings.
var syntheticParts = [][2]string{
	{"[Content_Types].xml", xml.Header + `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
		`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
		`<Default Extension="xml" ContentType="application/xml"/>` +
		`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
		`<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>` +
		`<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>` +
		`</Types>`},
	{"_rels/.rels", xml.Header + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
		`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>` +
		`</Relationships>`},
	{"xl/workbook.xml", xml.Header + `<workbook xmlns="` + ssmlNS + `" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">` +
		`<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>`},
	{"xl/_rels/workbook.xml.rels", xml.Header + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
		`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>` +
		`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>` +
		`</Relationships>`},
}

func writePart(zw *zip.Writer, name, body string) error {
	w, err := zw.Create(name)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, body)
	return err
}

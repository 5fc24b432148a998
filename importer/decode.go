package importer

import (
	"bufio"
	"bytes"
	"io"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Encoding names the text encoding a CSV file was read in.
type Encoding string

// Encodings a CSV file may come in.
const (
	EncodingUTF8        Encoding = "utf-8"        // also pure ASCII
	EncodingUTF8BOM     Encoding = "utf-8-bom"    // Excel's "CSV UTF-8"
	EncodingWindows1251 Encoding = "windows-1251" // Excel's plain "CSV" on a Russian Windows
	EncodingUTF16       Encoding = "utf-16"       // Excel's "Unicode text" (with BOM)
)

const (
	sniffSize   = 8 << 10  // bytes looked at to tell text from binary
	decideSize  = 4 << 10  // bytes after the first non-ASCII byte that decide UTF-8 vs Windows-1251
	textBufSize = 64 << 10 // read buffer; also the longest header line the delimiter sniffer sees
)

// magics are the starts of binary formats admins send by mistake, with a Detail for
// the message ("this is a picture").
var magics = []struct {
	prefix string
	detail string
}{
	{"\x89PNG", "png"}, {"\xFF\xD8\xFF", "jpeg"}, {"GIF8", "gif"}, {"%PDF", "pdf"},
	{"PK\x03\x04", "zip"}, {"\xD0\xCF\x11\xE0", "xls"}, {"Rar!", "rar"}, {"\x1F\x8B", "gzip"},
}

// decodeText returns r as UTF-8 text. It strips a UTF-8 BOM, decodes UTF-16 with a BOM,
// rejects binary input, and otherwise decides between UTF-8 and Windows-1251 lazily at
// the first non-ASCII byte, so a file streams without being held in memory. enc is
// filled in once known (ASCII-only input reports UTF-8).
func decodeText(r io.Reader, enc *Encoding) (io.Reader, error) {
	br := bufio.NewReaderSize(r, textBufSize)
	head, err := br.Peek(sniffSize)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, err
	}
	switch {
	case bytes.HasPrefix(head, []byte("\xEF\xBB\xBF")):
		_, _ = br.Discard(3)
		*enc = EncodingUTF8BOM
		return br, checkText(head[3:])
	case bytes.HasPrefix(head, []byte("\xFF\xFE")), bytes.HasPrefix(head, []byte("\xFE\xFF")):
		*enc = EncodingUTF16
		return transform.NewReader(br, unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder()), nil
	}
	if err := checkText(head); err != nil {
		return nil, err
	}
	*enc = EncodingUTF8
	return &autoDecoder{br: br, enc: enc}, nil
}

// checkText rejects input that is not text: a known binary signature, a NUL byte, or
// many control characters.
func checkText(head []byte) error {
	for _, m := range magics {
		if bytes.HasPrefix(head, []byte(m.prefix)) {
			return &Error{Code: CodeBinary, Detail: m.detail}
		}
	}
	if bytes.IndexByte(head, 0) >= 0 {
		return &Error{Code: CodeBinary}
	}
	control := 0
	for _, c := range head {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' {
			control++
		}
	}
	if control*20 > len(head) {
		return &Error{Code: CodeBinary}
	}
	return nil
}

// autoDecoder passes ASCII through until the first non-ASCII byte, then looks at the
// following decideSize bytes: if they are valid UTF-8 the rest is read as UTF-8,
// otherwise as Windows-1251. Cyrillic in Windows-1251 is practically never valid UTF-8
// (a lower-case letter is a UTF-8 lead byte that would need continuation bytes), so a
// few kilobytes decide reliably. Invalid UTF-8 met later in a UTF-8 file is replaced
// when values are encoded.
type autoDecoder struct {
	br  *bufio.Reader
	out io.Reader // nil while undecided
	enc *Encoding
}

func (d *autoDecoder) Read(p []byte) (int, error) {
	if d.out != nil {
		return d.out.Read(p)
	}
	if d.br.Buffered() == 0 {
		if _, err := d.br.Peek(1); err != nil {
			return 0, err
		}
	}
	buf, _ := d.br.Peek(d.br.Buffered())
	i := indexNonASCII(buf)
	if i != 0 {
		if i > 0 {
			buf = buf[:i]
		}
		n := copy(p, buf)
		_, _ = d.br.Discard(n)
		return n, nil
	}
	win, err := d.br.Peek(decideSize)
	if validUTF8Window(win, err != nil) {
		d.out = d.br
	} else {
		d.out = transform.NewReader(d.br, charmap.Windows1251.NewDecoder())
		*d.enc = EncodingWindows1251
	}
	return d.out.Read(p)
}

func indexNonASCII(b []byte) int {
	for i, c := range b {
		if c >= utf8.RuneSelf {
			return i
		}
	}
	return -1
}

// validUTF8Window reports whether b is valid UTF-8, forgiving a rune cut at the end of
// the window unless the input ended there.
func validUTF8Window(b []byte, atEOF bool) bool {
	if !atEOF {
		for j := 1; j <= utf8.UTFMax-1 && j <= len(b); j++ {
			if utf8.RuneStart(b[len(b)-j]) {
				if !utf8.FullRune(b[len(b)-j:]) {
					b = b[:len(b)-j]
				}
				break
			}
		}
	}
	return utf8.Valid(b)
}

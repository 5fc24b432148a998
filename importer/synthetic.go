package importer

import (
	"io"
	"strconv"
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

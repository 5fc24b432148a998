//go:build unix

package queue

import (
	"errors"
	"net"
	"syscall"
)

func wrapIdleChecked(conn net.Conn) net.Conn {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return conn
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return conn
	}
	return &idleCheckedConn{Conn: conn, peek: func(stash []byte) ([]byte, bool) { return peekClosed(raw, stash) }}
}

// peekClosed reads, without waiting, whatever the peer sent on an idle connection:
// end of file or a reset means it closed the connection.
func peekClosed(raw syscall.RawConn, stash []byte) ([]byte, bool) {
	closed := false
	var buf [512]byte
	err := raw.Read(func(fd uintptr) bool {
		for {
			n, err := syscall.Read(int(fd), buf[:])
			switch {
			case n > 0:
				stash = append(stash, buf[:n]...)
			case errors.Is(err, syscall.EINTR):
			case errors.Is(err, syscall.EAGAIN):
				return true
			default: // n == 0: end of file; or a reset
				closed = true
				return true
			}
		}
	})
	return stash, closed || err != nil
}

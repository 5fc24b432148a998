package queue

import (
	"errors"
	"net"
	"time"

	"github.com/valyala/fasthttp"
)

// errClosedWhileIdle is a pooled connection the server closed while it sat idle, found
// before a byte of the next request was written: that request provably never left.
var errClosedWhileIdle = errors.New("connection closed by the server while idle; nothing was written")

// retryIfClosedWhileIdle lets fasthttp retry a request (POST included) on a fresh
// connection when, and only when, the transport proves it was not sent.
func retryIfClosedWhileIdle(_ *fasthttp.Request, _ int, err error) (resetTimeout, retry bool) {
	return false, errors.Is(err, errClosedWhileIdle)
}

// dialIdleChecked dials like fasthttp does and wraps the connection so that a request
// on a reused connection first checks, without blocking, whether the server has closed
// it. Without this check a send on such a connection fails with fasthttp's
// ErrConnectionClosed, which cannot tell "never arrived" from "arrived, answer lost"
// and so would make the delivery uncertain.
func dialIdleChecked(addr string, timeout time.Duration) (net.Conn, error) {
	conn, err := fasthttp.DialTimeout(addr, timeout)
	if err != nil {
		return nil, err
	}
	return wrapIdleChecked(conn), nil
}

// idleCheckedConn is a client connection that checks, before the first write after a
// read (the next request on a kept-alive connection), whether the peer closed it.
// Bytes that are waiting (a TLS session ticket, say) are kept and read normally.
type idleCheckedConn struct {
	net.Conn
	peek     func(stash []byte) ([]byte, bool) // appends waiting bytes; reports closed
	readOnce bool
	stash    []byte
}

func (c *idleCheckedConn) Read(p []byte) (int, error) {
	c.readOnce = true
	if len(c.stash) > 0 {
		n := copy(p, c.stash)
		c.stash = c.stash[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

func (c *idleCheckedConn) Write(p []byte) (int, error) {
	if c.readOnce {
		c.readOnce = false
		var closed bool
		c.stash, closed = c.peek(c.stash)
		if closed {
			return 0, errClosedWhileIdle
		}
	}
	return c.Conn.Write(p)
}

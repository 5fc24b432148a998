//go:build !unix

package queue

import "net"

// wrapIdleChecked has no non-blocking peek here; MaxIdleConnDuration alone keeps idle
// connections shorter than servers do.
func wrapIdleChecked(conn net.Conn) net.Conn { return conn }

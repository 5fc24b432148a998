package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"herald/pgtest"
)

// idleConn is a client connection that made one keep-alive request and now waits.
type idleConn struct {
	conn net.Conn
	r    *bufio.Reader
}

// openIdleConns opens n connections to addr, each after one GET /healthz answered
// 200 with keep-alive, using a few dialers at a time.
func openIdleConns(t *testing.T, addr string, n int) []idleConn {
	t.Helper()
	conns := make([]idleConn, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range 32 {
		wg.Go(func() {
			for i := range next {
				c, err := healthzKeepAlive(addr)
				if err != nil {
					errs <- fmt.Errorf("connection %d: %w", i, err)
					continue
				}
				conns[i] = c
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	t.Cleanup(func() {
		for _, c := range conns {
			if c.conn != nil {
				c.conn.Close()
			}
		}
	})
	for err := range errs {
		require.NoError(t, err)
	}
	return conns
}

func healthzKeepAlive(addr string) (idleConn, error) {
	conn, err := net.DialTimeout("tcp", addr, 30*time.Second)
	if err != nil {
		return idleConn{}, err
	}
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: herald\r\n\r\n"); err != nil {
		conn.Close()
		return idleConn{}, err
	}
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		conn.Close()
		return idleConn{}, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		conn.Close()
		return idleConn{}, fmt.Errorf("GET /healthz: %s, close %v", resp.Status, resp.Close)
	}
	_ = conn.SetDeadline(time.Time{})
	return idleConn{conn: conn, r: r}, nil
}

// closedByServer waits up to within for the server to close c: a read returning EOF
// (or a reset) means closed, a read deadline means still open.
func closedByServer(c idleConn, within time.Duration) bool {
	_ = c.conn.SetReadDeadline(time.Now().Add(within))
	_, err := c.r.ReadByte()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return err != nil
}

// countOpen counts the connections the server has not closed within the wait.
func countOpen(conns []idleConn, wait time.Duration) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	open := 0
	for _, c := range conns {
		wg.Go(func() {
			if !closedByServer(c, wait) {
				mu.Lock()
				open++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return open
}

// readyWithin asks /readyz on a new connection and requires a 200 within the bound.
func readyWithin(t *testing.T, addr string, bound time.Duration) time.Duration {
	t.Helper()
	client := http.Client{Timeout: bound, Transport: &http.Transport{DisableKeepAlives: true}}
	started := time.Now()
	resp, err := client.Get("http://" + addr + "/readyz")
	require.NoError(t, err, "/readyz did not answer within %s", bound)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return time.Since(started)
}

// ensureFiles raises the open-file soft limit to the hard one and skips the test when
// even that is below need (both ends of every connection live in this process).
func ensureFiles(t *testing.T, need uint64) {
	t.Helper()
	var lim syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim))
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim))
	}
	if lim.Cur < need {
		t.Skipf("needs %d open files, the hard limit (ulimit -Hn) is %d", need, lim.Max)
	}
}

// TestHTTPIdleFloodKeepsHealthAnswering is issue 13's acceptance: with 5,000 idle
// keep-alive connections open, /readyz answers within 1 s, and the idle timeout closes
// every one of them (the cap is set above 5,000 here so that only the timeout can).
// The idle timeout must outlast opening the flood, so that the probe really meets all
// 5,000: under -race on a loaded 2-core machine opening took 15–40 s, and a short
// timeout closed the first connections before the probe. The test mostly waits.
func TestHTTPIdleFloodKeepsHealthAnswering(t *testing.T) {
	t.Parallel()
	const flood = 5000
	ensureFiles(t, 2*flood+2000)
	idle := 90 * time.Second
	p := startInProcess(t, map[string]string{
		"DATABASE_URL": pgtest.NewDB(t), "HERALD_HTTP_IDLE_TIMEOUT": idle.String(),
		"HERALD_HTTP_MAX_CONNS": "6000",
	})
	waitReady(t, p.addr, http.StatusOK, 30*time.Second)

	started := time.Now()
	conns := openIdleConns(t, p.addr, flood)
	opened := time.Since(started)
	took := readyWithin(t, p.addr, time.Second)
	// Connections only close: all open now means all open at the probe.
	require.Equal(t, flood, countOpen(conns, time.Millisecond), "part of the flood was closed before /readyz was asked")
	t.Logf("%d idle connections opened in %s; /readyz answered in %s", flood, opened.Round(time.Millisecond), took.Round(time.Millisecond))

	require.Zero(t, countOpen(conns, idle+10*time.Second), "connections the idle timeout did not close")
	t.Logf("all closed %s after the flood was open (idle timeout %s)", (time.Since(started) - opened).Round(time.Millisecond), idle)
	p.stop(t)
}

// TestHTTPConnectionCapShedsIdle fills a small cap three times over with idle
// connections: the server holds no more than the cap, closing the longest-idle ones
// (not waiting for the 5-minute idle timeout), and a health probe still gets through.
// Oversized headers are refused.
func TestHTTPConnectionCapShedsIdle(t *testing.T) {
	t.Parallel()
	const maxConns, flood = 100, 300
	p := startInProcess(t, map[string]string{
		"DATABASE_URL": pgtest.NewDB(t), "HERALD_HTTP_IDLE_TIMEOUT": "5m",
		"HERALD_HTTP_MAX_CONNS": fmt.Sprint(maxConns),
	})
	waitReady(t, p.addr, http.StatusOK, 30*time.Second)

	conns := openIdleConns(t, p.addr, flood)
	readyWithin(t, p.addr, time.Second)
	open := countOpen(conns, 100*time.Millisecond)
	t.Logf("%d of %d idle connections closed by the server", flood-open, flood)
	require.LessOrEqual(t, open, maxConns, "the server holds more connections than its cap")

	req, err := http.NewRequest(http.MethodGet, "http://"+p.addr+"/healthz", nil)
	require.NoError(t, err)
	req.Header.Set("X-Padding", strings.Repeat("a", 200<<10))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
	p.stop(t)
}

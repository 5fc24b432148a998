package main

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/net/netutil"
)

// In webhook mode the HTTP port faces the internet, so every phase of a request has a
// bound and the number of connections has a cap (issue 13.2: 20,000 idle keep-alive
// connections once exhausted the process's file descriptors).
const (
	httpReadHeaderTimeout = 5 * time.Second
	// httpReadTimeout bounds header plus body; the largest body is a webhook update.
	httpReadTimeout = 10 * time.Second
	// webhookBudget bounds the webhook handler, which waits only while the sender's
	// chat buffer is full; past it Telegram gets 503 and delivers the update again.
	webhookBudget = 10 * time.Second
	// httpWriteTimeout runs from the end of the request header: reading the body,
	// the handler (webhook budget, or /readyz's 2 s probes) and writing the answer.
	httpWriteTimeout   = httpReadTimeout + webhookBudget + 5*time.Second
	httpMaxHeaderBytes = 64 << 10 // Telegram's headers are well under 1 KB
	// webhookMaxBody matches what the bot's decoder reads (1 MB); a Telegram update is
	// a few KB at most.
	webhookMaxBody = 1 << 20
	// fdHeadroom is kept out of the connection cap for the database pool, Bot API
	// clients and files, so a flood cannot make them fail with "too many open files".
	fdHeadroom = 256
)

// httpServer is Herald's HTTP server on its capped listener.
type httpServer struct {
	*http.Server
	listener net.Listener
}

// newHTTPServer wraps listener with the connection cap and configures the server's
// limits. Near the cap, idle keep-alive connections are closed oldest first, so a new
// connection (a health probe, Telegram) finds a free slot while the cap holds.
func newHTTPServer(cfg config, listener net.Listener, handler http.Handler, logger zerolog.Logger) *httpServer {
	maxConns := connCap(cfg.HTTPMaxConns, logger)
	tracker := newConnTracker(maxConns)
	return &httpServer{
		Server: &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: httpReadHeaderTimeout,
			ReadTimeout:       httpReadTimeout,
			WriteTimeout:      httpWriteTimeout,
			IdleTimeout:       cfg.HTTPIdleTimeout,
			MaxHeaderBytes:    httpMaxHeaderBytes,
			ConnState:         tracker.track,
		},
		listener: netutil.LimitListener(listener, maxConns),
	}
}

func (s *httpServer) serve() error { return s.Serve(s.listener) }

// connCap lowers the configured cap when the process may not open that many files.
func connCap(configured int, logger zerolog.Logger) int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur > 1<<30 {
		return configured
	}
	if fit := int(lim.Cur) - fdHeadroom; fit < configured {
		fit = max(fit, 16)
		logger.Warn().Int("configured", configured).Int("used", fit).Uint64("nofile", lim.Cur).
			Msg("HERALD_HTTP_MAX_CONNS lowered to fit the open-file limit")
		return fit
	}
	return configured
}

// connTracker follows the server's connections through ConnState. Above the high-water
// mark it closes the longest-idle keep-alive connections: closing an idle connection
// is always allowed in HTTP/1.1 (clients reopen it), whereas a probe blocked behind a
// full cap would wait for the idle timeout.
type connTracker struct {
	mu        sync.Mutex
	highWater int
	open      map[net.Conn]struct{}
	idle      map[net.Conn]uint64 // value: order in which it became idle
	seq       uint64
}

func newConnTracker(maxConns int) *connTracker {
	reserve := max(maxConns/10, 1)
	return &connTracker{highWater: maxConns - reserve, open: map[net.Conn]struct{}{}, idle: map[net.Conn]uint64{}}
}

func (t *connTracker) track(c net.Conn, state http.ConnState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch state {
	case http.StateNew:
		t.open[c] = struct{}{}
		for len(t.open) > t.highWater && t.closeOldestIdle() {
		}
	case http.StateIdle:
		t.seq++
		t.idle[c] = t.seq
	case http.StateActive:
		delete(t.idle, c)
	case http.StateClosed, http.StateHijacked:
		delete(t.open, c)
		delete(t.idle, c)
	}
}

// closeOldestIdle closes one idle connection and reports whether there was one. A
// linear scan is fine: the cap bounds the map, and this runs only under pressure.
func (t *connTracker) closeOldestIdle() bool {
	var oldest net.Conn
	var oldestSeq uint64
	for c, seq := range t.idle {
		if oldest == nil || seq < oldestSeq {
			oldest, oldestSeq = c, seq
		}
	}
	if oldest == nil {
		return false
	}
	delete(t.idle, oldest)
	delete(t.open, oldest)
	_ = oldest.Close() // frees its slot in the limit listener; the server sees it closed
	return true
}

// webhookLimits bounds the webhook route: a body over webhookMaxBody is refused with
// 413 before anything is read, and the handler gets webhookBudget.
func webhookLimits(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > webhookMaxBody {
			w.Header().Set("Connection", "close") // the body stays unread
			http.Error(w, "request body too large (limit "+strconv.Itoa(webhookMaxBody)+" bytes)", http.StatusRequestEntityTooLarge)
			return
		}
		// A chunked body has no length up front: reading stops at the limit.
		r.Body = http.MaxBytesReader(w, r.Body, webhookMaxBody)
		ctx, cancel := context.WithTimeout(r.Context(), webhookBudget)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

package tgemu

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config tunes the emulator. The zero value gives Telegram's documented
// defaults; every duration used by retries can be shortened for tests.
type Config struct {
	// DefaultRate is the number of sends a bot may have accepted in any
	// sliding 1-second window (Telegram: about 30). 0 means 30; a negative
	// value disables the per-bot limit.
	DefaultRate int
	// PaidRate is the window limit for sends carrying
	// allow_paid_broadcast=true. 0 means 1000.
	PaidRate int
	// PerChatBurst and PerChatInterval shape the private-chat limit as a
	// token bucket: PerChatBurst sends at once, then one per PerChatInterval.
	// Telegram documents "about one message per second" per chat but lets a
	// bot answer a user action with a few messages; 0 means burst 5 and 1s.
	PerChatBurst    int
	PerChatInterval time.Duration
	// PerChatDisabled turns off both the private-chat and the group limits.
	PerChatDisabled bool
	// GroupPerMinute is the number of sends per bot per group in any
	// sliding minute. 0 means 20.
	GroupPerMinute int

	// WebhookRetryMin and WebhookRetryMax bound the exponential backoff
	// between webhook delivery attempts (0: 100ms and 5s).
	WebhookRetryMin, WebhookRetryMax time.Duration
	// WebhookMaxAttempts is how many times one update is offered to a
	// failing webhook before it is dropped (0: 10).
	WebhookMaxAttempts int
	// WebhookTimeout bounds one webhook POST (0: 10s).
	WebhookTimeout time.Duration

	// Bots are created when the server starts, with fixed tokens if given,
	// so that a standalone emulator can be configured ahead of time.
	Bots []BotSpec
}

func (c Config) withDefaults() Config {
	if c.DefaultRate == 0 {
		c.DefaultRate = 30
	}
	if c.PaidRate == 0 {
		c.PaidRate = 1000
	}
	if c.PerChatBurst <= 0 {
		c.PerChatBurst = 5
	}
	if c.PerChatInterval <= 0 {
		c.PerChatInterval = time.Second
	}
	if c.GroupPerMinute <= 0 {
		c.GroupPerMinute = 20
	}
	if c.WebhookRetryMin <= 0 {
		c.WebhookRetryMin = 100 * time.Millisecond
	}
	if c.WebhookRetryMax <= 0 {
		c.WebhookRetryMax = 5 * time.Second
	}
	if c.WebhookRetryMax < c.WebhookRetryMin {
		c.WebhookRetryMax = c.WebhookRetryMin
	}
	if c.WebhookMaxAttempts <= 0 {
		c.WebhookMaxAttempts = 10
	}
	if c.WebhookTimeout <= 0 {
		c.WebhookTimeout = 10 * time.Second
	}
	return c
}

// Server is a running emulator. All methods are safe for concurrent use.
type Server struct {
	cfg   Config
	ln    net.Listener
	hs    *http.Server
	url   string
	epoch time.Time // monotonic origin of every recorded instant

	ctx    context.Context // cancelled by Close: releases polls, stalls, webhooks
	cancel context.CancelFunc
	wg     sync.WaitGroup // webhook delivery goroutines
	closed sync.Once

	// bots is copy-on-write: lookups on the hot path take no lock.
	botsMu sync.Mutex
	bots   atomic.Pointer[map[string]*bot]
	nextID atomic.Int64 // bot ids

	usersMu  sync.RWMutex
	users    map[int64]*User
	nextUser atomic.Int64

	groupsMu  sync.RWMutex
	groups    map[int64]*chat
	nextGroup atomic.Int64

	filesMu sync.RWMutex
	files   map[string]*fileRef // file_id -> file, per bot
	nextSeq atomic.Int64        // file paths, callback ids

	// clockOffset (ns) moves the emulator's calendar: message dates, edit dates and
	// the 48-hour delete window read now+offset. Rate limits keep the real clock.
	clockOffset atomic.Int64

	webhookClient *http.Client
	mux           *http.ServeMux // user-side /emu/ API
}

// Start listens on a random loopback port and serves until Close.
func Start(cfg Config) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("tgemu: listen: %w", err)
	}
	return startOn(ln, cfg)
}

// Serve runs a standalone emulator on addr until ctx is done, printing the
// URL and the tokens of cfg.Bots (or of one default bot) to stdout. Each
// setup function runs once the server listens, before the last line
// ("user-side API under …") is printed, so a parent process reading stdout
// knows the server is fully set up when that line arrives.
func Serve(ctx context.Context, addr string, cfg Config, stdout io.Writer, setup ...func(*Server)) error {
	if len(cfg.Bots) == 0 {
		cfg.Bots = []BotSpec{{Username: "herald_test_bot"}}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("tgemu: listen: %w", err)
	}
	s, err := startOn(ln, cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintf(stdout, "Telegram Bot API emulator listening on %s\n", s.URL())
	for _, b := range s.Bots() {
		fmt.Fprintf(stdout, "bot @%s token %s\n", b.Username, b.Token)
	}
	for _, f := range setup {
		f(s)
	}
	fmt.Fprintf(stdout, "user-side API under %s/emu/ (see package tgemu docs)\n", s.URL())
	<-ctx.Done()
	return nil
}

func startOn(ln net.Listener, cfg Config) (*Server, error) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:    cfg.withDefaults(),
		ln:     ln,
		url:    "http://" + ln.Addr().String(),
		epoch:  time.Now(),
		ctx:    ctx,
		cancel: cancel,
		users:  make(map[int64]*User),
		groups: make(map[int64]*chat),
		files:  make(map[string]*fileRef),
	}
	s.webhookClient = &http.Client{Timeout: s.cfg.WebhookTimeout}
	empty := map[string]*bot{}
	s.bots.Store(&empty)
	s.nextID.Store(7000000000)
	s.nextUser.Store(100000000)
	s.nextGroup.Store(4000000000)
	s.mux = s.userMux()
	for _, spec := range cfg.Bots {
		if _, err := s.CreateBotSpec(spec); err != nil {
			cancel()
			_ = ln.Close()
			return nil, err
		}
	}
	s.hs = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          nil,
	}
	go func() { _ = s.hs.Serve(ln) }() // returns on Close
	return s, nil
}

// URL is the base URL to pass to telego.WithAPIServer.
func (s *Server) URL() string { return s.url }

// Close stops the server: waiting long polls, stalled requests and webhook
// deliveries end, connections are closed. Close is idempotent.
func (s *Server) Close() {
	s.closed.Do(func() {
		s.cancel()
		_ = s.hs.Close()
		s.wg.Wait()
		s.webhookClient.CloseIdleConnections()
	})
}

// since converts an instant to the server's monotonic clock.
func (s *Server) since(t time.Time) int64 { return int64(t.Sub(s.epoch)) }

// instant converts back.
func (s *Server) instant(ns int64) time.Time { return s.epoch.Add(time.Duration(ns)) }

// AdvanceClock moves the emulator's calendar forward by d (negative: back), so a
// test can make messages already sent look d older: Telegram's 48-hour window for
// deleteMessage then applies to them. Pacing and flood limits are not affected.
func (s *Server) AdvanceClock(d time.Duration) { s.clockOffset.Add(int64(d)) }

// Now is the emulator's calendar time: the real time plus every AdvanceClock.
func (s *Server) Now() time.Time { return time.Now().Add(time.Duration(s.clockOffset.Load())) }

// unixNow is Now as a message date.
func (s *Server) unixNow() int64 { return s.Now().Unix() }

// dateOf is the calendar date of a monotonic instant.
func (s *Server) dateOf(ns int64) int64 {
	return s.instant(ns).Add(time.Duration(s.clockOffset.Load())).Unix()
}

// ServeHTTP routes the three families of paths: /bot<token>/<method>,
// /file/bot<token>/<path> and the user-side /emu/ API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/bot"):
		s.serveBot(w, r, p[len("/bot"):])
	case strings.HasPrefix(p, "/file/bot"):
		s.serveFile(w, r, p[len("/file/bot"):])
	case strings.HasPrefix(p, "/emu/"):
		s.mux.ServeHTTP(w, r)
	default:
		writeError(w, errNotFound)
	}
}

func (s *Server) lookupBot(token string) *bot {
	return (*s.bots.Load())[token]
}

// mustBot is used by the Go API, where a wrong token is a test bug.
func (s *Server) mustBot(token string) *bot {
	b := s.lookupBot(token)
	if b == nil {
		panic("tgemu: unknown bot token")
	}
	return b
}

const tokenAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

func randomString(n int) string {
	buf := make([]byte, n)
	_, _ = rand.Read(buf)
	for i := range buf {
		buf[i] = tokenAlphabet[int(buf[i])%len(tokenAlphabet)]
	}
	return string(buf)
}

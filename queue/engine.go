package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/mymmrac/telego"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"herald/backoff"
	"herald/store"
)

// The defaults of DeliveryConfig.MaxInFlight and Concurrency, exported because they
// are the bounds on uncertain deliveries that the fault tests check a process against.
const (
	DefaultMaxInFlight = 256
	DefaultConcurrency = 64
)

// DeliveryConfig tunes the delivery engine. Zero values take the defaults in brackets.
type DeliveryConfig struct {
	// MaxInFlight bounds the deliveries a lane has marked in flight at once [256]. It is
	// also the most deliveries that can become uncertain when a process dies mid-send.
	MaxInFlight int
	// Concurrency is the number of concurrent requests per lane, which hides network
	// latency: at rate r and latency L about r·L are needed [64].
	Concurrency int
	// Slice is how long a lane job runs before it yields (River snooze) so shutdowns
	// and rebalancing between processes stay quick [30s]. Each hand-over pauses the
	// lane for a few hundred milliseconds, so a slice much shorter costs rate.
	Slice time.Duration
	// LaneLease is the lane ownership lease, renewed every third of it; a dead
	// process's lane is free after it [3s].
	LaneLease time.Duration
	// OrphanGrace is how long a lane with due work may sit without an owner before the
	// keeper enqueues a new lane job for it [3s].
	OrphanGrace time.Duration
	// DeliveryLease is how long past its expected send time an in-flight delivery may
	// stay without an outcome before it is declared uncertain [30s]. It must exceed
	// RequestTimeout.
	DeliveryLease time.Duration
	// RequestTimeout bounds one Bot API request [10s].
	RequestTimeout time.Duration
	// MaxAttempts is how many undelivered attempts (5xx, no connection) a delivery gets
	// before it fails [5]. RetryBackoff is the first retry's delay, doubling each time
	// up to a minute [1s].
	MaxAttempts  int
	RetryBackoff time.Duration
	// ControlPoll is how often a lane re-reads which of its campaigns are running and
	// acknowledges the previous read (store.LanePoll); Pause and Cancel return once the
	// lane acknowledged a read made after them, within about two polls [200ms].
	ControlPoll time.Duration
	// ProgressEvery is the minimum time between two edits of a control message [3s].
	ProgressEvery time.Duration
	// MaintenanceEvery is how often expired in-flight leases are swept, orphan lanes
	// adopted and finished campaigns completed [2s].
	MaintenanceEvery time.Duration
	// Unpaced is for benchmarks only (`herald bench`, scenario ceiling): lanes ignore
	// their channel's configured rate and send as fast as the engine allows, to measure
	// its raw capacity. Everything else — River jobs, lane leases, claims, in-flight
	// bounds, settle batches, the store — takes the same path as in production, and a
	// 429 still pauses the lane. Never set it in a service: it gives up invariant 1.
	Unpaced bool
}

func (c DeliveryConfig) withDefaults() DeliveryConfig {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	def(&c.Slice, 30*time.Second)
	def(&c.LaneLease, 3*time.Second)
	def(&c.OrphanGrace, 3*time.Second)
	def(&c.DeliveryLease, 30*time.Second)
	def(&c.RequestTimeout, 10*time.Second)
	def(&c.RetryBackoff, time.Second)
	def(&c.ControlPoll, 200*time.Millisecond)
	def(&c.ProgressEvery, 3*time.Second)
	def(&c.MaintenanceEvery, 2*time.Second)
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 5
	}
	return c
}

// engine is what the delivery workers of one process share: the store, the bots, the
// per-channel pacers and the set of lanes running here.
type engine struct {
	store  *store.Store
	logger zerolog.Logger
	cfg    DeliveryConfig
	owner  string // this process, as lane owner
	bots   *channelBots
	mgmt   *telego.Bot
	texts  *texts
	now    func() time.Time
	obs    Observer
	hooks  WebhookConfig
	// stopping is closed when the process begins to shut down (nil: never).
	stopping <-chan struct{}

	mu      sync.Mutex
	pacers  map[int64]*pacer
	running map[int64]bool // channels whose lane runs in this process
}

// draining reports whether the process is shutting down: lanes and reporters then end
// their slice at once, so River's soft stop (which does not tell running jobs) returns
// without cancelling them and another process continues at once.
func (e *engine) draining() bool {
	select {
	case <-e.stopping:
		return true
	default:
		return false
	}
}

func processID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return host + "/" + strconv.Itoa(os.Getpid()) + "/" + hex.EncodeToString(b)
}

// lockLane makes sure one process runs at most one lane per channel (two River jobs of
// the same channel can meet after a rescue); the database lease does the same across
// processes.
func (e *engine) lockLane(channelID int64) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.running[channelID] {
		return false
	}
	e.running[channelID] = true
	return true
}

func (e *engine) unlockLane(channelID int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.running, channelID)
}

// pacerFor returns the channel's pacer, kept across lane slices in this process so a
// lane that continues here keeps its pace (and its window of recent sends).
func (e *engine) pacerFor(ch store.Channel) *pacer {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.pacers[ch.ID]
	limit, burst := e.paceFor(ch)
	if p == nil || p.window.size() != windowSize(limit) {
		p = newPacer(limit, burst)
		e.pacers[ch.ID] = p
	}
	return p
}

// paceFor is the channel's token bucket: its rate, with a burst of about 2% of it so a
// late timer wake-up does not cost throughput (the send window keeps the limit exact);
// or no limit when the engine runs unpaced.
func (e *engine) paceFor(ch store.Channel) (rate.Limit, int) {
	if e.cfg.Unpaced {
		return rate.Inf, 0
	}
	return rate.Limit(ch.RatePerSecond), max(1, ch.RatePerSecond/50)
}

// pacer spaces a lane's sends, keeps every 1-second window within the channel's rate,
// and holds all sends during a 429 pause.
//
// Two mechanisms: the token bucket spaces sends 1/r apart; the send window makes the
// limit exact. Telegram counts a message at some moment between the start of our
// request and its answer, and those moments drift with network and scheduling delay,
// so spacing by start times alone cannot promise that no 1-second window on Telegram's
// side sees more than r messages. The window lets a send start only a second after the
// answer to the send r places before it: those two can then never fall into one
// window, whatever the delay. The cost is the answer's latency once per r sends (a
// rate of r/(1+latency)), instead of a fixed safety margin.
type pacer struct {
	lim    *rate.Limiter
	window *sendWindow // nil when unpaced

	mu          sync.Mutex
	pausedUntil time.Time
}

func newPacer(limit rate.Limit, burst int) *pacer {
	lim := rate.NewLimiter(limit, burst)
	// Start with an empty bucket: a lane that moved here from another process must not
	// add a burst on top of the previous owner's last second.
	lim.AllowN(time.Now(), burst)
	p := &pacer{lim: lim}
	if n := windowSize(limit); n > 0 {
		p.window = &sendWindow{slots: make([]*sendSlot, n)}
	}
	return p
}

func windowSize(limit rate.Limit) int {
	if limit == rate.Inf {
		return 0
	}
	return max(int(limit), 1)
}

// wait blocks until the next send may start and returns its slot in the send window;
// the caller must finish the slot when the request has been answered (or was never
// made).
func (p *pacer) wait(ctx context.Context) (*sendSlot, error) { return p.waitDepth(ctx, 0) }

// waitAction is wait for an edit, a delete or a pin. Paid broadcasts raise the limit
// of sends only (allow_paid_broadcast is a parameter of the send methods): those
// calls keep the free limit, counted among all of the bot's calls of the last
// second, so on a paid bot an action also waits until the call store.ChannelMaxRate
// places before it was answered more than a second ago.
func (p *pacer) waitAction(ctx context.Context) (*sendSlot, error) {
	return p.waitDepth(ctx, store.ChannelMaxRate)
}

// waitDepth is wait where the window looks depth calls back (0 or beyond the window:
// the whole window, the bot's rate).
func (p *pacer) waitDepth(ctx context.Context, depth int) (*sendSlot, error) {
	for {
		if d := time.Until(p.until()); d > 0 {
			if !backoff.Wait(ctx, d) {
				return nil, ctx.Err()
			}
		}
		if err := p.lim.Wait(ctx); err != nil {
			return nil, err
		}
		// A 429 may have come in while we waited for the token.
		if time.Now().Before(p.until()) {
			continue
		}
		if p.window == nil {
			return nil, nil
		}
		return p.window.acquire(ctx, depth)
	}
}

// sendWindow remembers when the answers to the last size sends came (see pacer).
// Only the lane's dispatcher acquires slots; senders finish them.
type sendWindow struct {
	mu    sync.Mutex
	slots []*sendSlot // ring
	next  int
}

// sendSlot is one send's place in the window.
type sendSlot struct {
	once     sync.Once
	done     chan struct{}
	answered time.Time // set before done is closed
}

func (w *sendWindow) size() int {
	if w == nil {
		return 0
	}
	return len(w.slots)
}

// acquire takes the next slot once the send depth places earlier (0 or more than the
// window's size: size places) was answered more than a second ago.
func (w *sendWindow) acquire(ctx context.Context, depth int) (*sendSlot, error) {
	n := len(w.slots)
	if depth <= 0 || depth > n {
		depth = n
	}
	w.mu.Lock()
	var prev *sendSlot
	if w.next >= depth {
		prev = w.slots[(w.next-depth)%n]
	}
	slot := &sendSlot{done: make(chan struct{})}
	w.slots[w.next%n] = slot
	w.next++
	w.mu.Unlock()
	if prev != nil {
		select {
		case <-prev.done:
		case <-ctx.Done():
			slot.finish()
			return nil, ctx.Err()
		}
		if !backoff.Wait(ctx, time.Until(prev.answered.Add(time.Second))) {
			slot.finish()
			return nil, ctx.Err()
		}
	}
	return slot, nil
}

// finish records that the send was answered (or will not be made). Safe on nil and
// more than once.
func (s *sendSlot) finish() {
	if s == nil {
		return
	}
	s.once.Do(func() {
		s.answered = time.Now()
		close(s.done)
	})
}

func (p *pacer) until() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pausedUntil
}

// pause holds every send until until; it reports whether this extended the pause.
func (p *pacer) pause(until time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if until.After(p.pausedUntil) {
		p.pausedUntil = until
		return true
	}
	return false
}

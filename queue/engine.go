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

	"herald/store"
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
	// and rebalancing between processes stay quick [10s].
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
	// RateMargin is the jitter, in seconds, that sends may arrive late at Telegram
	// and still keep every 1-second window within the channel's rate [0.05]; see
	// paceFor.
	RateMargin float64
	// ControlPoll is how often a lane re-reads which of its campaigns are running, so
	// Pause and Cancel take effect within it [200ms].
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
		c.MaxInFlight = 256
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 64
	}
	def(&c.Slice, 10*time.Second)
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
	if c.RateMargin <= 0 || c.RateMargin >= 0.5 {
		c.RateMargin = 0.05
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

	mu      sync.Mutex
	pacers  map[int64]*pacer
	running map[int64]bool // channels whose lane runs in this process
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
// lane that continues here keeps its pace without a restart gap.
func (e *engine) pacerFor(ch store.Channel) *pacer {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.pacers[ch.ID]
	limit, burst := e.paceFor(ch)
	if p == nil {
		p = newPacer(limit, burst)
		e.pacers[ch.ID] = p
	} else if p.lim.Limit() != limit || p.lim.Burst() != burst {
		p.lim.SetLimit(limit)
		p.lim.SetBurst(burst)
	}
	return p
}

// paceFor is the channel's token bucket (see paceFor), or no limit when the engine
// runs unpaced.
func (e *engine) paceFor(ch store.Channel) (rate.Limit, int) {
	if e.cfg.Unpaced {
		return rate.Inf, 0
	}
	return paceFor(ch.RatePerSecond, e.cfg.RateMargin)
}

// paceFor turns a channel's rate r into a token bucket (limit r', burst b) such that
// no sliding 1-second window on Telegram's side sees more than r sends. A token bucket
// lets at most b + r'·T sends through in any span T. Sends reach Telegram with varying
// delay (network, scheduling), which can squeeze sends that left us up to 1+J seconds
// apart into one second; so we need b + r'·(1+J) ≤ r, i.e. r' = (r − b)/(1 + J), with
// J = RateMargin (0.05: 50 ms of jitter). b is about 2% of r (at least 1) so that a
// late timer wake-up does not cost throughput. Examples: r=30 → 27.6/s burst 1;
// r=1000 → 933/s burst 20.
func paceFor(r int, jitter float64) (rate.Limit, int) {
	burst := max(1, r/50)
	limit := float64(r-burst) / (1 + jitter)
	return rate.Limit(max(limit, 0.1)), burst
}

// pacer spaces a lane's sends and holds them all during a 429 pause.
type pacer struct {
	lim *rate.Limiter

	mu          sync.Mutex
	pausedUntil time.Time
}

func newPacer(limit rate.Limit, burst int) *pacer {
	lim := rate.NewLimiter(limit, burst)
	// Start with an empty bucket: a lane that moved here from another process must not
	// add a burst on top of the previous owner's last second.
	lim.AllowN(time.Now(), burst)
	return &pacer{lim: lim}
}

// wait blocks until the next send may start.
func (p *pacer) wait(ctx context.Context) error {
	for {
		if d := time.Until(p.until()); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		if err := p.lim.Wait(ctx); err != nil {
			return err
		}
		// A 429 may have come in while we waited for the token.
		if !time.Now().Before(p.until()) {
			return nil
		}
	}
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

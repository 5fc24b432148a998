package channelbot

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"herald/backoff"
	"herald/i18n"
	"herald/store"
)

// Config is what an Intake needs.
type Config struct {
	Store   *store.Store
	Opener  store.TokenOpener // opens the bots' tokens; nil: no managed bot can be polled
	APIURL  string            // the Bot API server ("" is Telegram's)
	Catalog *i18n.Catalog     // the replies' texts
	Logger  zerolog.Logger
	// NewClient makes a bot's Telegram client (bot.NewClient, which keeps the token out
	// of errors) for a long poll of pollTimeout.
	NewClient ClientFactory

	Rescan      time.Duration // how often the managed bots are looked up (default 2 s)
	PollTimeout time.Duration // getUpdates long poll (default 25 s)
	// Gather is how long a writer waits for more updates once it has some (default
	// none: what gathered while the previous write ran is the batch), FlushRows the
	// most rows one write carries (default 5,000).
	Gather    time.Duration
	FlushRows int
	// Writers is how many writes may run at once (default 2: each holds a pool
	// connection while it runs). Batches of different
	// bots never touch the same rows, and a bot's poller waits for its write, so a
	// bot's updates stay in order.
	Writers int
	// ReplyQueue bounds each bot's pending replies (default 10,000): a flood of starts
	// far above the bot's rate drops welcome texts, never the subscribers.
	ReplyQueue int

	// WebhookURL (HERALD_WEBHOOK_URL) switches to webhook mode (webhook.go): updates
	// come to HookURL on Herald's HTTP server; "" is long polling. WebhookKey derives
	// the bots' secrets (HERALD_WEBHOOK_SECRET, else HERALD_SECRET_KEY): every replica
	// must have the same; without one there is no webhook mode. HookDeadline bounds one
	// webhook request's write (default 10 s).
	WebhookURL   string
	WebhookKey   []byte
	HookDeadline time.Duration
}

func (c Config) withDefaults() Config {
	if c.Rescan <= 0 {
		c.Rescan = 2 * time.Second
	}
	if c.PollTimeout <= 0 {
		c.PollTimeout = 25 * time.Second
	}
	if c.FlushRows <= 0 {
		c.FlushRows = 5000
	}
	if c.Writers <= 0 {
		c.Writers = 2
	}
	if c.ReplyQueue <= 0 {
		c.ReplyQueue = 10_000
	}
	if c.HookDeadline <= 0 {
		c.HookDeadline = 10 * time.Second
	}
	return c
}

// Intake polls the managed bots this process has won (see the package comment), or
// in webhook mode receives their updates over HTTP (webhook.go).
type Intake struct {
	cfg Config
	log zerolog.Logger
	w   *writer

	mu   sync.Mutex
	bots map[int64]*botRunner // by channel id; only Run's goroutine changes it
	// Webhook mode: the context receivers run in (nil when not running), the managed
	// bots as of the last look-up, and the receivers started so far.
	runCtx    context.Context
	managed   map[int64]store.Channel
	hooks     map[int64]*receiver
	receivers sync.WaitGroup
}

// New returns an Intake; Run starts it.
func New(cfg Config) *Intake {
	cfg = cfg.withDefaults()
	return &Intake{cfg: cfg, log: cfg.Logger.With().Str("component", "intake").Logger(),
		w:    newWriter(cfg.Store, cfg.Gather, cfg.FlushRows),
		bots: map[int64]*botRunner{}, hooks: map[int64]*receiver{}}
}

// lockKey is the advisory-lock key of a managed bot's poller ("CHNL" and the channel
// id), apart from the management bot's ("HERA" and its bot id).
func lockKey(channelID int64) int64 { return 0x43484e4c<<32 | channelID&0xffffffff }

// Run polls the managed bots it wins until ctx ends, then stops them, waits for them
// and releases their locks.
func (in *Intake) Run(ctx context.Context) error {
	writerCtx, stopWriter := context.WithCancel(context.WithoutCancel(ctx))
	var writers sync.WaitGroup
	for range in.cfg.Writers {
		writers.Go(func() { in.w.run(writerCtx) }) // owned here: stopped after the pollers, waited for below
	}
	defer func() { stopWriter(); writers.Wait() }()
	in.mu.Lock()
	in.runCtx = ctx
	in.mu.Unlock()
	defer in.stopReceiving() // before the writer stops: their requests end first

	var locks *store.LockSet
	defer func() {
		in.stopAll(nil)
		if locks != nil {
			closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			locks.Close(closeCtx)
			cancel()
		}
	}()
	failures := 0
	for ctx.Err() == nil {
		var err error
		locks, err = in.round(ctx, locks)
		if err != nil && ctx.Err() == nil {
			failures++
			in.log.Warn().Err(err).Int("failures", failures).Msg("managed bots: look-up failed")
		} else {
			failures = 0
		}
		if !in.wait(ctx, locks) {
			break
		}
	}
	return nil
}

// wait waits for the next look-up: Rescan, or sooner when a channel's settings change
// (the store announces a change on the card when it commits, in any process; the
// lock connection listens, so no connection is held for it alone). Without a lock
// connection (no managed bot) a bot switched to managed waits for the Rescan.
func (in *Intake) wait(ctx context.Context, locks *store.LockSet) bool {
	if locks == nil {
		return backoff.Wait(ctx, in.cfg.Rescan)
	}
	if _, err := locks.WaitChannelChange(ctx, in.cfg.Rescan); err != nil && ctx.Err() == nil {
		// The next round's Check decides whether the locks are lost.
		in.log.Warn().Err(err).Msg("managed bots: waiting for channel changes")
		return backoff.Wait(ctx, in.cfg.Rescan)
	}
	return ctx.Err() == nil
}

// round lists the managed bots, checks the lock connection (opening one when there is
// a managed bot, closing it when there is none, so that a send-only deployment holds
// no connection for it) and brings the pollers in line; on a lost connection every
// poller stops at once (another process may hold their locks already).
func (in *Intake) round(ctx context.Context, locks *store.LockSet) (*store.LockSet, error) {
	callCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	list, err := in.cfg.Store.ChannelListManaged(callCtx)
	if err != nil {
		return locks, err
	}
	in.followManaged(list)
	if locks != nil {
		if err := locks.Check(callCtx); err != nil {
			in.stopAll(nil)
			locks.Close(callCtx)
			return nil, err
		}
		if len(list) == 0 {
			in.stopAll(nil, in.dropHook) // no managed bot left: ours were switched or removed
			locks.Close(callCtx)
			return nil, nil
		}
	} else {
		if len(list) == 0 {
			return nil, nil
		}
		if locks, err = in.cfg.Store.LockSetOpen(callCtx); err != nil {
			return nil, err
		}
	}
	return locks, in.reconcile(ctx, callCtx, locks, list)
}

// reconcile stops the pollers of bots no longer managed (or given another token) and
// starts one for each managed bot whose lock this process takes.
func (in *Intake) reconcile(ctx, callCtx context.Context, locks *store.LockSet, list []store.Channel) error {
	want := make(map[int64]store.Channel, len(list))
	for _, c := range list {
		want[c.ID] = c
	}
	in.stopAll(func(r *botRunner) bool {
		c, ok := want[r.channelID]
		return !ok || !bytes.Equal(c.TokenCiphertext, r.sealed)
	}, func(r *botRunner) error {
		if _, ok := want[r.channelID]; !ok {
			return in.dropHook(r) // switched to send-only or removed
		}
		return nil
	}, func(r *botRunner) error { return locks.Unlock(callCtx, lockKey(r.channelID)) })
	for _, c := range list {
		in.mu.Lock()
		r := in.bots[c.ID]
		in.mu.Unlock()
		if r != nil {
			r.channel.Store(&c) // rate and welcome template changes
			continue
		}
		if in.cfg.Opener == nil {
			continue
		}
		ok, err := locks.TryLock(callCtx, lockKey(c.ID))
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		token, err := in.cfg.Opener.Open(c.TokenCiphertext)
		if err != nil {
			in.log.Error().Err(err).Int64("channel_id", c.ID).Msg("managed bot's token does not open; not polling it")
			_ = locks.Unlock(callCtx, lockKey(c.ID))
			continue
		}
		r, err = in.startBot(ctx, c, string(token))
		if err != nil {
			in.log.Error().Err(err).Int64("channel_id", c.ID).Msg("managed bot client")
			_ = locks.Unlock(callCtx, lockKey(c.ID))
			continue
		}
		in.mu.Lock()
		in.bots[c.ID] = r
		in.mu.Unlock()
	}
	return nil
}

// stopAll stops (and waits for) the pollers that match (all when match is nil), then
// calls after for each.
func (in *Intake) stopAll(match func(*botRunner) bool, after ...func(*botRunner) error) {
	in.mu.Lock()
	var stopping []*botRunner
	for id, r := range in.bots {
		if match == nil || match(r) {
			stopping = append(stopping, r)
			delete(in.bots, id)
		}
	}
	in.mu.Unlock()
	for _, r := range stopping {
		r.stop()
		for _, fn := range after {
			if err := fn(r); err != nil {
				in.log.Warn().Err(err).Int64("channel_id", r.channelID).Msg("release managed bot")
			}
		}
		in.log.Info().Int64("channel_id", r.channelID).Msg("managed bot: stopped polling")
	}
}

// Polling lists the channels whose election this Intake holds now, by id: the bots it
// polls, or in webhook mode whose webhook it keeps.
func (in *Intake) Polling() []int64 {
	in.mu.Lock()
	defer in.mu.Unlock()
	ids := make([]int64, 0, len(in.bots))
	for id := range in.bots {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// ReplyStats are the replies sent and dropped (full queue) by the bots polled (or
// received by webhook) here.
func (in *Intake) ReplyStats() (sent, dropped int64) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, r := range in.bots {
		if r.replier != nil {
			sent += r.replier.sent.Load()
			dropped += r.replier.dropped.Load()
		}
	}
	for _, rc := range in.hooks {
		sent += rc.replier.sent.Load()
		dropped += rc.replier.dropped.Load()
	}
	return sent, dropped
}

// channelPointer holds a bot's current channel row, replaced at every look-up.
type channelPointer = atomic.Pointer[store.Channel]

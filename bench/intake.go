package bench

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"herald/bot"
	"herald/channelbot"
	"herald/i18n"
	"herald/queue"
	"herald/store"
)

// intakeRate is the managed bots' rate, Telegram's free broadcast limit: the replies
// must keep to it whatever the flood of starts.
const intakeRate = 30

// intake: 4 managed channel bots, polled by channelbot.Intake in this process as
// `herald run` polls them, with River and the management bot beside it.
//
//   - paced: for a few seconds users start the bots at half their rate; the welcome
//     reply latency is the emulator's clock from the /start update to the reply.
//   - steady: users start the bots at 1,600/s (3,200 updates/s, just above the target
//     of 3,000) for 10 s while the owner sends /menu to the management bot every
//     50 ms: the admin reply latency "while that intake runs" (target p99 ≤ 100 ms),
//     and how long after the last start the intake had committed everything.
//   - flood: size/2 new users start the bots (every third from a t.me link with a
//     payload; a tenth of bot 0's also start bot 1) as fast as the emulator can make
//     them, while the owner sends /menu to the management bot every 50 ms. updates/s
//     is the updates the intake committed ÷ (first start → the last committed);
//     replies go out at the bots' rate meanwhile (the emulator enforces 30/s and
//     counts 429s and the largest number of sends in any 1-s window).
//
// The CPU of this process, of PostgreSQL and of the emulator over the flood are
// reported per 1,000 updates.
func intake(ctx context.Context, s *scenario) (Result, error) {
	r := newResult("intake")
	const bots = 4
	perBot := max(s.size/2/bots, 10)
	r.Params["bots"], r.Params["flood_starts_per_bot"], r.Params["bot_rate"] = bots, perBot, intakeRate
	emu, err := startEmulator(ctx, s.exe, s.env, emulatorSpec{bots: bots, mgmt: true, users: 1, rate: intakeRate, noChatLimit: true})
	if err != nil {
		return r, err
	}
	defer emu.close()
	mgmtToken, tokens := emu.tokens[0], emu.tokens[1:]
	h, err := openHerald(ctx, s, emu.lastUser)
	if err != nil {
		return r, err
	}
	defer h.close()
	run, err := startIntakeRun(ctx, h, emu, mgmtToken, tokens)
	if err != nil {
		return r, err
	}
	defer run.stop()
	if err := run.paced(ctx, &r, s.quick); err != nil {
		return r, err
	}
	if err := run.steady(ctx, &r, s.quick); err != nil {
		return r, err
	}
	if err := run.flood(ctx, s, &r, perBot); err != nil {
		return r, err
	}
	if err := run.check(ctx, &r); err != nil {
		return r, err
	}
	r.Metrics["peak_rss_mb"] = peakRSSMB()
	r.target("updates_per_s", ">=", 3000)
	r.target("steady_admin_p99_ms", "<=", 100)
	r.target("reply_max_per_s", "<=", intakeRate)
	r.target("reply_429", "<=", 0)
	return r, nil
}

// intakeRun is the scenario's Herald side: the intake, River and the management bot.
type intakeRun struct {
	h        *herald
	emu      *emulator
	tokens   []string
	channels []int64
	in       *channelbot.Intake
	probe    menuProbe
	want     []int64 // subscribers each bot should have
	stop     func()
}

func startIntakeRun(ctx context.Context, h *herald, emu *emulator, mgmtToken string, tokens []string) (*intakeRun, error) {
	catalog, err := i18n.New("en")
	if err != nil {
		return nil, err
	}
	run := &intakeRun{h: h, emu: emu, tokens: tokens, want: make([]int64, len(tokens)),
		probe: menuProbe{emu: emu, token: mgmtToken, user: "/emu/users/" + strconv.FormatInt(emu.lastUser, 10)}}
	for _, tok := range tokens {
		id, err := h.managedChannel(ctx, tok)
		if err != nil {
			return nil, err
		}
		run.channels = append(run.channels, id)
	}
	mb, err := bot.New(bot.Config{Token: mgmtToken, APIURL: emu.url, Store: h.store, Catalog: catalog,
		Logger: h.logger.With().Str("component", "bot").Logger().Level(zerolog.WarnLevel), DialogTTL: 30 * time.Minute})
	if err != nil {
		return nil, err
	}
	if err := h.startRiver(ctx, emu.url, queue.DeliveryConfig{}, nil, mb); err != nil {
		return nil, err
	}
	run.in = channelbot.New(channelbot.Config{Store: h.store, Opener: h.box, APIURL: emu.url, Catalog: catalog,
		Logger: h.logger.With().Str("component", "intake").Logger(), NewClient: bot.NewClient,
		Rescan: 200 * time.Millisecond})
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // owned: stop cancels and waits
		defer wg.Done()
		_ = run.in.Run(runCtx)
	}()
	mb.Start(runCtx)
	run.stop = func() {
		cancel()
		wg.Wait()
		stopCtx, cancelStop := context.WithTimeout(context.Background(), 10*time.Second)
		mb.Stop(stopCtx)
		cancelStop()
	}
	if err := waitFor(ctx, 30*time.Second, func() bool { return len(run.in.Polling()) == len(tokens) }); err != nil {
		run.stop()
		return nil, fmt.Errorf("intake polls %d of %d bots: %w", len(run.in.Polling()), len(tokens), err)
	}
	if err := run.probe.start(ctx); err != nil {
		run.stop()
		return nil, err
	}
	return run, nil
}

// managedChannel registers a channel bot in managed mode at intakeRate.
func (h *herald) managedChannel(ctx context.Context, token string) (int64, error) {
	var botID int64
	if _, err := fmt.Sscanf(token, "%d:", &botID); err != nil {
		return 0, fmt.Errorf("bot id of token: %w", err)
	}
	name := fmt.Sprintf("intake_%d_bot", botID)
	ch, err := h.store.ChannelCreate(ctx, h.box, store.ChannelCreateParams{
		BotUserID: botID, Username: name, Name: name, Token: token, RatePerSecond: intakeRate,
		CreatedBy: h.admin, Mode: store.ChannelManaged,
	})
	if err != nil {
		return 0, fmt.Errorf("register managed channel: %w", err)
	}
	return ch.ID, nil
}

// starts has the emulator start a bot for count new users (first == 0) or for the
// users first..first+count-1.
func (run *intakeRun) starts(ctx context.Context, bot int, first int64, count, payloadEvery int) (int64, error) {
	var out struct{ First, Last int64 }
	err := run.emu.call(ctx, "POST", "/emu/starts", map[string]any{"token": run.tokens[bot], "first": first,
		"count": count, "payload": "promo_bench", "payload_every": payloadEvery, "language_code": "en"}, &out)
	if err == nil {
		run.want[bot] += int64(count)
	}
	return out.First, err
}

// paced starts the bots at half their rate for a few seconds and measures the welcome
// replies' latency by the emulator's clock.
func (run *intakeRun) paced(ctx context.Context, r *Result, quick bool) error {
	per := 3 * intakeRate // 6 s at half the rate per bot
	if quick {
		per = intakeRate // 2 s
	}
	every := time.Second / time.Duration(len(run.tokens)*intakeRate/2)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for i := range per * len(run.tokens) {
		<-tick.C
		if _, err := run.starts(ctx, i%len(run.tokens), 0, 1, 2); err != nil {
			return err
		}
	}
	want := int64(per * len(run.tokens))
	if err := waitFor(ctx, 30*time.Second, func() bool { sent, _ := run.in.ReplyStats(); return sent >= want }); err != nil {
		sent, dropped := run.in.ReplyStats()
		return fmt.Errorf("paced starts: %d of %d replies sent (%d dropped): %w", sent, want, dropped, err)
	}
	lat, err := run.replyLatencies(ctx)
	if err != nil {
		return err
	}
	r.Params["paced_starts"] = want
	r.Metrics["paced_reply_p50_ms"] = percentile(lat, 0.50)
	r.Metrics["paced_reply_p99_ms"] = percentile(lat, 0.99)
	return nil
}

func (run *intakeRun) replyLatencies(ctx context.Context) ([]time.Duration, error) {
	var all []time.Duration
	for _, tok := range run.tokens {
		var out struct {
			LatenciesUS []int64 `json:"latencies_us"`
		}
		if err := run.emu.call(ctx, "GET", "/emu/bots/"+tok+"/start-replies", nil, &out); err != nil {
			return nil, err
		}
		for _, us := range out.LatenciesUS {
			all = append(all, time.Duration(us)*time.Microsecond)
		}
	}
	return all, nil
}

// flood has perBot new users start each bot at once (and a tenth of bot 0's start bot
// 1 too) while the owner's /menu is timed, until the intake has committed them all.
func (run *intakeRun) flood(ctx context.Context, s *scenario, r *Result, perBot int) error {
	also := perBot / 10
	wantUpdates := int64(2 * (perBot*len(run.tokens) + also)) // my_chat_member + /start each
	stopProfile, err := startProfile(s.profile)
	if err != nil {
		return err
	}
	defer stopProfile()
	emuPID := run.emu.cmd.Process.Pid
	db0, emu0, cpu0 := procCPU(s.pgPID, true), procCPU(emuPID, false), cpuTime()
	base, start := run.in.Recorded(), time.Now()
	type made struct {
		err error
		at  time.Time
	}
	errs := make(chan made, len(run.tokens))
	for i := range run.tokens {
		go func() { // owned: flood waits for every errs answer below
			first, err := run.starts(ctx, i, 0, perBot, 3)
			if err == nil && i == 0 && len(run.tokens) > 1 && also > 0 {
				_, err = run.starts(ctx, 1, first, also, 0)
			}
			errs <- made{err, time.Now()}
		}()
	}
	var done atomic.Bool
	probed := make(chan []time.Duration, 1)
	go func() { probed <- run.probeUntil(ctx, &done) }() // owned: read below
	doneAt, peak, err := run.waitRecorded(ctx, base, wantUpdates)
	done.Store(true)
	admin := <-probed
	var madeAt time.Time
	for range run.tokens {
		m := <-errs
		if m.err != nil && err == nil {
			err = m.err
		}
		if m.at.After(madeAt) {
			madeAt = m.at
		}
	}
	if err != nil {
		return err
	}
	took := doneAt.Sub(start)
	// How fast the emulator made the updates: when Herald keeps up, the flood is as
	// long as this and updates_per_s is the emulator's rate, not Herald's ceiling.
	r.Metrics["flood_emulator_made_s"] = madeAt.Sub(start).Seconds()
	dbCPU, emuCPU, cpu := procCPU(s.pgPID, true)-db0, procCPU(emuPID, false)-emu0, cpuTime()-cpu0
	per1000 := float64(wantUpdates) / 1000
	r.Params["flood_updates"] = wantUpdates
	r.Metrics["updates_per_s"] = float64(wantUpdates) / took.Seconds()
	r.Metrics["starts_per_s"] = float64(wantUpdates) / 2 / took.Seconds()
	if peak > 0 { // a flood shorter than a second has no full window
		r.Metrics["peak_updates_per_s_1s"] = peak
	}
	r.Metrics["flood_s"] = took.Seconds()
	r.Metrics["cpu_s_per_1000_updates"] = cpu.Seconds() / per1000
	r.Metrics["db_cpu_s_per_1000_updates"] = dbCPU.Seconds() / per1000
	r.Metrics["emulator_cpu_s_per_1000_updates"] = emuCPU.Seconds() / per1000
	r.Params["flood_admin_samples"] = len(admin)
	r.Metrics["flood_admin_p50_ms"] = percentile(admin, 0.50)
	r.Metrics["flood_admin_p99_ms"] = percentile(admin, 0.99)
	return nil
}

// steadyStartsPerS is the steady phase's offered rate: 3,200 updates/s.
const steadyStartsPerS = 1600

// steady has new users start the bots at steadyStartsPerS, in ticks of 20 ms, while
// the owner's /menu is timed; then it waits for the intake to commit every update.
func (run *intakeRun) steady(ctx context.Context, r *Result, quick bool) error {
	length := 10 * time.Second
	if quick {
		length = 2 * time.Second
	}
	const every = 20 * time.Millisecond
	perTick := steadyStartsPerS * int(every/time.Millisecond) / 1000 / len(run.tokens)
	ticks := int(length / every)
	base, start := run.in.Recorded(), time.Now()
	var done atomic.Bool
	probed := make(chan []time.Duration, 1)
	go func() { probed <- run.probeUntil(ctx, &done) }() // owned: read below
	tick := time.NewTicker(every)
	var err error
	for i := 0; i < ticks && err == nil; i++ {
		<-tick.C
		for b := range run.tokens {
			if _, err = run.starts(ctx, b, 0, perTick, 3); err != nil {
				break
			}
		}
	}
	tick.Stop()
	offered := time.Since(start)
	done.Store(true)
	admin := <-probed
	if err != nil {
		return err
	}
	want := int64(2 * ticks * perTick * len(run.tokens))
	doneAt, _, err := run.waitRecorded(ctx, base, want)
	if err != nil {
		return err
	}
	r.Params["steady_starts"], r.Params["steady_admin_samples"] = want/2, len(admin)
	r.Metrics["steady_offered_updates_per_s"] = float64(want) / offered.Seconds()
	r.Metrics["steady_committed_after_last_start_ms"] = float64(doneAt.Sub(start.Add(offered)).Microseconds()) / 1000
	r.Metrics["steady_admin_p50_ms"] = percentile(admin, 0.50)
	r.Metrics["steady_admin_p99_ms"] = percentile(admin, 0.99)
	r.Metrics["steady_admin_max_ms"] = percentile(admin, 1)
	return nil
}

// probeUntil times the owner's /menu every 50 ms until done (at least 5 times).
func (run *intakeRun) probeUntil(ctx context.Context, done *atomic.Bool) []time.Duration {
	var out []time.Duration
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for len(out) < 5 || !done.Load() {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return out
		}
		d, err := run.probe.menu(ctx)
		if err != nil {
			return out
		}
		out = append(out, d)
	}
	return out
}

// waitRecorded samples the intake's committed count every 10 ms until want more than
// base are in; it returns when, and the most committed in any 1-s window.
func (run *intakeRun) waitRecorded(ctx context.Context, base, want int64) (time.Time, float64, error) {
	type sample struct {
		at time.Time
		n  int64
	}
	var samples []sample
	deadline := time.Now().Add(10*time.Minute + time.Duration(want)*time.Millisecond)
	for {
		n, now := run.in.Recorded()-base, time.Now()
		samples = append(samples, sample{now, n})
		if n >= want {
			break
		}
		if now.After(deadline) || ctx.Err() != nil {
			return now, 0, fmt.Errorf("the intake committed %d of %d updates", n, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var peak float64
	j := 0
	for _, s := range samples {
		for s.at.Sub(samples[j].at) > time.Second {
			j++
		}
		if d := s.at.Sub(samples[j].at); d >= 900*time.Millisecond {
			peak = max(peak, float64(s.n-samples[j].n)/d.Seconds())
		}
	}
	return samples[len(samples)-1].at, peak, nil
}

// check lets the replies run a few seconds more, then compares the database with the
// emulator's truth and reads the replies' pacing from the emulator: the scenario
// fails unless every start is recorded and no bot's replies went above its rate.
func (run *intakeRun) check(ctx context.Context, r *Result) error {
	if !waitCtx(ctx, 3*time.Second) {
		return ctx.Err()
	}
	for i, ch := range run.channels {
		c, err := run.h.store.SubscriberCount(ctx, ch)
		if err != nil {
			return err
		}
		if c.Active != run.want[i] {
			return fmt.Errorf("bot %d: %d active subscribers recorded, %d started it", i, c.Active, run.want[i])
		}
	}
	var sent, tooMany int64
	maxWindow := 0
	for _, tok := range run.tokens {
		st, err := run.emu.stats(ctx, tok)
		if err != nil {
			return err
		}
		sent += st.Sent
		tooMany += st.TooManyRequests
		maxWindow = max(maxWindow, st.MaxPerSecond)
	}
	if tooMany > 0 || maxWindow > intakeRate {
		return fmt.Errorf("replies above the bots' rate: %d × 429, up to %d in a 1-s window (rate %d)", tooMany, maxWindow, intakeRate)
	}
	_, dropped := run.in.ReplyStats()
	r.Metrics["replies_sent"] = float64(sent)
	r.Metrics["replies_dropped_queue_full"] = float64(dropped)
	r.Metrics["reply_max_per_s"] = float64(maxWindow)
	r.Metrics["reply_429"] = float64(tooMany)
	return nil
}

// startProfile starts a CPU profile of this process into path ("" for none).
func startProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// waitFor polls cond every 20 ms until it holds or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", timeout)
		}
		if !waitCtx(ctx, 20*time.Millisecond) {
			return ctx.Err()
		}
	}
	return nil
}

func waitCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

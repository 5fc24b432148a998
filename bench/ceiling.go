package bench

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"herald/queue"
)

// ceiling: n recipients over 4 channel bots, the emulator without a rate limit, the
// engine unpaced (queue.DeliveryConfig.Unpaced); once with 0 ms and once with 25 ms of
// Bot API latency. The rate is messages from Confirm to the last message the emulator
// accepted; CPU is this process's only (the emulator is another process).
func ceiling(ctx context.Context, s *scenario) (Result, error) {
	r := newResult("ceiling")
	r.Params["recipients"], r.Params["bots"], r.Params["unpaced"] = s.size, 4, true
	h, err := openHerald(ctx, s, 1)
	if err != nil {
		return r, err
	}
	defer h.close()
	for _, lat := range []time.Duration{0, 25 * time.Millisecond} {
		suffix := fmt.Sprintf("_%dms", lat.Milliseconds())
		profile := ""
		if lat == 0 {
			profile = s.profile
		}
		run, err := runCeiling(ctx, s, h, lat, profile)
		if err != nil {
			return r, fmt.Errorf("latency %s: %w", lat, err)
		}
		r.Metrics["msgs_per_s"+suffix] = run.rate
		r.Metrics["cpu_s_per_1000"+suffix] = run.cpuPer1000
		r.Metrics["complete_s"+suffix] = run.complete.Seconds()
		if run.dbCPUPer1000 > 0 {
			r.Metrics["db_cpu_s_per_1000"+suffix] = run.dbCPUPer1000
		}
		r.Metrics["emulator_cpu_s_per_1000"+suffix] = run.emuCPUPer1000
	}
	r.Metrics["peak_rss_mb"] = peakRSSMB()
	r.target("msgs_per_s_0ms", ">=", 8000)
	r.target("msgs_per_s_25ms", ">=", 6000)
	r.target("cpu_s_per_1000_0ms", "<=", 0.15)
	return r, nil
}

type ceilingRun struct {
	rate       float64       // messages per second, Confirm to the last accepted send
	complete   time.Duration // Confirm to every campaign completed (outcomes written)
	cpuPer1000 float64
	// The other processes on the machine that the run kept busy: the emulator, and
	// PostgreSQL when it is the embedded one.
	dbCPUPer1000, emuCPUPer1000 float64
}

func runCeiling(ctx context.Context, s *scenario, h *herald, lat time.Duration, profile string) (ceilingRun, error) {
	const bots = 4
	n := s.size - s.size%bots
	emu, err := startEmulator(ctx, s.exe, s.env, emulatorSpec{bots: bots, users: n, latency: lat, rate: -1})
	if err != nil {
		return ceilingRun{}, err
	}
	defer emu.close()
	if err := h.startRiver(ctx, emu.url, queue.DeliveryConfig{Unpaced: true}, nil, nil); err != nil {
		return ceilingRun{}, err
	}
	defer h.stopRiver()
	tpl, err := h.template(ctx)
	if err != nil {
		return ceilingRun{}, err
	}
	type lane struct{ channel, batch int64 }
	lanes := make([]lane, bots)
	for i, tok := range emu.tokens {
		if lanes[i].channel, err = h.channel(ctx, tok, 1000); err != nil {
			return ceilingRun{}, err
		}
		if lanes[i].batch, err = h.batch(ctx, emu.firstUser+int64(i*n/bots), n/bots); err != nil {
			return ceilingRun{}, err
		}
	}
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return ceilingRun{}, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return ceilingRun{}, err
		}
		defer pprof.StopCPUProfile()
	}
	emuPID := emu.cmd.Process.Pid
	db0, emu0 := procCPU(s.pgPID, true), procCPU(emuPID, false)
	cpu0, start := cpuTime(), time.Now()
	var ids []int64
	for _, l := range lanes {
		id, err := h.confirm(ctx, tpl, l.batch, l.channel)
		if err != nil {
			return ceilingRun{}, err
		}
		ids = append(ids, id)
	}
	if err := h.waitFinished(ctx, ids, 10*time.Minute); err != nil {
		return ceilingRun{}, err
	}
	complete, cpu := time.Since(start), cpuTime()-cpu0
	dbCPU, emuCPU := procCPU(s.pgPID, true)-db0, procCPU(emuPID, false)-emu0
	last, err := checkExactlyOnce(ctx, emu, emu.tokens, n/bots)
	if err != nil {
		return ceilingRun{}, err
	}
	if sent, err := h.sentCount(ctx, ids); err != nil || sent != int64(n) {
		return ceilingRun{}, fmt.Errorf("database records %d sent of %d (%v)", sent, n, err)
	}
	return ceilingRun{
		rate:          float64(n) / time.Unix(0, last).Sub(start).Seconds(),
		complete:      complete,
		cpuPer1000:    cpu.Seconds() / (float64(n) / 1000),
		dbCPUPer1000:  dbCPU.Seconds() / (float64(n) / 1000),
		emuCPUPer1000: emuCPU.Seconds() / (float64(n) / 1000),
	}, nil
}

// checkExactlyOnce asks the emulator whether every bot sent exactly perBot messages,
// each to a different chat, without a 429; it returns the instant (Unix ns) of the
// last accepted send.
func checkExactlyOnce(ctx context.Context, emu *emulator, tokens []string, perBot int) (int64, error) {
	var last int64
	for i, tok := range tokens {
		st, err := emu.stats(ctx, tok)
		if err != nil {
			return 0, err
		}
		if st.Sent != int64(perBot) || st.Chats != perBot || st.Duplicates != 0 || st.TooManyRequests != 0 {
			return 0, fmt.Errorf("bot %d: emulator counted %d sent to %d chats (%d duplicates, %d × 429), want %d each once",
				i, st.Sent, st.Chats, st.Duplicates, st.TooManyRequests, perBot)
		}
		last = max(last, st.LastSentNS)
	}
	return last, nil
}

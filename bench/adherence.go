package bench

import (
	"context"
	"fmt"
	"time"

	"herald/queue"
)

// adherence: two channel bots at 30/s with recipients for 60 s, and one at 1000/s
// (paid broadcast) with recipients for 20 s, all at once, paced as in production, the
// emulator enforcing Telegram's limits. The achieved rate is the emulator's: accepted
// sends between the first and the last, divided by that span.
func adherence(ctx context.Context, s *scenario) (Result, error) {
	r := newResult("adherence")
	slow, fast := 60*time.Second, 20*time.Second
	if s.quick {
		slow, fast = 3*time.Second, 3*time.Second
	}
	type lane struct {
		name  string
		rate  int
		count int
	}
	lanes := []lane{
		{"30_a", 30, 30 * int(slow.Seconds())},
		{"30_b", 30, 30 * int(slow.Seconds())},
		{"1000", 1000, 1000 * int(fast.Seconds())},
	}
	users := 0
	for _, l := range lanes {
		users += l.count
	}
	r.Params["seconds_at_30"], r.Params["seconds_at_1000"] = slow.Seconds(), fast.Seconds()
	emu, err := startEmulator(ctx, s.exe, s.env, emulatorSpec{bots: len(lanes), users: users, rate: 30})
	if err != nil {
		return r, err
	}
	defer emu.close()
	h, err := openHerald(ctx, s, 1)
	if err != nil {
		return r, err
	}
	defer h.close()
	if err := h.startRiver(ctx, emu.url, queue.DeliveryConfig{}, nil, nil); err != nil {
		return r, err
	}
	tpl, err := h.template(ctx)
	if err != nil {
		return r, err
	}
	var ids []int64
	first := emu.firstUser
	for i, l := range lanes {
		channel, err := h.channel(ctx, emu.tokens[i], l.rate)
		if err != nil {
			return r, err
		}
		batch, err := h.batch(ctx, first, l.count)
		if err != nil {
			return r, err
		}
		first += int64(l.count)
		id, err := h.confirm(ctx, tpl, batch, channel)
		if err != nil {
			return r, err
		}
		ids = append(ids, id)
	}
	if err := h.waitFinished(ctx, ids, 2*slow+time.Minute); err != nil {
		return r, err
	}
	var tooMany int64
	for i, l := range lanes {
		st, err := emu.stats(ctx, emu.tokens[i])
		if err != nil {
			return r, err
		}
		if st.Sent != int64(l.count) || st.Duplicates != 0 {
			return r, fmt.Errorf("bot %s: %d sent (%d duplicates), want %d once each", l.name, st.Sent, st.Duplicates, l.count)
		}
		span := time.Duration(st.LastSentNS - st.FirstSentNS).Seconds()
		r.Metrics["achieved_ratio_"+l.name] = float64(st.Sent-1) / span / float64(l.rate)
		r.Metrics["max_1s_window_"+l.name] = float64(st.MaxPerSecond)
		r.Metrics["longest_pause_ms_"+l.name] = float64(st.MaxGapNS) / 1e6
		tooMany += st.TooManyRequests
		r.target("achieved_ratio_"+l.name, ">=", 0.98) // issue 12.6
		r.target("max_1s_window_"+l.name, "<=", float64(l.rate))
	}
	r.Metrics["http_429"] = float64(tooMany)
	r.target("http_429", "<=", 0)
	return r, nil
}

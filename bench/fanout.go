package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"herald/queue"
	"herald/store"
)

// fanout: a campaign over 10 × size recipients (1,000,000 by default) is confirmed;
// measured are the seconds until its start job has committed the first chunk of
// deliveries (campaign running), until the emulator accepted its first message, and
// until every delivery exists (the rest are created in chunks while sending). The batch is created beforehand with one
// INSERT … SELECT (set-up, not measured); the lowest chat ids are emulator users, so
// the first claimed delivery can be sent. Then, while the campaign sends at the
// channel's 1000/s, PostgreSQL's CPU per second is measured over a window: what a
// running campaign of this size costs the database (progress reporting included), and
// again while it is paused (only the cost of watching it).
// The campaign is cancelled afterwards.
func fanout(ctx context.Context, s *scenario) (Result, error) {
	r := newResult("fanout")
	n := 10 * s.size
	r.Params["recipients"] = n
	emu, err := startEmulator(ctx, s.exe, s.env, emulatorSpec{bots: 1, users: 1000, rate: 30})
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
	channel, err := h.channel(ctx, emu.tokens[0], 1000)
	if err != nil {
		return r, err
	}
	batch, err := h.batch(ctx, emu.firstUser, n)
	if err != nil {
		return r, err
	}
	// Settle the freshly written table as a running system's would be.
	if err := h.store.RecipientsVacuumAnalyze(ctx); err != nil {
		return r, err
	}

	start := time.Now()
	id, err := h.confirm(ctx, tpl, batch, channel)
	if err != nil {
		return r, err
	}
	if err := waitFanout(ctx, h, emu, id, start, r); err != nil {
		return r, err
	}
	counts, err := h.store.DeliveryCounts(ctx, id)
	if err != nil {
		return r, err
	}
	if counts.Total() != int64(n) {
		return r, fmt.Errorf("%d deliveries for %d recipients", counts.Total(), n)
	}
	if err := fanoutSending(ctx, s, h, id, r); err != nil {
		return r, err
	}
	// A small run may have completed during the sending window; nothing to cancel then.
	if _, _, err := h.store.CampaignCancel(ctx, id, h.admin); err != nil && !errors.Is(err, store.ErrInvalidTransition) {
		return r, fmt.Errorf("cancel: %w", err)
	}
	r.Metrics["peak_rss_mb"] = peakRSSMB()
	r.target("seconds_to_first_send", "<=", 3)
	return r, nil
}

// waitFanout records when the campaign's first chunk existed and its first message
// was sent, then when every delivery existed (the rest are created while sending).
func waitFanout(ctx context.Context, h *herald, emu *emulator, id int64, start time.Time, r Result) error {
	var created time.Duration
	deadline := start.Add(5 * time.Minute)
	for {
		if created == 0 {
			c, err := h.store.CampaignGet(ctx, id)
			if err != nil {
				return err
			}
			if c.Status != store.CampaignScheduled {
				created = time.Since(start)
			}
		}
		st, err := emu.stats(ctx, emu.tokens[0])
		if err != nil {
			return err
		}
		if st.Sent > 0 && created > 0 {
			r.Metrics["seconds_to_deliveries"] = created.Seconds()
			r.Metrics["seconds_to_first_send"] = time.Unix(0, st.FirstSentNS).Sub(start).Seconds()
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no message sent 5 minutes after Confirm (deliveries created: %v)", created > 0)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for {
		pending, err := h.store.CampaignFanoutPending(ctx, id)
		if err != nil {
			return err
		}
		if !pending {
			r.Metrics["seconds_to_all_deliveries"] = time.Since(start).Seconds()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("deliveries still being created 5 minutes after Confirm")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// fanoutSending measures PostgreSQL's CPU time (postmaster and backends) per second of
// wall-clock time over a window of the 1M campaign's sending, with the sends the
// deliveries settled meanwhile (counted outside the window), so the figure can be read
// per message as well.
func fanoutSending(ctx context.Context, s *scenario, h *herald, id int64, r Result) error {
	window := 20 * time.Second
	if s.quick {
		window = 5 * time.Second
	}
	// Let the first chunks and the progress reporter get going.
	time.Sleep(2 * time.Second)
	c0, err := h.store.DeliveryCounts(ctx, id)
	if err != nil {
		return err
	}
	db0, t0 := procCPU(s.pgPID, true), time.Now()
	time.Sleep(window)
	db1, t1 := procCPU(s.pgPID, true), time.Now()
	c1, err := h.store.DeliveryCounts(ctx, id)
	if err != nil {
		return err
	}
	secs := t1.Sub(t0).Seconds()
	settled := func(c store.DeliveryCounts) int64 { return c.Sent + c.Failed + c.Blocked + c.Uncertain }
	r.Params["sending_window_s"] = window.Seconds()
	r.Metrics["sending_settled_per_s"] = float64(settled(c1)-settled(c0)) / secs
	if s.pgPID > 0 {
		r.Metrics["sending_pg_cpu_s_per_s"] = (db1 - db0).Seconds() / secs
	}
	// Paused, the lane sends nothing, so what PostgreSQL still spends is the cost of
	// watching a 1M campaign (progress reporter, maintenance), free of the send rate —
	// which a loaded machine changes from run to run.
	if _, err := h.store.CampaignPause(ctx, id, h.admin, ""); errors.Is(err, store.ErrInvalidTransition) {
		return nil // a small run (--quick, the smoke test) has finished already
	} else if err != nil {
		return fmt.Errorf("pause: %w", err)
	}
	time.Sleep(2 * time.Second)
	db0, t0 = procCPU(s.pgPID, true), time.Now()
	time.Sleep(window)
	db1, t1 = procCPU(s.pgPID, true), time.Now()
	if s.pgPID > 0 {
		r.Metrics["paused_pg_cpu_s_per_s"] = (db1 - db0).Seconds() / t1.Sub(t0).Seconds()
	}
	return nil
}

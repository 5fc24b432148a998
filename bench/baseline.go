package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/mymmrac/telego"
	tu "github.com/mymmrac/telego/telegoutil"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/rs/zerolog"
)

// Baseline tuning: the best of a small sweep on the reference machine (see
// BENCHMARKS.md). River fetches at most MaxWorkers minus the running jobs per fetch,
// and at most once per FetchCooldown. HERALD_BENCH_BASELINE="workers,cooldown,poll"
// (e.g. "400,5ms,20ms") overrides them to repeat the sweep.
var (
	baselineMaxWorkers    = 400
	baselineFetchCooldown = 5 * time.Millisecond
	baselinePollInterval  = 20 * time.Millisecond
)

func baselineTuning() error {
	v := os.Getenv("HERALD_BENCH_BASELINE")
	if v == "" {
		return nil
	}
	var cooldown, poll string
	if _, err := fmt.Sscanf(strings.ReplaceAll(v, ",", " "), "%d %s %s", &baselineMaxWorkers, &cooldown, &poll); err != nil {
		return fmt.Errorf("HERALD_BENCH_BASELINE=%q: want workers,cooldown,poll: %w", v, err)
	}
	var err error
	if baselineFetchCooldown, err = time.ParseDuration(cooldown); err != nil {
		return err
	}
	baselinePollInterval, err = time.ParseDuration(poll)
	return err
}

// naiveSendArgs is the naive design's job: one River job per message.
type naiveSendArgs struct {
	Bot    int    `json:"bot"`
	ChatID int64  `json:"chat_id"`
	Name   string `json:"name"`
}

func (naiveSendArgs) Kind() string { return "bench_naive_send" }

type naiveSendWorker struct {
	river.WorkerDefaults[naiveSendArgs]
	bots []*telego.Bot
}

func (w *naiveSendWorker) Work(ctx context.Context, job *river.Job[naiveSendArgs]) error {
	a := job.Args
	_, err := w.bots[a.Bot].SendMessage(ctx, tu.Message(tu.ID(a.ChatID), "Hello, "+a.Name+"! This is a Herald benchmark message."))
	return err
}

// baseline is the naive design on the same emulator and database: n River jobs
// inserted with InsertManyFast (COPY), each sending one message through telego, with
// River tuned for throughput. The rate is from the start of the insert to the last
// message the emulator accepted.
func baseline(ctx context.Context, s *scenario) (Result, error) {
	r := newResult("baseline")
	if err := baselineTuning(); err != nil {
		return r, err
	}
	const nbots = 4
	n := s.size - s.size%nbots
	r.Params["recipients"], r.Params["bots"] = n, nbots
	r.Params["max_workers"], r.Params["fetch_cooldown_ms"], r.Params["fetch_poll_interval_ms"] =
		baselineMaxWorkers, baselineFetchCooldown.Milliseconds(), baselinePollInterval.Milliseconds()
	emu, err := startEmulator(ctx, s.exe, s.env, emulatorSpec{bots: nbots, users: n, rate: -1})
	if err != nil {
		return r, err
	}
	defer emu.close()
	h, err := openHerald(ctx, s, 1)
	if err != nil {
		return r, err
	}
	defer h.close()

	w := &naiveSendWorker{}
	for _, tok := range emu.tokens {
		b, err := telego.NewBot(tok, telego.WithAPIServer(emu.url), telego.WithDiscardLogger())
		if err != nil {
			return r, err
		}
		w.bots = append(w.bots, b)
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	client, err := river.NewClient(riverpgxv5.New(h.pool), &river.Config{
		Logger:            slog.New(zerolog.NewSlogHandler(h.logger)),
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: baselineMaxWorkers}},
		Workers:           workers,
		FetchCooldown:     baselineFetchCooldown,
		FetchPollInterval: baselinePollInterval,
	})
	if err != nil {
		return r, err
	}
	if err := client.Start(ctx); err != nil {
		return r, err
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		_ = client.StopAndCancel(stopCtx)
		cancel()
	}()

	params := make([]river.InsertManyParams, n)
	for i := range params {
		chat := emu.firstUser + int64(i)
		params[i] = river.InsertManyParams{Args: naiveSendArgs{Bot: i * nbots / n, ChatID: chat, Name: fmt.Sprintf("User %d", chat)}}
	}
	emuPID := emu.cmd.Process.Pid
	db0, emu0 := procCPU(s.pgPID, true), procCPU(emuPID, false)
	cpu0, start := cpuTime(), time.Now()
	if _, err := client.InsertManyFast(ctx, params); err != nil {
		return r, fmt.Errorf("insert jobs: %w", err)
	}
	inserted := time.Since(start)
	// Done when the emulator has every message and River has completed every job.
	deadline := time.Now().Add(10 * time.Minute)
	for {
		var total int64
		for _, tok := range emu.tokens {
			st, err := emu.stats(ctx, tok)
			if err != nil {
				return r, err
			}
			total += st.Sent
		}
		if total >= int64(n) {
			break
		}
		if time.Now().After(deadline) {
			return r, fmt.Errorf("%d of %d sent after 10 minutes", total, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for {
		var open int
		if err := h.pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'bench_naive_send' AND state <> 'completed'`).Scan(&open); err != nil {
			return r, err
		}
		if open == 0 {
			break
		}
		if time.Now().After(deadline) {
			return r, fmt.Errorf("%d jobs not completed after 10 minutes", open)
		}
		time.Sleep(20 * time.Millisecond)
	}
	complete, cpu := time.Since(start), cpuTime()-cpu0
	dbCPU, emuCPU := procCPU(s.pgPID, true)-db0, procCPU(emuPID, false)-emu0
	last, err := checkExactlyOnce(ctx, emu, emu.tokens, n/nbots)
	if err != nil {
		return r, err
	}
	r.Metrics["msgs_per_s"] = float64(n) / time.Unix(0, last).Sub(start).Seconds()
	r.Metrics["insert_s"] = inserted.Seconds()
	r.Metrics["complete_s"] = complete.Seconds()
	r.Metrics["cpu_s_per_1000"] = cpu.Seconds() / (float64(n) / 1000)
	if dbCPU > 0 {
		r.Metrics["db_cpu_s_per_1000"] = dbCPU.Seconds() / (float64(n) / 1000)
	}
	r.Metrics["emulator_cpu_s_per_1000"] = emuCPU.Seconds() / (float64(n) / 1000)
	r.Metrics["peak_rss_mb"] = peakRSSMB()
	return r, nil
}

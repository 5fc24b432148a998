package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/mymmrac/telego"
	tu "github.com/mymmrac/telego/telegoutil"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/rs/zerolog"

	"herald/queue"
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

// naiveSendArgs is the naive design's job: one River job per message, carrying the
// recipient's variables as a lane finds them in the recipients table.
type naiveSendArgs struct {
	Bot    int             `json:"bot"`
	ChatID int64           `json:"chat_id"`
	Vars   json.RawMessage `json:"vars"`
}

func (naiveSendArgs) Kind() string { return "bench_naive_send" }

type naiveSendWorker struct {
	river.WorkerDefaults[naiveSendArgs]
	send func(ctx context.Context, a naiveSendArgs) error
}

func (w *naiveSendWorker) Work(ctx context.Context, job *river.Job[naiveSendArgs]) error {
	return w.send(ctx, job.Args)
}

// baselineSend is how a baseline job sends its message.
type baselineSend func(ctx context.Context, apiURL string, tokens []string) (func(context.Context, naiveSendArgs) error, error)

// laneSend sends as Herald's lanes do (queue.TextSender: the engine's own sendMessage
// body and request path), so that baseline and ceiling differ only in their design.
func laneSend(_ context.Context, apiURL string, tokens []string) (func(context.Context, naiveSendArgs) error, error) {
	s, err := queue.NewTextSender(apiURL, benchBody, tokens)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, a naiveSendArgs) error {
		_, err := s.Send(ctx, a.Bot, a.ChatID, a.Vars)
		return err
	}, nil
}

// telegoSend sends through telego's generic request path (its default fasthttp
// caller, reflection-based JSON, the whole Message decoded), as the baseline did
// before it shared the lanes' send path: the difference between the two baselines is
// what the send path alone is worth.
func telegoSend(_ context.Context, apiURL string, tokens []string) (func(context.Context, naiveSendArgs) error, error) {
	var bots []*telego.Bot
	for _, tok := range tokens {
		b, err := telego.NewBot(tok, telego.WithAPIServer(apiURL), telego.WithDiscardLogger())
		if err != nil {
			return nil, err
		}
		bots = append(bots, b)
	}
	return func(ctx context.Context, a naiveSendArgs) error {
		var vars map[string]string
		if err := json.Unmarshal(a.Vars, &vars); err != nil {
			return err
		}
		_, err := bots[a.Bot].SendMessage(ctx, tu.Message(tu.ID(a.ChatID), "Hello, "+vars["first_name"]+"! This is a Herald benchmark message."))
		return err
	}, nil
}

// baseline is the naive design on the same emulator and database: n River jobs
// inserted with InsertManyFast (COPY), each sending one message the way Herald's lanes
// do, with River tuned for throughput. The rate is from the start of the insert to the
// last message the emulator accepted.
func baseline(ctx context.Context, s *scenario) (Result, error) {
	return runBaseline(ctx, s, newResult("baseline"), laneSend)
}

// baselineTelego is baseline with telego's generic send path.
func baselineTelego(ctx context.Context, s *scenario) (Result, error) {
	return runBaseline(ctx, s, newResult("baseline_telego"), telegoSend)
}

func runBaseline(ctx context.Context, s *scenario, r Result, sendVia baselineSend) (Result, error) {
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

	send, err := sendVia(ctx, emu.url, emu.tokens)
	if err != nil {
		return r, err
	}
	client, err := startBaselineRiver(ctx, h, send)
	if err != nil {
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
		vars := fmt.Appendf(nil, `{"first_name":"User %d"}`, chat)
		params[i] = river.InsertManyParams{Args: naiveSendArgs{Bot: i * nbots / n, ChatID: chat, Vars: vars}}
	}
	emuPID := emu.cmd.Process.Pid
	db0, emu0 := procCPU(s.pgPID, true), procCPU(emuPID, false)
	cpu0, start := cpuTime(), time.Now()
	if _, err := client.InsertManyFast(ctx, params); err != nil {
		return r, fmt.Errorf("insert jobs: %w", err)
	}
	inserted := time.Since(start)
	if err := waitBaselineDone(ctx, emu, client, n); err != nil {
		return r, err
	}
	complete, cpu := time.Since(start), cpuTime()-cpu0
	dbCPU, emuCPU := procCPU(s.pgPID, true)-db0, procCPU(emuPID, false)-emu0
	last, dups, err := checkAtLeastOnce(ctx, emu, emu.tokens, n/nbots)
	if err != nil {
		return r, err
	}
	// The naive design's own flaw, not a failure of the run: River runs a job again
	// when its send failed or timed out, even if the message had arrived (seen on a
	// machine at load 50). Herald's scenarios still require exactly once.
	r.Metrics["duplicates"] = float64(dups)
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

// checkAtLeastOnce asks the emulator whether every bot reached each of its perBot
// chats without a 429; it returns the instant (Unix ns) of the last accepted send and
// how many sends were repeats.
func checkAtLeastOnce(ctx context.Context, emu *emulator, tokens []string, perBot int) (last, dups int64, err error) {
	for i, tok := range tokens {
		st, err := emu.stats(ctx, tok)
		if err != nil {
			return 0, 0, err
		}
		if st.Chats != perBot || st.TooManyRequests != 0 {
			return 0, 0, fmt.Errorf("bot %d: emulator counted %d sent to %d chats (%d × 429), want all %d chats",
				i, st.Sent, st.Chats, st.TooManyRequests, perBot)
		}
		dups += st.Sent - int64(st.Chats)
		last = max(last, st.LastSentNS)
	}
	return last, dups, nil
}

// startBaselineRiver starts River on h's pool with the baseline tuning and one worker
// that sends with send.
func startBaselineRiver(ctx context.Context, h *herald, send func(context.Context, naiveSendArgs) error) (*river.Client[pgx.Tx], error) {
	workers := river.NewWorkers()
	river.AddWorker(workers, &naiveSendWorker{send: send})
	client, err := river.NewClient(riverpgxv5.New(h.pool), &river.Config{
		Logger:            slog.New(zerolog.NewSlogHandler(h.logger)),
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: baselineMaxWorkers}},
		Workers:           workers,
		FetchCooldown:     baselineFetchCooldown,
		FetchPollInterval: baselinePollInterval,
	})
	if err != nil {
		return nil, err
	}
	if err := client.Start(ctx); err != nil {
		return nil, err
	}
	return client, nil
}

// waitBaselineDone waits until the emulator has accepted n messages and River has
// completed every job (up to 10 minutes).
func waitBaselineDone(ctx context.Context, emu *emulator, client *river.Client[pgx.Tx], n int) error {
	deadline := time.Now().Add(10 * time.Minute)
	for {
		var total int64
		for _, tok := range emu.tokens {
			st, err := emu.stats(ctx, tok)
			if err != nil {
				return err
			}
			total += st.Sent
		}
		if total >= int64(n) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d sent after 10 minutes", total, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Any job not completed (River's own query, not ours).
	open := river.NewJobListParams().Kinds(naiveSendArgs{}.Kind()).First(1).
		States(slices.DeleteFunc(rivertype.JobStates(), func(s rivertype.JobState) bool { return s == rivertype.JobStateCompleted })...)
	for {
		res, err := client.JobList(ctx, open)
		if err != nil {
			return err
		}
		if len(res.Jobs) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("job %d (and maybe others) not completed after 10 minutes: %s", res.Jobs[0].ID, res.Jobs[0].State)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

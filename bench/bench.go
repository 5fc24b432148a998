package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"herald/migrations"
	"herald/pgcluster"
	"herald/store"
)

// Scenarios lists every scenario in the order Run runs them: the ones whose figures
// the others' load would disturb least come first; the baselines run right before
// ceiling so their ratios compare runs minutes apart.
var Scenarios = []string{"import", "fanout", "adherence", "baseline_telego", "baseline", "ceiling", "responsiveness", "intake"}

// Options configure Run.
type Options struct {
	Scenarios []string // default: all, in the order of Scenarios
	// Size is the recipients of ceiling, the baselines and responsiveness (default 100,000);
	// import and fanout use ten times as many.
	Size int
	// Quick shortens the timed scenarios (adherence runs 3 s instead of 60 s,
	// responsiveness sends 20 messages, intake's paced and steady phases last 2 s):
	// for smoke tests.
	Quick bool
	JSON  bool // print one JSON object per scenario instead of the table
	// PoolMaxConns sizes Herald's database pool in the scenarios (0: pgxpool's default
	// of max(4, NumCPU), which is what `herald run` uses unless DATABASE_URL sets
	// pool_max_conns).
	PoolMaxConns int
	// CPUProfile, when set, is where the ceiling scenario (latency 0) and the intake
	// scenario's flood write a CPU profile of Herald's process.
	CPUProfile string
	// Exe is the herald binary to run children with; Env their environment.
	Exe string
	Env []string
	// DatabaseURL is the server the bench creates its databases on (one per scenario,
	// dropped afterwards; the role needs CREATEDB). Empty: an embedded cluster in a
	// temporary directory.
	DatabaseURL    string
	Stdout, Stderr io.Writer
}

func (o Options) withDefaults() Options {
	if len(o.Scenarios) == 0 {
		o.Scenarios = Scenarios
	}
	if o.Size <= 0 {
		o.Size = 100_000
	}
	return o
}

// Run runs the scenarios, each in a child process on a database of its own, and
// prints the results. It returns an error if a scenario failed.
func Run(ctx context.Context, o Options) error {
	o = o.withDefaults()
	for _, name := range o.Scenarios {
		if runners[name] == nil {
			return fmt.Errorf("unknown scenario %q (have %s)", name, strings.Join(Scenarios, ", "))
		}
	}
	server := o.DatabaseURL
	if server == "" {
		dir, err := os.MkdirTemp("", "herald-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if err := os.Chmod(dir, 0o755); err != nil { // the server may run as another user
			return err
		}
		cluster, err := pgcluster.Start(ctx, pgcluster.Options{DataDir: dir, Database: "herald"})
		if err != nil {
			return fmt.Errorf("embedded database (DATABASE_URL is unset): %w", err)
		}
		defer func() {
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			_ = cluster.Stop(stopCtx)
		}()
		server = cluster.ConnString("postgres")
		o.Env = append(append([]string{}, o.Env...), fmt.Sprintf("HERALD_BENCH_PG_PID=%d", cluster.Pid()))
	}
	var results []Result
	var failed []string
	for _, name := range o.Scenarios {
		res := runChild(ctx, o, server, name)
		if res.Error != "" {
			failed = append(failed, name)
		}
		results = append(results, res)
		if ctx.Err() != nil {
			break
		}
	}
	relate(results)
	if o.JSON {
		enc := json.NewEncoder(o.Stdout)
		for _, r := range results {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
	} else {
		printTable(o.Stdout, results)
	}
	if len(failed) > 0 {
		return fmt.Errorf("scenarios failed: %s", strings.Join(failed, ", "))
	}
	return ctx.Err()
}

// relate adds the figures that compare scenarios of the same invocation: ceiling
// (latency 0) ÷ baseline, whose jobs send the way the lanes do, and ÷ baseline_telego,
// whose jobs send through telego's generic path.
func relate(results []Result) {
	byName := map[string]*Result{}
	for i := range results {
		if results[i].Error == "" {
			byName[results[i].Scenario] = &results[i]
		}
	}
	ceil := byName["ceiling"]
	if ceil == nil {
		return
	}
	if base := byName["baseline"]; base != nil && base.Metrics["msgs_per_s"] > 0 {
		ceil.Metrics["vs_baseline_0ms"] = ceil.Metrics["msgs_per_s_0ms"] / base.Metrics["msgs_per_s"]
		ceil.target("vs_baseline_0ms", ">=", 1.3)
	}
	if base := byName["baseline_telego"]; base != nil && base.Metrics["msgs_per_s"] > 0 {
		ceil.Metrics["vs_baseline_telego_0ms"] = ceil.Metrics["msgs_per_s_0ms"] / base.Metrics["msgs_per_s"]
	}
}

// runChild creates the scenario's database, runs `herald bench --child name` on it
// and reads its Result.
func runChild(ctx context.Context, o Options, server, name string) Result {
	fail := func(err error) Result {
		r := newResult(name)
		r.Error = err.Error()
		r.LoadAvg[1] = loadAvg()
		return r
	}
	dbName := "herald_bench_" + name + "_" + randomHex()
	dbURL, err := createDatabase(ctx, server, dbName)
	if err != nil {
		return fail(err)
	}
	defer dropDatabase(context.WithoutCancel(ctx), server, dbName)

	args := []string{"bench", "--child", name, "--size", fmt.Sprint(o.Size)}
	if o.Quick {
		args = append(args, "--quick")
	}
	if o.CPUProfile != "" {
		args = append(args, "--cpuprofile", o.CPUProfile)
	}
	if o.PoolMaxConns > 0 {
		args = append(args, "--pool-max-conns", fmt.Sprint(o.PoolMaxConns))
	}
	cmd := exec.CommandContext(ctx, o.Exe, args...)
	cmd.Env = append(append([]string{}, o.Env...), "HERALD_BENCH_DATABASE_URL="+dbURL)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 20 * time.Second
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = o.Stderr
	if !o.JSON {
		fmt.Fprintf(o.Stderr, "bench: %s (load average %.2f)…\n", name, loadAvg())
	}
	runErr := cmd.Run()
	var res Result
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	found := false
	for sc.Scan() {
		if line := sc.Bytes(); json.Unmarshal(line, &res) == nil && res.Scenario == name {
			found = true
		}
	}
	if !found {
		if runErr == nil {
			runErr = errors.New("no result printed")
		}
		return fail(fmt.Errorf("%s: %w", name, runErr))
	}
	return res
}

func createDatabase(ctx context.Context, server, name string) (string, error) {
	if err := onServer(ctx, server, func(st *store.Store) error { return st.DatabaseCreate(ctx, name) }); err != nil {
		return "", err
	}
	dbURL, err := withDatabase(server, name)
	if err != nil {
		return "", err
	}
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return "", err
	}
	defer pool.Close()
	if _, err := migrations.Up(ctx, pool, slog.New(slog.DiscardHandler)); err != nil {
		return "", err
	}
	return dbURL, nil
}

func dropDatabase(ctx context.Context, server, name string) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_ = onServer(ctx, server, func(st *store.Store) error { return st.DatabaseDrop(ctx, name) })
}

// onServer runs fn on a Store connected to the server's own database (not a
// scenario's), with one connection.
func onServer(ctx context.Context, server string, fn func(*store.Store) error) error {
	cfg, err := pgxpool.ParseConfig(server)
	if err != nil {
		return fmt.Errorf("database server: %w", err)
	}
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect to database server: %w", err)
	}
	defer pool.Close()
	return fn(store.New(pool))
}

func withDatabase(server, database string) (string, error) {
	if strings.HasPrefix(server, "postgres://") || strings.HasPrefix(server, "postgresql://") {
		u, err := url.Parse(server)
		if err != nil {
			return "", fmt.Errorf("parse DATABASE_URL: %w", err)
		}
		u.Path = "/" + database
		return u.String(), nil
	}
	return server + " dbname=" + database, nil // keyword form: the last dbname wins
}

func randomHex() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// scenario is what a scenario's runner gets in the child process.
type scenario struct {
	exe     string
	env     []string
	dbURL   string
	size    int
	quick   bool
	profile string
	logw    io.Writer // Herald's logs (warnings and errors)
	pgPID   int       // the embedded PostgreSQL's postmaster (0: unknown, not ours)
	// poolMaxConns overrides the pool size (0: pgxpool's default, as herald run).
	poolMaxConns int
}

type runner func(ctx context.Context, s *scenario) (Result, error)

var runners = map[string]runner{
	"ceiling":         ceiling,
	"baseline":        baseline,
	"baseline_telego": baselineTelego,
	"adherence":       adherence,
	"import":          importCSV,
	"fanout":          fanout,
	"responsiveness":  responsiveness,
	"intake":          intake,
}

// ChildOptions configure RunChild.
type ChildOptions struct {
	Scenario    string
	Size        int
	Quick       bool
	CPUProfile  string
	Exe         string
	Env         []string
	DatabaseURL string // the scenario's own, migrated database
	// PostgresPID is the embedded server's postmaster, whose CPU time (with its
	// backends') is reported beside Herald's; 0 when the server is not ours.
	PostgresPID int
	// PoolMaxConns sizes Herald's pool (0: pgxpool's default, as `herald run`).
	PoolMaxConns int
	Stdout       io.Writer
	Stderr       io.Writer
}

// RunChild runs one scenario in this process and prints its Result as one JSON line.
func RunChild(ctx context.Context, o ChildOptions) error {
	run := runners[o.Scenario]
	if run == nil {
		return fmt.Errorf("unknown scenario %q", o.Scenario)
	}
	if o.DatabaseURL == "" {
		return errors.New("HERALD_BENCH_DATABASE_URL is unset (run `herald bench`, not the child)")
	}
	if o.Size <= 0 {
		o.Size = 100_000
	}
	s := &scenario{exe: o.Exe, env: o.Env, dbURL: o.DatabaseURL, size: o.Size, quick: o.Quick, profile: o.CPUProfile, logw: o.Stderr, pgPID: o.PostgresPID, poolMaxConns: o.PoolMaxConns}
	res, err := run(ctx, s)
	res.Scenario = o.Scenario
	res.LoadAvg[1] = loadAvg()
	if err != nil {
		res.Error = err.Error()
	}
	if res.Metrics == nil {
		res.Metrics = map[string]float64{}
	}
	if res.Params == nil {
		res.Params = map[string]any{}
	}
	if o.PoolMaxConns > 0 {
		res.Params["pool_max_conns"] = o.PoolMaxConns
	}
	if encErr := json.NewEncoder(o.Stdout).Encode(res); encErr != nil {
		return encErr
	}
	return err
}

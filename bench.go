package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"herald/bench"
)

// runBench is `herald bench`: see package bench and BENCHMARKS.md. `--child NAME` is
// the per-scenario child process the parent starts; it is not meant to be run by hand.
func runBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("herald bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scenario := fs.String("scenario", "", "run only these scenarios (comma-separated): "+strings.Join(bench.Scenarios, ", "))
	asJSON := fs.Bool("json", false, "print one JSON object per scenario instead of the table")
	size := fs.Int("size", 100_000, "recipients of ceiling, the baselines and responsiveness; import and fanout use 10×; intake floods size/2 starts")
	quick := fs.Bool("quick", false, "small and short: --size 2000 unless given, adherence 3 s, 20 dialog messages, intake phases of 2 s")
	profile := fs.String("cpuprofile", "", "write a CPU profile of Herald's process during ceiling (latency 0) and intake's flood to this file")
	poolMax := fs.Int("pool-max-conns", 0, "size of Herald's database pool (default: pgxpool's, as herald run without pool_max_conns)")
	child := fs.String("child", "", "internal: run one scenario in this process")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sizeSet := false
	fs.Visit(func(f *flag.Flag) { sizeSet = sizeSet || f.Name == "size" })
	if *quick && !sizeSet {
		*size = 2000
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the herald binary: %w", err)
	}
	if *child != "" {
		pgPID, _ := strconv.Atoi(getenv("HERALD_BENCH_PG_PID"))
		return bench.RunChild(ctx, bench.ChildOptions{
			Scenario: *child, Size: *size, Quick: *quick, CPUProfile: *profile,
			Exe: exe, Env: os.Environ(), DatabaseURL: getenv("HERALD_BENCH_DATABASE_URL"),
			PostgresPID: pgPID, PoolMaxConns: *poolMax, Stdout: stdout, Stderr: stderr,
		})
	}
	var scenarios []string
	if *scenario != "" {
		scenarios = strings.Split(*scenario, ",")
	}
	return bench.Run(ctx, bench.Options{
		Scenarios: scenarios, Size: *size, Quick: *quick, JSON: *asJSON, CPUProfile: *profile, PoolMaxConns: *poolMax,
		Exe: exe, Env: os.Environ(), DatabaseURL: getenv("DATABASE_URL"),
		Stdout: stdout, Stderr: stderr,
	})
}

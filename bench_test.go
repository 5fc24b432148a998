package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"herald/bench"
	"herald/pgtest"
)

// A tiny `herald bench` run: the real binary, its emulator child and one database per
// scenario on the test server. Every scenario fails itself unless each message arrived
// exactly once (emulator truth and the database agree), so a clean result is proof of
// that; here we check the JSON shape the figures are read from.
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs child processes")
	}
	t.Parallel()
	bin := heraldBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute) // a hang guard: six scenarios
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "bench", "--quick", "--size", "400", "--json", "--scenario", "ceiling,baseline,baseline_telego,import,fanout,intake")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+pgtest.ServerURL(t))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "stderr: %s", stderr.String())

	results := map[string]bench.Result{}
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		var r bench.Result
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), "line %q", sc.Text())
		require.Empty(t, r.Error, r.Scenario)
		// The load average is a figure of the machine: on an idle one it is 0, so only
		// its presence (start and end) and its sign can be checked.
		var raw struct {
			LoadAvg []float64 `json:"load_avg"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &raw))
		require.Len(t, raw.LoadAvg, 2, r.Scenario)
		require.GreaterOrEqual(t, min(raw.LoadAvg[0], raw.LoadAvg[1]), 0.0, r.Scenario)
		results[r.Scenario] = r
	}
	require.Len(t, results, 6)
	for name, metrics := range map[string][]string{
		"ceiling":         {"msgs_per_s_0ms", "msgs_per_s_25ms", "cpu_s_per_1000_0ms", "peak_rss_mb", "vs_baseline_0ms", "vs_baseline_telego_0ms"},
		"baseline":        {"msgs_per_s", "cpu_s_per_1000"},
		"baseline_telego": {"msgs_per_s", "cpu_s_per_1000"},
		"import":          {"rows_per_s", "peak_rss_mb", "xlsx_rows_per_s", "xlsx_peak_rss_mb"},
		"fanout":          {"seconds_to_deliveries", "seconds_to_first_send"},
		"intake":          {"updates_per_s", "paced_reply_p99_ms", "steady_admin_p99_ms", "flood_admin_p99_ms", "replies_sent"},
	} {
		r := results[name]
		for _, m := range metrics {
			require.Greater(t, r.Metrics[m], 0.0, "%s: %s", name, m)
		}
	}
	require.EqualValues(t, 400, results["ceiling"].Params["recipients"])
	require.NotEmpty(t, results["ceiling"].Targets)
}

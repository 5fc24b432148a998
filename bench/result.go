package bench

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// Result is what one scenario measured: one JSON object per scenario with --json.
type Result struct {
	Scenario string             `json:"scenario"`
	Params   map[string]any     `json:"params"`
	Metrics  map[string]float64 `json:"metrics"`
	Targets  []Target           `json:"targets,omitempty"`
	// LoadAvg is the machine's 1-minute load average when the scenario started and
	// when it ended: the figures are only as good as the machine was quiet.
	LoadAvg [2]float64 `json:"load_avg"`
	Error   string     `json:"error,omitempty"`
}

// Target is one of the targets and whether this run met it.
type Target struct {
	Metric string  `json:"metric"`
	Op     string  `json:"op"` // ">=" or "<="
	Limit  float64 `json:"limit"`
	Met    bool    `json:"met"`
}

func newResult(name string) Result {
	return Result{Scenario: name, Params: map[string]any{}, Metrics: map[string]float64{}, LoadAvg: [2]float64{loadAvg(), 0}}
}

// target records a target on a metric already measured.
func (r *Result) target(metric, op string, limit float64) {
	v, ok := r.Metrics[metric]
	met := ok && ((op == ">=" && v >= limit) || (op == "<=" && v <= limit))
	r.Targets = append(r.Targets, Target{Metric: metric, Op: op, Limit: limit, Met: met})
}

// printTable writes the results as a human table: one line per metric.
func printTable(w io.Writer, results []Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tmetric\tvalue\ttarget\t\tload avg\t")
	for _, r := range results {
		load := fmt.Sprintf("%.2f→%.2f", r.LoadAvg[0], r.LoadAvg[1])
		if r.Error != "" {
			fmt.Fprintf(tw, "%s\terror\t%s\t\t\t%s\t\n", r.Scenario, oneLine(r.Error), load)
			continue
		}
		targets := map[string]Target{}
		for _, t := range r.Targets {
			targets[t.Metric] = t
		}
		names := make([]string, 0, len(r.Metrics))
		for m := range r.Metrics {
			names = append(names, m)
		}
		sort.Strings(names)
		for i, m := range names {
			target, verdict := "", ""
			if t, ok := targets[m]; ok {
				target = t.Op + " " + formatValue(t.Limit)
				verdict = "MISSED"
				if t.Met {
					verdict = "met"
				}
			}
			scen, l := "", ""
			if i == 0 {
				scen, l = r.Scenario, load
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", scen, m, formatValue(r.Metrics[m]), target, verdict, l)
		}
	}
	_ = tw.Flush()
}

func formatValue(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

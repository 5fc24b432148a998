// Package health serves the liveness and readiness endpoints ops and load balancers
// poll. Bodies are small JSON documents naming each component's state; they never carry
// configuration values, so no secret can leak through them.
package health

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// Component states.
const (
	StateOK            = "ok"
	StateDown          = "down"
	StateStarting      = "starting"
	StateNotConfigured = "not configured"
)

// Status is one component's state; Detail is a short human explanation without secrets.
type Status struct {
	State  string `json:"state"`
	Detail string `json:"detail,omitempty"`
}

// Check probes one component. Optional components (Required false) are reported but do
// not make the service unready.
type Check struct {
	Name     string
	Required bool
	Probe    func(ctx context.Context) Status
}

// ProbeTimeout bounds each probe so a hung database cannot hang /readyz.
const ProbeTimeout = 2 * time.Second

// Register adds GET /healthz and GET /readyz to mux.
func Register(mux *http.ServeMux, checks []Check, started time.Time) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "uptime_seconds": int(time.Since(started).Seconds())})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ready, components := Probe(r.Context(), checks)
		code, status := http.StatusOK, "ready"
		if !ready {
			code, status = http.StatusServiceUnavailable, "not ready"
		}
		writeJSON(w, code, map[string]any{"status": status, "components": components})
	})
}

// Probe runs every check concurrently and reports whether all required ones are ok.
func Probe(ctx context.Context, checks []Check) (bool, map[string]Status) {
	ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	results := make([]Status, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() { results[i] = c.Probe(ctx) })
	}
	wg.Wait()
	ready := true
	components := make(map[string]Status, len(checks))
	for i, c := range checks {
		components[c.Name] = results[i]
		if c.Required && results[i].State != StateOK {
			ready = false
		}
	}
	return ready, components
}

func writeJSON(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

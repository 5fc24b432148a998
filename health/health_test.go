package health_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"herald/health"
)

func serve(t *testing.T, checks []health.Check, path string) (int, map[string]any) {
	t.Helper()
	mux := http.NewServeMux()
	health.Register(mux, checks, time.Now())
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	var body map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	return rec.Code, body
}

func status(state string) func(context.Context) health.Status {
	return func(context.Context) health.Status { return health.Status{State: state} }
}

func TestReadyzOnlyRequiredComponentsDecide(t *testing.T) {
	t.Parallel()
	code, body := serve(t, []health.Check{
		{Name: "database", Required: true, Probe: status(health.StateOK)},
		{Name: "bot", Probe: status(health.StateNotConfigured)},
	}, "/readyz")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "ready", body["status"])
	require.Equal(t, "not configured", body["components"].(map[string]any)["bot"].(map[string]any)["state"])

	code, body = serve(t, []health.Check{
		{Name: "database", Required: true, Probe: status(health.StateDown)},
		{Name: "river", Required: true, Probe: status(health.StateOK)},
	}, "/readyz")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, "not ready", body["status"])
}

func TestProbeIsBounded(t *testing.T) {
	t.Parallel()
	hung := func(ctx context.Context) health.Status {
		<-ctx.Done() // a database that never answers
		return health.Status{State: health.StateDown, Detail: "timeout"}
	}
	start := time.Now()
	ready, components := health.Probe(context.Background(), []health.Check{{Name: "database", Required: true, Probe: hung}})
	require.False(t, ready)
	require.Equal(t, "timeout", components["database"].Detail)
	require.Less(t, time.Since(start), health.ProbeTimeout+time.Second)
}

func TestHealthzAlwaysOK(t *testing.T) {
	t.Parallel()
	code, body := serve(t, []health.Check{{Name: "database", Required: true, Probe: status(health.StateDown)}}, "/healthz")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "ok", body["status"])
}

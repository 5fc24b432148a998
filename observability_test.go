package main

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"herald/pgtest"
)

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// /metrics is never open on the main listener: with a token it needs the token there;
// with HERALD_METRICS_ADDR it is served on that listener only.
func TestMetricsExposure(t *testing.T) {
	t.Parallel()
	const token = "metrics-token-0123456789"
	t.Run("token on the main listener", func(t *testing.T) {
		t.Parallel()
		p := startInProcess(t, map[string]string{"DATABASE_URL": pgtest.NewDB(t), "HERALD_METRICS_TOKEN": token})
		waitReady(t, p.addr, http.StatusOK, 30*time.Second)
		code, _ := get(t, "http://"+p.addr+"/metrics", "")
		require.Equal(t, http.StatusUnauthorized, code)
		code, _ = get(t, "http://"+p.addr+"/metrics", "wrong-token-0123456789")
		require.Equal(t, http.StatusUnauthorized, code)
		code, body := get(t, "http://"+p.addr+"/metrics", token)
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, body, `herald_campaigns{status="running"} 0`)
		require.Contains(t, body, "herald_db_pool_max_conns")
		require.Contains(t, body, "go_goroutines")
		p.stop(t)
	})
	t.Run("own listener", func(t *testing.T) {
		t.Parallel()
		metricsAddr := freeAddr(t)
		p := startInProcess(t, map[string]string{"DATABASE_URL": pgtest.NewDB(t), "HERALD_METRICS_ADDR": metricsAddr})
		waitReady(t, p.addr, http.StatusOK, 30*time.Second)
		code, _ := get(t, "http://"+p.addr+"/metrics", "")
		require.Equal(t, http.StatusNotFound, code)
		code, body := get(t, "http://"+metricsAddr+"/metrics", "")
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, body, `herald_campaigns{status="completed"} 0`)
		p.stop(t)
	})
	t.Run("off by default", func(t *testing.T) {
		t.Parallel()
		p := startInProcess(t, map[string]string{"DATABASE_URL": pgtest.NewDB(t)})
		waitReady(t, p.addr, http.StatusOK, 30*time.Second)
		code, _ := get(t, "http://"+p.addr+"/metrics", "")
		require.Equal(t, http.StatusNotFound, code)
		require.Contains(t, p.out.String(), "metrics off")
		p.stop(t)
	})
}

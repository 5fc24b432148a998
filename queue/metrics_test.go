package queue_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"herald/metrics"
	"herald/queue"
	"herald/store"
	"herald/tgemu"
)

// scrape reads /metrics as Prometheus would and returns the families by name.
func scrape(t *testing.T, url, token string) map[string]*dto.MetricFamily {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return families
}

// value is the value of the family's sample whose labels include want (0 if none).
func value(families map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := families[name]
	if f == nil {
		return 0
	}
	var sum float64
next:
	for _, m := range f.GetMetric() {
		for k, v := range want {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		}
	}
	return sum
}

// TestMetricsMatchEmulatorTruth scrapes /metrics while a campaign with blocked users
// and server errors runs: at the end the sent counter equals what the emulator
// accepted, and the other outcomes equal the database's.
func TestMetricsMatchEmulatorTruth(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	m := metrics.New(b.store, b.pool)
	const token = "metrics-token-0123456789"
	srv := httptest.NewServer(m.Handler(token))
	t.Cleanup(srv.Close)
	client := b.newClient(t, clientOpts{id: "p1", observer: m, delivery: queue.DeliveryConfig{RetryBackoff: 50 * time.Millisecond}})
	channel, bot := b.channel(t, 400)
	const n = 1200
	users := b.users(t, bot, n)
	for i := 0; i < n; i += 25 {
		users[i].Block(bot.Token)
	}
	b.emu.SetFaults(bot.Token, tgemu.Faults{Latency: 10 * time.Millisecond, ServerErrorRate: 0.02})
	id := b.startCampaign(t, client, b.template(t, "Hi {{first_name}}"), b.batch(t, ids(users)), channel)

	// Without the token: 401 and no metrics.
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	ch := map[string]string{"channel": itoa(channel)}
	sawRunning, sawSentMidway := false, false
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := b.store.CampaignGet(context.Background(), id)
		require.NoError(t, err)
		if c.Status == store.CampaignCompleted {
			break
		}
		require.True(t, time.Now().Before(deadline), "campaign still %s", c.Status)
		f := scrape(t, srv.URL, token)
		if value(f, "herald_campaigns", map[string]string{"status": "running"}) == 1 {
			sawRunning = true
			sent := value(f, "herald_deliveries_total", map[string]string{"channel": itoa(channel), "outcome": "sent"})
			sawSentMidway = sawSentMidway || (sent > 0 && sent < n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.True(t, sawRunning, "no scrape saw the campaign running")
	require.True(t, sawSentMidway, "no scrape saw the sent counter mid-campaign")

	f := scrape(t, srv.URL, token)
	st := b.emu.Stats(bot.Token)
	counts := b.counts(t, id)
	require.Empty(t, st.Duplicates())
	require.EqualValues(t, st.Sent, value(f, "herald_deliveries_total", map[string]string{"channel": itoa(channel), "outcome": "sent"}))
	require.EqualValues(t, counts.Sent, st.Sent)
	require.EqualValues(t, counts.Blocked, value(f, "herald_deliveries_total", map[string]string{"channel": itoa(channel), "outcome": "blocked"}))
	require.EqualValues(t, n/25, counts.Blocked)
	require.Positive(t, value(f, "herald_deliveries_total", map[string]string{"channel": itoa(channel), "outcome": "retry"}), "2%% server errors give retries")
	require.EqualValues(t, st.TooManyRequests, value(f, "herald_telegram_429_total", ch))
	require.Zero(t, value(f, "herald_sends_in_flight", ch))
	require.Zero(t, value(f, "herald_lane_due_deliveries", ch))
	require.EqualValues(t, 1, value(f, "herald_campaigns", map[string]string{"status": "completed"}))
	require.Positive(t, value(f, "herald_db_pool_total_conns", nil))
	require.Contains(t, f, "go_goroutines")
	require.Contains(t, f, "process_cpu_seconds_total")
	t.Logf("metrics: sent %d = emulator %d, blocked %d, 429s %d", counts.Sent, st.Sent, counts.Blocked, st.TooManyRequests)
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

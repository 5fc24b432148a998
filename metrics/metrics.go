// Package metrics defines Herald's Prometheus metrics and serves them. A Metrics is
// built once in main and handed to the delivery engine (queue.Config.Observer) and the
// management bot (bot.Config.Observer); gauges that live in the database (campaign
// states, due deliveries, River's queue) are read at scrape time. Nothing is
// registered globally: each Metrics has its own registry, so tests build as many as
// they like.
package metrics

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"herald/store"
)

// Source reads the database-held gauges; *store.Store implements it.
type Source interface {
	MetricsSnapshotGet(ctx context.Context) (store.MetricsSnapshot, error)
}

// Metrics holds Herald's collectors and their registry.
type Metrics struct {
	reg *prometheus.Registry

	deliveries   *prometheus.CounterVec
	leaseExpired prometheus.Counter
	inFlight     *prometheus.GaugeVec
	rateLimited  *prometheus.CounterVec
	retryAfter   *prometheus.HistogramVec
	updateWait   *prometheus.HistogramVec
	updateHandle *prometheus.HistogramVec
}

// New builds the metrics with the Go and process collectors, the database gauges of
// source (nil: none) and the connection statistics of pool (nil: none).
func New(source Source, pool *pgxpool.Pool) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_deliveries_total",
			Help: "Delivery outcomes written, by channel and outcome (sent, failed, blocked, uncertain, retry).",
		}, []string{"channel", "outcome"}),
		leaseExpired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herald_deliveries_lease_expired_total",
			Help: "In-flight deliveries without an outcome that the maintenance sweep made uncertain.",
		}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "herald_sends_in_flight",
			Help: "Bot API send requests of this process waiting for their answer, by channel.",
		}, []string{"channel"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_telegram_429_total",
			Help: "Answers 429 Too Many Requests from the Bot API, by channel. Any is a bug signal.",
		}, []string{"channel"}),
		retryAfter: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "herald_telegram_retry_after_seconds",
			Help:    "retry_after carried by 429 answers, by channel.",
			Buckets: []float64{1, 2, 5, 10, 30, 60, 300, 1800},
		}, []string{"channel"}),
		updateWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "herald_bot_update_intake_seconds",
			Help:    "Time from taking an update in (poll or webhook) to the start of its handling, by kind: the wait behind the chat's earlier updates.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 9),
		}, []string{"kind"}),
		updateHandle: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "herald_bot_reply_seconds",
			Help:    "Time to handle one update of the management bot, replies included, by kind.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 10),
		}, []string{"kind"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.deliveries, m.leaseExpired, m.inFlight, m.rateLimited, m.retryAfter, m.updateWait, m.updateHandle,
	)
	if source != nil {
		m.reg.MustRegister(&databaseCollector{source: source})
	}
	if pool != nil {
		m.reg.MustRegister(&poolCollector{pool: pool})
	}
	return m
}

// Registry is the registry behind Handler, for tests and extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in Prometheus' text format. With a token, a request must
// carry "Authorization: Bearer <token>"; anything else gets 401 and no metrics.
func (m *Metrics) Handler(token string) http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		// A database gauge that cannot be read must not hide the counters.
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	})
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(strings.TrimSpace(r.Header.Get("Authorization")))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="herald metrics"`)
			http.Error(w, "metrics need Authorization: Bearer <HERALD_METRICS_TOKEN>", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func channelLabel(id int64) string { return strconv.FormatInt(id, 10) }

// SendStarted implements queue.Observer.
func (m *Metrics) SendStarted(channelID int64) {
	m.inFlight.WithLabelValues(channelLabel(channelID)).Inc()
}

// SendFinished implements queue.Observer.
func (m *Metrics) SendFinished(channelID int64) {
	m.inFlight.WithLabelValues(channelLabel(channelID)).Dec()
}

// RateLimited implements queue.Observer.
func (m *Metrics) RateLimited(channelID int64, retryAfter time.Duration) {
	ch := channelLabel(channelID)
	m.rateLimited.WithLabelValues(ch).Inc()
	m.retryAfter.WithLabelValues(ch).Observe(retryAfter.Seconds())
}

// DeliveriesSettled implements queue.Observer.
func (m *Metrics) DeliveriesSettled(channelID int64, outcome string, n int) {
	m.deliveries.WithLabelValues(channelLabel(channelID), outcome).Add(float64(n))
}

// LeasesExpired implements queue.Observer.
func (m *Metrics) LeasesExpired(n int64) { m.leaseExpired.Add(float64(n)) }

// UpdateHandled implements bot.Observer: wait is the time the update queued behind its
// chat's earlier ones, took the time its handling took.
func (m *Metrics) UpdateHandled(kind string, wait, took time.Duration) {
	m.updateWait.WithLabelValues(kind).Observe(wait.Seconds())
	m.updateHandle.WithLabelValues(kind).Observe(took.Seconds())
}

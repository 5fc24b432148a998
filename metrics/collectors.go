package metrics

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// scrapeTimeout bounds the database queries of one scrape.
const scrapeTimeout = 5 * time.Second

var (
	campaignsDesc = prometheus.NewDesc("herald_campaigns",
		"Campaigns by status.", []string{"status"}, nil)
	laneLagDesc = prometheus.NewDesc("herald_lane_due_deliveries",
		"Deliveries of running campaigns that are due but not sent yet, by channel (the lane's lag).", []string{"channel"}, nil)
	jobsDesc = prometheus.NewDesc("herald_river_jobs",
		"River jobs waiting or running, by kind and state.", []string{"kind", "state"}, nil)
)

// databaseCollector reads the database-held gauges at scrape time, so every process
// reports the same truth and nothing has to keep them up to date.
type databaseCollector struct {
	source Source
}

func (c *databaseCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- campaignsDesc
	ch <- laneLagDesc
	ch <- jobsDesc
}

func (c *databaseCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	snap, err := c.source.MetricsSnapshotGet(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(campaignsDesc, err)
		return
	}
	for status, n := range snap.CampaignsByStatus {
		ch <- prometheus.MustNewConstMetric(campaignsDesc, prometheus.GaugeValue, float64(n), status)
	}
	for channel, n := range snap.LaneLag {
		ch <- prometheus.MustNewConstMetric(laneLagDesc, prometheus.GaugeValue, float64(n), channelLabel(channel))
	}
	for _, j := range snap.Jobs {
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(j.Count), j.Kind, j.State)
	}
}

// poolCollector exports pgxpool.Stat.
type poolCollector struct {
	pool *pgxpool.Pool
}

var (
	poolAcquiredDesc = prometheus.NewDesc("herald_db_pool_acquired_conns", "Connections in use.", nil, nil)
	poolIdleDesc     = prometheus.NewDesc("herald_db_pool_idle_conns", "Idle connections.", nil, nil)
	poolTotalDesc    = prometheus.NewDesc("herald_db_pool_total_conns", "Open connections.", nil, nil)
	poolMaxDesc      = prometheus.NewDesc("herald_db_pool_max_conns", "The pool's size limit.", nil, nil)
	poolAcquireDesc  = prometheus.NewDesc("herald_db_pool_acquires_total", "Successful acquires.", nil, nil)
	poolEmptyDesc    = prometheus.NewDesc("herald_db_pool_empty_acquires_total", "Acquires that had to wait for a connection.", nil, nil)
	poolWaitDesc     = prometheus.NewDesc("herald_db_pool_acquire_seconds_total", "Time spent acquiring connections.", nil, nil)
	poolCancelDesc   = prometheus.NewDesc("herald_db_pool_canceled_acquires_total", "Acquires cancelled by their context.", nil, nil)
)

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolAcquiredDesc, poolIdleDesc, poolTotalDesc, poolMaxDesc, poolAcquireDesc, poolEmptyDesc, poolWaitDesc, poolCancelDesc} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(poolAcquiredDesc, float64(s.AcquiredConns()))
	gauge(poolIdleDesc, float64(s.IdleConns()))
	gauge(poolTotalDesc, float64(s.TotalConns()))
	gauge(poolMaxDesc, float64(s.MaxConns()))
	counter(poolAcquireDesc, float64(s.AcquireCount()))
	counter(poolEmptyDesc, float64(s.EmptyAcquireCount()))
	counter(poolWaitDesc, s.AcquireDuration().Seconds())
	counter(poolCancelDesc, float64(s.CanceledAcquireCount()))
}

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/zerolog"

	"herald/metrics"
	"herald/store"
)

// serveMetrics makes /metrics reachable as configured and returns what stops it:
//   - HERALD_METRICS_ADDR set: a listener of its own (private network, sidecar), with
//     the bearer token too when HERALD_METRICS_TOKEN is set;
//   - only HERALD_METRICS_TOKEN set: on the main listener, behind the token;
//   - neither: not served at all, because the main listener may face the internet.
func serveMetrics(cfg config, mux *http.ServeMux, m *metrics.Metrics, logger zerolog.Logger) (stop func(context.Context), err error) {
	handler := m.Handler(cfg.MetricsToken)
	switch {
	case cfg.MetricsAddr != "":
		listener, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return nil, &configError{"HERALD_METRICS_ADDR", fmt.Sprintf("cannot listen on %s: %v", cfg.MetricsAddr, unwrapAll(err))}
		}
		own := http.NewServeMux()
		own.Handle("GET /metrics", handler)
		server := &http.Server{
			Handler: own, ReadHeaderTimeout: httpReadHeaderTimeout, ReadTimeout: httpReadTimeout,
			WriteTimeout: 30 * time.Second, IdleTimeout: cfg.HTTPIdleTimeout, MaxHeaderBytes: httpMaxHeaderBytes,
		}
		done := make(chan struct{})
		go func() { // owned: stop shuts it down and waits for done
			defer close(done)
			if err := server.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error().Err(err).Msg("metrics listener")
			}
		}()
		logger.Info().Str("addr", listener.Addr().String()).Bool("token", cfg.MetricsToken != "").Msg("metrics listening")
		return func(ctx context.Context) {
			_ = server.Shutdown(ctx)
			<-done
		}, nil
	case cfg.MetricsToken != "":
		mux.Handle("GET /metrics", handler)
		logger.Info().Msg("metrics at /metrics behind HERALD_METRICS_TOKEN")
	default:
		logger.Info().Msg("metrics off: set HERALD_METRICS_ADDR or HERALD_METRICS_TOKEN to serve /metrics")
	}
	return func(context.Context) {}, nil
}

// checkSessionPooling refuses a DATABASE_URL that goes through a transaction-mode
// pooler: the polling lock, lane locks and LISTEN would silently stop excluding
// anything, so it is better not to start at all.
func checkSessionPooling(ctx context.Context, pool *pgxpool.Pool) error {
	err := store.New(pool).SessionPoolingCheck(ctx)
	if errors.Is(err, store.ErrTransactionPooler) {
		return &configError{"DATABASE_URL", "points at a connection pooler in transaction mode (Supabase port 6543, PgBouncer pool_mode=transaction), which breaks advisory locks and LISTEN: use the direct or session-mode URL (Supabase: the direct connection or the session pooler on port 5432)"}
	}
	return err
}

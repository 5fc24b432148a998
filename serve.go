package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/mymmrac/telego"
	"github.com/riverqueue/river"
	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"herald/api"
	"herald/bot"
	"herald/channelbot"
	"herald/flows"
	"herald/health"
	"herald/i18n"
	"herald/metrics"
	"herald/migrations"
	"herald/pgcluster"
	"herald/queue"
	"herald/secrets"
	"herald/store"
)

// database is an open pool plus, when DATABASE_URL is unset, the embedded cluster
// behind it.
type database struct {
	pool    *pgxpool.Pool
	cluster *pgcluster.Cluster
}

func openDatabase(ctx context.Context, cfg config, logger zerolog.Logger) (*database, error) {
	db := &database{}
	url := cfg.DatabaseURL
	if url == "" {
		started := time.Now()
		cluster, err := pgcluster.Start(ctx, pgcluster.Options{DataDir: cfg.DataDir + "/postgres", Database: "herald"})
		if err != nil {
			return nil, fmt.Errorf("embedded database (DATABASE_URL is unset): %w", err)
		}
		db.cluster = cluster
		url = cluster.ConnString("")
		logger.Info().Str("data_dir", cfg.DataDir).Bool("owned", cluster.Owned()).Dur("took", time.Since(started)).Msg("embedded postgres ready")
	}
	poolCfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		db.close(ctx, logger)
		return nil, &configError{"DATABASE_URL", "not a valid PostgreSQL connection string: " + unwrapAll(err).Error()}
	}
	if poolCfg.ConnConfig.ConnectTimeout == 0 {
		poolCfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	if db.pool, err = pgxpool.NewWithConfig(ctx, poolCfg); err != nil {
		db.close(ctx, logger)
		return nil, fmt.Errorf("database pool: %w", err)
	}
	if err := db.pool.Ping(ctx); err != nil {
		db.close(ctx, logger)
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	if cfg.DatabaseURL != "" {
		if err := checkSessionPooling(ctx, db.pool); err != nil {
			db.close(ctx, logger)
			return nil, err
		}
	}
	return db, nil
}

func (db *database) close(ctx context.Context, logger zerolog.Logger) {
	if db.pool != nil {
		db.pool.Close()
	}
	if db.cluster != nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := db.cluster.Stop(ctx); err != nil {
			logger.Error().Err(err).Msg("stop embedded postgres")
		}
	}
}

func migrate(ctx context.Context, cfg config, logger zerolog.Logger, stdout io.Writer) error {
	db, err := openDatabase(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer db.close(ctx, logger)
	res, err := migrations.Up(ctx, db.pool, riverLogger(logger))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "migrations applied: river %d, herald %d; schema version %d\n", res.RiverApplied, res.HeraldApplied, res.Version)
	return nil
}

// serve runs the service until ctx is cancelled (SIGINT/SIGTERM), then shuts down in
// order: stop taking work, let River finish (soft, then hard), stop HTTP, close the
// pool, stop the embedded database.
func serve(ctx context.Context, cfg config, logger zerolog.Logger) error {
	listener, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return &configError{"HERALD_HTTP_ADDR", fmt.Sprintf("cannot listen on %s: %v", cfg.HTTPAddr, unwrapAll(err))}
	}
	defer listener.Close()

	// Health answers from the first moment; readiness follows start-up as it goes.
	var ready readiness
	mux := http.NewServeMux()
	health.Register(mux, ready.checks(cfg), time.Now())
	if cfg.webChat != nil {
		mux.Handle("/", cfg.webChat)
	}
	server := newHTTPServer(cfg, listener, mux, logger)
	serverDone := make(chan error, 1)
	go func() { // owned here: Shutdown below ends it and we wait on serverDone
		logger.Info().Str("addr", listener.Addr().String()).Msg("http listening")
		serverDone <- server.serve()
	}()
	defer func() {
		httpCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = server.Shutdown(httpCtx)
		<-serverDone
	}()

	db, err := openDatabase(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer db.close(ctx, logger)
	st := store.New(db.pool)
	ready.store.Store(st)
	if err := prepareDatabase(ctx, cfg, logger, db, st); err != nil {
		return err
	}
	ready.migrated.Store(true)

	a, err := build(cfg, logger, db.pool, st)
	if err != nil {
		return err
	}
	stopMetrics, err := serveMetrics(cfg, mux, a.metrics, logger)
	if err != nil {
		return err
	}
	defer func() {
		metricsCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		stopMetrics(metricsCtx)
	}()
	if pattern := a.intake.WebhookPattern(); pattern != "" {
		mux.Handle(pattern, webhookLimits(a.intake))
	}
	if a.bot != nil {
		if path := a.bot.WebhookPath(); path != "" {
			mux.Handle("POST "+path, webhookLimits(a.bot))
		}
		ready.bot.Store(a.bot)
		// The HTTP API works through the dialogs' services, so it exists with the bot.
		api.Register(mux, api.Config{Store: st, Services: a.bot.Services(), Catalog: a.catalog, Logger: logger, Version: version})
	}
	// River gets a context of its own: it must keep running while we shut down softly.
	if err := a.river.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start river: %w", err)
	}
	ready.riverRunning.Store(true)
	if a.bot != nil {
		// After River, so that what the bot enqueues finds its workers running.
		a.bot.Start(ctx)
	}
	return a.run(ctx, cfg, logger, db, serverDone, &ready.riverRunning)
}

// prepareDatabase migrates the schema and checks what the configuration promises
// about it (the secret key, the owners).
func prepareDatabase(ctx context.Context, cfg config, logger zerolog.Logger, db *database, st *store.Store) error {
	res, err := migrations.Up(ctx, db.pool, riverLogger(logger))
	if err != nil {
		return err
	}
	logger.Info().Int("river_applied", res.RiverApplied).Int("herald_applied", res.HeraldApplied).Int64("version", res.Version).Msg("schema up to date")

	// A missing or wrong key would fail every campaign later: refuse to start instead.
	if err := checkSecretKey(ctx, st, cfg.secretKey); err != nil {
		return err
	}
	if len(cfg.OwnerIDs) > 0 {
		if err := st.AdminSyncOwners(ctx, cfg.OwnerIDs); err != nil {
			return fmt.Errorf("sync HERALD_OWNER_IDS: %w", err)
		}
	}
	return nil
}

// app is the running service's parts, built in the order they need each other.
type app struct {
	river    *river.Client[pgx.Tx]
	queueCfg queue.Config
	bot      *bot.Bot // nil without HERALD_BOT_TOKEN
	metrics  *metrics.Metrics
	catalog  *i18n.Catalog
	intake   *channelbot.Intake // the managed channel bots' updates
	stopping chan struct{}
}

// build constructs the parts in dependency order, each with plain constructor
// arguments: the management bot's Telegram client first (River's workers send
// progress messages and reports through it), then River, then the bot, whose dialogs
// get River's campaign starter and controls.
func build(cfg config, logger zerolog.Logger, pool *pgxpool.Pool, st *store.Store) (*app, error) {
	a := &app{stopping: make(chan struct{}), // closed when shutdown begins: lanes end their slice
		metrics: metrics.New(st, pool)}
	var services flows.Services
	openToken := func([]byte) (string, error) { return "", errors.New("HERALD_SECRET_KEY is not set") }
	if len(cfg.secretKey) > 0 {
		box, err := secrets.NewBox(cfg.secretKey)
		if err != nil {
			return nil, err
		}
		openToken = func(c []byte) (string, error) {
			token, err := box.Open(c)
			return string(token), err
		}
		services.Box = box
	}
	a.queueCfg = queue.Config{
		Stopping: a.stopping,
		Logger:   logger, Store: st,
		TelegramAPIURL: cfg.TelegramAPIURL, DefaultLanguage: cfg.DefaultLang,
		OpenToken: openToken, Observer: a.metrics,
	}
	var (
		catalog *i18n.Catalog
		client  *telego.Bot
		err     error
	)
	if cfg.BotToken != "" {
		if catalog, err = i18n.New(cfg.DefaultLang); err != nil {
			return nil, err
		}
		if client, err = bot.NewClient(cfg.BotToken, cfg.TelegramAPIURL, 0); err != nil {
			return nil, fmt.Errorf("management bot: %w", err)
		}
		a.queueCfg.ManagementBot = client
		a.queueCfg.DialogNotifier = bot.NewExpiryNotifier(client, catalog)
		a.catalog = catalog
	}
	if a.river, err = queue.NewClient(pool, a.queueCfg); err != nil {
		return nil, err
	}
	intakeCatalog, err := i18n.New(cfg.DefaultLang)
	if err != nil {
		return nil, err
	}
	// The managed bots' webhook secrets derive from HERALD_WEBHOOK_SECRET, or else from
	// the secret key: both are the same on every replica.
	hookKey := []byte(cfg.WebhookSecret)
	if len(hookKey) == 0 {
		hookKey = cfg.secretKey
	}
	a.intake = channelbot.New(channelbot.Config{Store: st, Opener: services.Box, APIURL: cfg.TelegramAPIURL,
		Catalog: intakeCatalog, Logger: logger, NewClient: bot.NewClient, WebhookURL: cfg.WebhookURL, WebhookKey: hookKey})
	services.Campaigns = queue.NewStarter(a.river)
	services.Controls = queue.NewControls(st, a.river, a.queueCfg.Delivery)
	services.Charts = queue.NewCharts(a.river)
	if services.Exports, err = queue.NewExports(st, cfg.DefaultLang); err != nil {
		return nil, err
	}
	if cfg.BotToken != "" {
		a.bot, err = bot.New(bot.Config{
			Token: cfg.BotToken, APIURL: cfg.TelegramAPIURL, WebhookURL: cfg.WebhookURL, WebhookSecret: cfg.WebhookSecret,
			Store: st, Catalog: catalog, Logger: logger, DialogTTL: cfg.DialogTTL, Services: services, Client: client,
			UpdateTimeout: cfg.UpdateTimeout, UploadTimeout: cfg.UploadTimeout,
			Observer: a.metrics,
		})
		if err != nil {
			return nil, fmt.Errorf("management bot: %w", err)
		}
	}
	return a, nil
}

// run watches the started service until ctx ends, then shuts it down in order.
func (a *app) run(ctx context.Context, cfg config, logger zerolog.Logger, db *database, serverDone chan error, riverRunning *atomic.Bool) error {
	g, gctx := errgroup.WithContext(ctx)
	// Stops with gctx, i.e. before River at shutdown.
	g.Go(func() error { return queue.WatchLanes(gctx, a.river, a.queueCfg) })
	g.Go(func() error { return a.intake.Run(gctx) })
	g.Go(func() error {
		select {
		case err := <-serverDone:
			serverDone <- err // for the deferred Shutdown's wait
			if !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("http server: %w", err)
			}
		case <-gctx.Done():
		}
		return nil
	})
	g.Go(func() error {
		select {
		case <-a.river.Stopped():
			riverRunning.Store(false)
		case <-gctx.Done():
		}
		return nil
	})
	if db.cluster != nil {
		g.Go(func() error {
			select {
			case <-db.cluster.Exited():
				if db.cluster.Owned() {
					logger.Error().Msg("embedded postgres exited; readiness reports the database down")
				}
			case <-gctx.Done():
			}
			return nil
		})
	}
	logger.Info().Str("version", version).Msg("herald started")

	<-gctx.Done()
	a.shutdown(ctx, cfg, logger)
	riverRunning.Store(false)
	err := g.Wait()
	logger.Info().Msg("stopped")
	return err
}

// shutdown stops taking updates, then lets River finish softly, then hard.
func (a *app) shutdown(ctx context.Context, cfg config, logger zerolog.Logger) {
	logger.Info().Msg("shutting down")
	deadline := time.Now().Add(cfg.ShutdownTimeout)
	close(a.stopping)
	if a.bot != nil {
		// Stop taking updates first; the ones already taken finish within a third of
		// the shutdown time, so River still has the rest.
		botCtx, cancelBot := context.WithDeadline(context.WithoutCancel(ctx), time.Now().Add(cfg.ShutdownTimeout/3))
		a.bot.Stop(botCtx)
		cancelBot()
	}
	softCtx, cancelSoft := context.WithDeadline(context.WithoutCancel(ctx), deadline.Add(-cfg.ShutdownTimeout/3))
	defer cancelSoft()
	if err := a.river.Stop(softCtx); err != nil {
		logger.Warn().Err(err).Msg("river did not stop softly in time; cancelling running jobs")
		hardCtx, cancelHard := context.WithDeadline(context.WithoutCancel(ctx), deadline)
		defer cancelHard()
		if err := a.river.StopAndCancel(hardCtx); err != nil {
			logger.Error().Err(err).Msg("river hard stop")
		}
	}
}

// readiness is what /readyz reports, filled in as start-up progresses.
type readiness struct {
	store        atomic.Pointer[store.Store]
	migrated     atomic.Bool
	riverRunning atomic.Bool
	bot          atomic.Pointer[bot.Bot]
}

func (r *readiness) checks(cfg config) []health.Check {
	return []health.Check{
		{Name: "database", Required: true, Probe: func(ctx context.Context) health.Status {
			st := r.store.Load()
			if st == nil {
				return health.Status{State: health.StateStarting}
			}
			if err := st.Ping(ctx); err != nil {
				return health.Status{State: health.StateDown, Detail: "database does not answer"}
			}
			return health.Status{State: health.StateOK}
		}},
		{Name: "migrations", Required: true, Probe: func(ctx context.Context) health.Status {
			if !r.migrated.Load() {
				return health.Status{State: health.StateStarting, Detail: "applying migrations"}
			}
			return health.Status{State: health.StateOK}
		}},
		{Name: "river", Required: true, Probe: func(ctx context.Context) health.Status {
			if !r.riverRunning.Load() {
				return health.Status{State: health.StateDown, Detail: "job workers not running"}
			}
			return health.Status{State: health.StateOK}
		}},
		{Name: "bot", Required: false, Probe: func(ctx context.Context) health.Status {
			if cfg.BotToken == "" {
				return health.Status{State: health.StateNotConfigured, Detail: "HERALD_BOT_TOKEN is unset"}
			}
			b := r.bot.Load()
			if b == nil {
				return health.Status{State: health.StateStarting}
			}
			switch state, detail := b.Status(); state {
			case bot.StateOK, bot.StateStandby:
				return health.Status{State: health.StateOK, Detail: detail}
			case bot.StateStarting:
				return health.Status{State: health.StateStarting, Detail: detail}
			default:
				return health.Status{State: health.StateDown, Detail: detail}
			}
		}},
	}
}

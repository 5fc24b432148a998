// Package migrations holds Herald's schema as embedded SQL files applied with goose,
// and applies River's own schema with rivermigrate before them. Up is safe when several
// processes start at once: River's migrations run behind an advisory lock, and goose takes
// its own Postgres session lock.
package migrations

import (
	"context"
	"embed"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

//go:embed *.sql
var files embed.FS

// riverLockKey serialises River's migrations across processes ("herald-r").
const riverLockKey int64 = 0x6865_7261_6c64_2d72

// Result says what Up did.
type Result struct {
	RiverApplied  int   // River migrations applied now
	HeraldApplied int   // Herald migrations applied now
	Version       int64 // Herald schema version after Up
}

// Up applies River's and Herald's pending migrations.
func Up(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) (Result, error) {
	var res Result
	riverRes, err := upRiver(ctx, pool, logger)
	if err != nil {
		return res, err
	}
	res.RiverApplied = riverRes

	provider, closeDB, err := newProvider(pool, logger)
	if err != nil {
		return res, err
	}
	defer closeDB()
	applied, err := provider.Up(ctx)
	if err != nil {
		return res, fmt.Errorf("apply herald migrations: %w", err)
	}
	res.HeraldApplied = len(applied)
	if res.Version, err = provider.GetDBVersion(ctx); err != nil {
		return res, fmt.Errorf("read schema version: %w", err)
	}
	return res, nil
}

// Pending reports whether any Herald or River migration is not yet applied.
func Pending(ctx context.Context, pool *pgxpool.Pool) (bool, error) {
	provider, closeDB, err := newProvider(pool, slog.New(slog.DiscardHandler))
	if err != nil {
		return false, err
	}
	defer closeDB()
	pending, err := provider.HasPending(ctx)
	if err != nil || pending {
		return pending, err
	}
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return false, err
	}
	existing, err := migrator.ExistingVersions(ctx)
	if err != nil {
		return false, fmt.Errorf("read river versions: %w", err)
	}
	return len(existing) < len(migrator.AllVersions()), nil
}

func upRiver(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) (int, error) {
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: logger})
	if err != nil {
		return 0, fmt.Errorf("river migrator: %w", err)
	}
	// River's migrations cannot share one transaction (one adds an enum value that a
	// later one uses), so a session lock on a connection of its own serialises them.
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("acquire connection: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", riverLockKey); err != nil {
		return 0, fmt.Errorf("lock river migrations: %w", err)
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", riverLockKey)
	}()
	res, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return 0, fmt.Errorf("apply river migrations: %w", err)
	}
	return len(res.Versions), nil
}

func newProvider(pool *pgxpool.Pool, logger *slog.Logger) (*goose.Provider, func(), error) {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, nil, fmt.Errorf("goose locker: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	provider, err := goose.NewProvider(goose.DialectPostgres, db, files,
		goose.WithSessionLocker(locker), goose.WithSlog(logger), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("goose provider: %w", err)
	}
	return provider, func() { _ = db.Close() }, nil
}

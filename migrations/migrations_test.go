package migrations_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"herald/migrations"
	"herald/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func newPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

func TestUpOnEmptyDatabaseThenIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newPool(t, pgtest.NewEmptyDB(t))

	pending, err := migrations.Pending(ctx, pool)
	require.NoError(t, err)
	require.True(t, pending)

	first, err := migrations.Up(ctx, pool, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.Positive(t, first.RiverApplied)
	require.Positive(t, first.HeraldApplied)

	for _, table := range []string{"admins", "dialog_sessions", "templates", "batches", "recipients",
		"channels", "channel_media", "campaigns", "deliveries", "suppressions", "audit_log", "river_job"} {
		var comment *string
		require.NoError(t, pool.QueryRow(ctx, "SELECT obj_description(to_regclass($1), 'pg_class')", table).Scan(&comment), table)
		if table != "river_job" {
			require.NotNil(t, comment, "table %s has no comment", table)
		}
	}

	second, err := migrations.Up(ctx, pool, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.Zero(t, second.RiverApplied)
	require.Zero(t, second.HeraldApplied)
	require.Equal(t, first.Version, second.Version)

	pending, err = migrations.Pending(ctx, pool)
	require.NoError(t, err)
	require.False(t, pending)
}

func TestConcurrentMigrators(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewEmptyDB(t)
	// Separate pools, as separate processes would have.
	var g errgroup.Group
	results := make([]migrations.Result, 4)
	for i := range results {
		pool := newPool(t, url)
		g.Go(func() error {
			var err error
			results[i], err = migrations.Up(ctx, pool, slog.New(slog.DiscardHandler))
			return err
		})
	}
	require.NoError(t, g.Wait())
	var river, herald int
	for _, r := range results {
		river += r.RiverApplied
		herald += r.HeraldApplied
	}
	pool := newPool(t, url)
	rm, err := migrations.Pending(ctx, pool)
	require.NoError(t, err)
	require.False(t, rm)
	require.Positive(t, river)
	require.Positive(t, herald)
	// Each migration was applied by exactly one migrator.
	var gooseRows int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM goose_db_version WHERE version_id > 0").Scan(&gooseRows))
	require.Equal(t, herald, gooseRows)
}

func TestSchemaConstraints(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newPool(t, pgtest.NewDB(t))
	_, err := pool.Exec(ctx, "INSERT INTO admins (user_id, role) VALUES (1, 'superuser')")
	require.ErrorContains(t, err, "check constraint")
	_, err = pool.Exec(ctx, "INSERT INTO channels (bot_user_id, username, name, token_ciphertext, rate_per_second, created_by) VALUES (1, 'b', 'b', '\\x00', 100, 1)")
	require.ErrorContains(t, err, "check constraint", "a rate above 30/s needs paid broadcast")
}

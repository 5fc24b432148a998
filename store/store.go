// Package store is the only package that speaks SQL. Queries are methods on Store named
// entity-first (DialogSessionsExpire, AuditAppend, …) so they sort together; methods that
// must join a caller's transaction take a DBTX.
package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrNotFound is returned when the row a method looks for does not exist.
var ErrNotFound = errors.New("not found")

// DBTX is what both a pool and a transaction offer, so a step can run a query inside
// the transaction that also enqueues its River job.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Store wraps the connection pool. Inside InTx, db is the transaction and pool is the
// pool it came from; methods that may join a transaction query through db.
type Store struct {
	pool *pgxpool.Pool
	db   DBTX
}

// New returns a Store on pool; the caller owns the pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool, db: pool} }

// Pool is the underlying pool, for River and transactions spanning store calls.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping checks that the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.pool.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

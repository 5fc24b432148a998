// Package store is the only package that speaks SQL. Queries are methods on Store named
// entity-first (DialogSessionsExpire, AuditAppend, …) so they sort together.
//
// One transaction model, as River's driver executor: a Store is bound to an executor,
// the pool (New) or a transaction (the Store that InTx hands to its function), and
// every method runs on that executor — nothing slips out to the pool behind the
// caller's back. A method that needs several statements to be atomic opens its own
// transaction with InTx, which becomes a savepoint when the Store is already in one.
// Unexported helpers that compose inside a transaction take the DBTX they run on.
// The one exception is SessionLockTry, which holds a dedicated connection for a
// session-level advisory lock by design.
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

// DBTX is what both a pool and a transaction offer: the executor a Store is bound to.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Store runs queries on db: the pool itself, or (inside InTx) a transaction begun on
// pool. pool is kept only to begin transactions and hold advisory-lock sessions.
type Store struct {
	pool *pgxpool.Pool
	db   DBTX
}

// New returns a Store on pool; the caller owns the pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool, db: pool} }

// Pool is the underlying pool, for River's driver and tests' own inspections; store
// callers use InTx, not the pool, for transactions.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping checks that the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

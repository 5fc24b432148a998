package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// InTx runs fn with a Store whose methods (those that query through s.db) take part in
// one transaction, committed when fn returns nil and rolled back otherwise. A dialog
// step uses it to save its object, its audit entry and its session atomically.
func (s *Store) InTx(ctx context.Context, fn func(tx *Store) error) error {
	if _, nested := s.db.(pgx.Tx); nested {
		return fn(s)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := fn(&Store{pool: s.pool, db: tx}); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Tx is the transaction this Store runs in (ok false outside InTx), for a caller that
// must join it with another library, e.g. River's InsertTx enqueuing a job atomically
// with a dialog step.
func (s *Store) Tx() (tx pgx.Tx, ok bool) {
	tx, ok = s.db.(pgx.Tx)
	return tx, ok
}

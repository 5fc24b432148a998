package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// InTx runs fn with a Store bound to a new transaction, committed when fn returns nil
// and rolled back otherwise. Every method of the Store fn receives runs in that
// transaction, so a reader sees at the call site which transaction a query joins:
// tx.X inside, s.X outside. Called on a Store that is itself bound to a transaction,
// InTx opens a savepoint, so a failed inner step (an import, a delete) undoes only
// itself while the caller decides what to do with the error — River's Executor.Begin.
func (s *Store) InTx(ctx context.Context, fn func(tx *Store) error) error {
	var (
		tx  pgx.Tx
		err error
	)
	if outer, nested := s.db.(pgx.Tx); nested {
		tx, err = outer.Begin(ctx)
	} else {
		tx, err = s.pool.Begin(ctx)
	}
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

// InTransaction reports whether the Store is bound to a transaction; methods that
// must run inside one (they lock rows for the caller's later statements) check it.
func (s *Store) InTransaction() bool {
	_, ok := s.db.(pgx.Tx)
	return ok
}

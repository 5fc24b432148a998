package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// SessionLock is a session-level advisory lock held on a connection of its own: it
// lasts as long as that connection, so a process that dies (or loses its database
// connection) releases it and a standby can take over.
type SessionLock struct {
	conn *pgxpool.Conn
	key  int64
}

// SessionLockTry takes the advisory lock key without waiting; ok is false when another
// session holds it.
func (s *Store) SessionLockTry(ctx context.Context, key int64) (lock *SessionLock, ok bool, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("acquire connection for lock: %w", err)
	}
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
		conn.Release()
		return nil, false, fmt.Errorf("try advisory lock: %w", err)
	}
	if !ok {
		conn.Release()
		return nil, false, nil
	}
	return &SessionLock{conn: conn, key: key}, true, nil
}

// Check verifies the lock's connection still answers; after an error the lock must be
// considered lost.
func (l *SessionLock) Check(ctx context.Context) error {
	if err := l.conn.Ping(ctx); err != nil {
		return fmt.Errorf("advisory lock connection: %w", err)
	}
	return nil
}

// Release unlocks and returns the connection. If unlocking fails the connection is
// closed instead, which releases the lock just the same.
func (l *SessionLock) Release(ctx context.Context) {
	if _, err := l.conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, l.key); err != nil {
		_ = l.conn.Conn().Close(ctx)
	}
	l.conn.Release()
}

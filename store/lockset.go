package store

import (
	"context"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
)

// LockSet is SessionLock for many keys: session-level advisory locks held on one
// connection of its own. The intake elects one poller per managed bot with it, as the
// management bot does with SessionLock, without holding a pool connection per bot. Like
// SessionLock, every lock lasts as long as the connection: a process that dies (or
// loses the connection) releases them all, and another process takes over.
type LockSet struct {
	mu   sync.Mutex // a connection runs one statement at a time
	conn *pgxpool.Conn
	held map[int64]bool
	// listening: WaitChannelChange has LISTENed on conn, which then goes back to the
	// pool closed (a pooled connection must not keep collecting notifications).
	listening bool
}

// LockSetOpen takes a connection from the pool for a LockSet; Close gives it back.
func (s *Store) LockSetOpen(ctx context.Context) (*LockSet, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("acquire connection for locks: %w", err)
	}
	return &LockSet{conn: conn, held: map[int64]bool{}}, nil
}

// TryLock takes key without waiting; false when another session holds it. Taking a
// key already held here is true at once (advisory locks nest; this one does not).
func (l *LockSet) TryLock(ctx context.Context, key int64) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held[key] {
		return true, nil
	}
	var ok bool
	if err := l.conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
		return false, fmt.Errorf("try advisory lock: %w", err)
	}
	if ok {
		l.held[key] = true
	}
	return ok, nil
}

// Unlock releases key (no-op when not held here).
func (l *LockSet) Unlock(ctx context.Context, key int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.held[key] {
		return nil
	}
	delete(l.held, key)
	if _, err := l.conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, key); err != nil {
		return fmt.Errorf("advisory unlock: %w", err)
	}
	return nil
}

// Check verifies the connection still answers; after an error every lock of the set
// must be considered lost.
func (l *LockSet) Check(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.conn.Ping(ctx); err != nil {
		return fmt.Errorf("advisory lock connection: %w", err)
	}
	return nil
}

// Close releases every lock and returns the connection. If unlocking fails the
// connection is closed instead, which releases the locks just the same.
func (l *LockSet) Close(ctx context.Context) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.conn.Exec(ctx, `SELECT pg_advisory_unlock_all()`); err != nil || l.listening {
		_ = l.conn.Conn().Close(ctx)
	}
	l.held = map[int64]bool{}
	l.conn.Release()
}

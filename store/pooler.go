package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrTransactionPooler means the pool's connections do not own their server sessions:
// the URL points at a pooler in transaction (or statement) mode, such as PgBouncer
// with pool_mode = transaction or Supabase's port 6543. Session-level advisory locks
// (the poller's and the lanes') and LISTEN need a session that stays put.
var ErrTransactionPooler = errors.New("the database URL points at a connection pooler in transaction mode")

// probeRounds makes a miss unlikely when the pooler has several idle server
// connections (PgBouncer hands out the most recently used one first, so one round
// usually suffices).
const probeRounds = 3

// SessionPoolingCheck returns ErrTransactionPooler when two of the pool's connections,
// held at the same time, reach the same server session, or when one connection's
// session changes between two statements. Against PostgreSQL itself (or a pooler in
// session mode) every held connection is its own backend for its whole life, so
// neither can happen.
//
// Each round: connection A marks its session (a session-level setting with a random
// value) and goes idle; connection B, held at the same time, must neither see the mark
// nor run on A's backend; then A must still run on its backend and see its mark. The
// probe uses the simple protocol, as prepared statements may not survive such a pooler.
func (s *Store) SessionPoolingCheck(ctx context.Context) error {
	a, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("session check: %w", err)
	}
	defer a.Release()
	b, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("session check: %w", err)
	}
	defer b.Release()
	for round := range probeRounds {
		mark := strconv.FormatInt(int64(round)+1, 10) + "-" + randomMark()
		pidA, err := probeSession(ctx, a, mark)
		if err != nil {
			return err
		}
		pidB, err := probeSession(ctx, b, "")
		if err != nil {
			return err
		}
		if pidB.pid == pidA.pid || pidB.mark == mark {
			return fmt.Errorf("%w: two connections shared server session %d", ErrTransactionPooler, pidA.pid)
		}
		again, err := probeSession(ctx, a, "")
		if err != nil {
			return err
		}
		if again.pid != pidA.pid || again.mark != mark {
			return fmt.Errorf("%w: a connection moved from server session %d to %d between statements", ErrTransactionPooler, pidA.pid, again.pid)
		}
	}
	return nil
}

type sessionProbe struct {
	pid  int64
	mark string
}

// probeSession reads the connection's backend pid and session mark, first setting the
// mark when one is given.
func probeSession(ctx context.Context, conn *pgxpool.Conn, mark string) (sessionProbe, error) {
	var p sessionProbe
	sql := `SELECT pg_backend_pid(), coalesce(current_setting('herald.session_probe', true), '')`
	args := []any{pgx.QueryExecModeSimpleProtocol}
	if mark != "" {
		sql = `SELECT pg_backend_pid(), set_config('herald.session_probe', $1, false)`
		args = append(args, mark)
	}
	if err := conn.QueryRow(ctx, sql, args...).Scan(&p.pid, &p.mark); err != nil {
		return p, fmt.Errorf("session check: %w", err)
	}
	return p, nil
}

func randomMark() string { return rand.Text()[:12] }

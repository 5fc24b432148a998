package store

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// channelChanges is the NOTIFY channel on which a change of a channel's settings
// (mode, rate, welcome, …) is announced, with the channel id as payload. NOTIFY is
// transactional: a change written inside a dialog's transaction is announced when it
// commits, never before.
const channelChanges = "herald_channel_changed"

func (s *Store) channelNotify(ctx context.Context, id int64) error {
	if _, err := s.db.Exec(ctx, `SELECT pg_notify($1, $2)`, channelChanges, strconv.FormatInt(id, 10)); err != nil {
		return fmt.Errorf("announce channel %d change: %w", id, err)
	}
	return nil
}

// WaitChannelChange waits up to d for a channel change announced by any process since
// the last call, on the set's own connection (listening from the first call, so no
// connection is held for it alone): true when one came, false when d passed. The
// connection has nothing else to do between the intake's look-ups; its locks are
// unaffected by the wait.
func (l *LockSet) WaitChannelChange(ctx context.Context, d time.Duration) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.listening {
		if _, err := l.conn.Exec(ctx, `LISTEN `+channelChanges); err != nil {
			return false, fmt.Errorf("listen for channel changes: %w", err)
		}
		l.listening = true
	}
	waitCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	// A deadline interrupts the read without closing the connection (pgx's default
	// context handling sets a socket deadline; no cancel request reaches the server).
	_, err := l.conn.Conn().WaitForNotification(waitCtx)
	switch {
	case err == nil:
		return true, nil
	case ctx.Err() == nil && waitCtx.Err() != nil:
		return false, nil
	default:
		return false, fmt.Errorf("wait for channel changes: %w", err)
	}
}

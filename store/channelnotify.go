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

// ChannelChangesListen holds a connection of its own listening for channel changes
// (of every Herald process) and calls changed with each changed channel's id until
// ctx ends or the connection fails (the error). The connection is closed, not given
// back to the pool, since ctx's end interrupts its wait.
func (s *Store) ChannelChangesListen(ctx context.Context, changed func(channelID int64)) error {
	pooled, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("listen for channel changes: %w", err)
	}
	conn := pooled.Hijack()
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, `LISTEN `+channelChanges); err != nil {
		return fmt.Errorf("listen for channel changes: %w", err)
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("wait for channel changes: %w", err)
		}
		id, _ := strconv.ParseInt(n.Payload, 10, 64)
		changed(id)
	}
}

package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Channel is a channel bot that delivers campaigns. TokenCiphertext is the sealed token;
// only the delivery engine opens it, and never logs it.
type Channel struct {
	ID              int64
	BotUserID       int64
	Username        string
	Name            string
	TokenCiphertext []byte
	RatePerSecond   int
	PaidBroadcast   bool
	Enabled         bool
	RetryAfterUntil *time.Time
}

// ChannelGet returns the channel with id, or ErrNotFound.
func (s *Store) ChannelGet(ctx context.Context, id int64) (Channel, error) {
	var c Channel
	err := s.pool.QueryRow(ctx, `
		SELECT id, bot_user_id, username, name, token_ciphertext, rate_per_second,
		       paid_broadcast, enabled, retry_after_until
		FROM channels WHERE id = $1`, id).
		Scan(&c.ID, &c.BotUserID, &c.Username, &c.Name, &c.TokenCiphertext, &c.RatePerSecond,
			&c.PaidBroadcast, &c.Enabled, &c.RetryAfterUntil)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("get channel %d: %w", id, err)
	}
	return c, nil
}

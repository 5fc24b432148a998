package store

import (
	"context"
	"fmt"
)

// Suppression reasons: the recipient blocked the bot, deleted their account, or an
// admin added them by hand.
const (
	SuppressBlocked     = "blocked"
	SuppressDeactivated = "deactivated"
	SuppressManual      = "manual"
)

// SuppressionAdd puts chatID on channelID's do-not-send list (no-op if already there).
func (s *Store) SuppressionAdd(ctx context.Context, channelID, chatID int64, reason string) error {
	if _, err := s.db.Exec(ctx, `
		INSERT INTO suppressions (channel_id, chat_id, reason) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`, channelID, chatID, reason); err != nil {
		return fmt.Errorf("suppress chat %d on channel %d: %w", chatID, channelID, err)
	}
	return nil
}

// SuppressionCount is the length of channelID's do-not-send list.
func (s *Store) SuppressionCount(ctx context.Context, channelID int64) (int64, error) {
	var n int64
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM suppressions WHERE channel_id = $1`, channelID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count suppressions of channel %d: %w", channelID, err)
	}
	return n, nil
}

// SuppressionHas reports whether chatID is on channelID's do-not-send list.
func (s *Store) SuppressionHas(ctx context.Context, channelID, chatID int64) (bool, error) {
	var ok bool
	err := s.db.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM suppressions WHERE channel_id = $1 AND chat_id = $2)`, channelID, chatID).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("check suppression of chat %d on channel %d: %w", chatID, channelID, err)
	}
	return ok, nil
}

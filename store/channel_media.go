package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ChannelMediaGet returns the channel bot's own file_id of a template medium (by its
// file_unique_id), or ErrNotFound when it was not uploaded through that bot yet.
func (s *Store) ChannelMediaGet(ctx context.Context, channelID int64, uniqueID string) (string, error) {
	var fileID string
	err := s.db.QueryRow(ctx, `
		SELECT file_id FROM channel_media WHERE channel_id = $1 AND media_unique_id = $2`,
		channelID, uniqueID).Scan(&fileID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("channel %d media: %w", channelID, err)
	}
	return fileID, nil
}

// ChannelMediaPut caches the channel bot's file_id of a template medium.
func (s *Store) ChannelMediaPut(ctx context.Context, channelID int64, uniqueID, fileID string) error {
	if _, err := s.db.Exec(ctx, `
		INSERT INTO channel_media (channel_id, media_unique_id, file_id) VALUES ($1, $2, $3)
		ON CONFLICT (channel_id, media_unique_id) DO UPDATE SET file_id = EXCLUDED.file_id`,
		channelID, uniqueID, fileID); err != nil {
		return fmt.Errorf("cache channel %d media: %w", channelID, err)
	}
	return nil
}

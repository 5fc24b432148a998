package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ExpiredDialog is a dialog session removed because nobody touched it in time.
type ExpiredDialog struct {
	ChatID   int64
	UserID   int64
	Flow     string
	Language string
}

// DialogSessionsExpire deletes up to limit sessions whose expires_at is before now and
// returns them, so the caller can tell each chat its dialog ended. SKIP LOCKED lets
// several processes expire at once without waiting on a session being edited.
func (s *Store) DialogSessionsExpire(ctx context.Context, now time.Time, limit int) ([]ExpiredDialog, error) {
	rows, err := s.pool.Query(ctx, `
		DELETE FROM dialog_sessions
		WHERE chat_id IN (
			SELECT chat_id FROM dialog_sessions
			WHERE expires_at < $1
			ORDER BY expires_at
			LIMIT $2
			FOR UPDATE SKIP LOCKED)
		RETURNING chat_id, user_id, flow, language`, now, limit)
	if err != nil {
		return nil, fmt.Errorf("expire dialog sessions: %w", err)
	}
	expired, err := pgx.CollectRows(rows, pgx.RowToStructByPos[ExpiredDialog])
	if err != nil {
		return nil, fmt.Errorf("expire dialog sessions: %w", err)
	}
	return expired, nil
}

package store

import (
	"context"
	"encoding/json"
	"errors"
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
	rows, err := s.db.Query(ctx, `
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

// DialogSession is the open dialog of one chat: the flow, its FSM state and the draft
// entered so far. Version grows by one with every saved step; callback data carries it
// so a press on an outdated keyboard is recognised.
type DialogSession struct {
	ChatID        int64
	UserID        int64
	Flow          string
	State         string
	Draft         json.RawMessage
	Version       int
	MenuMessageID int64
	Language      string
	ExpiresAt     time.Time
}

// DialogGetForUpdate returns the chat's session, locked until the transaction ends so
// that two processes handling the same chat take turns; ErrNotFound if the chat has
// no open dialog. An expired session the periodic job has not removed yet is returned
// too: the caller tells the admin it expired. Call it inside InTx.
func (s *Store) DialogGetForUpdate(ctx context.Context, chatID int64) (DialogSession, error) {
	rows, err := s.db.Query(ctx, `
		SELECT chat_id, user_id, flow, state, draft, version, coalesce(menu_message_id, 0), language, expires_at
		FROM dialog_sessions WHERE chat_id = $1 FOR UPDATE`, chatID)
	if err != nil {
		return DialogSession{}, fmt.Errorf("get dialog session: %w", err)
	}
	d, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[DialogSession])
	if errors.Is(err, pgx.ErrNoRows) {
		return DialogSession{}, ErrNotFound
	}
	if err != nil {
		return DialogSession{}, fmt.Errorf("get dialog session: %w", err)
	}
	return d, nil
}

// DialogPut creates or replaces the chat's session with d as given (the caller bumps
// Version).
func (s *Store) DialogPut(ctx context.Context, d DialogSession) error {
	if len(d.Draft) == 0 {
		d.Draft = json.RawMessage(`{}`)
	}
	_, err := s.db.Exec(ctx, `
		INSERT INTO dialog_sessions (chat_id, user_id, flow, state, draft, version, menu_message_id, language, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, nullif($7, 0), $8, $9)
		ON CONFLICT (chat_id) DO UPDATE SET user_id = excluded.user_id, flow = excluded.flow,
			state = excluded.state, draft = excluded.draft, version = excluded.version,
			menu_message_id = excluded.menu_message_id, language = excluded.language,
			expires_at = excluded.expires_at, updated_at = now()`,
		d.ChatID, d.UserID, d.Flow, d.State, []byte(d.Draft), d.Version, d.MenuMessageID, d.Language, d.ExpiresAt)
	if err != nil {
		return fmt.Errorf("save dialog session: %w", err)
	}
	return nil
}

// DialogDelete ends the chat's dialog; deleting a missing one is not an error.
func (s *Store) DialogDelete(ctx context.Context, chatID int64) error {
	if _, err := s.db.Exec(ctx, `DELETE FROM dialog_sessions WHERE chat_id = $1`, chatID); err != nil {
		return fmt.Errorf("delete dialog session: %w", err)
	}
	return nil
}

// dialogLockSpace is the first key of the two-key advisory locks that serialise one
// chat's updates; the two-key space never overlaps with single-key locks.
const dialogLockSpace = 0x48524c44 // "HRLD"

// DialogLockChat serialises the handling of one chat's updates across processes
// until the transaction ends, also while the chat has no session row to lock yet
// (two webhook replicas may receive updates of one chat at once). Call it inside InTx.
func (s *Store) DialogLockChat(ctx context.Context, chatID int64) error {
	if _, err := s.db.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashint8($2))`, dialogLockSpace, chatID); err != nil {
		return fmt.Errorf("lock chat: %w", err)
	}
	return nil
}

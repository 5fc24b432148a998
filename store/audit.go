package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// AuditEntry is one line of the audit log: who did what to which object.
type AuditEntry struct {
	ID      int64
	At      time.Time
	ActorID int64
	Action  string         // e.g. "template.created", "admin.added", "access.refused"
	Target  string         // e.g. "template:12", "user:42"
	Details map[string]any // small JSON object; never a token or a message text
}

// AuditAppend writes e (ID and At are set by the database). Inside InTx it commits
// together with the change it describes.
func (s *Store) AuditAppend(ctx context.Context, e AuditEntry) error {
	if e.Details == nil {
		e.Details = map[string]any{}
	}
	if _, err := s.db.Exec(ctx, `INSERT INTO audit_log (actor_id, action, target, details) VALUES ($1, $2, $3, $4)`,
		e.ActorID, e.Action, e.Target, e.Details); err != nil {
		return fmt.Errorf("append audit entry %s: %w", e.Action, err)
	}
	return nil
}

// AuditLatest returns the newest limit entries, newest first.
func (s *Store) AuditLatest(ctx context.Context, limit int) ([]AuditEntry, error) {
	rows, err := s.db.Query(ctx, `SELECT id, at, actor_id, action, target, details FROM audit_log ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("latest audit entries: %w", err)
	}
	entries, err := pgx.CollectRows(rows, pgx.RowToStructByPos[AuditEntry])
	if err != nil {
		return nil, fmt.Errorf("latest audit entries: %w", err)
	}
	return entries, nil
}

package store

import (
	"context"
	"fmt"
)

// Refused attempts are aggregated: one audit row per user and window, whose
// details carry a "count" the caller raises as more attempts arrive, so that a
// crowd of strangers (or a viewer pressing a button in a loop) cannot grow the log
// by one row per update.

// AuditRefusalOpen writes e as the first refused attempt of a window and returns
// the row's id, for AuditRefusalCount.
func (s *Store) AuditRefusalOpen(ctx context.Context, e AuditEntry) (int64, error) {
	if e.Details == nil {
		e.Details = map[string]any{}
	}
	var id int64
	if err := s.db.QueryRow(ctx, `INSERT INTO audit_log (actor_id, action, target, details) VALUES ($1, $2, $3, $4) RETURNING id`,
		e.ActorID, e.Action, e.Target, e.Details).Scan(&id); err != nil {
		return 0, fmt.Errorf("append audit entry %s: %w", e.Action, err)
	}
	return id, nil
}

// AuditRefusalCount sets the number of attempts the row id stands for.
func (s *Store) AuditRefusalCount(ctx context.Context, id int64, count int) error {
	if _, err := s.db.Exec(ctx, `UPDATE audit_log SET details = details || jsonb_build_object('count', $2::int) WHERE id = $1`,
		id, count); err != nil {
		return fmt.Errorf("count refused attempts of audit entry %d: %w", id, err)
	}
	return nil
}

package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// What an operation's progress message and final report read.

// OperationCounts counts an operation's items by status and refusal reason.
type OperationCounts struct {
	Open, Done, Refused, Failed, Uncertain int64
	// Reasons counts the refused items by reason (RefusedTooOld, …, or a description).
	Reasons map[string]int64
}

// Total is the number of items made so far.
func (c OperationCounts) Total() int64 { return c.Open + c.Done + c.Refused + c.Failed + c.Uncertain }

// OperationCountsGet counts opID's items.
func (s *Store) OperationCountsGet(ctx context.Context, opID int64) (OperationCounts, error) {
	c := OperationCounts{Reasons: map[string]int64{}}
	rows, err := s.db.Query(ctx, `
		SELECT status, coalesce(error, ''), count(*) FROM operation_items WHERE operation_id = $1
		GROUP BY 1, 2`, opID)
	if err != nil {
		return c, fmt.Errorf("count items of operation %d: %w", opID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var status, reason string
		var n int64
		if err := rows.Scan(&status, &reason, &n); err != nil {
			return c, fmt.Errorf("count items of operation %d: %w", opID, err)
		}
		switch status {
		case ItemPending, ItemInflight:
			c.Open += n
		case ItemDone:
			c.Done += n
		case ItemRefused:
			c.Refused += n
			c.Reasons[reason] += n
		case ItemFailed:
			c.Failed += n
		case ItemUncertain:
			c.Uncertain += n
		}
	}
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("count items of operation %d: %w", opID, err)
	}
	return c, nil
}

// RefusedItem is one message an operation could not act on.
type RefusedItem struct {
	ChatID    int64
	MessageID int64
	Status    string
	Reason    string
}

// OperationRefusals lists up to limit of opID's items that were not done (refused,
// failed or uncertain), by chat id: the list shown to the admin.
func (s *Store) OperationRefusals(ctx context.Context, opID int64, limit int) ([]RefusedItem, error) {
	rows, err := s.db.Query(ctx, `
		SELECT chat_id, message_id, status, coalesce(error, '') FROM operation_items
		WHERE operation_id = $1 AND status IN ('refused', 'failed', 'uncertain')
		ORDER BY chat_id LIMIT $2`, opID, limit)
	if err != nil {
		return nil, fmt.Errorf("list refusals of operation %d: %w", opID, err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[RefusedItem])
	if err != nil {
		return nil, fmt.Errorf("list refusals of operation %d: %w", opID, err)
	}
	return list, nil
}

// OperationSetProgress records the operation's progress message and the content last
// put in it, so an identical edit is skipped even by another process.
func (s *Store) OperationSetProgress(ctx context.Context, opID, messageID int64, text string) error {
	if _, err := s.db.Exec(ctx, `UPDATE campaign_operations SET control_message_id = $2, progress_text = $3 WHERE id = $1`,
		opID, messageID, text); err != nil {
		return fmt.Errorf("set progress of operation %d: %w", opID, err)
	}
	return nil
}

// OperationMarkReported marks opID's final report as sent; false when it already was.
func (s *Store) OperationMarkReported(ctx context.Context, opID int64) (bool, error) {
	tag, err := s.db.Exec(ctx, `UPDATE campaign_operations SET reported_at = now()
		WHERE id = $1 AND status <> 'running' AND reported_at IS NULL`, opID)
	if err != nil {
		return false, fmt.Errorf("mark operation %d reported: %w", opID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// OperationLanguage is the language of the admin who confirmed opID ("" when none is
// set).
func (s *Store) OperationLanguage(ctx context.Context, opID int64) (string, error) {
	var lang *string
	err := s.db.QueryRow(ctx, `
		SELECT a.language FROM campaign_operations o LEFT JOIN admins a ON a.user_id = o.created_by
		WHERE o.id = $1`, opID).Scan(&lang)
	if err != nil {
		return "", fmt.Errorf("operation %d language: %w", opID, err)
	}
	if lang == nil {
		return "", nil
	}
	return *lang, nil
}

package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Webhook is an endpoint that receives campaign events. SecretCiphertext is the sealed
// signing secret; only the code that signs opens it.
type Webhook struct {
	ID               int64
	URL              string
	SecretCiphertext []byte
	CreatedBy        int64
	CreatedAt        time.Time
}

const webhookColumns = `id, url, secret_ciphertext, created_by, created_at`

func scanWebhook(row pgx.Row) (Webhook, error) {
	var w Webhook
	err := row.Scan(&w.ID, &w.URL, &w.SecretCiphertext, &w.CreatedBy, &w.CreatedAt)
	return w, err
}

// WebhookCreate stores an endpoint with its secret sealed by sealer.
func (s *Store) WebhookCreate(ctx context.Context, sealer TokenSealer, url, secret string, createdBy int64) (Webhook, error) {
	w, err := scanWebhook(s.db.QueryRow(ctx, `
		INSERT INTO webhooks (url, secret_ciphertext, created_by) VALUES ($1, $2, $3)
		RETURNING `+webhookColumns, url, sealer.Seal([]byte(secret)), createdBy))
	if err != nil {
		return w, fmt.Errorf("create webhook: %w", err)
	}
	return w, nil
}

// WebhookList returns every endpoint, oldest first.
func (s *Store) WebhookList(ctx context.Context) ([]Webhook, error) {
	rows, err := s.db.Query(ctx, `SELECT `+webhookColumns+` FROM webhooks ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Webhook, error) { return scanWebhook(r) })
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return list, nil
}

// WebhookGet returns endpoint id, or ErrNotFound.
func (s *Store) WebhookGet(ctx context.Context, id int64) (Webhook, error) {
	w, err := scanWebhook(s.db.QueryRow(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return w, ErrNotFound
	}
	if err != nil {
		return w, fmt.Errorf("get webhook %d: %w", id, err)
	}
	return w, nil
}

// WebhookDelete removes endpoint id (ErrNotFound when it is gone). Events already
// enqueued for it are dropped by their jobs.
func (s *Store) WebhookDelete(ctx context.Context, id int64) error {
	tag, err := s.db.Exec(ctx, `DELETE FROM webhooks WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete webhook %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// CampaignAnnounce records state ("running", "paused" or "finished") as campaign id's
// announced state when webhooks exist and it differs from the last one announced. It
// returns the previous state ("" for none) and the endpoints to tell, or no endpoints
// when there is nothing to announce. The row lock makes concurrent reporters agree:
// exactly one of them sees the change. Run it in the transaction that enqueues the
// events.
func (s *Store) CampaignAnnounce(ctx context.Context, id int64, state string) (prev string, hooks []int64, err error) {
	err = s.db.QueryRow(ctx, `
		WITH old AS (
			SELECT c.id, coalesce(c.announced, '') AS announced FROM campaigns c
			WHERE c.id = $1 AND c.announced IS DISTINCT FROM $2 AND EXISTS (SELECT 1 FROM webhooks)
			FOR UPDATE
		), upd AS (
			UPDATE campaigns c SET announced = $2 FROM old WHERE c.id = old.id RETURNING old.announced
		)
		SELECT announced, (SELECT array_agg(id ORDER BY id) FROM webhooks) FROM upd`, id, state).Scan(&prev, &hooks)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("announce campaign %d: %w", id, err)
	}
	return prev, hooks, nil
}

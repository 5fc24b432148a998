package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// CampaignHistoryItem is one finished campaign in the comparison of the last ones
// (issue 17.5), with its counts by outcome.
type CampaignHistoryItem struct {
	ID           int64
	Status       string
	TemplateName string
	StartedAt    *time.Time
	FinishedAt   *time.Time
	Counts       DeliveryCounts
}

// Duration is how long the campaign ran, pauses included (0 when it never started).
func (h CampaignHistoryItem) Duration() time.Duration {
	if h.StartedAt == nil || h.FinishedAt == nil {
		return 0
	}
	return max(h.FinishedAt.Sub(*h.StartedAt), 0)
}

// CampaignHistory returns the last limit finished campaigns (completed, cancelled or
// failed), the most recently finished first. Counts come from campaign_counters: a
// few rows per campaign, whatever its size.
func (s *Store) CampaignHistory(ctx context.Context, limit int) ([]CampaignHistoryItem, error) {
	rows, err := s.db.Query(ctx, `
		WITH last AS (
			SELECT id FROM campaigns WHERE status IN ('completed', 'cancelled', 'failed')
			ORDER BY finished_at DESC NULLS LAST, id DESC LIMIT $1)
		SELECT c.id, c.status, t.name, c.started_at, c.finished_at,
		       coalesce(sum(n) FILTER (WHERE cc.status = 'pending'), 0)::bigint,
		       coalesce(sum(n) FILTER (WHERE cc.status = 'inflight'), 0)::bigint,
		       coalesce(sum(n) FILTER (WHERE cc.status = 'sent'), 0)::bigint,
		       coalesce(sum(n) FILTER (WHERE cc.status = 'failed'), 0)::bigint,
		       coalesce(sum(n) FILTER (WHERE cc.status = 'blocked'), 0)::bigint,
		       coalesce(sum(n) FILTER (WHERE cc.status = 'uncertain'), 0)::bigint,
		       coalesce(sum(n) FILTER (WHERE cc.status = 'cancelled'), 0)::bigint
		FROM last JOIN campaigns c ON c.id = last.id
		JOIN templates t ON t.id = c.template_id
		LEFT JOIN campaign_counters cc ON cc.campaign_id = c.id
		GROUP BY c.id, t.name
		ORDER BY c.finished_at DESC NULLS LAST, c.id DESC`, limit)
	if err != nil {
		return nil, fmt.Errorf("campaign history: %w", err)
	}
	var out []CampaignHistoryItem
	var h CampaignHistoryItem
	n := &h.Counts
	_, err = pgx.ForEachRow(rows, []any{&h.ID, &h.Status, &h.TemplateName, &h.StartedAt, &h.FinishedAt,
		&n.Pending, &n.Inflight, &n.Sent, &n.Failed, &n.Blocked, &n.Uncertain, &n.Cancelled}, func() error {
		out = append(out, h)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("campaign history: %w", err)
	}
	return out, nil
}

// DeliveryRecord is one recipient's delivery with its outcome so far and the
// recipient's own columns from the campaign's batch (nil when the batch is gone).
type DeliveryRecord struct {
	ChatID    int64
	Status    string
	Error     string
	UpdatedAt time.Time
	Vars      map[string]string
	Sender    // the bot and the profile it knows
}

// Sender is the bot a delivery went (or goes) through, by @username, and what that bot
// knows of the recipient: Telegram's profile fields as its subscriber (SubscriberVars'
// order; empty when the recipient never started it). Nothing is fetched for it.
type Sender struct {
	Bot     string
	Profile [4]string
}

// senderColumns and senderJoins read Sender for a delivery d of campaign c.
const (
	senderColumns = `coalesce('@' || ch.username, ''), coalesce(x.first_name, ''), coalesce(x.last_name, ''),
		coalesce(x.username, ''), coalesce(x.language_code, '')`
	senderJoins = `
		LEFT JOIN channels ch ON ch.id = coalesce(d.channel_id, c.channel_id)
		LEFT JOIN subscribers x ON x.channel_id = coalesce(d.channel_id, c.channel_id) AND x.chat_id = d.chat_id`
)

// DeliveriesEach calls fn for every delivery of the campaign, in any status, ordered
// by chat id, one row at a time: an export of a million recipients never holds
// them all in memory. fn runs while the query's rows are open, so it must not call
// the network or wait on anything slow (write to a file, not to Telegram).
func (s *Store) DeliveriesEach(ctx context.Context, campaignID int64, fn func(DeliveryRecord) error) error {
	rows, err := s.db.Query(ctx, `
		SELECT d.chat_id, d.status, coalesce(d.error, ''), d.updated_at, coalesce(r.vars, '{}'), `+senderColumns+`
		FROM deliveries d
		JOIN campaigns c ON c.id = d.campaign_id
		LEFT JOIN recipients r ON r.batch_id = c.batch_id AND r.chat_id = d.chat_id`+senderJoins+`
		WHERE d.campaign_id = $1
		ORDER BY d.chat_id`, campaignID)
	if err != nil {
		return fmt.Errorf("deliveries of campaign %d: %w", campaignID, err)
	}
	defer rows.Close()
	var d DeliveryRecord
	var vars []byte
	_, err = pgx.ForEachRow(rows, []any{&d.ChatID, &d.Status, &d.Error, &d.UpdatedAt, &vars,
		&d.Bot, &d.Profile[0], &d.Profile[1], &d.Profile[2], &d.Profile[3]}, func() error {
		d.Vars = nil
		if err := json.Unmarshal(vars, &d.Vars); err != nil {
			// Not every value is a string (an API import may store numbers): keep the
			// row, as the text JSON has it.
			d.Vars = looseVars(vars)
		}
		return fn(d)
	})
	if err != nil {
		return fmt.Errorf("deliveries of campaign %d: %w", campaignID, err)
	}
	return nil
}

// looseVars reads a JSON object whose values are not all strings.
func looseVars(raw []byte) map[string]string {
	var loose map[string]json.RawMessage
	if json.Unmarshal(raw, &loose) != nil {
		return nil
	}
	out := make(map[string]string, len(loose))
	for k, v := range loose {
		var s string
		if json.Unmarshal(v, &s) != nil {
			s = string(v)
		}
		out[k] = s
	}
	return out
}

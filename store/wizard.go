package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// The queries below serve the management bot's batch, channel and campaign screens.

// AdminTimeZone returns the time zone the admin gave the campaign wizard ("" when
// none was given yet), or ErrNotFound.
func (s *Store) AdminTimeZone(ctx context.Context, userID int64) (string, error) {
	var tz *string
	err := s.db.QueryRow(ctx, `SELECT time_zone FROM admins WHERE user_id = $1`, userID).Scan(&tz)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("time zone of admin %d: %w", userID, err)
	}
	if tz == nil {
		return "", nil
	}
	return *tz, nil
}

// AdminSetTimeZone remembers the admin's time zone (an IANA name or a fixed offset
// such as "+03:00"): ErrNotFound.
func (s *Store) AdminSetTimeZone(ctx context.Context, userID int64, tz string) error {
	tag, err := s.db.Exec(ctx, `UPDATE admins SET time_zone = $2, updated_at = now() WHERE user_id = $1`, userID, tz)
	if err != nil {
		return fmt.Errorf("set time zone of admin %d: %w", userID, err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// BatchNameTaken reports whether a live batch has name (compared case-insensitively,
// as the unique index does).
func (s *Store) BatchNameTaken(ctx context.Context, name string) (bool, error) {
	var taken bool
	err := s.db.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM batches WHERE lower(name) = lower($1) AND deleted_at IS NULL)`, name).Scan(&taken)
	if err != nil {
		return false, fmt.Errorf("batch name taken: %w", err)
	}
	return taken, nil
}

// RecipientCountReachable counts the recipients of a batch that a campaign through
// the channel would create deliveries for: those not on the channel's suppression
// list (the same rule as CampaignStart).
func (s *Store) RecipientCountReachable(ctx context.Context, batchID, channelID int64) (int64, error) {
	var n int64
	err := s.db.QueryRow(ctx, `
		SELECT count(*) FROM recipients r
		WHERE r.batch_id = $1
		  AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.channel_id = $2 AND s.chat_id = r.chat_id)`,
		batchID, channelID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("reachable recipients of batch %d: %w", batchID, err)
	}
	return n, nil
}

// CampaignListItem is a campaign with the names of what it uses, for lists and cards.
type CampaignListItem struct {
	Campaign
	TemplateName string
	BatchName    string // "" for an audience without a batch
	ChannelName  string // the first bot's, with "+N" for N more
}

// CampaignList returns a page of campaigns, newest first, and how many there are.
func (s *Store) CampaignList(ctx context.Context, offset, limit int) ([]CampaignListItem, int, error) {
	var total int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM campaigns`).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("list campaigns: %w", err)
	}
	rows, err := s.db.Query(ctx, campaignItemQuery+` ORDER BY c.id DESC OFFSET $1 LIMIT $2`, offset, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("list campaigns: %w", err)
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (CampaignListItem, error) { return scanCampaignItem(row) })
	if err != nil {
		return nil, 0, fmt.Errorf("list campaigns: %w", err)
	}
	return items, total, nil
}

// CampaignItemGet returns one campaign with names, or ErrNotFound.
func (s *Store) CampaignItemGet(ctx context.Context, id int64) (CampaignListItem, error) {
	item, err := scanCampaignItem(s.db.QueryRow(ctx, campaignItemQuery+` WHERE c.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return item, ErrNotFound
	}
	if err != nil {
		return item, fmt.Errorf("get campaign %d: %w", id, err)
	}
	return item, nil
}

const campaignItemQuery = `
	SELECT c.id, c.template_id, coalesce(c.batch_id, 0), c.channel_id, c.audience, coalesce(c.audience_source, ''),
	       c.audience_since, c.status, c.pause_reason, c.scheduled_at,
	       c.started_at, c.finished_at, c.request_key, c.control_chat_id, c.control_message_id, c.control_text,
	       c.reported_at, c.created_by, c.created_at, t.name, coalesce(b.name, ''),
	       ch.name || coalesce(' +' || nullif((SELECT count(*) - 1 FROM campaign_channels cc WHERE cc.campaign_id = c.id), 0), '')
	FROM campaigns c
	JOIN templates t ON t.id = c.template_id
	LEFT JOIN batches b ON b.id = c.batch_id
	JOIN channels ch ON ch.id = c.channel_id`

func scanCampaignItem(row pgx.Row) (CampaignListItem, error) {
	var i CampaignListItem
	c := &i.Campaign
	err := row.Scan(&c.ID, &c.TemplateID, &c.BatchID, &c.ChannelID, &c.Audience, &c.AudienceSource, &c.AudienceSince,
		&c.Status, &c.PauseReason,
		&c.ScheduledAt, &c.StartedAt, &c.FinishedAt, &c.RequestKey, &c.ControlChatID,
		&c.ControlMessageID, &c.ControlText, &c.ReportedAt, &c.CreatedBy, &c.CreatedAt,
		&i.TemplateName, &i.BatchName, &i.ChannelName)
	return i, err
}

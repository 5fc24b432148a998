package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// What the final report offers for the recipients a campaign did not reach.
//
// Resending is safe only where it can neither send a second copy nor fail again for
// the same reason:
//   - failed because the person had not started the channel bot ("can't initiate
//     conversation"), and who has started it since (an active subscriber of that bot
//     whose start or unblock is later than the failure): Telegram refused the first
//     send, so nobody gets the message twice, and the reason is gone;
//   - not: other failures (chat not found, too long for this recipient…) fail again;
//     blocked recipients said no and are suppressed; uncertain ones may have got it
//     (they have their own button, which asks about doubles); cancelled ones were
//     stopped by an admin on purpose (the list of unreached can start a new campaign).
//
// Any of them can become a new recipient list instead, for another bot or later.

// resendableWhere selects the campaign's deliveries (d, campaign c) that are safe to
// send again.
const resendableWhere = `d.campaign_id = $1 AND d.status = 'failed'
	AND d.error ILIKE '%can''t initiate conversation%'
	AND EXISTS (SELECT 1 FROM subscribers s
		WHERE s.channel_id = c.channel_id AND s.chat_id = d.chat_id AND s.status = 'active'
		  AND greatest(s.joined_at, s.status_changed_at) > d.updated_at)`

// DeliveryResendableCount counts the campaign's deliveries that are safe to send again.
func (s *Store) DeliveryResendableCount(ctx context.Context, campaignID int64) (int64, error) {
	var n int64
	err := s.db.QueryRow(ctx, `SELECT count(*) FROM deliveries d JOIN campaigns c ON c.id = d.campaign_id
		WHERE `+resendableWhere, campaignID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count resendable deliveries of campaign %d: %w", campaignID, err)
	}
	return n, nil
}

// CampaignResendUnreached sends a completed campaign's safely resendable deliveries
// again: they become pending and the campaign runs again (the caller enqueues its lane
// and reporter). It returns how many; a CampaignStateError when the campaign is not
// completed or has none.
func (s *Store) CampaignResendUnreached(ctx context.Context, id, actorID int64) (Campaign, int64, error) {
	var c Campaign
	var n int64
	err := s.InTx(ctx, func(st *Store) error {
		tx := st.db
		var err error
		if c, err = lockCampaign(ctx, tx, id); err != nil {
			return err
		}
		if c.Status != CampaignCompleted {
			return &CampaignStateError{CampaignID: id, Action: "resend", Status: c.Status}
		}
		tag, err := tx.Exec(ctx, `
			UPDATE deliveries d SET status = 'pending', error = NULL, not_before = NULL, updated_at = now()
			FROM campaigns c WHERE c.id = d.campaign_id AND `+resendableWhere, id)
		if err != nil {
			return fmt.Errorf("reopen unreached deliveries of campaign %d: %w", id, err)
		}
		if n = tag.RowsAffected(); n == 0 {
			return &CampaignStateError{CampaignID: id, Action: "resend", Status: "without deliveries safe to resend"}
		}
		if _, err = campaignTransition(ctx, tx, id, "resend", []string{CampaignCompleted}, CampaignRunning, nil); err != nil {
			return err
		}
		c.Status = CampaignRunning
		if _, err := tx.Exec(ctx, `UPDATE campaigns SET reported_at = NULL, control_text = NULL WHERE id = $1`, id); err != nil {
			return fmt.Errorf("reopen campaign %d: %w", id, err)
		}
		return auditCampaign(ctx, tx, actorID, "campaign.resend_unreached", id, map[string]any{"reopened": n})
	})
	return c, n, err
}

// BatchFromUnreached creates the list name of the campaign's recipients who did not
// get its message (every delivery not sent), with the columns and values they had in
// the campaign's list (empty values if that list was deleted since). ErrNameTaken
// when a list has the name; ErrNotFound for no such campaign.
func (s *Store) BatchFromUnreached(ctx context.Context, campaignID int64, name string, createdBy int64) (Batch, error) {
	if err := checkName(name); err != nil {
		return Batch{}, err
	}
	var b Batch
	err := s.InTx(ctx, func(st *Store) error {
		tx := st.db
		var id int64
		err := tx.QueryRow(ctx, `
			INSERT INTO batches (name, columns, created_by)
			SELECT $2, src.columns, $3 FROM campaigns c JOIN batches src ON src.id = c.batch_id WHERE c.id = $1
			RETURNING id`, campaignID, name, createdBy).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return batchNameErr("create unreached list", err)
		}
		tag, err := tx.Exec(ctx, `
			INSERT INTO recipients (batch_id, chat_id, vars)
			SELECT $2, d.chat_id, coalesce(r.vars, '{}')
			FROM deliveries d
			JOIN campaigns c ON c.id = d.campaign_id
			LEFT JOIN recipients r ON r.batch_id = c.batch_id AND r.chat_id = d.chat_id
			WHERE d.campaign_id = $1 AND d.status <> 'sent'`, campaignID, id)
		if err != nil {
			return fmt.Errorf("fill unreached list: %w", err)
		}
		b, err = scanBatch(tx.QueryRow(ctx, `
			UPDATE batches SET status = 'ready', recipient_count = $2 WHERE id = $1
			RETURNING `+batchColumns, id, tag.RowsAffected()))
		if err != nil {
			return fmt.Errorf("finish unreached list: %w", err)
		}
		return nil
	})
	return b, err
}

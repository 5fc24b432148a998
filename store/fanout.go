package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Fan-out: a campaign's deliveries are created in chunks of recipients by chat id, each
// in its own transaction, so the first messages go out while the rest are inserted
// (a 1,000,000-recipient campaign used to wait 7 s for its first send). The campaign's
// fanout_after is the cursor: the last chat id covered, NULL when done. A campaign
// completes only once its fan-out is done. Each recipient gets exactly one delivery
// (the chunks do not overlap; the primary key would refuse a second), and the
// suppression list is read when the recipient's chunk is inserted.
const (
	// FirstFanoutChunk is the chunk created with the start itself (about 0.1 s).
	FirstFanoutChunk = 10_000
	// FanoutChunk is each later chunk (well under a second per transaction).
	FanoutChunk = 100_000
)

type fanoutResult struct {
	inserted, scanned int64
	after             *int64 // the cursor to store: nil when done
	done              bool
}

// fanoutChunk inserts the deliveries of the next n recipients after chat id after.
// A cancelled campaign's deliveries are created cancelled, so its report still lists
// every recipient.
func fanoutChunk(ctx context.Context, tx DBTX, campaignID, batchID, channelID, after int64, n int) (fanoutResult, error) {
	var r fanoutResult
	var last *int64
	err := tx.QueryRow(ctx, `
		WITH scan AS (
			SELECT chat_id FROM recipients
			WHERE batch_id = $2 AND chat_id > $4
			ORDER BY chat_id
			LIMIT $5),
		ins AS (
			INSERT INTO deliveries (campaign_id, chat_id, status)
			SELECT $1, s.chat_id,
			       CASE WHEN (SELECT status FROM campaigns WHERE id = $1) = 'cancelled' THEN 'cancelled' ELSE 'pending' END
			FROM scan s
			WHERE NOT EXISTS (SELECT 1 FROM suppressions x WHERE x.channel_id = $3 AND x.chat_id = s.chat_id)
			RETURNING status),
		-- Inserts are counted here, not by a trigger (migration 00008): a trigger would
		-- copy every chunk into a transition table.
		counted AS (
			INSERT INTO campaign_counters (campaign_id, status, n)
			SELECT $1, status, count(*) FROM ins GROUP BY status ORDER BY status
			ON CONFLICT (campaign_id, status) DO UPDATE SET n = campaign_counters.n + EXCLUDED.n)
		SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM scan), (SELECT max(chat_id) FROM scan)`,
		campaignID, batchID, channelID, after, n).Scan(&r.inserted, &r.scanned, &last)
	if err != nil {
		return r, err
	}
	r.done = r.scanned < int64(n)
	if !r.done {
		r.after = last
	}
	return r, nil
}

// FanoutStep is what CampaignFanout did.
type FanoutStep struct {
	Inserted, Suppressed int64
	ChannelID            int64
	Done                 bool // every recipient has a delivery now (or had before)
}

// CampaignFanout creates the deliveries of the campaign's next chunk of recipients in
// one transaction (s may be bound to one already) and moves its cursor.
func (s *Store) CampaignFanout(ctx context.Context, id int64) (FanoutStep, error) {
	var step FanoutStep
	err := s.InTx(ctx, func(st *Store) error {
		var after *int64
		var batchID int64
		err := st.db.QueryRow(ctx, `SELECT fanout_after, batch_id, channel_id FROM campaigns WHERE id = $1 FOR NO KEY UPDATE`, id).
			Scan(&after, &batchID, &step.ChannelID)
		if errors.Is(err, pgx.ErrNoRows) {
			step.Done = true
			return nil
		}
		if err != nil {
			return err
		}
		if after == nil {
			step.Done = true
			return nil
		}
		r, err := fanoutChunk(ctx, st.db, id, batchID, step.ChannelID, *after, FanoutChunk)
		if err != nil {
			return err
		}
		step.Inserted, step.Suppressed, step.Done = r.inserted, r.scanned-r.inserted, r.done
		_, err = st.db.Exec(ctx, `UPDATE campaigns SET fanout_after = $2, updated_at = now() WHERE id = $1`, id, r.after)
		return err
	})
	if err != nil {
		return step, fmt.Errorf("create deliveries of campaign %d: %w", id, err)
	}
	return step, nil
}

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
// (the chunks do not overlap; the primary key would refuse a second), routed to one
// of the campaign's bots, and the suppression list and subscriber statuses are read
// when the recipient's chunk is inserted. Audiences and routing: audience.go.
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

// FanoutStep is what CampaignFanout did.
type FanoutStep struct {
	Inserted, Suppressed int64
	ChannelID            int64   // the campaign's first bot
	ChannelIDs           []int64 // every bot of the campaign, when Inserted > 0
	Done                 bool    // every recipient has a delivery now (or had before)
}

// CampaignFanout creates the deliveries of the campaign's next chunk of recipients in
// one transaction (s may be bound to one already) and moves its cursor.
func (s *Store) CampaignFanout(ctx context.Context, id int64) (FanoutStep, error) {
	var step FanoutStep
	err := s.InTx(ctx, func(st *Store) error {
		var after *int64
		err := st.db.QueryRow(ctx, `SELECT fanout_after, channel_id FROM campaigns WHERE id = $1 FOR NO KEY UPDATE`, id).
			Scan(&after, &step.ChannelID)
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
		plan, err := campaignAudience(ctx, st.db, id)
		if err != nil {
			return err
		}
		r, err := fanoutChunk(ctx, st.db, plan, *after, FanoutChunk)
		if err != nil {
			return err
		}
		if r.inserted > 0 {
			step.ChannelIDs = plan.channels
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

// CampaignStartResult says what CampaignStart did.
type CampaignStartResult struct {
	Started    bool   // the campaign is now running
	Status     string // the campaign's status afterwards
	ChannelID  int64  // the campaign's first bot
	ChannelIDs []int64
	Deliveries int64 // deliveries created (the first chunk)
	Suppressed int64 // audience members of the first chunk no bot may reach
	// FanoutDone: every recipient has a delivery; otherwise CampaignFanout creates the
	// rest.
	FanoutDone bool
}

// CampaignStart starts a scheduled campaign; s must be bound to a transaction (InTx),
// which holds the campaign's row lock until the caller commits. It creates one pending
// delivery per member of the audience that one of the campaign's bots may reach
// (routed as audience.go says), for the first FirstFanoutChunk chat ids, and marks
// the campaign running; CampaignFanout creates the rest. A campaign that is no longer
// scheduled (cancelled meanwhile, or started by an earlier attempt) is left alone
// (Started false). A campaign whose batch is not ready or one of whose bots is
// disabled or removed becomes failed with the reason in pause_reason.
func (s *Store) CampaignStart(ctx context.Context, id int64) (CampaignStartResult, error) {
	var res CampaignStartResult
	if !s.InTransaction() {
		return res, errors.New("start campaign: not inside a transaction")
	}
	tx := s.db
	var batchStatus, disabled string
	err := tx.QueryRow(ctx, `
		SELECT c.status, c.channel_id, coalesce(b.status, 'ready'),
		       coalesce((SELECT string_agg(ch.name, ', ' ORDER BY ch.id) FROM campaign_channels cc
		                 JOIN channels ch ON ch.id = cc.channel_id
		                 WHERE cc.campaign_id = c.id AND (NOT ch.enabled OR ch.deleted_at IS NOT NULL)), '')
		FROM campaigns c
		LEFT JOIN batches b ON b.id = c.batch_id
		WHERE c.id = $1
		FOR NO KEY UPDATE OF c`, id).Scan(&res.Status, &res.ChannelID, &batchStatus, &disabled)
	if errors.Is(err, pgx.ErrNoRows) {
		return res, ErrNotFound
	}
	if err != nil {
		return res, fmt.Errorf("lock campaign %d: %w", id, err)
	}
	if res.Status != CampaignScheduled {
		return res, nil
	}
	reason := ""
	switch {
	case batchStatus != "ready":
		reason = "batch is " + batchStatus
	case disabled != "":
		reason = "channel is disabled: " + disabled
	}
	if reason != "" {
		if _, err := tx.Exec(ctx, `
			UPDATE campaigns SET status = 'failed', pause_reason = $2, finished_at = now(), updated_at = now()
			WHERE id = $1`, id, reason); err != nil {
			return res, fmt.Errorf("fail campaign %d: %w", id, err)
		}
		res.Status = CampaignFailed
		return res, nil
	}
	plan, err := campaignAudience(ctx, tx, id)
	if err != nil {
		return res, err
	}
	res.ChannelIDs = plan.channels
	// The first chunk only: sending starts as soon as this commits, and the caller's
	// fan-out job creates the rest in later transactions (CampaignFanout).
	chunk, err := fanoutChunk(ctx, tx, plan, fanoutStart, FirstFanoutChunk)
	if err != nil {
		return res, fmt.Errorf("create deliveries of campaign %d: %w", id, err)
	}
	res.Deliveries, res.Suppressed, res.FanoutDone = chunk.inserted, chunk.scanned-chunk.inserted, chunk.done
	if _, err := tx.Exec(ctx, `
		UPDATE campaigns SET status = 'running', started_at = now(), updated_at = now(), fanout_after = $2
		WHERE id = $1`, id, chunk.after); err != nil {
		return res, fmt.Errorf("mark campaign %d running: %w", id, err)
	}
	res.Started, res.Status = true, CampaignRunning
	return res, nil
}

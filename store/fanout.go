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

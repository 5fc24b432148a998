package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// A campaign that sent through several bots has its operations acted on by each bot
// for the messages that bot sent (migration 00018): every bot has a share of the
// operation in operation_channels, worked by its own sender lane at its own pace.

// shareOpen is true while the share (oc) of operation o has an item still open
// (an item without a channel is the operation's own channel's).
const shareOpen = `EXISTS (SELECT 1 FROM operation_items i
		WHERE i.operation_id = o.id AND coalesce(i.channel_id, o.channel_id) = oc.channel_id
		  AND i.status IN ('pending', 'inflight'))`

// operationShares gives operation opID a share for each bot of campaignID that sent
// one of its messages, and always one for the campaign's first bot (whose lane keeps
// the progress message).
func (s *Store) operationShares(ctx context.Context, opID, campaignID int64) error {
	_, err := s.db.Exec(ctx, `
		INSERT INTO operation_channels (operation_id, channel_id)
		SELECT $1::bigint, cc.channel_id FROM campaign_channels cc JOIN campaigns c ON c.id = cc.campaign_id
		WHERE cc.campaign_id = $2
		  AND (cc.channel_id = c.channel_id OR EXISTS (SELECT 1 FROM deliveries d
		       WHERE d.campaign_id = $2 AND d.channel_id = cc.channel_id AND d.status = 'sent'))
		UNION SELECT $1::bigint, c.channel_id FROM campaigns c WHERE c.id = $2
		ON CONFLICT DO NOTHING`, opID, campaignID)
	if err != nil {
		return fmt.Errorf("shares of operation %d: %w", opID, err)
	}
	return nil
}

// OperationChannels are the bots with a share of operation opID, first bot first.
func (s *Store) OperationChannels(ctx context.Context, opID int64) ([]int64, error) {
	rows, err := s.db.Query(ctx, `
		SELECT oc.channel_id FROM operation_channels oc JOIN campaign_operations o ON o.id = oc.operation_id
		WHERE oc.operation_id = $1 ORDER BY oc.channel_id <> o.channel_id, oc.channel_id`, opID)
	if err != nil {
		return nil, fmt.Errorf("bots of operation %d: %w", opID, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("bots of operation %d: %w", opID, err)
	}
	return ids, nil
}

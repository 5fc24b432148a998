package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"herald/store"
)

// TestFanoutInChunks: a campaign starts with its first chunk of deliveries; the rest
// come chunk by chunk, each recipient once, suppressed ones skipped whenever their
// chunk is inserted; it cannot complete before the fan-out is done.
func TestFanoutInChunks(t *testing.T) {
	t.Parallel()
	n := store.FirstFanoutChunk + store.FanoutChunk + 500
	b := setupDelivery(t, n)
	ctx := context.Background()
	_, err := b.pool.Exec(ctx, `INSERT INTO suppressions (channel_id, chat_id, reason) VALUES ($1, 5, 'blocked'), ($1, $2, 'blocked')`,
		b.channel, n-1)
	require.NoError(t, err)
	id := b.create(t, "fanout")
	var res store.CampaignStartResult
	require.NoError(t, b.st.InTx(ctx, func(tx *store.Store) error {
		res, err = tx.CampaignStart(ctx, id)
		return err
	}))
	require.True(t, res.Started)
	require.False(t, res.FanoutDone)
	require.EqualValues(t, store.FirstFanoutChunk-1, res.Deliveries)

	// Everything created so far is settled: the campaign still may not complete.
	_, err = b.pool.Exec(ctx, `UPDATE deliveries SET status = 'failed' WHERE campaign_id = $1`, id)
	require.NoError(t, err)
	done, err := b.st.CampaignsCompleteFinished(ctx, []int64{id})
	require.NoError(t, err)
	require.Empty(t, done, "not complete while deliveries are still being created")

	// A suppression added meanwhile is honoured by the later chunk.
	_, err = b.pool.Exec(ctx, `INSERT INTO suppressions (channel_id, chat_id, reason) VALUES ($1, $2, 'deactivated')`, b.channel, n)
	require.NoError(t, err)
	step, err := b.st.CampaignFanout(ctx, id)
	require.NoError(t, err)
	require.False(t, step.Done)
	require.EqualValues(t, store.FanoutChunk, step.Inserted)
	step, err = b.st.CampaignFanout(ctx, id)
	require.NoError(t, err)
	require.True(t, step.Done)
	require.EqualValues(t, 498, step.Inserted)
	require.EqualValues(t, 2, step.Suppressed)
	step, err = b.st.CampaignFanout(ctx, id)
	require.NoError(t, err)
	require.Equal(t, store.FanoutStep{ChannelID: b.channel, Done: true}, step)

	var total, distinct int
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT chat_id) FROM deliveries WHERE campaign_id = $1`, id).
		Scan(&total, &distinct))
	require.Equal(t, n-3, total)
	require.Equal(t, total, distinct)
	_, err = b.pool.Exec(ctx, `UPDATE deliveries SET status = 'failed' WHERE campaign_id = $1`, id)
	require.NoError(t, err)
	done, err = b.st.CampaignsCompleteFinished(ctx, []int64{id})
	require.NoError(t, err)
	require.Equal(t, []int64{id}, done)
}

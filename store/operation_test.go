package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"herald/store"
)

// sentCampaign is a completed campaign whose n deliveries were sent (message id =
// chat id + 1000).
func (b *deliveryBundle) sentCampaign(t *testing.T, n int) int64 {
	t.Helper()
	ctx := context.Background()
	id := b.create(t, "")
	_, err := b.pool.Exec(ctx, `UPDATE campaigns SET status = 'completed', started_at = now(), finished_at = now() WHERE id = $1`, id)
	require.NoError(t, err)
	_, err = b.pool.Exec(ctx, `INSERT INTO deliveries (campaign_id, chat_id, status, message_id, updated_at)
		SELECT $1, g, 'sent', g + 1000, now() - interval '1 minute' FROM generate_series(1, $2) g`, id, n)
	require.NoError(t, err)
	return id
}

// TestOperationClaimChunksAndResumes: a large operation is read in chunks, every
// message is claimed once, and after a "crash" (leases run out) an item whose request
// was marked becomes uncertain and is never claimed again, while one only reserved
// goes back and is claimed once more.
func TestOperationClaimChunksAndResumes(t *testing.T) {
	t.Parallel()
	const n = 25_000
	b := setupDelivery(t, n)
	ctx := context.Background()
	id := b.sentCampaign(t, n)
	op, err := b.st.OperationCreate(ctx, store.NewOperation{CampaignID: id, Kind: store.OperationEdit, Body: "new", ControlChatID: 1, CreatedBy: 1})
	require.NoError(t, err)
	require.EqualValues(t, n, op.Total)

	// The "crashed" lane: one chunk claimed with a lease that has run out, the first
	// half of it marked requested.
	crashed, done, err := b.st.OperationClaim(ctx, op, 1000, time.Millisecond)
	require.NoError(t, err)
	require.False(t, done)
	require.Len(t, crashed, 1000)
	require.Equal(t, int64(1001), crashed[0].MessageID)
	requested := make([]int64, 500)
	for i := range requested {
		requested[i] = crashed[i].ChatID
	}
	marked, err := b.st.OperationMarkRequested(ctx, op.ID, requested, time.Millisecond)
	require.NoError(t, err)
	require.Len(t, marked, 500)
	time.Sleep(5 * time.Millisecond) // the leases run out

	seen := map[int64]int{}
	for round := 0; ; round++ {
		require.Less(t, round, 100, "claims do not end")
		op, err = b.st.OperationGet(ctx, op.ID)
		require.NoError(t, err)
		items, done, err := b.st.OperationClaim(ctx, op, 5000, time.Minute)
		require.NoError(t, err)
		if done {
			break
		}
		require.LessOrEqual(t, len(items), 5000)
		outcomes := make([]store.ItemOutcome, 0, len(items))
		for _, it := range items {
			seen[it.ChatID]++
			outcomes = append(outcomes, store.ItemOutcome{OperationID: op.ID, ChatID: it.ChatID, Status: store.ItemDone, CountAttempt: true})
		}
		require.NoError(t, b.st.OperationSettle(ctx, outcomes))
	}
	require.Len(t, seen, n-500, "every message but the requested ones, once")
	for chat, k := range seen {
		require.Equal(t, 1, k, "chat %d", chat)
	}
	for _, chat := range requested {
		require.Zero(t, seen[chat], "a requested item is never claimed again")
	}
	counts, err := b.st.OperationCountsGet(ctx, op.ID)
	require.NoError(t, err)
	require.Equal(t, store.OperationCounts{Done: n - 500, Uncertain: 500, Reasons: map[string]int64{}}, counts)
	finished, err := b.st.OperationFinish(ctx, op.ID)
	require.NoError(t, err)
	require.True(t, finished)
	first, err := b.st.OperationMarkReported(ctx, op.ID)
	require.NoError(t, err)
	require.True(t, first)
	again, err := b.st.OperationMarkReported(ctx, op.ID)
	require.NoError(t, err)
	require.False(t, again, "the report is sent once")
}

// TestOperationSkipsDeletedMessages: once a delete removed a message, later operations
// leave it alone, and a message a delete was refused for is not tried by the next one.
func TestOperationSkipsDeletedMessages(t *testing.T) {
	t.Parallel()
	b := setupDelivery(t, 4)
	ctx := context.Background()
	id := b.sentCampaign(t, 4)
	_, err := b.pool.Exec(ctx, `UPDATE deliveries SET updated_at = now() - interval '49 hours' WHERE campaign_id = $1 AND chat_id = 4`, id)
	require.NoError(t, err)
	n, old, err := b.st.OperationTargets(ctx, id, store.OperationDelete)
	require.NoError(t, err)
	require.Equal(t, [2]int64{4, 1}, [2]int64{n, old})

	op, err := b.st.OperationCreate(ctx, store.NewOperation{CampaignID: id, Kind: store.OperationDelete, ControlChatID: 1, CreatedBy: 1})
	require.NoError(t, err)
	items, _, err := b.st.OperationClaim(ctx, op, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, items, 3, "the one the database knows is too old is refused without a claim")
	require.NoError(t, b.st.OperationSettle(ctx, []store.ItemOutcome{
		{OperationID: op.ID, ChatID: 1, Status: store.ItemDone},
		{OperationID: op.ID, ChatID: 2, Status: store.ItemRefused, Error: store.RefusedTooOld},
		{OperationID: op.ID, ChatID: 3, Status: store.ItemRefused, Error: store.RefusedGone},
	}))
	_, done, err := b.st.OperationClaim(ctx, op, 10, time.Minute)
	require.NoError(t, err)
	require.True(t, done)
	_, err = b.st.OperationFinish(ctx, op.ID)
	require.NoError(t, err)

	n, _, err = b.st.OperationTargets(ctx, id, store.OperationDelete)
	require.NoError(t, err)
	require.Zero(t, n, "deleted, too old, gone: another delete has nothing to try")
	n, _, err = b.st.OperationTargets(ctx, id, store.OperationEdit)
	require.NoError(t, err)
	require.EqualValues(t, 3, n, "an edit skips only the deleted message")
}

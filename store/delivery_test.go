package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"herald/pgtest"
	"herald/store"
)

type deliveryBundle struct {
	pool    *pgxpool.Pool
	st      *store.Store
	channel int64
	tpl     int64
	batch   int64
}

// setup creates a channel, a template and a ready batch of chats 1..n.
func setupDelivery(t *testing.T, n int) *deliveryBundle {
	t.Helper()
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	b := &deliveryBundle{pool: pool, st: store.New(pool)}
	require.NoError(t, pool.QueryRow(ctx, `
		INSERT INTO channels (bot_user_id, username, name, token_ciphertext, created_by)
		VALUES (1, 'c_bot', 'c', '\x00', 1) RETURNING id`).Scan(&b.channel))
	require.NoError(t, pool.QueryRow(ctx, `
		INSERT INTO templates (name, body, created_by) VALUES ('t', 'hi', 1) RETURNING id`).Scan(&b.tpl))
	require.NoError(t, pool.QueryRow(ctx, `
		INSERT INTO batches (name, status, created_by) VALUES ('b', 'ready', 1) RETURNING id`).Scan(&b.batch))
	_, err := pool.Exec(ctx, `INSERT INTO recipients (batch_id, chat_id) SELECT $1, g FROM generate_series(1, $2) g`, b.batch, n)
	require.NoError(t, err)
	return b
}

func (b *deliveryBundle) create(t *testing.T, key string) int64 {
	t.Helper()
	id, err := b.st.CampaignCreate(context.Background(), store.NewCampaign{
		TemplateID: b.tpl, BatchID: b.batch, ChannelID: b.channel, ControlChatID: 1, CreatedBy: 1, RequestKey: key,
	})
	require.NoError(t, err)
	return id
}

func (b *deliveryBundle) start(t *testing.T, id int64) store.CampaignStartResult {
	t.Helper()
	var res store.CampaignStartResult
	err := b.st.InTx(context.Background(), func(tx *store.Store) error {
		var err error
		res, err = tx.CampaignStart(context.Background(), id)
		return err
	})
	require.NoError(t, err)
	return res
}

func TestCampaignCreateIsIdempotentByRequestKey(t *testing.T) {
	t.Parallel()
	b := setupDelivery(t, 3)
	first := b.create(t, "confirm-1")
	require.Equal(t, first, b.create(t, "confirm-1"))
	require.NotEqual(t, first, b.create(t, "confirm-2"))
	require.NotEqual(t, b.create(t, ""), b.create(t, ""), "no key, no deduplication")
}

func TestCampaignStartSkipsSuppressedAndStartsOnce(t *testing.T) {
	t.Parallel()
	b := setupDelivery(t, 10)
	ctx := context.Background()
	require.NoError(t, b.st.SuppressionAdd(ctx, b.channel, 3, store.SuppressBlocked))
	require.NoError(t, b.st.SuppressionAdd(ctx, b.channel, 7, store.SuppressDeactivated))
	id := b.create(t, "k")
	res := b.start(t, id)
	require.Equal(t, store.CampaignStartResult{Started: true, Status: store.CampaignRunning, ChannelID: b.channel, ChannelIDs: []int64{b.channel}, Deliveries: 8, Suppressed: 2, FanoutDone: true}, res)
	require.False(t, b.start(t, id).Started, "a second start does nothing")
	counts, err := b.st.DeliveryCounts(ctx, id)
	require.NoError(t, err)
	require.Equal(t, store.DeliveryCounts{Pending: 8}, counts)
}

func TestClaimSettleAndExpire(t *testing.T) {
	t.Parallel()
	b := setupDelivery(t, 10)
	ctx := context.Background()
	id := b.create(t, "k")
	b.start(t, id)

	claimed, err := b.st.DeliveryClaim(ctx, b.channel, []int64{id}, 4, time.Minute)
	require.NoError(t, err)
	require.Len(t, claimed, 4)
	again, err := b.st.DeliveryClaim(ctx, b.channel, []int64{id}, 100, -time.Second) // leases already expired
	require.NoError(t, err)
	require.Len(t, again, 6, "claimed deliveries are not claimed twice")
	// Five of them leave as requests; the sixth stays only reserved.
	keys := make([]store.DeliveryKey, 0, 5)
	for _, d := range again[:5] {
		keys = append(keys, store.DeliveryKey{CampaignID: id, ChatID: d.ChatID})
	}
	marked, err := b.st.DeliveryMarkRequested(ctx, keys, -time.Second)
	require.NoError(t, err)
	require.ElementsMatch(t, keys, marked)
	marked, err = b.st.DeliveryMarkRequested(ctx, keys[:1], time.Minute)
	require.NoError(t, err)
	require.Empty(t, marked, "a delivery is marked requested once")

	n, err := b.st.DeliverySettle(ctx, b.channel, []store.DeliveryOutcome{
		{CampaignID: id, ChatID: claimed[0].ChatID, Status: store.DeliverySent, MessageID: 77, CountAttempt: true},
		{CampaignID: id, ChatID: claimed[1].ChatID, Status: store.DeliveryBlocked, Error: "Forbidden: bot was blocked by the user", Suppress: store.SuppressBlocked, CountAttempt: true},
		{CampaignID: id, ChatID: claimed[2].ChatID, Status: store.DeliveryPending, NotBefore: time.Now().Add(time.Hour)},
		{CampaignID: id, ChatID: claimed[3].ChatID, Status: store.DeliveryFailed, Error: "Bad Request: chat not found", CountAttempt: true},
	})
	require.NoError(t, err)
	require.EqualValues(t, 4, n)
	has, err := b.st.SuppressionHas(ctx, b.channel, claimed[1].ChatID)
	require.NoError(t, err)
	require.True(t, has)

	// The second claim's leases ran out: the requested deliveries become uncertain
	// (stopped), the reserved one goes back to pending, and a late outcome for one of
	// them is not written over it.
	expired, err := b.st.DeliveriesExpireLeases(ctx, 100)
	require.NoError(t, err)
	require.Equal(t, store.ExpiredLeases{Uncertain: map[int64]int64{id: 5}, Released: 1}, expired)
	var reason string
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT error FROM deliveries WHERE campaign_id = $1 AND chat_id = $2`, id, again[0].ChatID).Scan(&reason))
	require.Equal(t, store.UncertainStopped, reason)
	n, err = b.st.DeliverySettle(ctx, b.channel, []store.DeliveryOutcome{
		{CampaignID: id, ChatID: again[0].ChatID, Status: store.DeliverySent, MessageID: 1},
	})
	require.NoError(t, err)
	require.Zero(t, n)

	counts, err := b.st.DeliveryCounts(ctx, id)
	require.NoError(t, err)
	require.Equal(t, store.DeliveryCounts{Pending: 2, Sent: 1, Blocked: 1, Failed: 1, Uncertain: 5}, counts)
	next, anyPending, err := b.st.DeliveryNextDue(ctx, b.channel, []int64{id})
	require.NoError(t, err)
	require.True(t, anyPending)
	require.WithinDuration(t, time.Now().Add(time.Hour), next, time.Minute)
	back, err := b.st.DeliveryClaim(ctx, b.channel, []int64{id}, 100, time.Minute)
	require.NoError(t, err)
	require.Len(t, back, 1, "the reserved delivery is sent again; the one waiting for its retry is not claimed early")
	require.Equal(t, again[5].ChatID, back[0].ChatID)
}

func TestCampaignTransitions(t *testing.T) {
	t.Parallel()
	b := setupDelivery(t, 5)
	ctx := context.Background()
	id := b.create(t, "k")

	_, err := b.st.CampaignPause(ctx, id, 1, "")
	var stateErr *store.CampaignStateError
	require.True(t, errors.As(err, &stateErr))
	require.ErrorIs(t, err, store.ErrInvalidTransition)
	require.Equal(t, store.CampaignScheduled, stateErr.Status)

	b.start(t, id)
	_, err = b.st.CampaignPause(ctx, id, 1, "")
	require.NoError(t, err)
	_, err = b.st.CampaignResume(ctx, id, 1)
	require.NoError(t, err)
	claimed, err := b.st.DeliveryClaim(ctx, b.channel, []int64{id}, 1, time.Minute)
	require.NoError(t, err)
	_, n, err := b.st.CampaignCancel(ctx, id, 1)
	require.NoError(t, err)
	require.EqualValues(t, 4, n, "pending deliveries are cancelled, the in-flight one is left to its lane")
	// The lane gives the in-flight one back unsent: it becomes cancelled too.
	_, err = b.st.DeliverySettle(ctx, b.channel, []store.DeliveryOutcome{{CampaignID: id, ChatID: claimed[0].ChatID, Status: store.DeliveryPending}})
	require.NoError(t, err)
	counts, err := b.st.DeliveryCounts(ctx, id)
	require.NoError(t, err)
	require.Equal(t, store.DeliveryCounts{Cancelled: 5}, counts)
	_, err = b.st.CampaignResume(ctx, id, 1)
	require.ErrorIs(t, err, store.ErrInvalidTransition)
	_, _, err = b.st.CampaignResendUncertain(ctx, id, 1)
	require.ErrorIs(t, err, store.ErrInvalidTransition)
	_, err = b.st.CampaignPause(ctx, 999, 1, "")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestResendUncertainReopensCompletedCampaign(t *testing.T) {
	t.Parallel()
	b := setupDelivery(t, 3)
	ctx := context.Background()
	id := b.create(t, "k")
	b.start(t, id)
	claimed, err := b.st.DeliveryClaim(ctx, b.channel, []int64{id}, 10, -time.Second)
	require.NoError(t, err)
	keys := make([]store.DeliveryKey, len(claimed))
	for i, d := range claimed {
		keys[i] = store.DeliveryKey{CampaignID: id, ChatID: d.ChatID}
	}
	_, err = b.st.DeliveryMarkRequested(ctx, keys, -time.Second)
	require.NoError(t, err)
	_, err = b.st.DeliveriesExpireLeases(ctx, 10)
	require.NoError(t, err)
	done, err := b.st.CampaignsCompleteFinished(ctx, nil)
	require.NoError(t, err)
	require.Equal(t, []int64{id}, done)

	c, n, err := b.st.CampaignResendUncertain(ctx, id, 1)
	require.NoError(t, err)
	require.EqualValues(t, 3, n)
	require.Equal(t, store.CampaignRunning, c.Status)
	c, err = b.st.CampaignGet(ctx, id)
	require.NoError(t, err)
	require.Nil(t, c.FinishedAt)
	_, _, err = b.st.CampaignResendUncertain(ctx, id, 1)
	require.ErrorIs(t, err, store.ErrInvalidTransition, "nothing uncertain left")
}

func TestLaneLease(t *testing.T) {
	t.Parallel()
	b := setupDelivery(t, 1)
	ctx := context.Background()
	epoch, err := b.st.LaneEnsure(ctx, b.channel)
	require.NoError(t, err)
	l, err := b.st.LaneAcquire(ctx, b.channel, epoch, "a", time.Minute)
	require.NoError(t, err)
	require.True(t, l.Acquired)
	l, err = b.st.LaneAcquire(ctx, b.channel, epoch, "b", time.Minute)
	require.NoError(t, err)
	require.False(t, l.Acquired)
	require.Greater(t, l.Busy, 50*time.Second)
	ok, err := b.st.LaneRenew(ctx, b.channel, epoch, "b", time.Minute)
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, b.st.LaneRelease(ctx, b.channel, epoch, "a"))
	l, err = b.st.LaneAcquire(ctx, b.channel, epoch, "b", time.Minute)
	require.NoError(t, err)
	require.True(t, l.Acquired)
	require.Equal(t, "a", l.PrevOwner)
	l, err = b.st.LaneAcquire(ctx, b.channel, epoch-1, "c", time.Minute)
	require.NoError(t, err)
	require.True(t, l.Stale)
}

package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"herald/store"
)

func TestRecipientCountReachableSkipsSuppressed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupDelivery(t, 5)
	n, err := b.st.RecipientCountReachable(ctx, b.batch, b.channel)
	require.NoError(t, err)
	require.EqualValues(t, 5, n)
	require.NoError(t, b.st.SuppressionAdd(ctx, b.channel, 2, "blocked"))
	require.NoError(t, b.st.SuppressionAdd(ctx, b.channel, 99, "blocked")) // not in the batch
	n, err = b.st.RecipientCountReachable(ctx, b.batch, b.channel)
	require.NoError(t, err)
	require.EqualValues(t, 4, n)
	// The campaign start creates exactly as many deliveries as the wizard announced.
	res := b.start(t, b.create(t, "k"))
	require.EqualValues(t, n, res.Deliveries)
}

func TestCampaignListNewestFirstWithNames(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupDelivery(t, 1)
	first, second := b.create(t, "a"), b.create(t, "b")
	items, total, err := b.st.CampaignList(ctx, 0, 10)
	require.NoError(t, err)
	require.Equal(t, 2, total)
	require.Len(t, items, 2)
	require.Equal(t, second, items[0].ID)
	require.Equal(t, first, items[1].ID)
	require.Equal(t, "t", items[0].TemplateName)
	require.Equal(t, "b", items[0].BatchName)
	require.Equal(t, "c", items[0].ChannelName)
	require.Equal(t, store.CampaignScheduled, items[0].Status)

	item, err := b.st.CampaignItemGet(ctx, first)
	require.NoError(t, err)
	require.Equal(t, first, item.ID)
	_, err = b.st.CampaignItemGet(ctx, 999999)
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestAdminTimeZoneAndBatchNameTaken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tb := setup(t)
	_, err := tb.store.AdminPut(ctx, store.Admin{UserID: 5, Role: store.RoleAdmin})
	require.NoError(t, err)
	tz, err := tb.store.AdminTimeZone(ctx, 5)
	require.NoError(t, err)
	require.Empty(t, tz)
	require.NoError(t, tb.store.AdminSetTimeZone(ctx, 5, "Europe/Moscow"))
	tz, err = tb.store.AdminTimeZone(ctx, 5)
	require.NoError(t, err)
	require.Equal(t, "Europe/Moscow", tz)
	require.ErrorIs(t, tb.store.AdminSetTimeZone(ctx, 6, "UTC"), store.ErrNotFound)
	_, err = tb.store.AdminTimeZone(ctx, 6)
	require.ErrorIs(t, err, store.ErrNotFound)

	importCSV(t, tb.store, "Clients", "chat_id\n1\n")
	taken, err := tb.store.BatchNameTaken(ctx, "CLIENTS")
	require.NoError(t, err)
	require.True(t, taken)
	taken, err = tb.store.BatchNameTaken(ctx, "Others")
	require.NoError(t, err)
	require.False(t, taken)
}

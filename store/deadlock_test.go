package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"herald/store"
)

// Cancel runs while the lane settles and the fan-out inserts: no statement may fail
// with a deadlock (40P01). The settles carry a campaign's first outcome of several
// kinds, so their counter rows are inserted (a foreign-key check on the campaign)
// while they hold the "pending" counter that Cancel's own statement needs; with the
// campaign row locked FOR UPDATE by Cancel that was a lock cycle the bench hit.
func TestCancelRacesSettleAndFanoutWithoutDeadlock(t *testing.T) {
	t.Parallel()
	n := store.FirstFanoutChunk + 2000
	b := setupDelivery(t, n)
	ctx := context.Background()
	for i := range 6 {
		id := b.create(t, fmt.Sprintf("race-%d", i))
		b.start(t, id)
		claimed, err := b.st.DeliveryClaim(ctx, b.channel, []int64{id}, 40, time.Minute)
		require.NoError(t, err)
		outcomes := make([]store.DeliveryOutcome, len(claimed))
		for j, d := range claimed {
			o := store.DeliveryOutcome{CampaignID: id, ChatID: d.ChatID, Status: store.DeliveryPending}
			switch j % 4 {
			case 1:
				o.Status, o.Error = store.DeliveryFailed, "Bad Request: chat not found"
			case 2:
				o.Status, o.Error = store.DeliveryBlocked, "Forbidden: bot was blocked by the user"
			case 3:
				o.Status, o.Error = store.DeliveryUncertain, store.UncertainGateway
			}
			outcomes[j] = o
		}
		var g errgroup.Group
		g.Go(func() error {
			_, _, err := b.st.CampaignCancel(ctx, id, 1)
			return err
		})
		g.Go(func() error {
			time.Sleep(time.Duration(i%3) * time.Millisecond)
			_, err := b.st.DeliverySettle(ctx, b.channel, outcomes)
			return err
		})
		g.Go(func() error {
			time.Sleep(time.Duration(i%4) * time.Millisecond)
			_, err := b.st.CampaignFanout(ctx, id)
			return err
		})
		require.NoError(t, g.Wait(), "round %d", i)
		got, err := b.st.DeliveryCounts(ctx, id)
		require.NoError(t, err)
		exact, err := b.st.DeliveryCountsExact(ctx, id)
		require.NoError(t, err)
		require.Equal(t, exact, got, "round %d", i)
	}
}

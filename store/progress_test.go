package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"herald/store"
)

// The counters (campaign_counters, kept by triggers) equal a row-by-row count after
// every kind of change a campaign's deliveries go through.
func TestDeliveryCountersFollowEveryChange(t *testing.T) {
	t.Parallel()
	b := setupDelivery(t, 50)
	ctx := context.Background()
	id := b.create(t, "k")
	other := b.create(t, "k2") // a second campaign on the same recipients must not mix in
	check := func(step string, want store.DeliveryCounts) {
		t.Helper()
		got, err := b.st.DeliveryCounts(ctx, id)
		require.NoError(t, err)
		exact, err := b.st.DeliveryCountsExact(ctx, id)
		require.NoError(t, err)
		require.Equal(t, exact, got, step)
		require.Equal(t, want, got, step)
	}
	check("before start", store.DeliveryCounts{})
	b.start(t, id)
	b.start(t, other)
	check("started", store.DeliveryCounts{Pending: 50})

	claimed, err := b.st.DeliveryClaim(ctx, b.channel, []int64{id}, 20, time.Minute)
	require.NoError(t, err)
	require.Len(t, claimed, 20)
	check("claimed", store.DeliveryCounts{Pending: 30, Inflight: 20})

	var outcomes []store.DeliveryOutcome
	for i, d := range claimed[:10] {
		o := store.DeliveryOutcome{CampaignID: id, ChatID: d.ChatID, Status: store.DeliverySent, MessageID: int64(i + 1)}
		switch i % 5 {
		case 1:
			o = store.DeliveryOutcome{CampaignID: id, ChatID: d.ChatID, Status: store.DeliveryFailed, Error: "Bad Request: chat not found"}
		case 2:
			o = store.DeliveryOutcome{CampaignID: id, ChatID: d.ChatID, Status: store.DeliveryPending}
		case 3:
			o = store.DeliveryOutcome{CampaignID: id, ChatID: d.ChatID, Status: store.DeliveryUncertain, Error: "uncertain:gateway"}
		}
		outcomes = append(outcomes, o)
	}
	_, err = b.st.DeliverySettle(ctx, b.channel, outcomes)
	require.NoError(t, err)
	check("settled", store.DeliveryCounts{Pending: 32, Inflight: 10, Sent: 4, Failed: 2, Uncertain: 2})

	// Of the 10 still in flight, 6 had their request leave (marked) before the process
	// died: those become uncertain; the 4 only reserved go back to pending.
	var requested []store.DeliveryKey
	for _, d := range claimed[10:16] {
		requested = append(requested, store.DeliveryKey{CampaignID: id, ChatID: d.ChatID})
	}
	marked, err := b.st.DeliveryMarkRequested(ctx, requested, time.Minute)
	require.NoError(t, err)
	require.Len(t, marked, 6)
	_, err = b.st.Pool().Exec(ctx, `UPDATE deliveries SET lease_until = now() - interval '1 second' WHERE campaign_id = $1 AND status = 'inflight'`, id)
	require.NoError(t, err)
	_, err = b.st.DeliveriesExpireLeases(ctx, 100)
	require.NoError(t, err)
	check("expired", store.DeliveryCounts{Pending: 36, Sent: 4, Failed: 2, Uncertain: 8})
	reasons, err := b.st.UncertainReasons(ctx, id)
	require.NoError(t, err)
	require.Equal(t, map[string]int64{"uncertain:stopped": 6, "uncertain:gateway": 2}, reasons)

	_, n, err := b.st.CampaignResendUncertain(ctx, id, 1)
	require.NoError(t, err)
	require.EqualValues(t, 8, n)
	check("reopened", store.DeliveryCounts{Pending: 44, Sent: 4, Failed: 2})

	_, _, err = b.st.CampaignCancel(ctx, id, 1)
	require.NoError(t, err)
	check("cancelled", store.DeliveryCounts{Sent: 4, Failed: 2, Cancelled: 44})

	// A failed statement leaves no trace in the counters.
	err = b.st.InTx(ctx, func(tx *store.Store) error {
		_, _, err := tx.CampaignResendUncertain(ctx, id, 1)
		return err
	})
	require.Error(t, err)
	check("after a refused resend", store.DeliveryCounts{Sent: 4, Failed: 2, Cancelled: 44})

	_, err = b.st.Pool().Exec(ctx, `DELETE FROM deliveries WHERE campaign_id = $1 AND status = 'cancelled'`, id)
	require.NoError(t, err)
	check("deleted", store.DeliveryCounts{Sent: 4, Failed: 2})
	o, err := b.st.DeliveryCounts(ctx, other)
	require.NoError(t, err)
	require.Equal(t, store.DeliveryCounts{Pending: 50}, o)
}

// A lane acknowledges a pause only with a poll made after it; a lane without a live
// lease needs no acknowledgement.
func TestLaneAcknowledgesPolls(t *testing.T) {
	t.Parallel()
	b := setupDelivery(t, 1)
	ctx := context.Background()
	acked := func(since time.Time) bool {
		t.Helper()
		ok, err := b.st.LaneAcked(ctx, b.channel, since)
		require.NoError(t, err)
		return ok
	}
	before, err := b.st.Now(ctx)
	require.NoError(t, err)
	require.True(t, acked(before), "no lane row: nobody sends")

	epoch, err := b.st.LaneEnsure(ctx, b.channel)
	require.NoError(t, err)
	lease, err := b.st.LaneAcquire(ctx, b.channel, epoch, "p1", time.Minute)
	require.NoError(t, err)
	require.True(t, lease.Acquired)
	_, err = b.st.LanePoll(ctx, b.channel, epoch, "p1")
	require.NoError(t, err)

	since, err := b.st.Now(ctx)
	require.NoError(t, err)
	require.False(t, acked(since), "a live lane has not polled since")
	_, err = b.st.LanePoll(ctx, b.channel, epoch, "p1")
	require.NoError(t, err)
	require.False(t, acked(since), "the lane read after since, but has not yet acknowledged applying that read")
	_, err = b.st.LanePoll(ctx, b.channel, epoch, "p2")
	require.NoError(t, err)
	require.False(t, acked(since), "a poll of a lane that is not the owner acknowledges nothing")
	ids, err := b.st.LanePoll(ctx, b.channel, epoch, "p1")
	require.NoError(t, err)
	require.Empty(t, ids)
	require.True(t, acked(since))

	later, err := b.st.Now(ctx)
	require.NoError(t, err)
	require.False(t, acked(later))
	require.NoError(t, b.st.LaneRelease(ctx, b.channel, epoch, "p1"))
	require.True(t, acked(later), "a released lane sends nothing")
}

// A reporter's lease is exclusive; a dead reporter is adopted at a new epoch after
// grace, and a job of an old epoch then ends.
func TestReporterLeaseAndAdoption(t *testing.T) {
	t.Parallel()
	b := setupDelivery(t, 3)
	ctx := context.Background()
	id := b.create(t, "k")
	b.start(t, id)

	orphans, err := b.st.ReportersAdoptOrphans(ctx, time.Hour)
	require.NoError(t, err)
	require.Equal(t, []store.OrphanReporter{{CampaignID: id, Epoch: 1}}, orphans, "a campaign without a reporter gets one at once")
	l, err := b.st.ReporterAcquire(ctx, id, 0, "p1/1", time.Minute)
	require.NoError(t, err)
	require.True(t, l.Acquired)
	l, err = b.st.ReporterAcquire(ctx, id, 1, "p2/7", time.Minute)
	require.NoError(t, err)
	require.False(t, l.Acquired)
	require.Positive(t, l.Busy)
	orphans, err = b.st.ReportersAdoptOrphans(ctx, 0)
	require.NoError(t, err)
	require.Empty(t, orphans, "a live reporter is left alone")
	held, err := b.st.ReporterRenew(ctx, id, "p1/1", time.Minute)
	require.NoError(t, err)
	require.True(t, held)

	// p1 dies: its lease runs out.
	_, err = b.st.Pool().Exec(ctx, `UPDATE progress_reporters SET lease_until = now() - interval '2 seconds', updated_at = now() - interval '2 seconds'`)
	require.NoError(t, err)
	orphans, err = b.st.ReportersAdoptOrphans(ctx, time.Second)
	require.NoError(t, err)
	require.Equal(t, []store.OrphanReporter{{CampaignID: id, Epoch: 2}}, orphans)
	orphans, err = b.st.ReportersAdoptOrphans(ctx, time.Second)
	require.NoError(t, err)
	require.Empty(t, orphans, "adopted once per grace")
	l, err = b.st.ReporterAcquire(ctx, id, 1, "p2/7", time.Minute)
	require.NoError(t, err)
	require.True(t, l.Stale)
	l, err = b.st.ReporterAcquire(ctx, id, 2, "p2/8", time.Minute)
	require.NoError(t, err)
	require.True(t, l.Acquired)
	held, err = b.st.ReporterRenew(ctx, id, "p1/1", time.Minute)
	require.NoError(t, err)
	require.False(t, held, "the dead owner's renewal fails")
}

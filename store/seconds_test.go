package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"herald/store"
)

// The settle statement counts what it wrote by second of answer: outcomes, 429s with
// their wait, nothing for a delivery given back, nothing for an outcome it did not
// write (a second copy). The chart reads them back with the campaign's pauses.
func TestSettleCountsSecondsAndChartReadsThem(t *testing.T) {
	t.Parallel()
	b := setupDelivery(t, 6)
	ctx := context.Background()
	id := b.create(t, "k")
	b.start(t, id)
	claimed, err := b.st.DeliveryClaim(ctx, b.channel, []int64{id}, 6, time.Minute)
	require.NoError(t, err)
	require.Len(t, claimed, 6)
	keys := make([]store.DeliveryKey, len(claimed))
	for i, d := range claimed {
		keys[i] = store.DeliveryKey{CampaignID: id, ChatID: d.ChatID}
	}
	_, err = b.st.DeliveryMarkRequested(ctx, keys, time.Minute)
	require.NoError(t, err)

	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	out := func(chat int64, status string, at time.Time) store.DeliveryOutcome {
		o := store.DeliveryOutcome{CampaignID: id, ChatID: chat, Status: status, At: at, CountAttempt: true}
		if status == store.DeliverySent {
			o.MessageID = chat
		}
		return o
	}
	rateLimited := out(5, store.DeliveryPending, t0.Add(1500*time.Millisecond))
	rateLimited.RetryAfter, rateLimited.CountAttempt, rateLimited.NotBefore = 3*time.Second, false, t0.Add(5*time.Second)
	n, err := b.st.DeliverySettle(ctx, b.channel, []store.DeliveryOutcome{
		out(1, store.DeliverySent, t0.Add(100*time.Millisecond)),
		out(2, store.DeliverySent, t0.Add(900*time.Millisecond)),
		out(3, store.DeliveryBlocked, t0.Add(1100*time.Millisecond)),
		out(4, store.DeliveryUncertain, t0.Add(1200*time.Millisecond)),
		rateLimited,
		{CampaignID: id, ChatID: 6, Status: store.DeliveryPending, Release: true}, // given back: not counted
	})
	require.NoError(t, err)
	require.EqualValues(t, 5, n) // chat 6 was requested, so the release is not written
	// A stale copy of an outcome already written is not counted twice.
	_, err = b.st.DeliverySettle(ctx, b.channel, []store.DeliveryOutcome{out(1, store.DeliverySent, t0.Add(2*time.Second))})
	require.NoError(t, err)

	_, err = b.st.CampaignPause(ctx, id, 1, "")
	require.NoError(t, err)
	_, err = b.st.CampaignResume(ctx, id, 1)
	require.NoError(t, err)

	d, err := b.st.CampaignChartGet(ctx, id, 900)
	require.NoError(t, err)
	require.Equal(t, []store.SecondsBucket{
		{ChannelID: b.channel, Start: t0, Width: 1, Sent: 2},
		{ChannelID: b.channel, Start: t0.Add(time.Second), Width: 1, Blocked: 1, Uncertain: 1, RateLimited: 1, WaitMS: 3000},
	}, utc(d.Buckets))
	require.Len(t, d.Pauses, 1)
	require.False(t, d.Pauses[0].End.IsZero())
	require.Len(t, d.Channels, 1)
	require.EqualValues(t, 2, d.Counts.Sent)

	// Buckets widen so that a long campaign is still a few hundred points.
	_, err = b.pool.Exec(ctx, `INSERT INTO campaign_seconds (campaign_id, channel_id, second, sent)
		SELECT $1, $2, $3::timestamptz + make_interval(secs => g), 1 FROM generate_series(10, 3609) g`, id, b.channel, t0)
	require.NoError(t, err)
	d, err = b.st.CampaignChartGet(ctx, id, 900)
	require.NoError(t, err)
	require.LessOrEqual(t, len(d.Buckets), 901)
	require.Equal(t, 5, d.Buckets[0].Width)
	var sent int64
	for _, bk := range d.Buckets {
		sent += bk.Sent
	}
	require.EqualValues(t, 2+3600, sent)
}

func utc(bs []store.SecondsBucket) []store.SecondsBucket {
	for i := range bs {
		bs[i].Start = bs[i].Start.UTC()
	}
	return bs
}

package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// Per-second delivery counters (campaign_seconds, migration 00015): what the delivery
// chart of a campaign is drawn from. They are written by DeliverySettle, in the
// statement that settles the outcomes, from the rows it actually changed: no extra
// round trip per batch, and they agree with the deliveries table (a stale outcome the
// statement did not write is not counted either). Deliveries the lease sweep turns
// uncertain (DeliveriesExpireLeases) had no answer, so no second: they are not in the
// counters, and the chart takes its outcome shares from campaign_counters instead.

// secondsUpsert is DeliverySettle's last CTE: it groups the rows upd wrote by
// campaign and second. The rows are inserted in (campaign, second) order so two lanes
// settling at once (a slice and its successor) take the counter rows' locks in the
// same order and never deadlock.
const secondsUpsert = `
	INSERT INTO campaign_seconds AS s (campaign_id, channel_id, second, sent, blocked, failed, uncertain, rate_limited, wait_ms)
	SELECT campaign_id, $1::bigint, date_trunc('second', at),
	       count(*) FILTER (WHERE status = 'sent'), count(*) FILTER (WHERE status = 'blocked'),
	       count(*) FILTER (WHERE status = 'failed'), count(*) FILTER (WHERE status = 'uncertain'),
	       count(*) FILTER (WHERE wait_ms > 0), max(wait_ms)
	FROM upd
	WHERE status IN ('sent', 'blocked', 'failed', 'uncertain') OR wait_ms > 0
	GROUP BY campaign_id, date_trunc('second', at)
	ORDER BY campaign_id, date_trunc('second', at)
	ON CONFLICT (campaign_id, channel_id, second) DO UPDATE
	SET sent = s.sent + EXCLUDED.sent, blocked = s.blocked + EXCLUDED.blocked,
	    failed = s.failed + EXCLUDED.failed, uncertain = s.uncertain + EXCLUDED.uncertain,
	    rate_limited = s.rate_limited + EXCLUDED.rate_limited,
	    -- Concurrent 429s of one bot ask for about the same wait, which the lane sits
	    -- out once: the longest stands for them all.
	    wait_ms = greatest(s.wait_ms, EXCLUDED.wait_ms)
	RETURNING 1`

// settleTimes are DeliverySettle's per-outcome answer times (now for those without)
// and 429 waits in milliseconds.
func settleTimes(outcomes []DeliveryOutcome) ([]time.Time, []int32) {
	now := time.Now()
	at := make([]time.Time, len(outcomes))
	wait := make([]int32, len(outcomes))
	for i, o := range outcomes {
		at[i] = o.At
		if at[i].IsZero() {
			at[i] = now
		}
		if o.RetryAfter > 0 {
			wait[i] = int32(min(o.RetryAfter.Milliseconds(), 1<<31-1))
		}
	}
	return at, wait
}

// SecondsBucket is what one channel bot settled for a campaign in one bucket of
// Width seconds starting at Start (one second unless the campaign ran long).
type SecondsBucket struct {
	ChannelID   int64
	Start       time.Time
	Width       int // seconds
	Sent        int64
	Blocked     int64
	Failed      int64
	Uncertain   int64
	RateLimited int64 // 429 answers
	WaitMS      int64 // 429 waits begun in the bucket, each bucket's seconds' longest summed
}

// ChartChannel is a channel bot that sent for a campaign, with its configured rate.
type ChartChannel struct {
	ID            int64
	Name          string
	RatePerSecond int
}

// Interval is a span of time; End is zero while it lasts.
type Interval struct {
	Start, End time.Time
}

// CampaignChart is everything a campaign's delivery chart shows.
type CampaignChart struct {
	Campaign Campaign
	Counts   DeliveryCounts
	Channels []ChartChannel // the bots that settled anything, by id
	Buckets  []SecondsBucket
	Pauses   []Interval // paused by an admin or the engine, oldest first
}

// CampaignChartGet reads campaign id's chart data: its per-second counters summed
// into at most about maxBuckets buckets per channel bot (one query over the
// campaign's rows of campaign_seconds, however many recipients it had), its counts,
// its bots and its pauses. ErrNotFound when there is no such campaign.
func (s *Store) CampaignChartGet(ctx context.Context, id int64, maxBuckets int) (CampaignChart, error) {
	var out CampaignChart
	var err error
	if out.Campaign, err = s.CampaignGet(ctx, id); err != nil {
		return out, err
	}
	if out.Counts, err = s.DeliveryCounts(ctx, id); err != nil {
		return out, err
	}
	if out.Buckets, err = s.campaignBuckets(ctx, id, max(maxBuckets, 1)); err != nil {
		return out, err
	}
	if out.Channels, err = s.chartChannels(ctx, id); err != nil {
		return out, err
	}
	out.Pauses, err = s.campaignPauses(ctx, id)
	return out, err
}

func (s *Store) campaignBuckets(ctx context.Context, id int64, maxBuckets int) ([]SecondsBucket, error) {
	rows, err := s.db.Query(ctx, `
		WITH span AS (
			SELECT min(second) AS lo,
			       greatest(1, ceil(extract(epoch FROM max(second) - min(second)) / $2))::int AS w
			FROM campaign_seconds WHERE campaign_id = $1)
		SELECT cs.channel_id, date_bin(make_interval(secs => span.w), cs.second, span.lo) AS b, span.w,
		       sum(cs.sent)::bigint, sum(cs.blocked)::bigint, sum(cs.failed)::bigint, sum(cs.uncertain)::bigint,
		       sum(cs.rate_limited)::bigint, sum(cs.wait_ms)::bigint
		FROM campaign_seconds cs, span
		WHERE cs.campaign_id = $1
		GROUP BY cs.channel_id, b, span.w
		ORDER BY b, cs.channel_id`, id, maxBuckets)
	if err != nil {
		return nil, fmt.Errorf("seconds of campaign %d: %w", id, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[SecondsBucket])
	if err != nil {
		return nil, fmt.Errorf("seconds of campaign %d: %w", id, err)
	}
	return out, nil
}

func (s *Store) chartChannels(ctx context.Context, id int64) ([]ChartChannel, error) {
	// The campaign's own bot first, then any other that settled for it.
	rows, err := s.db.Query(ctx, `
		SELECT ch.id, ch.name, ch.rate_per_second FROM channels ch
		WHERE ch.id IN (SELECT channel_id FROM campaigns WHERE id = $1
		                UNION SELECT DISTINCT channel_id FROM campaign_seconds WHERE campaign_id = $1)
		ORDER BY ch.id`, id)
	if err != nil {
		return nil, fmt.Errorf("bots of campaign %d: %w", id, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[ChartChannel])
	if err != nil {
		return nil, fmt.Errorf("bots of campaign %d: %w", id, err)
	}
	return out, nil
}

// campaignPauses reads the campaign's pauses from the audit log: each pause lasts
// until the next resume or cancel (or is still on).
func (s *Store) campaignPauses(ctx context.Context, id int64) ([]Interval, error) {
	rows, err := s.db.Query(ctx, `
		SELECT action, at FROM audit_log
		WHERE target = $1 AND action IN ('campaign.pause', 'campaign.resume', 'campaign.cancel')
		ORDER BY at, id`, "campaign:"+strconv.FormatInt(id, 10))
	if err != nil {
		return nil, fmt.Errorf("pauses of campaign %d: %w", id, err)
	}
	var out []Interval
	var action string
	var at time.Time
	_, err = pgx.ForEachRow(rows, []any{&action, &at}, func() error {
		open := len(out) > 0 && out[len(out)-1].End.IsZero()
		switch {
		case action == "campaign.pause" && !open:
			out = append(out, Interval{Start: at})
		case action != "campaign.pause" && open:
			out[len(out)-1].End = at
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pauses of campaign %d: %w", id, err)
	}
	return out, nil
}

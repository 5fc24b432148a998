package store

import (
	"context"
	"fmt"
	"time"
)

// DeliveryCounts reads how many of campaign id's deliveries are in each status from
// campaign_counters, which triggers on deliveries keep in the same statement as every
// change (migration 00008): a few rows per campaign, however large it is, so the
// progress reporter can ask every second.
func (s *Store) DeliveryCounts(ctx context.Context, campaignID int64) (DeliveryCounts, error) {
	var c DeliveryCounts
	rows, err := s.db.Query(ctx, `SELECT status, sum(n)::bigint FROM campaign_counters WHERE campaign_id = $1 GROUP BY status`, campaignID)
	if err != nil {
		return c, fmt.Errorf("count deliveries of campaign %d: %w", campaignID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var status string
		var n int64
		if err := rows.Scan(&status, &n); err != nil {
			return c, fmt.Errorf("count deliveries of campaign %d: %w", campaignID, err)
		}
		switch status {
		case DeliveryPending:
			c.Pending = n
		case DeliveryInflight:
			c.Inflight = n
		case DeliverySent:
			c.Sent = n
		case DeliveryFailed:
			c.Failed = n
		case DeliveryBlocked:
			c.Blocked = n
		case DeliveryUncertain:
			c.Uncertain = n
		case DeliveryCancelled:
			c.Cancelled = n
		}
	}
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("count deliveries of campaign %d: %w", campaignID, err)
	}
	return c, nil
}

// DeliveryCountsExact counts campaign id's deliveries row by row: O(campaign), for
// tests that check the counters against the truth.
func (s *Store) DeliveryCountsExact(ctx context.Context, campaignID int64) (DeliveryCounts, error) {
	var c DeliveryCounts
	err := s.db.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE status = 'pending'),
		       count(*) FILTER (WHERE status = 'inflight'),
		       count(*) FILTER (WHERE status = 'sent'),
		       count(*) FILTER (WHERE status = 'failed'),
		       count(*) FILTER (WHERE status = 'blocked'),
		       count(*) FILTER (WHERE status = 'uncertain'),
		       count(*) FILTER (WHERE status = 'cancelled')
		FROM deliveries WHERE campaign_id = $1`, campaignID).
		Scan(&c.Pending, &c.Inflight, &c.Sent, &c.Failed, &c.Blocked, &c.Uncertain, &c.Cancelled)
	if err != nil {
		return c, fmt.Errorf("count deliveries of campaign %d: %w", campaignID, err)
	}
	return c, nil
}

// LanePoll is a lane's re-read of the running campaigns sending through its channel
// (oldest first; campaign_channels), and
// its acknowledgement of the previous one: in the same statement the lane row records
// this read's database time (polled_at) and moves the previous read's time to
// acked_at. The lane applied the previous read before it sent this statement, so
// acked_at >= t proves it starts no send for a campaign that stopped running before t
// (see LaneAcked). The acknowledgement is written only while owner holds the lane at
// epoch; the campaigns are returned either way.
func (s *Store) LanePoll(ctx context.Context, channelID, epoch int64, owner string) ([]int64, error) {
	rows, err := s.db.Query(ctx, `
		WITH ack AS (
			UPDATE lanes SET acked_at = polled_at, polled_at = now()
			WHERE channel_id = $1 AND epoch = $2 AND owner = $3)
		SELECT c.id FROM campaign_channels cc JOIN campaigns c ON c.id = cc.campaign_id
		WHERE cc.channel_id = $1 AND c.status = 'running' ORDER BY c.id`,
		channelID, epoch, owner)
	if err != nil {
		return nil, fmt.Errorf("running campaigns of channel %d: %w", channelID, err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("running campaigns of channel %d: %w", channelID, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("running campaigns of channel %d: %w", channelID, err)
	}
	return ids, nil
}

// Now is the database's clock: the time base of lane acknowledgements. Taken after a
// commit, it is later than the commit.
func (s *Store) Now(ctx context.Context) (time.Time, error) {
	var now time.Time
	if err := s.db.QueryRow(ctx, `SELECT now()`).Scan(&now); err != nil {
		return now, fmt.Errorf("database clock: %w", err)
	}
	return now, nil
}

// LaneAcked reports whether the channel's lane can no longer start a send for a
// campaign that stopped running before since: the lane acknowledged a poll made after
// since, or nobody holds its lease (a lane stops sending before its lease runs out),
// or the channel has no lane.
func (s *Store) LaneAcked(ctx context.Context, channelID int64, since time.Time) (bool, error) {
	var ok bool
	err := s.db.QueryRow(ctx, `
		SELECT coalesce((SELECT coalesce(lease_until <= now(), true) OR coalesce(acked_at >= $2, false)
		                 FROM lanes WHERE channel_id = $1), true)`,
		channelID, since).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("lane acknowledgement of channel %d: %w", channelID, err)
	}
	return ok, nil
}

// ReporterLease is the answer to ReporterAcquire.
type ReporterLease struct {
	Acquired bool          // the caller holds the reporter lease now
	Stale    bool          // the reporter moved to a newer epoch: the caller's job is obsolete
	Busy     time.Duration // how long another holder's lease still runs
}

// ReporterAcquire takes campaign id's progress-reporter lease for owner for ttl when it
// is free (expired, released) or owner's already. epoch 0 (a job enqueued by a start
// or a control) runs at whatever epoch the reporter is; any other epoch must be the
// current one.
func (s *Store) ReporterAcquire(ctx context.Context, campaignID, epoch int64, owner string, ttl time.Duration) (ReporterLease, error) {
	var l ReporterLease
	err := s.InTx(ctx, func(st *Store) error {
		if _, err := st.db.Exec(ctx, `INSERT INTO progress_reporters (campaign_id) VALUES ($1) ON CONFLICT DO NOTHING`, campaignID); err != nil {
			return err
		}
		row, err := reporterLeases.lockRow(ctx, st.db, campaignID)
		if err != nil {
			return err
		}
		if epoch != 0 && epoch != row.epoch {
			l.Stale = true
			return nil
		}
		if row.left > 0 && row.owner != owner {
			l.Busy = row.left
			return nil
		}
		err = reporterLeases.take(ctx, st.db, campaignID, owner, ttl)
		l.Acquired = err == nil
		return err
	})
	if err != nil {
		return l, fmt.Errorf("acquire progress reporter of campaign %d: %w", campaignID, err)
	}
	return l, nil
}

// ReporterRenew extends owner's reporter lease of the campaign by ttl from now; false
// when owner no longer holds it (another reporter took over after it ran out).
func (s *Store) ReporterRenew(ctx context.Context, campaignID int64, owner string, ttl time.Duration) (bool, error) {
	return reporterLeases.renew(ctx, s.db, campaignID, 0, owner, ttl)
}

// ReporterRelease ends owner's reporter lease now, so the reporter's next slice (in
// any process) starts at once.
func (s *Store) ReporterRelease(ctx context.Context, campaignID int64, owner string) error {
	return reporterLeases.release(ctx, s.db, campaignID, 0, owner)
}

// OrphanReporter is a campaign whose progress reporter needs a new job at Epoch.
type OrphanReporter struct {
	CampaignID int64
	Epoch      int64
}

// ReportersAdoptOrphans finds campaigns that need a progress reporter (running or
// paused, or finished without their final report) whose reporter has had no live
// lease for longer than grace — or never had a row — moves each to a new epoch and
// returns them, so the caller enqueues one job per campaign. As LanesAdoptOrphans does
// for lanes, this takes over the reporter of a dead process within seconds.
func (s *Store) ReportersAdoptOrphans(ctx context.Context, grace time.Duration) ([]OrphanReporter, error) {
	adopted, err := reporterLeases.adoptOrphans(ctx, s.db, `
		SELECT id FROM campaigns
		WHERE status IN ('running', 'paused')
		   OR (status IN ('completed', 'cancelled', 'failed') AND reported_at IS NULL)
		ORDER BY id LIMIT 1000`, grace)
	out := make([]OrphanReporter, len(adopted))
	for i, o := range adopted {
		out[i] = OrphanReporter{CampaignID: o.Key, Epoch: o.Epoch}
	}
	return out, err
}

// UncertainReasons counts campaign id's uncertain deliveries by their reason code
// (the error column: "uncertain:stopped", "uncertain:answer_lost",
// "uncertain:gateway", or an older free text). It reads the campaign's rows, so the
// reporter asks only when it writes a text that explains them.
func (s *Store) UncertainReasons(ctx context.Context, campaignID int64) (map[string]int64, error) {
	rows, err := s.db.Query(ctx, `
		SELECT coalesce(error, ''), count(*) FROM deliveries
		WHERE campaign_id = $1 AND status = 'uncertain' GROUP BY 1`, campaignID)
	if err != nil {
		return nil, fmt.Errorf("uncertain reasons of campaign %d: %w", campaignID, err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var reason string
		var n int64
		if err := rows.Scan(&reason, &n); err != nil {
			return nil, fmt.Errorf("uncertain reasons of campaign %d: %w", campaignID, err)
		}
		out[reason] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("uncertain reasons of campaign %d: %w", campaignID, err)
	}
	return out, nil
}

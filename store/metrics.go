package store

import (
	"context"
	"fmt"
)

// MetricsSnapshot is what /metrics reads from the database at each scrape.
type MetricsSnapshot struct {
	// CampaignsByStatus counts campaigns per status (every status present).
	CampaignsByStatus map[string]int64
	// LaneLag counts, per channel, the deliveries of running campaigns that are due
	// (pending, not_before passed) but not sent yet.
	LaneLag map[int64]int64
	// Jobs counts River jobs waiting or running, by kind and state.
	Jobs []JobDepth
}

// JobDepth is the number of River jobs of one kind in one state.
type JobDepth struct {
	Kind, State string
	Count       int64
}

// MetricsSnapshotGet reads the gauges of MetricsSnapshot in three short queries.
func (s *Store) MetricsSnapshotGet(ctx context.Context) (MetricsSnapshot, error) {
	snap := MetricsSnapshot{
		CampaignsByStatus: map[string]int64{},
		LaneLag:           map[int64]int64{},
	}
	for _, st := range []string{CampaignScheduled, CampaignRunning, CampaignPaused, CampaignCompleted, CampaignCancelled, CampaignFailed} {
		snap.CampaignsByStatus[st] = 0
	}
	rows, err := s.db.Query(ctx, `SELECT status, count(*) FROM campaigns GROUP BY status`)
	if err != nil {
		return snap, fmt.Errorf("count campaigns by status: %w", err)
	}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			rows.Close()
			return snap, fmt.Errorf("count campaigns by status: %w", err)
		}
		snap.CampaignsByStatus[st] = n
	}
	if err := rows.Err(); err != nil {
		return snap, fmt.Errorf("count campaigns by status: %w", err)
	}
	// The pending index (campaign_id, chat_id) WHERE status = 'pending' serves this
	// per running campaign.
	rows, err = s.db.Query(ctx, `
		SELECT c.channel_id, count(*)
		FROM campaigns c JOIN deliveries d ON d.campaign_id = c.id AND d.status = 'pending'
		WHERE c.status = 'running' AND (d.not_before IS NULL OR d.not_before <= now())
		GROUP BY c.channel_id`)
	if err != nil {
		return snap, fmt.Errorf("count due deliveries: %w", err)
	}
	for rows.Next() {
		var ch, n int64
		if err := rows.Scan(&ch, &n); err != nil {
			rows.Close()
			return snap, fmt.Errorf("count due deliveries: %w", err)
		}
		snap.LaneLag[ch] = n
	}
	if err := rows.Err(); err != nil {
		return snap, fmt.Errorf("count due deliveries: %w", err)
	}
	rows, err = s.db.Query(ctx, `
		SELECT kind, state::text, count(*) FROM river_job
		WHERE state IN ('available', 'scheduled', 'retryable', 'running')
		GROUP BY kind, state ORDER BY kind, state`)
	if err != nil {
		return snap, fmt.Errorf("count river jobs: %w", err)
	}
	for rows.Next() {
		var j JobDepth
		if err := rows.Scan(&j.Kind, &j.State, &j.Count); err != nil {
			rows.Close()
			return snap, fmt.Errorf("count river jobs: %w", err)
		}
		snap.Jobs = append(snap.Jobs, j)
	}
	if err := rows.Err(); err != nil {
		return snap, fmt.Errorf("count river jobs: %w", err)
	}
	return snap, nil
}

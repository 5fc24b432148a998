package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// LaneEnsure creates channelID's lane row if needed (on the Store's executor: the
// transaction that enqueues the lane job, when there is one) and
// returns its current epoch: the epoch a new lane job for the channel must carry.
func (s *Store) LaneEnsure(ctx context.Context, channelID int64) (int64, error) {
	var epoch int64
	err := s.db.QueryRow(ctx, `
		INSERT INTO lanes (channel_id) VALUES ($1)
		ON CONFLICT (channel_id) DO UPDATE SET channel_id = EXCLUDED.channel_id
		RETURNING epoch`, channelID).Scan(&epoch)
	if err != nil {
		return 0, fmt.Errorf("ensure lane of channel %d: %w", channelID, err)
	}
	return epoch, nil
}

// LaneLease is the answer to LaneAcquire.
type LaneLease struct {
	// Acquired: the caller now holds the lease until LeaseUntil (database clock; Held
	// says how long that is from the moment of the answer).
	Acquired bool
	Held     time.Duration
	// Stale: the lane's epoch moved on; the caller's job is obsolete and should end.
	Stale bool
	// PrevOwner is who held the lease before (may be the caller); Busy says how long
	// the current holder's lease still runs when not Acquired.
	PrevOwner string
	Busy      time.Duration
}

// LaneAcquire takes channelID's lane lease for owner for ttl if the lane is at epoch
// and the lease is free (expired, released) or already owner's.
func (s *Store) LaneAcquire(ctx context.Context, channelID, epoch int64, owner string, ttl time.Duration) (LaneLease, error) {
	var l LaneLease
	err := s.InTx(ctx, func(st *Store) error {
		row, err := laneLeases.lockRow(ctx, st.db, channelID)
		if isNoRows(err) || (err == nil && row.epoch != epoch) {
			l.Stale = true
			return nil
		}
		if err != nil {
			return err
		}
		if l.PrevOwner = row.owner; row.left > 0 && row.owner != owner {
			l.Busy = row.left
			return nil
		}
		err = laneLeases.take(ctx, st.db, channelID, owner, ttl)
		l.Acquired, l.Held = err == nil, ttl
		return err
	})
	if err != nil {
		return l, fmt.Errorf("acquire lane of channel %d: %w", channelID, err)
	}
	return l, nil
}

// LaneRenew extends owner's lease on channelID's lane by ttl from now. It returns false
// when owner no longer holds the lane at epoch: the caller must stop sending at once.
func (s *Store) LaneRenew(ctx context.Context, channelID, epoch int64, owner string, ttl time.Duration) (bool, error) {
	return laneLeases.renew(ctx, s.db, channelID, epoch, owner, ttl)
}

// LaneHandOver moves owner's lane from epoch to the next one, keeping owner's lease,
// and returns the new epoch (ok false: owner no longer holds the lane at epoch). The
// caller enqueues the lane job of the new epoch in the same transaction: its insert
// wakes River's fetcher at once, unlike a snoozed job, and this process, still the
// owner, takes the lease over without waiting for it to run out.
func (s *Store) LaneHandOver(ctx context.Context, channelID, epoch int64, owner string) (int64, bool, error) {
	var next int64
	err := s.db.QueryRow(ctx, `
		UPDATE lanes SET epoch = epoch + 1, updated_at = now()
		WHERE channel_id = $1 AND epoch = $2 AND owner = $3 AND lease_until > now()
		RETURNING epoch`, channelID, epoch, owner).Scan(&next)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("hand over lane of channel %d: %w", channelID, err)
	}
	return next, true, nil
}

// LaneRelease ends owner's lease on channelID's lane now, so the next lane job (in any
// process) may take it without waiting for the lease to run out.
func (s *Store) LaneRelease(ctx context.Context, channelID, epoch int64, owner string) error {
	return laneLeases.release(ctx, s.db, channelID, epoch, owner)
}

// OrphanLane is a channel whose lane needs a new job.
type OrphanLane struct {
	ChannelID int64
	Epoch     int64
}

// LanesAdoptOrphans finds channels with due pending deliveries of running campaigns
// whose lane has been idle (lease run out, row untouched) for longer than grace, moves
// each to a new epoch and returns them, so the caller enqueues a lane job per channel.
// This is how a lane whose process died is taken over within seconds: the dead
// process's River job may stay "running" until River's rescuer notices, but a job for
// the new epoch does not collide with it.
func (s *Store) LanesAdoptOrphans(ctx context.Context, grace time.Duration) ([]OrphanLane, error) {
	return orphanLanes(laneLeases.adoptOrphans(ctx, s.db, `
		SELECT DISTINCT cc.channel_id FROM campaigns c JOIN campaign_channels cc ON cc.campaign_id = c.id
		WHERE c.status = 'running'
		  AND EXISTS (SELECT 1 FROM deliveries d WHERE d.campaign_id = c.id AND d.channel_id = cc.channel_id
		              AND d.status = 'pending' AND (d.not_before IS NULL OR d.not_before <= now()))`, grace))
}

func orphanLanes(adopted []orphan, err error) ([]OrphanLane, error) {
	lanes := make([]OrphanLane, len(adopted))
	for i, o := range adopted {
		lanes[i] = OrphanLane{ChannelID: o.Key, Epoch: o.Epoch}
	}
	return lanes, err
}

// ChannelSetRetryAfter records a 429 pause of the channel bot until until, so a lane
// that moves to another process keeps honouring it.
func (s *Store) ChannelSetRetryAfter(ctx context.Context, channelID int64, until time.Time) error {
	if _, err := s.db.Exec(ctx, `
		UPDATE channels SET retry_after_until = greatest(coalesce(retry_after_until, $2), $2)
		WHERE id = $1`, channelID, until); err != nil {
		return fmt.Errorf("set retry_after of channel %d: %w", channelID, err)
	}
	return nil
}

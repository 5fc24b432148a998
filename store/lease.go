package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// leaseTable is a table of leases held the same way: one row per key with an epoch,
// an owner and lease_until. A job holds a key's lease while it works and renews it;
// a lease that ran out for longer than a grace is adopted (moved to the next epoch)
// so that a new job takes over from a process that died. The lanes (one per channel
// bot) and the progress reporters (one per campaign) are such tables.
type leaseTable struct {
	table, key string // SQL identifiers: constants, never input
	what       string // for errors: "lane of channel 7"
}

var (
	laneLeases     = leaseTable{table: "lanes", key: "channel_id", what: "lane of channel"}
	reporterLeases = leaseTable{table: "progress_reporters", key: "campaign_id", what: "progress reporter of campaign"}
)

// leaseRow is a lease as lockRow read it.
type leaseRow struct {
	epoch int64
	owner string
	left  time.Duration // how long the holder's lease still runs (0: free)
}

// lockRow reads key's lease and locks its row until tx ends; pgx.ErrNoRows when the
// key has none.
func (lt leaseTable) lockRow(ctx context.Context, tx DBTX, key int64) (leaseRow, error) {
	var r leaseRow
	var left float64
	err := tx.QueryRow(ctx, `
		SELECT epoch, owner, greatest(extract(epoch FROM lease_until - now()), 0)::float8
		FROM `+lt.table+` WHERE `+lt.key+` = $1 FOR UPDATE`, key).Scan(&r.epoch, &r.owner, &left)
	r.left = time.Duration(left * float64(time.Second))
	return r, err
}

// take gives key's lease to owner for ttl from now; the caller holds the row's lock.
func (lt leaseTable) take(ctx context.Context, tx DBTX, key int64, owner string, ttl time.Duration) error {
	_, err := tx.Exec(ctx, `
		UPDATE `+lt.table+` SET owner = $2, lease_until = now() + make_interval(secs => $3), updated_at = now()
		WHERE `+lt.key+` = $1`, key, owner, ttl.Seconds())
	return err
}

// renew extends owner's lease on key by ttl from now, at epoch (0: at any epoch);
// false when owner does not hold it.
func (lt leaseTable) renew(ctx context.Context, db DBTX, key, epoch int64, owner string, ttl time.Duration) (bool, error) {
	tag, err := db.Exec(ctx, `
		UPDATE `+lt.table+` SET lease_until = now() + make_interval(secs => $4), updated_at = now()
		WHERE `+lt.key+` = $1 AND ($2 = 0 OR epoch = $2) AND owner = $3`, key, epoch, owner, ttl.Seconds())
	if err != nil {
		return false, fmt.Errorf("renew %s %d: %w", lt.what, key, err)
	}
	return tag.RowsAffected() == 1, nil
}

// release ends owner's lease on key now (at epoch; 0: at any epoch), so the next job
// (in any process) takes it without waiting for it to run out.
func (lt leaseTable) release(ctx context.Context, db DBTX, key, epoch int64, owner string) error {
	if _, err := db.Exec(ctx, `
		UPDATE `+lt.table+` SET lease_until = least(lease_until, now()), updated_at = now()
		WHERE `+lt.key+` = $1 AND ($2 = 0 OR epoch = $2) AND owner = $3`, key, epoch, owner); err != nil {
		return fmt.Errorf("release %s %d: %w", lt.what, key, err)
	}
	return nil
}

// orphan is a key adopted by adoptOrphans and its new epoch.
type orphan struct {
	Key   int64
	Epoch int64
}

// adoptOrphans moves to the next epoch every key that need (a SELECT of keys, the
// only column) names and whose lease has been idle (run out, row untouched) for longer
// than grace, creating the rows of keys that have none, and returns them: the caller
// enqueues one job per key.
func (lt leaseTable) adoptOrphans(ctx context.Context, db DBTX, need string, grace time.Duration) ([]orphan, error) {
	rows, err := db.Query(ctx, `
		WITH need AS (`+need+`)
		INSERT INTO `+lt.table+` (`+lt.key+`) SELECT * FROM need
		ON CONFLICT (`+lt.key+`) DO UPDATE SET epoch = `+lt.table+`.epoch + 1, updated_at = now()
		WHERE `+lt.table+`.lease_until < now() - make_interval(secs => $1)
		  AND `+lt.table+`.updated_at < now() - make_interval(secs => $1)
		RETURNING `+lt.key+`, epoch`, grace.Seconds())
	if err != nil {
		return nil, fmt.Errorf("adopt orphan leases of %s: %w", lt.table, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[orphan])
	if err != nil {
		return nil, fmt.Errorf("adopt orphan leases of %s: %w", lt.table, err)
	}
	return out, nil
}

// isNoRows reports a missing row.
func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

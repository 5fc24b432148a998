package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Delivery statuses. pending and inflight are open; the others are terminal.
const (
	DeliveryPending   = "pending"
	DeliveryInflight  = "inflight"
	DeliverySent      = "sent"
	DeliveryFailed    = "failed"
	DeliveryBlocked   = "blocked"
	DeliveryUncertain = "uncertain"
	DeliveryCancelled = "cancelled"
)

// DeliveryCounts counts a campaign's deliveries by status.
type DeliveryCounts struct {
	Pending, Inflight, Sent, Failed, Blocked, Uncertain, Cancelled int64
}

// Total is the number of deliveries.
func (c DeliveryCounts) Total() int64 {
	return c.Pending + c.Inflight + c.Sent + c.Failed + c.Blocked + c.Uncertain + c.Cancelled
}

// Open is the number of deliveries without an outcome yet.
func (c DeliveryCounts) Open() int64 { return c.Pending + c.Inflight }

// ClaimedDelivery is a delivery a lane marked in flight, with the recipient's variables.
type ClaimedDelivery struct {
	CampaignID int64
	ChatID     int64
	Attempts   int16
	Vars       []byte // the recipient's variables, a JSON object
}

// DeliveryClaim marks up to perCampaign due pending deliveries of each of the given
// running campaigns as in flight until now+lease, and returns them. Taking the same
// number from every campaign is what shares a lane fairly between the campaigns of one
// bot. SKIP LOCKED keeps concurrent claimers (a lane being taken over) from waiting on
// each other; the status check on the campaign means a paused or cancelled campaign is
// never claimed from.
func (s *Store) DeliveryClaim(ctx context.Context, campaignIDs []int64, perCampaign int, lease time.Duration) ([]ClaimedDelivery, error) {
	rows, err := s.db.Query(ctx, `
		WITH picked AS (
			SELECT d.campaign_id, d.chat_id
			FROM unnest($1::bigint[]) AS c(id)
			CROSS JOIN LATERAL (
				SELECT campaign_id, chat_id FROM deliveries
				WHERE campaign_id = c.id AND status = 'pending'
				  AND (not_before IS NULL OR not_before <= now())
				ORDER BY chat_id
				LIMIT $2
				FOR UPDATE SKIP LOCKED) d)
		UPDATE deliveries d
		SET status = 'inflight', lease_until = now() + make_interval(secs => $3), updated_at = now()
		FROM picked p, campaigns c, recipients r
		WHERE d.campaign_id = p.campaign_id AND d.chat_id = p.chat_id
		  AND c.id = d.campaign_id AND c.status = 'running'
		  AND r.batch_id = c.batch_id AND r.chat_id = d.chat_id
		RETURNING d.campaign_id, d.chat_id, d.attempts, r.vars`,
		campaignIDs, perCampaign, lease.Seconds())
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	claimed, err := pgx.CollectRows(rows, pgx.RowToStructByPos[ClaimedDelivery])
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return claimed, nil
}

// DeliveryOutcome is the result of one in-flight delivery.
type DeliveryOutcome struct {
	CampaignID int64
	ChatID     int64
	// Status is sent, failed, blocked or uncertain; or pending to put the delivery back
	// (a retry after NotBefore, or a claimed delivery that was not sent). A delivery put
	// back while its campaign is cancelled becomes cancelled instead.
	Status    string
	MessageID int64  // for sent
	Error     string // the reason, for anything but sent
	// CountAttempt adds one to the delivery's attempts (a request was made and answered
	// in a way that counts, unlike a 429 or a claim that was given back).
	CountAttempt bool
	NotBefore    time.Time // for pending: not claimed again before this
	// Suppress, when set ("blocked" or "deactivated"), adds the recipient to the
	// channel's suppression list.
	Suppress string
}

// DeliverySettle writes a batch of outcomes of channelID's lane in one statement and
// adds suppressed recipients to the channel's list. Only deliveries still in flight
// are written: one whose lease ran out has become uncertain and stays so. It returns
// the number of deliveries written.
func (s *Store) DeliverySettle(ctx context.Context, channelID int64, outcomes []DeliveryOutcome) (int64, error) {
	n := len(outcomes)
	campaigns := make([]int64, n)
	chats := make([]int64, n)
	statuses := make([]string, n)
	messageIDs := make([]int64, n)
	reasons := make([]string, n)
	incs := make([]int32, n)
	notBefore := make([]time.Time, n)
	suppress := make([]string, n)
	for i, o := range outcomes {
		campaigns[i], chats[i], statuses[i] = o.CampaignID, o.ChatID, o.Status
		messageIDs[i], reasons[i], suppress[i] = o.MessageID, o.Error, o.Suppress
		if o.CountAttempt {
			incs[i] = 1
		}
		notBefore[i] = o.NotBefore
	}
	var written int64
	// QueryExecModeExec plans the statement with this batch's arrays every time: a
	// cached generic plan does not know how many outcomes there are and, once the
	// table's statistics say few deliveries are in flight, went for a scan of the
	// deliveries table per batch, which stalled paced lanes after their first slice.
	err := s.db.QueryRow(ctx, `
		WITH o AS (
			SELECT * FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::bigint[], $6::text[],
			                     $7::int[], $8::timestamptz[], $9::text[])
			    AS o(campaign_id, chat_id, status, message_id, error, inc, not_before, suppress)),
		upd AS (
			UPDATE deliveries d
			SET status = CASE WHEN o.status = 'pending' AND c.status = 'cancelled' THEN 'cancelled' ELSE o.status END,
			    message_id = NULLIF(o.message_id, 0),
			    error = NULLIF(o.error, ''),
			    attempts = d.attempts + o.inc,
			    not_before = CASE WHEN o.status = 'pending' AND o.not_before > now() THEN o.not_before END,
			    lease_until = NULL,
			    updated_at = now()
			FROM o JOIN campaigns c ON c.id = o.campaign_id
			-- "lease_until IS NOT NULL" means in flight (a CHECK ties the two). Written
			-- as status = 'inflight', it let the planner pick the partial index
			-- deliveries_inflight_idx (campaign_id only) and filter every in-flight
			-- entry of the campaign, dead ones included, for each outcome: most of
			-- PostgreSQL's CPU at high rates (BENCHMARKS.md). This way it is one primary
			-- key lookup per outcome.
			WHERE d.campaign_id = o.campaign_id AND d.chat_id = o.chat_id AND d.lease_until IS NOT NULL
			RETURNING d.chat_id, o.suppress),
		sup AS (
			INSERT INTO suppressions (channel_id, chat_id, reason)
			SELECT DISTINCT ON (chat_id) $1::bigint, chat_id, suppress FROM upd WHERE suppress <> ''
			ON CONFLICT DO NOTHING
			RETURNING 1)
		SELECT count(*) FROM upd`, pgx.QueryExecModeExec,
		channelID, campaigns, chats, statuses, messageIDs, reasons, incs, notBefore, suppress).Scan(&written)
	if err != nil {
		return 0, fmt.Errorf("settle %d deliveries: %w", n, err)
	}
	return written, nil
}

// DeliveriesExpireLeases turns up to limit in-flight deliveries whose lease ran out into
// uncertain ones (their request may or may not have reached Telegram; they are never
// resent on their own) and returns the affected campaigns with how many each got.
func (s *Store) DeliveriesExpireLeases(ctx context.Context, limit int) (map[int64]int64, error) {
	rows, err := s.db.Query(ctx, `
		UPDATE deliveries d
		SET status = 'uncertain', lease_until = NULL, updated_at = now(),
		    error = 'uncertain:stopped' -- queue.UncertainStopped: the sending process stopped
		WHERE (d.campaign_id, d.chat_id) IN (
			SELECT campaign_id, chat_id FROM deliveries
			WHERE status = 'inflight' AND lease_until < now()
			ORDER BY lease_until
			LIMIT $1
			FOR UPDATE SKIP LOCKED)
		RETURNING d.campaign_id`, limit)
	if err != nil {
		return nil, fmt.Errorf("expire delivery leases: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("expire delivery leases: %w", err)
	}
	out := map[int64]int64{}
	for _, id := range ids {
		out[id]++
	}
	return out, nil
}

// DeliveryNextDue returns the earliest not_before of the given campaigns' pending
// deliveries that are waiting for a retry, and whether any pending delivery exists.
// A lane that claimed nothing uses it to decide between sleeping and ending.
func (s *Store) DeliveryNextDue(ctx context.Context, campaignIDs []int64) (next time.Time, anyPending bool, err error) {
	var at *time.Time
	err = s.db.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM deliveries WHERE campaign_id = ANY($1) AND status = 'pending'),
		       (SELECT min(not_before) FROM deliveries WHERE campaign_id = ANY($1) AND status = 'pending')`,
		campaignIDs).Scan(&anyPending, &at)
	if err != nil {
		return next, false, fmt.Errorf("next due delivery: %w", err)
	}
	if at != nil {
		next = *at
	}
	return next, anyPending, nil
}

// UnsentDelivery is a recipient that did not get the message, with the reason.
type UnsentDelivery struct {
	ChatID int64
	Status string
	Error  string
}

// DeliveriesUnsentEach calls fn for every delivery of the campaign that was not sent,
// ordered by chat id, without holding them all in memory.
func (s *Store) DeliveriesUnsentEach(ctx context.Context, campaignID int64, fn func(UnsentDelivery) error) error {
	rows, err := s.db.Query(ctx, `
		SELECT chat_id, status, coalesce(error, '') FROM deliveries
		WHERE campaign_id = $1 AND status <> 'sent'
		ORDER BY chat_id`, campaignID)
	if err != nil {
		return fmt.Errorf("unsent deliveries of campaign %d: %w", campaignID, err)
	}
	defer rows.Close()
	var d UnsentDelivery
	_, err = pgx.ForEachRow(rows, []any{&d.ChatID, &d.Status, &d.Error}, func() error { return fn(d) })
	if err != nil {
		return fmt.Errorf("unsent deliveries of campaign %d: %w", campaignID, err)
	}
	return nil
}

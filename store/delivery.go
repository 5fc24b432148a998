package store

import (
	"context"
	"encoding/json"
	"errors"
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

// Causes of an uncertain delivery, stored as its error (the texts shown to admins are
// chosen from these codes).
const (
	// UncertainStopped: the request had left when the process stopped (crash, kill,
	// lost lease); no outcome was recorded before the delivery's lease ran out.
	UncertainStopped = "uncertain:stopped"
	// UncertainAnswerLost: the request left and its answer never came (timeout,
	// connection lost after the request was written).
	UncertainAnswerLost = "uncertain:answer_lost"
	// UncertainGateway: a gateway between Herald and Telegram answered 502 or 504;
	// Telegram may have acted on the request before the gateway gave up.
	UncertainGateway = "uncertain:gateway"
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

// DeliveryKey names one delivery.
type DeliveryKey struct {
	CampaignID int64
	ChatID     int64
}

// ClaimedDelivery is a delivery a lane reserved (in flight, its request not yet
// marked as leaving), with the recipient's variables.
type ClaimedDelivery struct {
	CampaignID int64
	ChatID     int64
	Attempts   int16
	Vars       []byte // the recipient's variables, a JSON object
}

// DeliveryClaim reserves up to perCampaign due pending deliveries routed to channelID
// of each of the given running campaigns (in flight until now+lease, not yet
// requested) and returns them with their variables: the batch's columns over the
// subscriber's profile (store.SubscriberVars) when the bot knows the recipient.
// A reserved delivery whose lease runs out goes back to pending: only
// DeliveryMarkRequested makes it one that may have reached Telegram. Taking the same
// number from every campaign is what shares a lane fairly between the campaigns of one
// bot. SKIP LOCKED keeps concurrent claimers (a lane being taken over) from waiting on
// each other; the status check on the campaign means a paused or cancelled campaign is
// never claimed from.
func (s *Store) DeliveryClaim(ctx context.Context, channelID int64, campaignIDs []int64, perCampaign int, lease time.Duration) ([]ClaimedDelivery, error) {
	rows, err := s.db.Query(ctx, `
		WITH picked AS (
			SELECT d.campaign_id, d.chat_id
			FROM unnest($1::bigint[]) AS c(id)
			CROSS JOIN LATERAL (
				SELECT campaign_id, chat_id FROM deliveries
				WHERE campaign_id = c.id AND channel_id = $4 AND status = 'pending'
				  AND (not_before IS NULL OR not_before <= now())
				ORDER BY chat_id
				LIMIT $2
				FOR UPDATE SKIP LOCKED) d),
		src AS (
			SELECT p.campaign_id, p.chat_id,
			       coalesce((SELECT `+subscriberVarsSQL+` FROM subscribers x WHERE x.channel_id = $4 AND x.chat_id = p.chat_id), '{}')
			       || coalesce(r.vars, '{}') AS vars
			FROM picked p
			JOIN campaigns c ON c.id = p.campaign_id AND c.status = 'running'
			LEFT JOIN recipients r ON r.batch_id = c.batch_id AND r.chat_id = p.chat_id)
		UPDATE deliveries d
		SET status = 'inflight', lease_until = now() + make_interval(secs => $3), requested_at = NULL, updated_at = now()
		FROM src
		WHERE d.campaign_id = src.campaign_id AND d.chat_id = src.chat_id
		RETURNING d.campaign_id, d.chat_id, d.attempts, src.vars`,
		campaignIDs, perCampaign, lease.Seconds(), channelID)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	claimed, err := pgx.CollectRows(rows, pgx.RowToStructByPos[ClaimedDelivery])
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return claimed, nil
}

// DeliveryMarkRequested marks reserved deliveries as requested (their requests leave
// now) with a fresh lease, and returns the ones it marked: those still reserved by a
// claim, not yet requested, of a running campaign. Only a delivery marked here may be
// sent; the mark is what makes one request per delivery certain even if a reservation
// expired and was claimed again meanwhile.
func (s *Store) DeliveryMarkRequested(ctx context.Context, keys []DeliveryKey, lease time.Duration) ([]DeliveryKey, error) {
	campaigns := make([]int64, len(keys))
	chats := make([]int64, len(keys))
	for i, k := range keys {
		campaigns[i], chats[i] = k.CampaignID, k.ChatID
	}
	rows, err := s.db.Query(ctx, `
		UPDATE deliveries d
		SET requested_at = now(), lease_until = now() + make_interval(secs => $3)
		FROM unnest($1::bigint[], $2::bigint[]) AS k(campaign_id, chat_id), campaigns c
		WHERE d.campaign_id = k.campaign_id AND d.chat_id = k.chat_id
		  AND d.lease_until IS NOT NULL AND d.requested_at IS NULL
		  AND c.id = d.campaign_id AND c.status = 'running'
		RETURNING d.campaign_id, d.chat_id`, pgx.QueryExecModeExec, campaigns, chats, lease.Seconds())
	if err != nil {
		return nil, fmt.Errorf("mark %d deliveries requested: %w", len(keys), err)
	}
	marked, err := pgx.CollectRows(rows, pgx.RowToStructByPos[DeliveryKey])
	if err != nil {
		return nil, fmt.Errorf("mark %d deliveries requested: %w", len(keys), err)
	}
	return marked, nil
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
	// Release gives back a reserved delivery whose request never left: it is written
	// only while the delivery is not marked requested (a stale copy of a reservation
	// must not undo another's request).
	Release bool
	// At is when the answer arrived (zero: when it is written); RetryAfter is the
	// wait a 429 answer asked for. Both feed campaign_seconds (store/seconds.go).
	At         time.Time
	RetryAfter time.Duration
}

// DeliverySettle writes a batch of outcomes of channelID's lane in one statement and
// adds suppressed recipients to the channel's list. Only deliveries still in flight
// are written: one whose lease ran out has become uncertain and stays so. The same
// statement adds what it wrote to the per-second counters (campaign_seconds). It
// returns the number of deliveries written.
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
	release := make([]bool, n)
	at, waitMS := settleTimes(outcomes)
	for i, o := range outcomes {
		release[i] = o.Release
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
			                     $7::int[], $8::timestamptz[], $9::text[], $10::bool[], $11::timestamptz[], $12::int[])
			    AS o(campaign_id, chat_id, status, message_id, error, inc, not_before, suppress, release, at, wait_ms)),
		upd AS (
			UPDATE deliveries d
			SET status = CASE WHEN o.status = 'pending' AND c.status = 'cancelled' THEN 'cancelled' ELSE o.status END,
			    message_id = NULLIF(o.message_id, 0),
			    error = NULLIF(o.error, ''),
			    attempts = d.attempts + o.inc,
			    not_before = CASE WHEN o.status = 'pending' AND o.not_before > now() THEN o.not_before END,
			    lease_until = NULL,
			    requested_at = CASE WHEN o.status = 'pending' THEN NULL ELSE d.requested_at END,
			    updated_at = now()
			FROM o JOIN campaigns c ON c.id = o.campaign_id
			-- "lease_until IS NOT NULL" means in flight (a CHECK ties the two). Written
			-- as status = 'inflight', it let the planner pick the partial index
			-- deliveries_inflight_idx (campaign_id only) and filter every in-flight
			-- entry of the campaign, dead ones included, for each outcome: most of
			-- PostgreSQL's CPU at high rates (BENCHMARKS.md). This way it is one primary
			-- key lookup per outcome.
			WHERE d.campaign_id = o.campaign_id AND d.chat_id = o.chat_id AND d.lease_until IS NOT NULL
			  AND (NOT o.release OR d.requested_at IS NULL)
			RETURNING d.campaign_id, d.chat_id, d.status, o.suppress, o.at, o.wait_ms),
		sup AS (
			INSERT INTO suppressions (channel_id, chat_id, reason)
			SELECT DISTINCT ON (chat_id) $1::bigint, chat_id, suppress FROM upd WHERE suppress <> ''
			ON CONFLICT DO NOTHING
			RETURNING 1),
		secs AS (`+secondsUpsert+`)
		SELECT count(*) FROM upd`, pgx.QueryExecModeExec,
		channelID, campaigns, chats, statuses, messageIDs, reasons, incs, notBefore, suppress, release, at, waitMS).Scan(&written)
	if err != nil {
		return 0, fmt.Errorf("settle %d deliveries: %w", n, err)
	}
	return written, nil
}

// ExpiredLeases is what DeliveriesExpireLeases did.
type ExpiredLeases struct {
	// Uncertain counts, per campaign, the requested deliveries that became uncertain.
	Uncertain map[int64]int64
	// Released is how many reserved deliveries, never requested, went back to pending
	// (cancelled when their campaign was).
	Released int64
}

// Swept is the number of deliveries handled.
func (x ExpiredLeases) Swept() int64 {
	n := x.Released
	for _, k := range x.Uncertain {
		n += k
	}
	return n
}

// DeliveriesExpireLeases ends up to limit in-flight leases that ran out. A delivery
// whose request was marked as leaving becomes uncertain (UncertainStopped: it may or
// may not have reached Telegram; never resent on its own); one only reserved goes back
// to pending, to be sent by whoever continues the lane.
func (s *Store) DeliveriesExpireLeases(ctx context.Context, limit int) (ExpiredLeases, error) {
	out := ExpiredLeases{Uncertain: map[int64]int64{}}
	rows, err := s.db.Query(ctx, `
		WITH due AS (
			SELECT campaign_id, chat_id FROM deliveries
			WHERE status = 'inflight' AND lease_until < now()
			ORDER BY lease_until
			LIMIT $1
			FOR UPDATE SKIP LOCKED)
		UPDATE deliveries d
		SET status = CASE WHEN d.requested_at IS NOT NULL THEN 'uncertain'
		                  WHEN c.status = 'cancelled' THEN 'cancelled' ELSE 'pending' END,
		    error = CASE WHEN d.requested_at IS NOT NULL THEN $2 ELSE d.error END,
		    lease_until = NULL, updated_at = now()
		FROM due, campaigns c
		WHERE d.campaign_id = due.campaign_id AND d.chat_id = due.chat_id AND c.id = d.campaign_id
		RETURNING d.campaign_id, d.status = 'uncertain'`, limit, UncertainStopped)
	if err != nil {
		return out, fmt.Errorf("expire delivery leases: %w", err)
	}
	var id int64
	var uncertain bool
	_, err = pgx.ForEachRow(rows, []any{&id, &uncertain}, func() error {
		if uncertain {
			out.Uncertain[id]++
		} else {
			out.Released++
		}
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("expire delivery leases: %w", err)
	}
	return out, nil
}

// DeliveryNextDue returns the earliest not_before of the given campaigns' pending
// deliveries routed to channelID that are waiting for a retry, and whether any such
// pending delivery exists. A lane that claimed nothing uses it to decide between
// sleeping and ending.
func (s *Store) DeliveryNextDue(ctx context.Context, channelID int64, campaignIDs []int64) (next time.Time, anyPending bool, err error) {
	var at *time.Time
	err = s.db.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM deliveries WHERE campaign_id = ANY($1) AND channel_id = $2 AND status = 'pending'),
		       (SELECT min(not_before) FROM deliveries WHERE campaign_id = ANY($1) AND channel_id = $2 AND status = 'pending')`,
		campaignIDs, channelID).Scan(&anyPending, &at)
	if err != nil {
		return next, false, fmt.Errorf("next due delivery: %w", err)
	}
	if at != nil {
		next = *at
	}
	return next, anyPending, nil
}

// UnsentDelivery is a recipient that did not get the message, with the reason and
// the recipient's own columns from the campaign's batch (nil when the batch is gone).
type UnsentDelivery struct {
	ChatID int64
	Status string
	Error  string
	Vars   map[string]string
	Sender // the bot and the profile it knows
}

// DeliveriesUnsentEach calls fn for every delivery of the campaign that was not sent,
// ordered by chat id, without holding them all in memory.
func (s *Store) DeliveriesUnsentEach(ctx context.Context, campaignID int64, fn func(UnsentDelivery) error) error {
	rows, err := s.db.Query(ctx, `
		SELECT d.chat_id, d.status, coalesce(d.error, ''), coalesce(r.vars, '{}'), `+senderColumns+`
		FROM deliveries d
		JOIN campaigns c ON c.id = d.campaign_id
		LEFT JOIN recipients r ON r.batch_id = c.batch_id AND r.chat_id = d.chat_id`+senderJoins+`
		WHERE d.campaign_id = $1 AND d.status <> 'sent'
		ORDER BY d.chat_id`, campaignID)
	if err != nil {
		return fmt.Errorf("unsent deliveries of campaign %d: %w", campaignID, err)
	}
	defer rows.Close()
	var d UnsentDelivery
	var vars []byte
	_, err = pgx.ForEachRow(rows, []any{&d.ChatID, &d.Status, &d.Error, &vars,
		&d.Bot, &d.Profile[0], &d.Profile[1], &d.Profile[2], &d.Profile[3]}, func() error {
		d.Vars = nil
		if err := json.Unmarshal(vars, &d.Vars); err != nil {
			return fmt.Errorf("recipient %d vars: %w", d.ChatID, err)
		}
		return fn(d)
	})
	if err != nil {
		return fmt.Errorf("unsent deliveries of campaign %d: %w", campaignID, err)
	}
	return nil
}

// CampaignBatchColumns are the columns of campaign id's batch, in the file's order
// (none when the batch was deleted).
func (s *Store) CampaignBatchColumns(ctx context.Context, id int64) ([]string, error) {
	var cols []string
	err := s.db.QueryRow(ctx, `
		SELECT coalesce(b.columns, '{}') FROM campaigns c LEFT JOIN batches b ON b.id = c.batch_id
		WHERE c.id = $1`, id).Scan(&cols)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("batch columns of campaign %d: %w", id, err)
	}
	return cols, nil
}

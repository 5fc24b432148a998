package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Kinds of campaign operation (acting on what a campaign already sent).
const (
	OperationEdit   = "edit"
	OperationDelete = "delete"
	OperationPin    = "pin"
	OperationUnpin  = "unpin"
)

// Operation and item statuses.
const (
	OperationRunning = "running"
	OperationDone    = "done"

	ItemPending   = "pending"
	ItemInflight  = "inflight"
	ItemDone      = "done"
	ItemRefused   = "refused"
	ItemFailed    = "failed"
	ItemUncertain = "uncertain"
)

// Reasons of a refused item, stored as its error (the texts shown to admins are
// chosen from these codes; anything else is Telegram's own description).
const (
	RefusedTooOld   = "too_old"   // deleteMessage: sent more than 48 hours ago
	RefusedGone     = "gone"      // the message no longer exists (the user deleted the chat or it)
	RefusedBlocked  = "blocked"   // the user blocked the bot or left
	RefusedNoRights = "no_rights" // a group or channel where the bot may not do it
	RefusedTooLong  = "too_long"  // the new text, with this recipient's values, is over the limit
)

// DeleteWindow is how long after sending Telegram lets a bot delete its message for
// everyone.
const DeleteWindow = 48 * time.Hour

// ErrOperationBusy: the campaign already has an operation running.
var ErrOperationBusy = errors.New("an operation on this campaign is already running")

// Operation is one edit, delete, pin or unpin over a campaign's sent messages.
type Operation struct {
	ID               int64
	CampaignID       int64
	ChannelID        int64
	BatchID          int64
	Kind             string
	Status           string
	Body             string
	Entities         []byte // JSON array of telego.MessageEntity, for an edit
	Caption          bool   // the messages carry media: edit their caption
	Silent           bool   // pin without notification
	ScanAfter        int64
	Scanned          bool
	Total            int64
	ControlChatID    int64
	ControlMessageID *int64
	ProgressText     *string
	CreatedBy        int64
	CreatedAt        time.Time
	// Lane is the bot whose share of the operation this value stands for: the bot
	// that sent the messages it acts on (OperationsRunningOnChannel); ChannelID, the
	// campaign's first bot, for OperationGet. ScanAfter and Scanned are the share's.
	Lane int64
}

// NewOperation is what OperationCreate needs.
type NewOperation struct {
	CampaignID    int64
	Kind          string
	Body          string
	Entities      []byte
	Silent        bool
	ControlChatID int64
	CreatedBy     int64
}

const operationColumns = `o.id, o.campaign_id, o.channel_id, coalesce(c.batch_id, 0), o.kind, o.status, coalesce(o.body, ''),
	o.entities, o.caption, o.silent, oc.scan_after, oc.scanned, o.total, o.control_chat_id, o.control_message_id,
	o.progress_text, o.created_by, o.created_at, oc.channel_id`

// OperationCreate records a new operation over campaign nc.CampaignID's sent messages
// and returns it (its lane job is the caller's to enqueue, in the same transaction).
// ErrNotFound: no such campaign; ErrOperationBusy: one is already running on it.
func (s *Store) OperationCreate(ctx context.Context, nc NewOperation) (Operation, error) {
	var op Operation
	err := s.InTx(ctx, func(tx *Store) error {
		// Lock the campaign so two presses cannot both find no running operation.
		var media bool
		err := tx.db.QueryRow(ctx, `
			SELECT t.media_kind IS NOT NULL FROM campaigns c JOIN templates t ON t.id = c.template_id
			WHERE c.id = $1 FOR UPDATE OF c`, nc.CampaignID).Scan(&media)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		var busy bool
		if err := tx.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM campaign_operations
			WHERE campaign_id = $1 AND status = 'running')`, nc.CampaignID).Scan(&busy); err != nil {
			return err
		}
		if busy {
			return ErrOperationBusy
		}
		var body *string
		if nc.Kind == OperationEdit {
			body = &nc.Body
		}
		total, _, err := tx.OperationTargets(ctx, nc.CampaignID, nc.Kind)
		if err != nil {
			return err
		}
		var id int64
		if err := tx.db.QueryRow(ctx, `
			INSERT INTO campaign_operations (campaign_id, channel_id, kind, body, entities, caption, silent, control_chat_id, created_by, total)
			SELECT c.id, c.channel_id, $2, $3, $4, $5, $6, $7, $8, $9 FROM campaigns c WHERE c.id = $1
			RETURNING id`, nc.CampaignID, nc.Kind, body, nc.Entities, media, nc.Silent, nc.ControlChatID, nc.CreatedBy, total).Scan(&id); err != nil {
			return err
		}
		if err := tx.operationShares(ctx, id, nc.CampaignID); err != nil {
			return err
		}
		op, err = tx.OperationGet(ctx, id)
		return err
	})
	if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrOperationBusy) {
		return op, fmt.Errorf("create %s operation on campaign %d: %w", nc.Kind, nc.CampaignID, err)
	}
	return op, err
}

// OperationGet returns operation id, or ErrNotFound.
func (s *Store) OperationGet(ctx context.Context, id int64) (Operation, error) {
	rows, err := s.db.Query(ctx, `SELECT `+operationColumns+`
		FROM campaign_operations o JOIN campaigns c ON c.id = o.campaign_id
		JOIN operation_channels oc ON oc.operation_id = o.id AND oc.channel_id = o.channel_id
		WHERE o.id = $1`, id)
	if err != nil {
		return Operation{}, fmt.Errorf("get operation %d: %w", id, err)
	}
	op, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[Operation])
	if errors.Is(err, pgx.ErrNoRows) {
		return op, ErrNotFound
	}
	if err != nil {
		return op, fmt.Errorf("get operation %d: %w", id, err)
	}
	return op, nil
}

// OperationsRunningOnChannel lists the running operations with a share for
// channelID's lane, oldest first, each with Lane = channelID. A share that is over
// (scanned, nothing open) is left out, except on the operation's own channel, whose
// lane keeps trying to finish it until the other bots' shares are over too.
func (s *Store) OperationsRunningOnChannel(ctx context.Context, channelID int64) ([]Operation, error) {
	rows, err := s.db.Query(ctx, `SELECT `+operationColumns+`
		FROM operation_channels oc JOIN campaign_operations o ON o.id = oc.operation_id
		JOIN campaigns c ON c.id = o.campaign_id
		WHERE oc.channel_id = $1 AND o.status = 'running'
		  AND (NOT oc.scanned OR o.channel_id = $1 OR `+shareOpen+`)
		ORDER BY o.id`, channelID)
	if err != nil {
		return nil, fmt.Errorf("running operations of channel %d: %w", channelID, err)
	}
	ops, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Operation])
	if err != nil {
		return nil, fmt.Errorf("running operations of channel %d: %w", channelID, err)
	}
	return ops, nil
}

// OperationTargets counts the messages an operation of kind on campaignID would act
// on now: sent messages not deleted for everyone by an earlier operation (and, for a
// delete, not refused by an earlier delete either: too old stays too old). old counts
// those of them sent more than 48 hours ago, which a delete cannot reach.
func (s *Store) OperationTargets(ctx context.Context, campaignID int64, kind string) (n, old int64, err error) {
	err = s.db.QueryRow(ctx, `
		SELECT count(*), count(*) FILTER (WHERE d.updated_at < now() - make_interval(secs => $3))
		FROM deliveries d
		WHERE d.campaign_id = $1 AND d.status = 'sent'`+notActedOn, campaignID, kind, DeleteWindow.Seconds()).Scan(&n, &old)
	if err != nil {
		return 0, 0, fmt.Errorf("count targets of campaign %d: %w", campaignID, err)
	}
	return n, old, nil
}

// notActedOn excludes a delivery ($1 campaign, $2 kind) whose message an earlier
// delete removed, or, for a new delete, one an earlier delete was refused for.
const notActedOn = `
		  AND NOT EXISTS (SELECT 1 FROM campaign_operations p JOIN operation_items i ON i.operation_id = p.id
		                  WHERE p.campaign_id = $1 AND p.kind = 'delete' AND i.chat_id = d.chat_id
		                    AND (i.status = 'done' OR ($2 = 'delete' AND i.status = 'refused')))`

// ClaimedItem is an operation item a lane reserved, with the recipient's variables.
type ClaimedItem struct {
	ChatID    int64
	MessageID int64
	Attempts  int16
	Vars      []byte
}

// OperationClaim reserves up to n items of op for its lane (in flight until
// now+lease, not yet requested): first those put back for a retry, then new ones read
// from the campaign's next sent deliveries. Items whose lease ran out are settled
// first: back to pending if never requested, uncertain if they were. A delete's
// message older than 48 hours (by the database's clock) is refused at once, without
// a request. It returns done when op has no open item left and nothing more to read.
func (s *Store) OperationClaim(ctx context.Context, op Operation, n int, lease time.Duration) (items []ClaimedItem, done bool, err error) {
	err = s.InTx(ctx, func(tx *Store) error {
		if err := tx.operationExpire(ctx, op.ID); err != nil {
			return err
		}
		rows, err := tx.db.Query(ctx, `
			WITH upd AS (
				UPDATE operation_items i
				SET status = 'inflight', lease_until = now() + make_interval(secs => $3), requested_at = NULL, updated_at = now()
				FROM (SELECT chat_id FROM operation_items
				      WHERE operation_id = $1 AND status = 'pending' AND (not_before IS NULL OR not_before <= now())
				        AND coalesce(channel_id, $5) = $6 -- this bot's share only
				      ORDER BY chat_id LIMIT $2 FOR UPDATE SKIP LOCKED) p
				WHERE i.operation_id = $1 AND i.chat_id = p.chat_id
				RETURNING i.chat_id, i.message_id, i.attempts)
			SELECT upd.chat_id, upd.message_id, upd.attempts,
			       CASE WHEN $7 THEN coalesce((SELECT `+subscriberVarsSQL+` FROM subscribers x
			                                   WHERE x.channel_id = $6 AND x.chat_id = upd.chat_id), '{}') ELSE '{}' END
			       || coalesce(r.vars, '{}')
			FROM upd LEFT JOIN recipients r ON r.batch_id = $4 AND r.chat_id = upd.chat_id`,
			op.ID, n, lease.Seconds(), op.BatchID, op.ChannelID, op.Lane, op.Kind == OperationEdit)
		if err != nil {
			return err
		}
		if items, err = pgx.CollectRows(rows, pgx.RowToStructByPos[ClaimedItem]); err != nil {
			return err
		}
		if len(items) < n && !op.Scanned {
			more, err := tx.operationScan(ctx, op, n-len(items), lease)
			if err != nil {
				return err
			}
			items = append(items, more...)
		}
		if len(items) > 0 {
			return nil
		}
		return tx.db.QueryRow(ctx, `
			SELECT oc.scanned AND NOT `+shareOpen+`
			FROM operation_channels oc JOIN campaign_operations o ON o.id = oc.operation_id
			WHERE oc.operation_id = $1 AND oc.channel_id = $2`, op.ID, op.Lane).Scan(&done)
	})
	if err != nil {
		return nil, false, fmt.Errorf("claim items of operation %d: %w", op.ID, err)
	}
	return items, done, nil
}

// operationExpire settles op's items whose lease ran out.
func (s *Store) operationExpire(ctx context.Context, opID int64) error {
	_, err := s.db.Exec(ctx, `
		UPDATE operation_items
		SET status = CASE WHEN requested_at IS NULL THEN 'pending' ELSE 'uncertain' END,
		    error = CASE WHEN requested_at IS NULL THEN error ELSE $2 END,
		    lease_until = NULL, updated_at = now()
		WHERE operation_id = $1 AND status = 'inflight' AND lease_until < now()`, opID, UncertainStopped)
	return err
}

// operationScan makes items for the next n sent deliveries after op's cursor and
// reserves them, moving the cursor; it marks op scanned when fewer are left.
func (s *Store) operationScan(ctx context.Context, op Operation, n int, lease time.Duration) ([]ClaimedItem, error) {
	var cursor int64
	err := s.db.QueryRow(ctx, `SELECT scan_after FROM operation_channels WHERE operation_id = $1 AND channel_id = $2 FOR UPDATE`,
		op.ID, op.Lane).Scan(&cursor)
	if err != nil {
		return nil, err
	}
	type source struct {
		ChatID, MessageID int64
		Old               bool
		Vars              []byte
	}
	rows, err := s.db.Query(ctx, `
		SELECT d.chat_id, d.message_id, d.updated_at < now() - make_interval(secs => $6),
		       -- An edit's variables as a send has them (DeliveryClaim): the list's over
		       -- the profile; the other kinds render nothing.
		       CASE WHEN $10 THEN coalesce((SELECT `+subscriberVarsSQL+` FROM subscribers x
		                                    WHERE x.channel_id = $9 AND x.chat_id = d.chat_id), '{}') ELSE '{}' END
		       || coalesce(r.vars, '{}')
		FROM deliveries d LEFT JOIN recipients r ON r.batch_id = $5 AND r.chat_id = d.chat_id
		WHERE d.campaign_id = $1 AND d.chat_id > $3 AND d.status = 'sent' AND d.updated_at <= $7`+notActedOn+`
		  -- A message is acted on by the bot that sent it (a campaign may send through
		  -- several, migration 00013; no channel_id: sent before, by the first bot).
		  -- This lane's share: the messages its bot sent.
		  AND coalesce(d.channel_id, $8) = $9
		ORDER BY d.chat_id LIMIT $4`,
		op.CampaignID, op.Kind, cursor, n, op.BatchID, DeleteWindow.Seconds(), op.CreatedAt, op.ChannelID, op.Lane,
		op.Kind == OperationEdit)
	if err != nil {
		return nil, err
	}
	src, err := pgx.CollectRows(rows, pgx.RowToStructByPos[source])
	if err != nil {
		return nil, err
	}
	chats := make([]int64, len(src))
	msgs := make([]int64, len(src))
	refused := make([]bool, len(src))
	var items []ClaimedItem
	for i, d := range src {
		chats[i], msgs[i] = d.ChatID, d.MessageID
		refused[i] = d.Old && op.Kind == OperationDelete
		if !refused[i] {
			items = append(items, ClaimedItem{ChatID: d.ChatID, MessageID: d.MessageID, Vars: d.Vars})
		}
		cursor = d.ChatID
	}
	if _, err := s.db.Exec(ctx, `
		INSERT INTO operation_items (operation_id, channel_id, chat_id, message_id, status, lease_until, error)
		SELECT $1, $7, k.chat_id, k.message_id,
		       CASE WHEN k.refused THEN 'refused' ELSE 'inflight' END,
		       CASE WHEN k.refused THEN NULL ELSE now() + make_interval(secs => $5) END,
		       CASE WHEN k.refused THEN $6 END
		FROM unnest($2::bigint[], $3::bigint[], $4::bool[]) AS k(chat_id, message_id, refused)`,
		op.ID, chats, msgs, refused, lease.Seconds(), RefusedTooOld, op.Lane); err != nil {
		return nil, err
	}
	if _, err := s.db.Exec(ctx, `UPDATE operation_channels SET scan_after = $3, scanned = $4 WHERE operation_id = $1 AND channel_id = $2`,
		op.ID, op.Lane, cursor, len(src) < n); err != nil {
		return nil, err
	}
	return items, nil
}

// OperationMarkRequested marks reserved items of opID requested (their requests leave
// now) with a fresh lease and returns the chat ids it marked: only those may be acted
// on (see DeliveryMarkRequested).
func (s *Store) OperationMarkRequested(ctx context.Context, opID int64, chatIDs []int64, lease time.Duration) ([]int64, error) {
	rows, err := s.db.Query(ctx, `
		UPDATE operation_items i
		SET requested_at = now(), lease_until = now() + make_interval(secs => $3)
		FROM campaign_operations o
		WHERE i.operation_id = $1 AND i.chat_id = ANY($2) AND i.status = 'inflight' AND i.requested_at IS NULL
		  AND o.id = i.operation_id AND o.status = 'running'
		RETURNING i.chat_id`, pgx.QueryExecModeExec, opID, chatIDs, lease.Seconds())
	if err != nil {
		return nil, fmt.Errorf("mark %d items of operation %d requested: %w", len(chatIDs), opID, err)
	}
	marked, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("mark %d items of operation %d requested: %w", len(chatIDs), opID, err)
	}
	return marked, nil
}

// ItemOutcome is the result of one in-flight item.
type ItemOutcome struct {
	OperationID int64
	ChatID      int64
	// Status is done, refused, failed or uncertain; or pending to put the item back
	// (NotBefore: a retry; Release: its request never left and it was not marked).
	Status       string
	Error        string
	CountAttempt bool
	NotBefore    time.Time
	Release      bool
}

// OperationSettle writes a batch of outcomes in one statement. Only items still in
// flight are written; a released one only while not marked requested.
func (s *Store) OperationSettle(ctx context.Context, outcomes []ItemOutcome) error {
	n := len(outcomes)
	ops, chats := make([]int64, n), make([]int64, n)
	statuses, reasons := make([]string, n), make([]string, n)
	incs := make([]int32, n)
	notBefore := make([]time.Time, n)
	release := make([]bool, n)
	for i, o := range outcomes {
		ops[i], chats[i], statuses[i], reasons[i] = o.OperationID, o.ChatID, o.Status, o.Error
		if o.CountAttempt {
			incs[i] = 1
		}
		notBefore[i], release[i] = o.NotBefore, o.Release
	}
	_, err := s.db.Exec(ctx, `
		UPDATE operation_items i
		SET status = o.status, error = NULLIF(o.error, ''), attempts = i.attempts + o.inc,
		    not_before = CASE WHEN o.status = 'pending' AND o.not_before > now() THEN o.not_before END,
		    lease_until = NULL,
		    requested_at = CASE WHEN o.status = 'pending' THEN NULL ELSE i.requested_at END,
		    updated_at = now()
		FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::int[], $6::timestamptz[], $7::bool[])
		    AS o(operation_id, chat_id, status, error, inc, not_before, release)
		WHERE i.operation_id = o.operation_id AND i.chat_id = o.chat_id AND i.status = 'inflight'
		  AND (NOT o.release OR i.requested_at IS NULL)`,
		pgx.QueryExecModeExec, ops, chats, statuses, reasons, incs, notBefore, release)
	if err != nil {
		return fmt.Errorf("write %d operation outcomes: %w", n, err)
	}
	return nil
}

// OperationFinish marks opID done if it is running and nothing is left open; it
// reports whether this call finished it.
func (s *Store) OperationFinish(ctx context.Context, opID int64) (bool, error) {
	tag, err := s.db.Exec(ctx, `
		UPDATE campaign_operations o SET status = 'done', finished_at = now(), scanned = true
		WHERE o.id = $1 AND o.status = 'running'
		  -- Every bot's share read to its end (operation_channels), nothing open in any.
		  AND NOT EXISTS (SELECT 1 FROM operation_channels oc WHERE oc.operation_id = o.id AND NOT oc.scanned)
		  AND NOT EXISTS (SELECT 1 FROM operation_items i WHERE i.operation_id = o.id AND i.status IN ('pending', 'inflight'))`, opID)
	if err != nil {
		return false, fmt.Errorf("finish operation %d: %w", opID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// OperationLanesAdoptOrphans is LanesAdoptOrphans for enabled channels with a running
// operation: each whose lane has been idle for longer than grace moves to a new epoch
// and is returned, so the caller enqueues its lane job. A disabled channel's operations
// wait until it is enabled again (its lane would only stop at once).
func (s *Store) OperationLanesAdoptOrphans(ctx context.Context, grace time.Duration) ([]OrphanLane, error) {
	return orphanLanes(laneLeases.adoptOrphans(ctx, s.db, `
		SELECT DISTINCT oc.channel_id FROM operation_channels oc
		JOIN campaign_operations o ON o.id = oc.operation_id JOIN channels ch ON ch.id = oc.channel_id
		WHERE o.status = 'running' AND ch.enabled
		  AND (NOT oc.scanned OR o.channel_id = oc.channel_id OR `+shareOpen+`)`, grace))
}

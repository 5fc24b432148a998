package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Campaign statuses. A campaign is created scheduled, runs, may pause and resume, and
// ends completed (no delivery left open), cancelled or failed (it could not start).
const (
	CampaignScheduled = "scheduled"
	CampaignRunning   = "running"
	CampaignPaused    = "paused"
	CampaignCompleted = "completed"
	CampaignCancelled = "cancelled"
	CampaignFailed    = "failed"
)

// ErrInvalidTransition is wrapped by *CampaignStateError: the campaign is not in a
// status the requested action applies to (e.g. resuming a running campaign).
var ErrInvalidTransition = errors.New("invalid campaign transition")

// CampaignStateError says which action was refused and what status the campaign had.
type CampaignStateError struct {
	CampaignID int64
	Action     string // "pause", "resume", "cancel", "resend"
	Status     string // the campaign's status when the action was refused
}

func (e *CampaignStateError) Error() string {
	return fmt.Sprintf("campaign %d is %s: cannot %s", e.CampaignID, e.Status, e.Action)
}

// Unwrap lets errors.Is(err, ErrInvalidTransition) match.
func (e *CampaignStateError) Unwrap() error { return ErrInvalidTransition }

// Campaign is one template sent to an audience through one or more channel bots.
type Campaign struct {
	ID         int64
	TemplateID int64
	BatchID    int64 // 0 for an audience without a batch
	ChannelID  int64 // the first bot (CampaignChannelIDs lists them all)
	// Audience is the audience's kind (Audience…), with its source or date.
	Audience         string
	AudienceSource   string
	AudienceSince    *time.Time
	Status           string
	PauseReason      *string
	ScheduledAt      time.Time
	StartedAt        *time.Time
	FinishedAt       *time.Time
	RequestKey       *string
	ControlChatID    int64
	ControlMessageID *int64
	ControlText      *string
	ReportedAt       *time.Time
	CreatedBy        int64
	CreatedAt        time.Time
}

const campaignColumns = `id, template_id, coalesce(batch_id, 0), channel_id, audience, coalesce(audience_source, ''),
	audience_since, status, pause_reason, scheduled_at,
	started_at, finished_at, request_key, control_chat_id, control_message_id, control_text,
	reported_at, created_by, created_at`

func scanCampaign(row pgx.Row) (Campaign, error) {
	var c Campaign
	err := row.Scan(&c.ID, &c.TemplateID, &c.BatchID, &c.ChannelID, &c.Audience, &c.AudienceSource, &c.AudienceSince,
		&c.Status, &c.PauseReason,
		&c.ScheduledAt, &c.StartedAt, &c.FinishedAt, &c.RequestKey, &c.ControlChatID,
		&c.ControlMessageID, &c.ControlText, &c.ReportedAt, &c.CreatedBy, &c.CreatedAt)
	return c, err
}

// NewCampaign is what the campaign wizard confirms.
type NewCampaign struct {
	TemplateID int64
	// BatchID is the audience's batch when Audience.Kind is empty (a batch audience,
	// as before audiences had kinds).
	BatchID  int64
	Audience Audience
	// ChannelID is the first bot; ChannelIDs, when given, the others (or all of them):
	// each recipient is sent once, through one of them.
	ChannelID   int64
	ChannelIDs  []int64
	ScheduledAt time.Time // zero: now
	// RequestKey makes creation idempotent: a second create with the same key returns
	// the first campaign's id (Confirm pressed twice). Empty: no key.
	RequestKey    string
	ControlChatID int64
	// ControlMessageID, when not 0, is a message of the management bot in ControlChatID
	// that becomes the campaign's control message (edited with progress); 0: the
	// engine sends a new one when the campaign starts.
	ControlMessageID int64
	CreatedBy        int64
}

// CampaignCreate inserts a scheduled campaign and returns its id. Call it on the Store
// of the transaction that also enqueues the start job (InTx + Tx), so both happen or
// neither. With a RequestKey already
// used it returns the existing campaign's id and creates nothing.
func (s *Store) CampaignCreate(ctx context.Context, nc NewCampaign) (int64, error) {
	db := s.db
	var key *string
	if nc.RequestKey != "" {
		key = &nc.RequestKey
	}
	var msgID *int64
	if nc.ControlMessageID != 0 {
		msgID = &nc.ControlMessageID
	}
	var scheduled *time.Time
	if !nc.ScheduledAt.IsZero() {
		scheduled = &nc.ScheduledAt
	}
	a := nc.Audience
	if a.Kind == "" {
		a = Audience{Kind: AudienceBatch, BatchID: nc.BatchID}
	}
	if err := a.check(); err != nil {
		return 0, fmt.Errorf("create campaign: %w", err)
	}
	var since *time.Time
	var batchID *int64
	var source *string
	if a.HasBatch() {
		batchID = &a.BatchID
	}
	if a.Kind == AudienceSource {
		source = &a.Source
	}
	if a.Kind == AudienceSince {
		since = &a.Since
	}
	var id int64
	err := db.QueryRow(ctx, `
		INSERT INTO campaigns (template_id, batch_id, channel_id, scheduled_at, request_key,
		                       control_chat_id, control_message_id, created_by, audience, audience_source, audience_since)
		VALUES ($1, $2, $3, coalesce($4, now()), $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (request_key) DO NOTHING
		RETURNING id`,
		nc.TemplateID, batchID, nc.ChannelID, scheduled, key, nc.ControlChatID, msgID, nc.CreatedBy,
		a.Kind, source, since).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) && key != nil {
		err = db.QueryRow(ctx, `SELECT id FROM campaigns WHERE request_key = $1`, *key).Scan(&id)
		if err != nil {
			return 0, fmt.Errorf("create campaign: %w", err)
		}
		return id, nil // created by the first Confirm, with its bots
	}
	if err != nil {
		return 0, fmt.Errorf("create campaign: %w", err)
	}
	// The first bot is added by a trigger (migration 00013); the others here.
	if _, err := db.Exec(ctx, `
		INSERT INTO campaign_channels (campaign_id, channel_id) SELECT $1, unnest($2::bigint[])
		ON CONFLICT DO NOTHING`, id, nc.ChannelIDs); err != nil {
		return 0, fmt.Errorf("create campaign: channels: %w", err)
	}
	return id, nil
}

// CampaignGet returns the campaign with id, or ErrNotFound.
func (s *Store) CampaignGet(ctx context.Context, id int64) (Campaign, error) {
	c, err := scanCampaign(s.db.QueryRow(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("get campaign %d: %w", id, err)
	}
	return c, nil
}

// campaignTransition moves a campaign from one of the statuses in from to status to,
// in tx, or returns a *CampaignStateError (ErrNotFound if there is no such campaign).
//
// Every lock on a campaign row is FOR NO KEY UPDATE, never FOR UPDATE: a statement
// that inserts a campaign's first counter row of a status (campaign_counters, by the
// triggers on deliveries) checks its foreign key with FOR KEY SHARE on the campaign
// while it holds other counter rows, and FOR UPDATE would make it wait for Cancel,
// Start or a fan-out chunk, which wait for those counter rows in turn (40P01).
func campaignTransition(ctx context.Context, tx DBTX, id int64, action string, from []string, to string, reason *string) (Campaign, error) {
	c, err := lockCampaign(ctx, tx, id)
	if err != nil {
		return c, err
	}
	allowed := false
	for _, f := range from {
		allowed = allowed || c.Status == f
	}
	if !allowed {
		return c, &CampaignStateError{CampaignID: id, Action: action, Status: c.Status}
	}
	_, err = tx.Exec(ctx, `
		UPDATE campaigns SET status = $2, pause_reason = $3, updated_at = now(),
		       finished_at = CASE WHEN $2 IN ('completed', 'cancelled', 'failed') THEN now() END,
		       reported_at = CASE WHEN $2 IN ('completed', 'cancelled', 'failed') THEN reported_at END
		WHERE id = $1`, id, to, reason)
	if err != nil {
		return c, fmt.Errorf("%s campaign %d: %w", action, id, err)
	}
	c.Status, c.PauseReason = to, reason
	return c, nil
}

// lockCampaign reads campaign id and locks its row until tx ends (against other
// transitions; deliveries referring to it are not blocked); ErrNotFound when there
// is none.
func lockCampaign(ctx context.Context, tx DBTX, id int64) (Campaign, error) {
	c, err := scanCampaign(tx.QueryRow(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE id = $1 FOR NO KEY UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("lock campaign %d: %w", id, err)
	}
	return c, nil
}

func auditCampaign(ctx context.Context, tx DBTX, actorID int64, action string, id int64, details map[string]any) error {
	if details == nil {
		details = map[string]any{}
	}
	raw, err := json.Marshal(details)
	if err != nil {
		return fmt.Errorf("audit details: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO audit_log (actor_id, action, target, details) VALUES ($1, $2, $3, $4)`,
		actorID, action, fmt.Sprintf("campaign:%d", id), raw); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// CampaignPause pauses a running campaign. actorID 0 means the engine paused it (a
// template Telegram refuses); reason is shown to the admin. Returns *CampaignStateError
// when the campaign is not running.
func (s *Store) CampaignPause(ctx context.Context, id, actorID int64, reason string) (Campaign, error) {
	var c Campaign
	err := s.InTx(ctx, func(st *Store) error {
		tx := st.db
		var err error
		var r *string
		if reason != "" {
			r = &reason
		}
		if c, err = campaignTransition(ctx, tx, id, "pause", []string{CampaignRunning}, CampaignPaused, r); err != nil {
			return err
		}
		return auditCampaign(ctx, tx, actorID, "campaign.pause", id, map[string]any{"reason": reason})
	})
	return c, err
}

// CampaignResume resumes a paused campaign.
func (s *Store) CampaignResume(ctx context.Context, id, actorID int64) (Campaign, error) {
	var c Campaign
	err := s.InTx(ctx, func(st *Store) error {
		tx := st.db
		var err error
		if c, err = campaignTransition(ctx, tx, id, "resume", []string{CampaignPaused}, CampaignRunning, nil); err != nil {
			return err
		}
		return auditCampaign(ctx, tx, actorID, "campaign.resume", id, nil)
	})
	return c, err
}

// CampaignCancel cancels a scheduled, running or paused campaign and marks its pending
// deliveries cancelled. In-flight deliveries keep their outcome: their request was
// already made; the lane settles them (or they become uncertain). Returns how many
// deliveries were cancelled.
func (s *Store) CampaignCancel(ctx context.Context, id, actorID int64) (Campaign, int64, error) {
	var c Campaign
	var n int64
	err := s.InTx(ctx, func(st *Store) error {
		tx := st.db
		var err error
		if c, err = campaignTransition(ctx, tx, id, "cancel",
			[]string{CampaignScheduled, CampaignRunning, CampaignPaused}, CampaignCancelled, nil); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `
			UPDATE deliveries SET status = 'cancelled', not_before = NULL, updated_at = now()
			WHERE campaign_id = $1 AND status = 'pending'`, id)
		if err != nil {
			return fmt.Errorf("cancel deliveries of campaign %d: %w", id, err)
		}
		n = tag.RowsAffected()
		return auditCampaign(ctx, tx, actorID, "campaign.cancel", id, map[string]any{"cancelled": n})
	})
	return c, n, err
}

// CampaignResendUncertain turns the campaign's uncertain deliveries back into pending
// ones (the admin accepted that some recipients may get the message twice) and, when
// the campaign had completed, runs it again. Returns how many deliveries were reopened.
func (s *Store) CampaignResendUncertain(ctx context.Context, id, actorID int64) (Campaign, int64, error) {
	var c Campaign
	var n int64
	err := s.InTx(ctx, func(st *Store) error {
		tx := st.db
		var err error
		if c, err = lockCampaign(ctx, tx, id); err != nil {
			return err
		}
		switch c.Status {
		case CampaignCompleted:
			if _, err = campaignTransition(ctx, tx, id, "resend", []string{CampaignCompleted}, CampaignRunning, nil); err != nil {
				return err
			}
			c.Status = CampaignRunning
		case CampaignRunning, CampaignPaused:
		default:
			return &CampaignStateError{CampaignID: id, Action: "resend", Status: c.Status}
		}
		// A delivery settled before campaigns had several bots has no channel_id: it
		// was the campaign's (first) bot's, whose lane must claim it again.
		tag, err := tx.Exec(ctx, `
			UPDATE deliveries SET status = 'pending', error = NULL, not_before = NULL, updated_at = now(),
			       channel_id = coalesce(channel_id, $2)
			WHERE campaign_id = $1 AND status = 'uncertain'`, id, c.ChannelID)
		if err != nil {
			return fmt.Errorf("reopen uncertain deliveries of campaign %d: %w", id, err)
		}
		n = tag.RowsAffected()
		if n == 0 {
			// Nothing to resend: undo the reopening of a completed campaign.
			return &CampaignStateError{CampaignID: id, Action: "resend", Status: "without uncertain deliveries"}
		}
		if _, err := tx.Exec(ctx, `UPDATE campaigns SET reported_at = NULL, control_text = NULL WHERE id = $1`, id); err != nil {
			return fmt.Errorf("reopen campaign %d: %w", id, err)
		}
		return auditCampaign(ctx, tx, actorID, "campaign.resend_uncertain", id, map[string]any{"reopened": n})
	})
	return c, n, err
}

// CampaignsCompleteFinished marks running campaigns with no pending or in-flight
// delivery left as completed and returns their ids. ids limits the check to those
// campaigns; nil checks every running campaign.
func (s *Store) CampaignsCompleteFinished(ctx context.Context, ids []int64) ([]int64, error) {
	rows, err := s.db.Query(ctx, `
		UPDATE campaigns c SET status = 'completed', finished_at = now(), updated_at = now()
		WHERE c.status = 'running'
		  AND ($1::bigint[] IS NULL OR c.id = ANY($1))
		  AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.campaign_id = c.id AND d.status = 'pending')
		  AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.campaign_id = c.id AND d.status = 'inflight')
		  AND c.fanout_after IS NULL
		RETURNING c.id`, ids)
	if err != nil {
		return nil, fmt.Errorf("complete finished campaigns: %w", err)
	}
	done, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("complete finished campaigns: %w", err)
	}
	return done, nil
}

// CampaignsRunningOnChannel lists the ids of the running campaigns that send through
// the channel (among others, perhaps), oldest first.
func (s *Store) CampaignsRunningOnChannel(ctx context.Context, channelID int64) ([]int64, error) {
	rows, err := s.db.Query(ctx, `
		SELECT c.id FROM campaign_channels cc JOIN campaigns c ON c.id = cc.campaign_id
		WHERE cc.channel_id = $1 AND c.status = 'running' ORDER BY c.id`, channelID)
	if err != nil {
		return nil, fmt.Errorf("running campaigns of channel %d: %w", channelID, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("running campaigns of channel %d: %w", channelID, err)
	}
	return ids, nil
}

// CampaignMessage is what a lane needs to render a campaign's message.
type CampaignMessage struct {
	CampaignID    int64
	ChannelID     int64
	ControlChatID int64
	CreatedBy     int64
	Body          string
	Entities      []byte // JSON array of telego.MessageEntity
	Buttons       []byte // JSON [][]telego.InlineKeyboardButton
	MediaKind     *string
	MediaFileID   *string
	MediaUniqueID *string
}

// CampaignMessageGet returns the template of campaign id, or ErrNotFound.
func (s *Store) CampaignMessageGet(ctx context.Context, id int64) (CampaignMessage, error) {
	var m CampaignMessage
	err := s.db.QueryRow(ctx, `
		SELECT c.id, c.channel_id, c.control_chat_id, c.created_by, t.body, t.entities, t.buttons,
		       t.media_kind, t.media_file_id, t.media_unique_id
		FROM campaigns c JOIN templates t ON t.id = c.template_id
		WHERE c.id = $1`, id).Scan(&m.CampaignID, &m.ChannelID, &m.ControlChatID, &m.CreatedBy, &m.Body,
		&m.Entities, &m.Buttons, &m.MediaKind, &m.MediaFileID, &m.MediaUniqueID)
	if errors.Is(err, pgx.ErrNoRows) {
		return m, ErrNotFound
	}
	if err != nil {
		return m, fmt.Errorf("campaign %d message: %w", id, err)
	}
	return m, nil
}

// CampaignSetControlMessage records the control message of a campaign.
func (s *Store) CampaignSetControlMessage(ctx context.Context, id, messageID int64) error {
	if _, err := s.db.Exec(ctx, `UPDATE campaigns SET control_message_id = $2 WHERE id = $1`, id, messageID); err != nil {
		return fmt.Errorf("set control message of campaign %d: %w", id, err)
	}
	return nil
}

// CampaignSetControlText records a digest of what the control message now shows.
func (s *Store) CampaignSetControlText(ctx context.Context, id int64, text string) error {
	if _, err := s.db.Exec(ctx, `UPDATE campaigns SET control_text = $2 WHERE id = $1`, id, text); err != nil {
		return fmt.Errorf("set control text of campaign %d: %w", id, err)
	}
	return nil
}

// CampaignMarkReported records that the final report of a finished campaign was sent.
// It returns false when it had been marked already.
func (s *Store) CampaignMarkReported(ctx context.Context, id int64) (bool, error) {
	tag, err := s.db.Exec(ctx, `
		UPDATE campaigns SET reported_at = now() WHERE id = $1 AND reported_at IS NULL
		  AND status IN ('completed', 'cancelled', 'failed')`, id)
	if err != nil {
		return false, fmt.Errorf("mark campaign %d reported: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// CampaignLanguage returns the language of the admin who created campaign id ("" when
// the admin has none set).
func (s *Store) CampaignLanguage(ctx context.Context, id int64) (string, error) {
	var lang *string
	err := s.db.QueryRow(ctx, `
		SELECT a.language FROM campaigns c LEFT JOIN admins a ON a.user_id = c.created_by
		WHERE c.id = $1`, id).Scan(&lang)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("campaign %d language: %w", id, err)
	}
	if lang == nil {
		return "", nil
	}
	return *lang, nil
}

package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
)

// Audience kinds: whom a campaign sends to (issue 14). Only the batch kinds have a
// batch; the others read what the campaign's channel bots learnt from Telegram
// (subscribers, channel_chats), which the intake writes.
const (
	// AudienceBatch is an uploaded list of ids, sent to whether or not they started
	// a bot (a send-only bot's users are known to another app).
	AudienceBatch = "batch"
	// AudienceBatchSubscribers is a batch intersected with the bots' reachable
	// subscribers: ids that never started a bot are left out (and counted).
	AudienceBatchSubscribers = "batch_subscribers"
	// AudienceSubscribers is every subscriber of the campaign's bots.
	AudienceSubscribers = "subscribers"
	// AudienceSource is the subscribers whose /start payload was Audience.Source.
	AudienceSource = "source"
	// AudienceSince is the subscribers who started a bot at or after Audience.Since.
	AudienceSince = "since"
	// AudienceChats is the groups, supergroups and channels the bots were added to.
	AudienceChats = "chats"
)

// Audience is whom a campaign sends to.
type Audience struct {
	Kind    string    // one of the Audience… kinds; "" means AudienceBatch
	BatchID int64     // for the batch kinds
	Source  string    // for AudienceSource
	Since   time.Time // for AudienceSince
}

// HasBatch reports whether the audience is (part of) a batch.
func (a Audience) HasBatch() bool {
	return a.Kind == "" || a.Kind == AudienceBatch || a.Kind == AudienceBatchSubscribers
}

// Subscribed reports whether every recipient of the audience is a subscriber of one
// of the bots, whose profile fields (SubscriberVars) are then template variables.
func (a Audience) Subscribed() bool {
	switch a.Kind {
	case AudienceBatchSubscribers, AudienceSubscribers, AudienceSource, AudienceSince:
		return true
	}
	return false
}

// check returns an error when a lacks what its kind needs.
func (a Audience) check() error {
	switch {
	case a.HasBatch() && a.BatchID <= 0:
		return errors.New("audience: a batch audience needs a batch")
	case a.Kind == AudienceSource && a.Source == "":
		return errors.New("audience: a source audience needs a source")
	case a.Kind == AudienceSince && a.Since.IsZero():
		return errors.New("audience: a since audience needs a date")
	case !a.HasBatch() && !a.Subscribed() && a.Kind != AudienceChats:
		return fmt.Errorf("audience: unknown kind %q", a.Kind)
	}
	return nil
}

// SubscriberVars are the template variables a subscriber brings: Telegram's profile
// fields as the bot last saw them. A batch's own columns win over them.
var SubscriberVars = []string{"first_name", "last_name", "username", "language_code"}

// subscriberVarsSQL is a subscriber x's profile as a JSON object of its non-empty
// fields (an empty field is absent, so a template's default applies).
const subscriberVarsSQL = `jsonb_strip_nulls(jsonb_build_object(
	'first_name', NULLIF(x.first_name, ''), 'last_name', NULLIF(x.last_name, ''),
	'username', NULLIF(x.username, ''), 'language_code', NULLIF(x.language_code, '')))`

// Routing. Every query below names its parameters the same way: $4 the campaign's
// bots (bigint[]), $5 its first bot, $6 the batch, $7 the source, $8 the since date;
// s.chat_id is the recipient being routed. A recipient goes through one bot: a bot
// it started and has neither blocked nor stopped, the one it used most recently
// (last_seen_at; the channel id breaks ties so the choice is stable), never one
// whose suppression list has it.
const (
	routeSubscriberSQL = `(SELECT x.channel_id FROM subscribers x
		WHERE x.chat_id = s.chat_id AND x.channel_id = ANY($4) AND x.status = 'active'
		  AND NOT EXISTS (SELECT 1 FROM suppressions p WHERE p.channel_id = x.channel_id AND p.chat_id = x.chat_id)
		ORDER BY x.last_seen_at DESC, x.channel_id LIMIT 1)`
	// A batch recipient no bot knows is tried through the first bot (a send-only
	// bot's users are another app's to know), unless it blocked or stopped one of
	// the campaign's bots: an unsubscribe holds for the whole campaign.
	routeFallbackSQL = `(SELECT $5::bigint WHERE
		NOT EXISTS (SELECT 1 FROM suppressions p WHERE p.channel_id = $5 AND p.chat_id = s.chat_id)
		AND NOT EXISTS (SELECT 1 FROM subscribers x WHERE x.channel_id = ANY($4) AND x.chat_id = s.chat_id AND x.status <> 'active'))`
	// A group or channel goes through a bot that may post there, the one whose
	// membership changed last.
	routeChatSQL = `(SELECT x.channel_id FROM channel_chats x
		WHERE x.chat_id = s.chat_id AND x.channel_id = ANY($4)
		  AND x.bot_status IN ('creator', 'administrator', 'member') AND (x.type <> 'channel' OR x.can_post)
		  AND NOT EXISTS (SELECT 1 FROM suppressions p WHERE p.channel_id = x.channel_id AND p.chat_id = x.chat_id)
		ORDER BY x.updated_at DESC, x.channel_id LIMIT 1)`
	// paramsSQL mentions every parameter with its type, so each query may use only
	// some of them.
	paramsSQL = `params AS (SELECT $1::bigint, $3::int, $4::bigint[], $5::bigint, $6::bigint, $7::text, $8::timestamptz)`
)

func routeSQL(kind string) string {
	switch kind {
	case AudienceChats:
		return routeChatSQL
	case AudienceBatch, "":
		return "coalesce(" + routeSubscriberSQL + ", " + routeFallbackSQL + ")"
	}
	return routeSubscriberSQL
}

// scanSQL selects the audience's chat ids after $2 in chat id order (each once), up
// to $3 when limited.
func scanSQL(kind string, limited bool) string {
	var q string
	switch kind {
	case AudienceBatch, AudienceBatchSubscribers, "":
		q = `SELECT chat_id FROM recipients WHERE batch_id = $6 AND chat_id > $2`
	case AudienceChats:
		q = `SELECT DISTINCT chat_id FROM channel_chats WHERE channel_id = ANY($4) AND chat_id > $2`
	case AudienceSource:
		q = `SELECT DISTINCT chat_id FROM subscribers WHERE channel_id = ANY($4) AND chat_id > $2 AND source = $7`
	case AudienceSince:
		q = `SELECT DISTINCT chat_id FROM subscribers WHERE channel_id = ANY($4) AND chat_id > $2 AND joined_at >= $8`
	default:
		q = `SELECT DISTINCT chat_id FROM subscribers WHERE channel_id = ANY($4) AND chat_id > $2`
	}
	q += ` ORDER BY chat_id`
	if limited {
		q += ` LIMIT $3`
	}
	return q
}

// audiencePlan is a campaign's audience with its bots, as fan-out needs it.
type audiencePlan struct {
	Audience
	campaignID int64
	primary    int64
	channels   []int64
	// unknown: none of the bots has a subscriber (send-only bots), so a batch
	// recipient goes through the first bot unless suppressed there.
	unknown bool
}

// routedSQL selects the next chat ids of the audience after $2 (up to $3 when
// limited), each with the bot it is routed to (NULL: none may reach it). The
// general form routes each scanned chat with routeSQL, several index lookups a
// chat; the common cases of one bot, and of bots without subscribers, do with what
// they cannot do without, so a million-recipient batch through one bot fans out
// about as fast as before routing existed.
func (p audiencePlan) routedSQL(limited bool) string {
	limit := ""
	if limited {
		limit = ` LIMIT $3`
	}
	notSuppressed := func(ch, chat string) string {
		return `NOT EXISTS (SELECT 1 FROM suppressions p WHERE p.channel_id = ` + ch + ` AND p.chat_id = ` + chat + `)`
	}
	single := len(p.channels) == 1
	switch {
	case single && p.HasBatch():
		// The bot's own subscriber row, if any, says whether it may be messaged.
		status := `coalesce(x.status, 'active')`
		if p.Kind == AudienceBatchSubscribers {
			status = `x.status`
		}
		return `SELECT r.chat_id, CASE WHEN ` + status + ` = 'active' AND ` + notSuppressed("$5", "r.chat_id") + `
		               THEN $5::bigint END AS channel_id
			FROM recipients r LEFT JOIN subscribers x ON x.channel_id = $5 AND x.chat_id = r.chat_id
			WHERE r.batch_id = $6 AND r.chat_id > $2 ORDER BY r.chat_id` + limit
	case single && p.Subscribed():
		filter := ""
		switch p.Kind {
		case AudienceSource:
			filter = ` AND x.source = $7`
		case AudienceSince:
			filter = ` AND x.joined_at >= $8`
		}
		return `SELECT x.chat_id, CASE WHEN x.status = 'active' AND ` + notSuppressed("x.channel_id", "x.chat_id") + ` THEN x.channel_id END AS channel_id
			FROM subscribers x WHERE x.channel_id = $5 AND x.chat_id > $2` + filter + ` ORDER BY x.chat_id` + limit
	case p.Kind == AudienceBatch && p.unknown:
		return `SELECT r.chat_id, CASE WHEN ` + notSuppressed("$5", "r.chat_id") + ` THEN $5::bigint END AS channel_id
			FROM recipients r WHERE r.batch_id = $6 AND r.chat_id > $2 ORDER BY r.chat_id` + limit
	}
	return `SELECT s.chat_id, ` + routeSQL(p.Kind) + ` AS channel_id FROM (` + scanSQL(p.Kind, limited) + `) s`
}

// botsUnknown reports whether none of channels has a subscriber.
func botsUnknown(ctx context.Context, db DBTX, channels []int64) (bool, error) {
	var any bool
	if err := db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM subscribers WHERE channel_id = ANY($1))`, channels).Scan(&any); err != nil {
		return false, fmt.Errorf("subscribers of channels: %w", err)
	}
	return !any, nil
}

func (p audiencePlan) args(after int64, n int) []any {
	var source *string
	var since *time.Time
	if p.Kind == AudienceSource {
		source = &p.Source
	}
	if p.Kind == AudienceSince {
		since = &p.Since
	}
	var batch *int64
	if p.HasBatch() {
		batch = &p.BatchID
	}
	return []any{p.campaignID, after, n, p.channels, p.primary, batch, source, since}
}

// campaignAudience reads campaign id's audience and bots.
func campaignAudience(ctx context.Context, db DBTX, id int64) (audiencePlan, error) {
	p := audiencePlan{campaignID: id}
	var source *string
	var since *time.Time
	err := db.QueryRow(ctx, `
		SELECT c.audience, coalesce(c.batch_id, 0), c.audience_source, c.audience_since, c.channel_id,
		       array(SELECT channel_id FROM campaign_channels WHERE campaign_id = c.id ORDER BY channel_id)
		FROM campaigns c WHERE c.id = $1`, id).Scan(&p.Kind, &p.BatchID, &source, &since, &p.primary, &p.channels)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, ErrNotFound
	}
	if err != nil {
		return p, fmt.Errorf("audience of campaign %d: %w", id, err)
	}
	if source != nil {
		p.Source = *source
	}
	if since != nil {
		p.Since = *since
	}
	return p, nil
}

// fanoutStart is the cursor before every chat id: groups and channels have negative
// ids, and a batch may hold them too.
const fanoutStart = math.MinInt64

// fanoutChunk inserts the deliveries of the next n chat ids of the campaign's
// audience after chat id after, each routed to one of its bots (see routeSQL); the
// ones no bot may reach get none. A cancelled campaign's deliveries are created
// cancelled, so its report still lists every recipient.
func fanoutChunk(ctx context.Context, tx DBTX, p audiencePlan, after int64, n int) (fanoutResult, error) {
	var r fanoutResult
	var last *int64
	var err error
	if p.Kind == AudienceBatch && len(p.channels) > 1 {
		if p.unknown, err = botsUnknown(ctx, tx, p.channels); err != nil {
			return r, err
		}
	}
	err = tx.QueryRow(ctx, `
		WITH `+paramsSQL+`,
		scan AS (`+p.routedSQL(true)+`),
		routed AS (SELECT * FROM scan),
		ins AS (
			INSERT INTO deliveries (campaign_id, chat_id, channel_id, status)
			SELECT $1, chat_id, channel_id,
			       CASE WHEN (SELECT status FROM campaigns WHERE id = $1) = 'cancelled' THEN 'cancelled' ELSE 'pending' END
			FROM routed WHERE channel_id IS NOT NULL
			RETURNING channel_id, status),
		-- Inserts are counted here, not by a trigger (migration 00008): a trigger would
		-- copy every chunk into a transition table.
		counted AS (
			INSERT INTO campaign_counters (campaign_id, channel_id, status, n)
			SELECT $1, channel_id, status, count(*) FROM ins GROUP BY channel_id, status ORDER BY channel_id, status
			ON CONFLICT (campaign_id, channel_id, status) DO UPDATE SET n = campaign_counters.n + EXCLUDED.n)
		SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM scan), (SELECT max(chat_id) FROM scan)`,
		p.args(after, n)...).Scan(&r.inserted, &r.scanned, &last)
	if err != nil {
		return r, err
	}
	r.done = r.scanned < int64(n)
	if !r.done {
		r.after = last
	}
	return r, nil
}

// AudienceCount is what an audience amounts to through a set of bots, as the wizard
// shows it before Confirm.
type AudienceCount struct {
	// Reachable get a delivery.
	Reachable int64
	// Suppressed are left out because they blocked the bots (or Telegram said so
	// at an earlier send), or, for groups and channels, the bots may no longer post.
	Suppressed int64
	// Unsubscribed are left out because they sent /stop.
	Unsubscribed int64
	// Unknown never started any of the bots. For AudienceBatchSubscribers they are
	// left out; for AudienceBatch they are among Reachable (tried through the first
	// bot, which fails unless another app's users started it).
	Unknown int64
}

// AudienceCount counts audience a through channelIDs (the first is the campaign's
// first bot) with the same routing as the fan-out: O(audience), for the wizard.
func (s *Store) AudienceCount(ctx context.Context, a Audience, channelIDs []int64) (AudienceCount, error) {
	var c AudienceCount
	if err := a.check(); err != nil {
		return c, err
	}
	if len(channelIDs) == 0 {
		return c, errors.New("audience count: no channel bot")
	}
	p := audiencePlan{Audience: a, primary: channelIDs[0], channels: channelIDs}
	err := s.db.QueryRow(ctx, `
		WITH `+paramsSQL+`,
		scan AS (`+p.routedSQL(false)+`),
		c AS (
			SELECT s.channel_id,
			       EXISTS (SELECT 1 FROM subscribers x WHERE x.chat_id = s.chat_id AND x.channel_id = ANY($4) AND x.status = 'stopped') AS stopped,
			       EXISTS (SELECT 1 FROM subscribers x WHERE x.chat_id = s.chat_id AND x.channel_id = ANY($4)) AS known
			FROM scan s)
		SELECT count(*) FILTER (WHERE channel_id IS NOT NULL),
		       count(*) FILTER (WHERE channel_id IS NULL AND NOT stopped AND (known OR $9::bool)),
		       count(*) FILTER (WHERE channel_id IS NULL AND stopped),
		       count(*) FILTER (WHERE NOT known AND $10::bool)
		FROM c`, append(p.args(fanoutStart, 0), a.Kind != AudienceBatchSubscribers, a.HasBatch())...).
		Scan(&c.Reachable, &c.Suppressed, &c.Unsubscribed, &c.Unknown)
	if err != nil {
		return c, fmt.Errorf("count audience %s: %w", a.Kind, err)
	}
	return c, nil
}

// AudienceSample returns the first reachable recipient of audience a through
// channelIDs with its template variables (the batch's columns over the
// subscriber's profile), for the wizard's preview; nil when nobody is reachable.
func (s *Store) AudienceSample(ctx context.Context, a Audience, channelIDs []int64) (*Recipient, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	if len(channelIDs) == 0 {
		return nil, errors.New("audience sample: no channel bot")
	}
	p := audiencePlan{Audience: a, primary: channelIDs[0], channels: channelIDs}
	rows, err := s.db.Query(ctx, `
		WITH `+paramsSQL+`,
		routed AS (`+p.routedSQL(false)+`),
		first AS (SELECT * FROM routed WHERE channel_id IS NOT NULL ORDER BY chat_id LIMIT 1)
		SELECT f.chat_id, coalesce((SELECT `+subscriberVarsSQL+` FROM subscribers x
		                            WHERE x.channel_id = f.channel_id AND x.chat_id = f.chat_id), '{}')
		                  || coalesce((SELECT vars FROM recipients WHERE batch_id = $6 AND chat_id = f.chat_id), '{}')
		FROM first f`, p.args(fanoutStart, 0)...)
	if err != nil {
		return nil, fmt.Errorf("sample audience %s: %w", a.Kind, err)
	}
	out, err := pgx.CollectRows(rows, scanRecipient)
	if err != nil {
		return nil, fmt.Errorf("sample audience %s: %w", a.Kind, err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return &out[0], nil
}

func scanRecipient(row pgx.CollectableRow) (Recipient, error) {
	var r Recipient
	var vars []byte
	if err := row.Scan(&r.ChatID, &vars); err != nil {
		return r, err
	}
	return r, json.Unmarshal(vars, &r.Vars)
}

// SourceCount is one /start source and how many active subscribers came with it.
type SourceCount struct {
	Source string
	Count  int64
}

// AudienceOptions says which audience kinds exist for a set of bots, with sizes, so
// the wizard offers only those.
type AudienceOptions struct {
	Subscribers int64         // active subscribers (each chat once)
	Sources     []SourceCount // the largest sources, most subscribers first
	Chats       int64         // groups and channels a bot may post in
}

// AudienceOptions reads the kinds channelIDs' audiences offer, with up to maxSources
// sources.
func (s *Store) AudienceOptions(ctx context.Context, channelIDs []int64, maxSources int) (AudienceOptions, error) {
	var o AudienceOptions
	err := s.db.QueryRow(ctx, `
		SELECT (SELECT count(DISTINCT chat_id) FROM subscribers WHERE channel_id = ANY($1) AND status = 'active'),
		       (SELECT count(DISTINCT chat_id) FROM channel_chats WHERE channel_id = ANY($1)
		          AND bot_status IN ('creator', 'administrator', 'member') AND (type <> 'channel' OR can_post))`,
		channelIDs).Scan(&o.Subscribers, &o.Chats)
	if err != nil {
		return o, fmt.Errorf("audience options: %w", err)
	}
	if o.Subscribers == 0 || maxSources <= 0 {
		return o, nil
	}
	rows, err := s.db.Query(ctx, `
		SELECT source, count(DISTINCT chat_id) FROM subscribers
		WHERE channel_id = ANY($1) AND status = 'active' AND source <> ''
		GROUP BY source ORDER BY 2 DESC, 1 LIMIT $2`, channelIDs, maxSources)
	if err != nil {
		return o, fmt.Errorf("audience sources: %w", err)
	}
	if o.Sources, err = pgx.CollectRows(rows, pgx.RowToStructByPos[SourceCount]); err != nil {
		return o, fmt.Errorf("audience sources: %w", err)
	}
	return o, nil
}

// CampaignChannelIDs lists the bots of campaign id, by channel id (none: ErrNotFound).
func (s *Store) CampaignChannelIDs(ctx context.Context, id int64) ([]int64, error) {
	rows, err := s.db.Query(ctx, `SELECT channel_id FROM campaign_channels WHERE campaign_id = $1 ORDER BY channel_id`, id)
	if err != nil {
		return nil, fmt.Errorf("channels of campaign %d: %w", id, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("channels of campaign %d: %w", id, err)
	}
	if len(ids) == 0 {
		return nil, ErrNotFound
	}
	return ids, nil
}

// ChannelCounts are a campaign's delivery counts through one of its bots.
type ChannelCounts struct {
	ChannelID int64
	Name      string
	Username  string
	DeliveryCounts
}

// DeliveryCountsByChannel reads campaign id's counts per bot from campaign_counters
// (a few rows, like DeliveryCounts), every bot of the campaign in channel id order.
func (s *Store) DeliveryCountsByChannel(ctx context.Context, id int64) ([]ChannelCounts, error) {
	rows, err := s.db.Query(ctx, `
		SELECT cc.channel_id, ch.name, ch.username, coalesce(k.status, ''), coalesce(k.n, 0)
		FROM campaign_channels cc
		JOIN campaigns c ON c.id = cc.campaign_id
		JOIN channels ch ON ch.id = cc.channel_id
		LEFT JOIN (
			SELECT CASE WHEN k.channel_id = 0 THEN c.channel_id ELSE k.channel_id END AS channel_id, k.status, sum(k.n)::bigint AS n
			FROM campaign_counters k JOIN campaigns c ON c.id = k.campaign_id
			WHERE k.campaign_id = $1 GROUP BY 1, 2) k ON k.channel_id = cc.channel_id
		WHERE cc.campaign_id = $1
		ORDER BY cc.channel_id`, id)
	if err != nil {
		return nil, fmt.Errorf("counts per bot of campaign %d: %w", id, err)
	}
	defer rows.Close()
	var out []ChannelCounts
	for rows.Next() {
		var cc ChannelCounts
		var status string
		var n int64
		if err := rows.Scan(&cc.ChannelID, &cc.Name, &cc.Username, &status, &n); err != nil {
			return nil, fmt.Errorf("counts per bot of campaign %d: %w", id, err)
		}
		if len(out) == 0 || out[len(out)-1].ChannelID != cc.ChannelID {
			out = append(out, cc)
		}
		out[len(out)-1].DeliveryCounts.add(status, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("counts per bot of campaign %d: %w", id, err)
	}
	return out, nil
}

// add counts n deliveries of status.
func (c *DeliveryCounts) add(status string, n int64) {
	switch status {
	case DeliveryPending:
		c.Pending += n
	case DeliveryInflight:
		c.Inflight += n
	case DeliverySent:
		c.Sent += n
	case DeliveryFailed:
		c.Failed += n
	case DeliveryBlocked:
		c.Blocked += n
	case DeliveryUncertain:
		c.Uncertain += n
	case DeliveryCancelled:
		c.Cancelled += n
	}
}

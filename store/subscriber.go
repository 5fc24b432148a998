package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Subscriber statuses (subscribers.status).
const (
	SubscriberActive  = "active"  // may be messaged
	SubscriberBlocked = "blocked" // blocked the bot; suppressed until unblocked
	SubscriberStopped = "stopped" // sent /stop
)

// Subscriber is a private chat that started a managed channel bot: who the user said
// they are (only what Telegram sends), the /start payload of the first start that had
// one (Source), and whether the bot may message them (Status).
type Subscriber struct {
	ChannelID       int64
	ChatID          int64
	FirstName       string
	LastName        string
	Username        string
	LanguageCode    string
	Source          string
	Status          string
	JoinedAt        time.Time
	LastSeenAt      time.Time
	StatusChangedAt time.Time
}

// SubscriberEvent is one thing a user did in a private chat with a managed bot, in the
// order the updates came. Status "" (a plain message) keeps the subscriber's status; a
// new chat that sends one is recorded as active (it can only write after starting).
type SubscriberEvent struct {
	ChannelID, ChatID                           int64
	FirstName, LastName, Username, LanguageCode string
	Source                                      string // the /start payload, "" for none
	Status                                      string // "", SubscriberActive, SubscriberBlocked or SubscriberStopped
	At                                          time.Time
}

// ChannelChatEvent is the bot's own membership changing in a group, supergroup or
// channel (my_chat_member): its status there and its rights.
type ChannelChatEvent struct {
	ChannelID, ChatID          int64
	Type, Title                string // group, supergroup, channel
	BotStatus                  string // creator, administrator, member, restricted, left, kicked
	CanPost, CanPin, CanDelete bool
	At                         time.Time
}

// IntakeBatch is what the intake collected from managed bots' updates since its last
// write, in update order per chat.
type IntakeBatch struct {
	Subscribers []SubscriberEvent
	Chats       []ChannelChatEvent
}

// IntakeWrite records a batch atomically in one round trip, whatever its size: events
// of one chat are folded first (the last status wins, the first payload is the
// source), then a pipeline of a few array statements upserts the subscribers, puts
// blocked chats on their bot's do-not-send list (reason blocked) and takes chats active
// again off it (only a suppression for blocking: a manual one stays), and upserts the
// groups and channels. Events of a channel deleted meanwhile are dropped.
func (s *Store) IntakeWrite(ctx context.Context, b IntakeBatch) error {
	subs := foldSubscribers(b.Subscribers)
	var withStatus, seen []foldedSubscriber
	var blocked, active [][2]int64
	for _, e := range subs {
		switch e.Status {
		case "":
			seen = append(seen, e)
			continue
		case SubscriberBlocked:
			blocked = append(blocked, [2]int64{e.ChannelID, e.ChatID})
		case SubscriberActive:
			active = append(active, [2]int64{e.ChannelID, e.ChatID})
		}
		withStatus = append(withStatus, e)
	}
	batch := &pgx.Batch{}
	queueSubscribersUpsert(batch, withStatus, subscriberUpsertStatus)
	queueSubscribersUpsert(batch, seen, subscriberUpsertSeen)
	queueIntakeSuppress(batch, blocked, active)
	queueChannelChatsUpsert(batch, foldChats(b.Chats))
	if batch.Len() == 0 {
		return nil
	}
	// A pool and a transaction both send batches; on the pool the statements up to
	// the pipeline's sync run as one implicit transaction.
	sender, ok := s.db.(interface {
		SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
	})
	if !ok {
		return errors.New("record intake: the executor cannot send batches")
	}
	res := sender.SendBatch(ctx, batch)
	for range batch.Len() {
		if _, err := res.Exec(); err != nil {
			_ = res.Close()
			return fmt.Errorf("record intake: %w", err)
		}
	}
	if err := res.Close(); err != nil {
		return fmt.Errorf("record intake: %w", err)
	}
	return nil
}

// foldedSubscriber is one chat's events of a batch folded into one row.
type foldedSubscriber struct {
	SubscriberEvent
	firstAt time.Time
}

func foldSubscribers(events []SubscriberEvent) []foldedSubscriber {
	out := make([]foldedSubscriber, 0, len(events))
	index := make(map[[2]int64]int, len(events))
	for _, e := range events {
		key := [2]int64{e.ChannelID, e.ChatID}
		i, ok := index[key]
		if !ok {
			index[key] = len(out)
			out = append(out, foldedSubscriber{SubscriberEvent: e, firstAt: e.At})
			continue
		}
		f := &out[i]
		src, status, last := f.Source, f.Status, f.At
		f.SubscriberEvent = e // the newest profile
		if src != "" {
			f.Source = src
		}
		if e.Status == "" {
			f.Status = status
		}
		if last.After(e.At) {
			f.At = last
		}
		if e.At.Before(f.firstAt) {
			f.firstAt = e.At
		}
	}
	return out
}

func foldChats(events []ChannelChatEvent) []ChannelChatEvent {
	out := make([]ChannelChatEvent, 0, len(events))
	index := make(map[[2]int64]int, len(events))
	for _, e := range events {
		key := [2]int64{e.ChannelID, e.ChatID}
		if i, ok := index[key]; ok {
			out[i] = e // the bot's latest status there is the truth
			continue
		}
		index[key] = len(out)
		out = append(out, e)
	}
	return out
}

// How subscribersUpsert treats an existing row: set the status (start, stop, block,
// unblock) or keep it (any other message: only the profile and last_seen_at).
const (
	subscriberUpsertStatus = `,
		status = EXCLUDED.status,
		status_changed_at = CASE WHEN subscribers.status <> EXCLUDED.status
			THEN EXCLUDED.status_changed_at ELSE subscribers.status_changed_at END`
	subscriberUpsertSeen = ``
)

func queueSubscribersUpsert(batch *pgx.Batch, rows []foldedSubscriber, onConflict string) {
	if len(rows) == 0 {
		return
	}
	n := len(rows)
	channelIDs, chatIDs := make([]int64, n), make([]int64, n)
	first, last, user, lang, source, status := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	at, firstAt := make([]time.Time, n), make([]time.Time, n)
	for i, r := range rows {
		channelIDs[i], chatIDs[i], firstAt[i] = r.ChannelID, r.ChatID, r.firstAt
		first[i], last[i], user[i], lang[i], source[i] = r.FirstName, r.LastName, r.Username, r.LanguageCode, r.Source
		status[i], at[i] = r.Status, r.At
		if status[i] == "" {
			status[i] = SubscriberActive
		}
	}
	// joined_at is the first event's time only for a new row; an existing row keeps its.
	batch.Queue(`
		INSERT INTO subscribers (channel_id, chat_id, first_name, last_name, username, language_code,
			source, status, joined_at, last_seen_at, status_changed_at)
		SELECT v.channel_id, v.chat_id, v.first_name, v.last_name, v.username, v.language_code,
			v.source, v.status, v.first_at, v.at, v.at
		FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
			$9::timestamptz[], $10::timestamptz[])
			AS v(channel_id, chat_id, first_name, last_name, username, language_code, source, status, at, first_at)
		JOIN channels c ON c.id = v.channel_id
		ON CONFLICT (channel_id, chat_id) DO UPDATE SET
			first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name,
			username = EXCLUDED.username, language_code = EXCLUDED.language_code,
			source = CASE WHEN subscribers.source = '' THEN EXCLUDED.source ELSE subscribers.source END,
			last_seen_at = greatest(subscribers.last_seen_at, EXCLUDED.last_seen_at)`+onConflict,
		channelIDs, chatIDs, first, last, user, lang, source, status, at, firstAt)
}

// queueIntakeSuppress adds the blocked chats to their bot's do-not-send list and
// removes the chats that are active again, where blocking had put them.
func queueIntakeSuppress(batch *pgx.Batch, blocked, active [][2]int64) {
	split := func(keys [][2]int64) ([]int64, []int64) {
		a, b := make([]int64, len(keys)), make([]int64, len(keys))
		for i, k := range keys {
			a[i], b[i] = k[0], k[1]
		}
		return a, b
	}
	if len(blocked) > 0 {
		ch, chat := split(blocked)
		batch.Queue(`
			INSERT INTO suppressions (channel_id, chat_id, reason)
			SELECT v.channel_id, v.chat_id, 'blocked' FROM unnest($1::bigint[], $2::bigint[]) AS v(channel_id, chat_id)
			JOIN channels c ON c.id = v.channel_id
			ON CONFLICT DO NOTHING`, ch, chat)
	}
	if len(active) > 0 {
		ch, chat := split(active)
		batch.Queue(`
			DELETE FROM suppressions s USING unnest($1::bigint[], $2::bigint[]) AS v(channel_id, chat_id)
			WHERE s.channel_id = v.channel_id AND s.chat_id = v.chat_id AND s.reason = 'blocked'`, ch, chat)
	}
}

func queueChannelChatsUpsert(batch *pgx.Batch, rows []ChannelChatEvent) {
	if len(rows) == 0 {
		return
	}
	n := len(rows)
	channelIDs, chatIDs := make([]int64, n), make([]int64, n)
	types, titles, statuses := make([]string, n), make([]string, n), make([]string, n)
	post, pin, del := make([]bool, n), make([]bool, n), make([]bool, n)
	at := make([]time.Time, n)
	for i, r := range rows {
		channelIDs[i], chatIDs[i], types[i], titles[i], statuses[i] = r.ChannelID, r.ChatID, r.Type, r.Title, r.BotStatus
		post[i], pin[i], del[i], at[i] = r.CanPost, r.CanPin, r.CanDelete, r.At
	}
	batch.Queue(`
		INSERT INTO channel_chats AS cc (channel_id, chat_id, type, title, bot_status, can_post, can_pin, can_delete, added_at, updated_at)
		SELECT v.channel_id, v.chat_id, v.type, v.title, v.bot_status, v.can_post, v.can_pin, v.can_delete, v.at, v.at
		FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bool[], $7::bool[], $8::bool[], $9::timestamptz[])
			AS v(channel_id, chat_id, type, title, bot_status, can_post, can_pin, can_delete, at)
		JOIN channels c ON c.id = v.channel_id
		ON CONFLICT (channel_id, chat_id) DO UPDATE SET
			type = EXCLUDED.type, title = EXCLUDED.title, bot_status = EXCLUDED.bot_status,
			can_post = EXCLUDED.can_post, can_pin = EXCLUDED.can_pin, can_delete = EXCLUDED.can_delete,
			updated_at = greatest(cc.updated_at, EXCLUDED.updated_at)`,
		channelIDs, chatIDs, types, titles, statuses, post, pin, del, at)
}

const subscriberColumns = `channel_id, chat_id, first_name, last_name, username, language_code, source, status,
	joined_at, last_seen_at, status_changed_at`

// SubscriberGet returns one subscriber of channelID, or ErrNotFound.
func (s *Store) SubscriberGet(ctx context.Context, channelID, chatID int64) (Subscriber, error) {
	var r Subscriber
	err := s.db.QueryRow(ctx, `SELECT `+subscriberColumns+` FROM subscribers WHERE channel_id = $1 AND chat_id = $2`,
		channelID, chatID).Scan(&r.ChannelID, &r.ChatID, &r.FirstName, &r.LastName, &r.Username, &r.LanguageCode,
		&r.Source, &r.Status, &r.JoinedAt, &r.LastSeenAt, &r.StatusChangedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("get subscriber %d of channel %d: %w", chatID, channelID, err)
	}
	return r, nil
}

// SubscriberCounts are a managed bot's subscribers by status, for its card.
type SubscriberCounts struct {
	Active, Blocked, Stopped int64
	// Chats are the groups, supergroups and channels where the bot may post.
	Chats int64
}

// SubscriberCount counts channelID's subscribers by status and its targetable chats.
func (s *Store) SubscriberCount(ctx context.Context, channelID int64) (SubscriberCounts, error) {
	var c SubscriberCounts
	err := s.db.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE status = 'active'), count(*) FILTER (WHERE status = 'blocked'),
			count(*) FILTER (WHERE status = 'stopped'),
			(SELECT count(*) FROM channel_chats WHERE channel_id = $1 AND `+ChannelChatTargetable+`)
		FROM subscribers WHERE channel_id = $1`, channelID).Scan(&c.Active, &c.Blocked, &c.Stopped, &c.Chats)
	if err != nil {
		return c, fmt.Errorf("count subscribers of channel %d: %w", channelID, err)
	}
	return c, nil
}

// ChannelChatTargetable is the SQL condition (on channel_chats) under which the bot may
// post in a chat: a member or administrator there, and in a channel with the right to
// post.
const ChannelChatTargetable = `bot_status IN ('creator', 'administrator', 'member') AND (type <> 'channel' OR can_post)`

// ChannelChat is a group, supergroup or channel a channel bot was added to.
type ChannelChat struct {
	ChannelID, ChatID          int64
	Type, Title, BotStatus     string
	CanPost, CanPin, CanDelete bool
	Targetable                 bool
	AddedAt, UpdatedAt         time.Time
}

// ChannelChatList returns channelID's groups and channels, targetable or not, by id.
func (s *Store) ChannelChatList(ctx context.Context, channelID int64) ([]ChannelChat, error) {
	rows, err := s.db.Query(ctx, `
		SELECT channel_id, chat_id, type, title, bot_status, can_post, can_pin, can_delete, `+ChannelChatTargetable+`,
			added_at, updated_at
		FROM channel_chats WHERE channel_id = $1 ORDER BY chat_id`, channelID)
	if err != nil {
		return nil, fmt.Errorf("list chats of channel %d: %w", channelID, err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ChannelChat, error) {
		var c ChannelChat
		err := row.Scan(&c.ChannelID, &c.ChatID, &c.Type, &c.Title, &c.BotStatus, &c.CanPost, &c.CanPin, &c.CanDelete,
			&c.Targetable, &c.AddedAt, &c.UpdatedAt)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("list chats of channel %d: %w", channelID, err)
	}
	return list, nil
}

// SubscriberPage returns up to limit subscribers of channelID with chat ids above
// after, by chat id; status "" means every status.
func (s *Store) SubscriberPage(ctx context.Context, channelID int64, status string, after int64, limit int) ([]Subscriber, error) {
	rows, err := s.db.Query(ctx, `SELECT `+subscriberColumns+` FROM subscribers
		WHERE channel_id = $1 AND chat_id > $2 AND ($3 = '' OR status = $3)
		ORDER BY chat_id LIMIT $4`, channelID, after, status, limit)
	if err != nil {
		return nil, fmt.Errorf("list subscribers of channel %d: %w", channelID, err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Subscriber, error) {
		var r Subscriber
		err := row.Scan(&r.ChannelID, &r.ChatID, &r.FirstName, &r.LastName, &r.Username, &r.LanguageCode,
			&r.Source, &r.Status, &r.JoinedAt, &r.LastSeenAt, &r.StatusChangedAt)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("list subscribers of channel %d: %w", channelID, err)
	}
	return list, nil
}

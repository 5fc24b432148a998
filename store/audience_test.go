package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"herald/pgtest"
	"herald/store"
)

// subscriberSeed is a subscribers row as the intake would write it (tests only write
// these tables; the intake owns them).
type subscriberSeed struct {
	Channel   int64
	Chat      int64
	FirstName string
	Source    string
	Status    string // "" is active
	Joined    time.Time
	LastSeen  time.Time
}

func seedSubscribers(t *testing.T, pool *pgxpool.Pool, rows []subscriberSeed) {
	t.Helper()
	now := time.Now()
	for _, r := range rows {
		if r.Status == "" {
			r.Status = "active"
		}
		if r.Joined.IsZero() {
			r.Joined = now.Add(-10 * 24 * time.Hour)
		}
		if r.LastSeen.IsZero() {
			r.LastSeen = r.Joined
		}
		_, err := pool.Exec(context.Background(), `
			INSERT INTO subscribers (channel_id, chat_id, first_name, username, source, status, joined_at, last_seen_at)
			VALUES ($1, $2::bigint, $3, 'u' || $2::bigint::text, $4, $5, $6, $7)`,
			r.Channel, r.Chat, r.FirstName, r.Source, r.Status, r.Joined, r.LastSeen)
		require.NoError(t, err)
	}
}

// chatSeed is a channel_chats row.
type chatSeed struct {
	Channel int64
	Chat    int64
	Type    string
	Status  string
	CanPost bool
}

func seedChats(t *testing.T, pool *pgxpool.Pool, rows []chatSeed) {
	t.Helper()
	for _, r := range rows {
		_, err := pool.Exec(context.Background(), `
			INSERT INTO channel_chats (channel_id, chat_id, type, title, bot_status, can_post)
			VALUES ($1, $2::bigint, $3, 'chat ' || $2::bigint::text, $4, $5)`, r.Channel, r.Chat, r.Type, r.Status, r.CanPost)
		require.NoError(t, err)
	}
}

type audienceBundle struct {
	pool  *pgxpool.Pool
	st    *store.Store
	a, b  int64 // channel bots
	tpl   int64
	batch int64
}

// setupAudiences: bots A and B, their subscribers and chats, and a batch of 1, 3, 4,
// 5, 8, 9.
//
//	1: A, source promo          2: A and B (B seen last)    3: B only
//	4: A, blocked               5: A, stopped               6: A, on A's suppression list
//	7: A, source promo, joined an hour ago
//	-100 group (A member)   -101 channel (A may post)   -102 channel (A may not post)
//	-103 group A left       -104 supergroup (B member)
func setupAudiences(t *testing.T) *audienceBundle {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	b := &audienceBundle{pool: pool, st: store.New(pool)}
	for i, id := range []*int64{&b.a, &b.b} {
		require.NoError(t, pool.QueryRow(ctx, `
			INSERT INTO channels (bot_user_id, username, name, token_ciphertext, created_by, mode)
			VALUES ($1, $2, $2, '\x00', 1, 'managed') RETURNING id`, 100+i, fmt.Sprintf("bot_%c", 'a'+i)).Scan(id))
	}
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO templates (name, body, created_by) VALUES ('t', 'hi', 1) RETURNING id`).Scan(&b.tpl))
	require.NoError(t, pool.QueryRow(ctx, `
		INSERT INTO batches (name, status, created_by, columns) VALUES ('b', 'ready', 1, '{city}') RETURNING id`).Scan(&b.batch))
	_, err := pool.Exec(ctx, `INSERT INTO recipients (batch_id, chat_id, vars)
		SELECT $1, g, jsonb_build_object('city', 'C' || g) FROM unnest('{1,3,4,5,8,9}'::bigint[]) g`, b.batch)
	require.NoError(t, err)
	now := time.Now()
	seedSubscribers(t, pool, []subscriberSeed{
		{Channel: b.a, Chat: 1, FirstName: "Ann", Source: "promo"},
		{Channel: b.a, Chat: 2, FirstName: "Bob"},
		{Channel: b.b, Chat: 2, FirstName: "Bobby", LastSeen: now.Add(-time.Hour)},
		{Channel: b.b, Chat: 3, FirstName: "Cy"},
		{Channel: b.a, Chat: 4, Status: "blocked"},
		{Channel: b.a, Chat: 5, Status: "stopped"},
		{Channel: b.a, Chat: 6},
		{Channel: b.a, Chat: 7, Source: "promo", Joined: now.Add(-time.Hour)},
	})
	require.NoError(t, b.st.SuppressionAdd(ctx, b.a, 6, store.SuppressBlocked))
	seedChats(t, pool, []chatSeed{
		{Channel: b.a, Chat: -100, Type: "group", Status: "member"},
		{Channel: b.a, Chat: -101, Type: "channel", Status: "administrator", CanPost: true},
		{Channel: b.a, Chat: -102, Type: "channel", Status: "administrator"},
		{Channel: b.a, Chat: -103, Type: "group", Status: "left"},
		{Channel: b.b, Chat: -104, Type: "supergroup", Status: "member"},
	})
	return b
}

// deliveries maps each delivery's chat to the bot it was routed to.
func (b *audienceBundle) deliveries(t *testing.T, id int64) map[int64]int64 {
	t.Helper()
	rows, err := b.pool.Query(context.Background(), `SELECT chat_id, channel_id FROM deliveries WHERE campaign_id = $1`, id)
	require.NoError(t, err)
	defer rows.Close()
	out := map[int64]int64{}
	for rows.Next() {
		var chat, ch int64
		require.NoError(t, rows.Scan(&chat, &ch))
		out[chat] = ch
	}
	require.NoError(t, rows.Err())
	return out
}

// TestAudienceKinds: every kind counts, and starts, exactly the expected chats, each
// routed to a bot it started (the one it used last); blocked, stopped and suppressed
// ones get nothing and are counted as such.
func TestAudienceKinds(t *testing.T) {
	t.Parallel()
	b := setupAudiences(t)
	ctx := context.Background()
	since := time.Now().Add(-24 * time.Hour)
	A, B := b.a, b.b
	cases := []struct {
		name     string
		aud      store.Audience
		channels []int64
		count    store.AudienceCount
		routed   map[int64]int64
	}{
		{"subscribers of A", store.Audience{Kind: store.AudienceSubscribers}, []int64{A},
			store.AudienceCount{Reachable: 3, Suppressed: 2, Unsubscribed: 1}, map[int64]int64{1: A, 2: A, 7: A}},
		{"subscribers of A and B", store.Audience{Kind: store.AudienceSubscribers}, []int64{A, B},
			store.AudienceCount{Reachable: 4, Suppressed: 2, Unsubscribed: 1}, map[int64]int64{1: A, 2: B, 3: B, 7: A}},
		{"source promo", store.Audience{Kind: store.AudienceSource, Source: "promo"}, []int64{A},
			store.AudienceCount{Reachable: 2}, map[int64]int64{1: A, 7: A}},
		{"since yesterday", store.Audience{Kind: store.AudienceSince, Since: since}, []int64{A, B},
			store.AudienceCount{Reachable: 1}, map[int64]int64{7: A}},
		{"chats of A", store.Audience{Kind: store.AudienceChats}, []int64{A},
			store.AudienceCount{Reachable: 2, Suppressed: 2}, map[int64]int64{-100: A, -101: A}},
		{"chats of A and B", store.Audience{Kind: store.AudienceChats}, []int64{A, B},
			store.AudienceCount{Reachable: 3, Suppressed: 2}, map[int64]int64{-100: A, -101: A, -104: B}},
		{"batch and subscribers of A", store.Audience{Kind: store.AudienceBatchSubscribers, BatchID: b.batch}, []int64{A},
			store.AudienceCount{Reachable: 1, Suppressed: 1, Unsubscribed: 1, Unknown: 3}, map[int64]int64{1: A}},
		{"batch and subscribers of A and B", store.Audience{Kind: store.AudienceBatchSubscribers, BatchID: b.batch}, []int64{A, B},
			store.AudienceCount{Reachable: 2, Suppressed: 1, Unsubscribed: 1, Unknown: 2}, map[int64]int64{1: A, 3: B}},
		{"batch through A", store.Audience{Kind: store.AudienceBatch, BatchID: b.batch}, []int64{A},
			store.AudienceCount{Reachable: 4, Suppressed: 1, Unsubscribed: 1, Unknown: 3}, map[int64]int64{1: A, 3: A, 8: A, 9: A}},
		{"batch through B and A", store.Audience{Kind: store.AudienceBatch, BatchID: b.batch}, []int64{B, A},
			store.AudienceCount{Reachable: 4, Suppressed: 1, Unsubscribed: 1, Unknown: 2}, map[int64]int64{1: A, 3: B, 8: B, 9: B}},
	}
	for i, tc := range cases {
		count, err := b.st.AudienceCount(ctx, tc.aud, tc.channels)
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.count, count, tc.name)

		id, err := b.st.CampaignCreate(ctx, store.NewCampaign{TemplateID: b.tpl, Audience: tc.aud,
			ChannelID: tc.channels[0], ChannelIDs: tc.channels, ControlChatID: 1, CreatedBy: 1, RequestKey: fmt.Sprint(i)})
		require.NoError(t, err, tc.name)
		var res store.CampaignStartResult
		require.NoError(t, b.st.InTx(ctx, func(tx *store.Store) error {
			res, err = tx.CampaignStart(ctx, id)
			return err
		}), tc.name)
		require.True(t, res.Started && res.FanoutDone, tc.name)
		require.Equal(t, tc.routed, b.deliveries(t, id), tc.name)
		sorted := append([]int64(nil), tc.channels...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
		require.Equal(t, sorted, res.ChannelIDs, tc.name)

		// The counters per bot agree with the rows, and add up to the totals.
		per, err := b.st.DeliveryCountsByChannel(ctx, id)
		require.NoError(t, err)
		want := map[int64]int64{}
		for _, ch := range tc.routed {
			want[ch]++
		}
		var sum int64
		for _, p := range per {
			require.Equal(t, want[p.ChannelID], p.Pending, tc.name)
			sum += p.Total()
		}
		total, err := b.st.DeliveryCounts(ctx, id)
		require.NoError(t, err)
		require.Equal(t, total.Total(), sum, tc.name)
		require.EqualValues(t, len(tc.routed), sum, tc.name)
	}
}

// TestAudienceClaimVars: a lane claims only its own bot's deliveries, each with the
// subscriber's profile as variables, under the batch's own columns.
func TestAudienceClaimVars(t *testing.T) {
	t.Parallel()
	b := setupAudiences(t)
	ctx := context.Background()
	id, err := b.st.CampaignCreate(ctx, store.NewCampaign{TemplateID: b.tpl,
		Audience:  store.Audience{Kind: store.AudienceBatchSubscribers, BatchID: b.batch},
		ChannelID: b.a, ChannelIDs: []int64{b.a, b.b}, ControlChatID: 1, CreatedBy: 1})
	require.NoError(t, err)
	require.NoError(t, b.st.InTx(ctx, func(tx *store.Store) error { _, err := tx.CampaignStart(ctx, id); return err }))

	claimed, err := b.st.DeliveryClaim(ctx, b.b, []int64{id}, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	require.EqualValues(t, 3, claimed[0].ChatID)
	var vars map[string]string
	require.NoError(t, json.Unmarshal(claimed[0].Vars, &vars))
	require.Equal(t, map[string]string{"first_name": "Cy", "username": "u3", "city": "C3"}, vars)

	claimed, err = b.st.DeliveryClaim(ctx, b.a, []int64{id}, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	require.EqualValues(t, 1, claimed[0].ChatID)

	sample, err := b.st.AudienceSample(ctx, store.Audience{Kind: store.AudienceSubscribers}, []int64{b.b, b.a})
	require.NoError(t, err)
	require.Equal(t, &store.Recipient{ChatID: 1, Vars: map[string]string{"first_name": "Ann", "username": "u1"}}, sample)

	opts, err := b.st.AudienceOptions(ctx, []int64{b.a}, 5)
	require.NoError(t, err)
	require.Equal(t, store.AudienceOptions{Subscribers: 4, Sources: []store.SourceCount{{Source: "promo", Count: 2}}, Chats: 2}, opts)
}

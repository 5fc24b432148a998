package queue_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"herald/queue"
	"herald/store"
	"herald/tgemu"
)

// subscribe writes the subscribers rows the intake would have written for users who
// started the channel bot (the intake is another branch's; tests only seed its table).
func (b *testBundle) subscribe(t *testing.T, channel int64, users []*tgemu.User, source, status string, lastSeen time.Time) {
	t.Helper()
	for _, u := range users {
		_, err := b.pool.Exec(context.Background(), `
			INSERT INTO subscribers (channel_id, chat_id, first_name, source, status, joined_at, last_seen_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6)`, channel, u.ID, u.FirstName, source, status, lastSeen)
		require.NoError(t, err)
	}
}

// startAudience creates a campaign for audience through channels (the first is the
// campaign's first bot) and enqueues its start, as the wizard does.
func (b *testBundle) startAudience(t *testing.T, client *river.Client[pgx.Tx], tpl int64, a store.Audience, channels ...int64) int64 {
	t.Helper()
	ctx := context.Background()
	var id int64
	require.NoError(t, b.store.InTx(ctx, func(tx *store.Store) error {
		var err error
		id, err = queue.NewStarter(client).CreateCampaign(ctx, tx, store.NewCampaign{
			TemplateID: tpl, Audience: a, ChannelID: channels[0], ChannelIDs: channels,
			ControlChatID: b.admin, CreatedBy: b.admin, RequestKey: fmt.Sprintf("aud-%d", time.Now().UnixNano()),
		})
		return err
	}))
	return id
}

// receivedText lists the chats (of chats) whose transcript with bot holds a message
// from the bot with exactly text, each as many times as it got it.
func (b *testBundle) receivedText(bot *tgemu.Bot, chats []int64, text string) []int64 {
	var out []int64
	for _, c := range chats {
		for _, e := range b.emu.Transcript(bot.Token, c) {
			if e.FromBot && e.Message.Text == text {
				out = append(out, c)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func sorted(ids ...[]int64) []int64 {
	var out []int64
	for _, s := range ids {
		out = append(out, s...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// TestAudienceKindsDeliver: every audience kind sends to exactly the chats it should,
// as the emulator's transcripts show; blocked and stopped subscribers get nothing.
func TestAudienceKindsDeliver(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	client := b.newClient(t, clientOpts{id: "p1"})
	ctx := context.Background()
	channel, bot := b.channel(t, 30)
	old := time.Now().Add(-10 * 24 * time.Hour)
	promo := b.users(t, bot, 3)
	plain := b.users(t, bot, 2)
	recent := b.users(t, bot, 2)
	blocked := b.users(t, bot, 2)
	stopped := b.users(t, bot, 2)
	stranger := b.emu.CreateUser(tgemu.UserSpec{FirstName: "Stranger"}) // never started the bot
	b.subscribe(t, channel, promo, "promo_nov", "active", old)
	b.subscribe(t, channel, plain, "", "active", old)
	b.subscribe(t, channel, recent, "ad", "active", time.Now().Add(-time.Hour))
	b.subscribe(t, channel, blocked, "promo_nov", "blocked", old)
	b.subscribe(t, channel, stopped, "promo_nov", "stopped", old)
	for _, u := range blocked {
		u.Block(bot.Token)
	}
	group := b.emu.CreateGroup("Fans", promo[0])
	group.AddBot(bot.Token, promo[0])
	gone := b.emu.CreateGroup("Former", promo[0])
	_, err := b.pool.Exec(ctx, `
		INSERT INTO channel_chats (channel_id, chat_id, type, title, bot_status) VALUES ($1, $2, 'group', 'Fans', 'member'),
		($1, $3, 'group', 'Former', 'left')`, channel, group.ID, gone.ID)
	require.NoError(t, err)

	everyone := sorted(ids(promo), ids(plain), ids(recent), ids(blocked), ids(stopped), []int64{stranger.ID, group.ID, gone.ID})
	batch := b.batch(t, sorted(ids(promo[:2]), ids(blocked[:1]), ids(stopped[:1]), []int64{stranger.ID}))
	cases := []struct {
		name  string
		aud   store.Audience
		count store.AudienceCount
		want  []int64
	}{
		{"subscribers", store.Audience{Kind: store.AudienceSubscribers},
			store.AudienceCount{Reachable: 7, Suppressed: 2, Unsubscribed: 2}, sorted(ids(promo), ids(plain), ids(recent))},
		{"source", store.Audience{Kind: store.AudienceSource, Source: "promo_nov"},
			store.AudienceCount{Reachable: 3, Suppressed: 2, Unsubscribed: 2}, ids(promo)},
		{"since", store.Audience{Kind: store.AudienceSince, Since: time.Now().Add(-24 * time.Hour)},
			store.AudienceCount{Reachable: 2}, ids(recent)},
		{"chats", store.Audience{Kind: store.AudienceChats},
			store.AudienceCount{Reachable: 1, Suppressed: 1}, []int64{group.ID}},
		{"batch and subscribers", store.Audience{Kind: store.AudienceBatchSubscribers, BatchID: batch},
			store.AudienceCount{Reachable: 2, Suppressed: 1, Unsubscribed: 1, Unknown: 1}, ids(promo[:2])},
	}
	for _, tc := range cases {
		count, err := b.store.AudienceCount(ctx, tc.aud, []int64{channel})
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.count, count, tc.name)
		text := "To " + tc.name
		id := b.startAudience(t, client, b.template(t, text), tc.aud, channel)
		b.waitStatus(t, id, store.CampaignCompleted, 20*time.Second)
		require.Equal(t, tc.want, b.receivedText(bot, everyone, text), tc.name)
		require.Equal(t, store.DeliveryCounts{Sent: int64(len(tc.want))}, b.counts(t, id), tc.name)
	}
	require.Zero(t, b.emu.Stats(bot.Token).TooManyRequests)
}

// TestTwoBotCampaign: users started bot A, bot B or both; a campaign through both
// sends each user once, through the bot it used most recently, with its profile's
// first name; each bot's pace holds (no 1-second window above its rate, no 429),
// and the report says per bot.
func TestTwoBotCampaign(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	client := b.newClient(t, clientOpts{id: "p1", withMgmt: true})
	const rate, n = 20, 40
	chA, botA := b.channel(t, rate)
	chB, botB := b.channel(t, rate)
	old, recent := time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour)
	onlyA := b.users(t, botA, n)
	onlyB := b.users(t, botB, n)
	bothA := b.users(t, botA, n) // used A last
	bothB := b.users(t, botA, n) // used B last
	b.emu.SetStarted(botB.Token, bothA...)
	b.emu.SetStarted(botB.Token, bothB...)
	b.subscribe(t, chA, onlyA, "", "active", old)
	b.subscribe(t, chB, onlyB, "", "active", old)
	b.subscribe(t, chA, bothA, "", "active", recent)
	b.subscribe(t, chB, bothA, "", "active", old)
	b.subscribe(t, chA, bothB, "", "active", old)
	b.subscribe(t, chB, bothB, "", "active", recent)

	id := b.startAudience(t, client, b.template(t, "Hi {{first_name}}"), store.Audience{Kind: store.AudienceSubscribers}, chA, chB)
	b.waitStatus(t, id, store.CampaignCompleted, 30*time.Second)
	require.Equal(t, store.DeliveryCounts{Sent: 4 * n}, b.counts(t, id))

	viaA, viaB := sorted(ids(onlyA), ids(bothA)), sorted(ids(onlyB), ids(bothB))
	for _, u := range sorted(viaA, viaB) {
		name := b.emu.User(u).FirstName
		gotA, gotB := b.receivedText(botA, []int64{u}, "Hi "+name), b.receivedText(botB, []int64{u}, "Hi "+name)
		require.Equal(t, 1, len(gotA)+len(gotB), "user %d got the message %d times", u, len(gotA)+len(gotB))
	}
	stA, stB := b.emu.Stats(botA.Token), b.emu.Stats(botB.Token)
	require.EqualValues(t, 2*n, stA.Sent)
	require.EqualValues(t, 2*n, stB.Sent)
	for _, u := range viaA {
		require.Equal(t, 1, stA.PerChat[u], "user %d should get it through A", u)
	}
	for _, u := range viaB {
		require.Equal(t, 1, stB.PerChat[u], "user %d should get it through B", u)
	}
	require.LessOrEqual(t, stA.MaxPerSecond, rate)
	require.LessOrEqual(t, stB.MaxPerSecond, rate)
	require.Zero(t, stA.TooManyRequests)
	require.Zero(t, stB.TooManyRequests)
	t.Logf("bot A: %d sent, max %d in a second; bot B: %d sent, max %d in a second", stA.Sent, stA.MaxPerSecond, stB.Sent, stB.MaxPerSecond)

	report := b.waitReport(t, id)
	require.Contains(t, report, "Per bot:")
	for _, bot := range []*tgemu.Bot{botA, botB} {
		line := fmt.Sprintf("• %s (@%s): %d recipients · ✅ %d", bot.Username, bot.Username, 2*n, 2*n)
		require.True(t, strings.Contains(report, line), "report lacks %q:\n%s", line, report)
	}
}

// TestEditForEveryoneTwoBots: a campaign sent through two bots is edited for everyone
// through the bot that sent each message (a bot cannot edit another's), each bot at
// its own pace (no 429, no second above its rate); one progress message turns into
// one report with every message counted.
func TestEditForEveryoneTwoBots(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	client := b.newClient(t, clientOpts{id: "p1", withMgmt: true})
	const rate, n = 20, 30
	chA, botA := b.channel(t, rate)
	chB, botB := b.channel(t, rate)
	onlyA, onlyB := b.users(t, botA, n), b.users(t, botB, n)
	b.subscribe(t, chA, onlyA, "", "active", time.Now().Add(-time.Hour))
	b.subscribe(t, chB, onlyB, "", "active", time.Now().Add(-time.Hour))
	id := b.startAudience(t, client, b.template(t, "Helo, {{first_name}}!"), store.Audience{Kind: store.AudienceSubscribers}, chA, chB)
	b.waitStatus(t, id, store.CampaignCompleted, 30*time.Second)

	op := b.startOperation(t, client, store.NewOperation{CampaignID: id, Kind: store.OperationEdit, Body: "Hello, {{first_name}}! (fixed)"})
	require.EqualValues(t, 2*n, op.Total)
	counts := b.waitOperation(t, op.ID, 60*time.Second)
	require.Equal(t, store.OperationCounts{Done: 2 * n, Reasons: map[string]int64{}}, counts)
	for bot, users := range map[*tgemu.Bot][]*tgemu.User{botA: onlyA, botB: onlyB} {
		for _, u := range users {
			tr := b.emu.Transcript(bot.Token, u.ID)
			require.Len(t, tr, 1, "chat %d", u.ID)
			require.Equal(t, fmt.Sprintf("Hello, %s! (fixed)", b.emu.User(u.ID).FirstName), tr[0].Message.Text, "chat %d edited by @%s", u.ID, bot.Username)
			require.Len(t, tr[0].History, 1, "edited once")
		}
		st := b.emu.Stats(bot.Token)
		require.EqualValues(t, n, st.Edited, "@%s edits its own messages", bot.Username)
		require.Zero(t, st.TooManyRequests)
		require.LessOrEqual(t, st.MaxPerSecond, rate)
		t.Logf("@%s: %d sent, %d edited, max %d calls in a 1-s window (rate %d), %d × 429", bot.Username, st.Sent, st.Edited, st.MaxPerSecond, rate, st.TooManyRequests)
	}
	require.Eventually(t, func() bool {
		return strings.Contains(b.lastAdminText("finished"), fmt.Sprintf("Done: %d", 2*n))
	}, patient(10*time.Second), 50*time.Millisecond)
}

package queue_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/mymmrac/telego"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"herald/queue"
	"herald/store"
	"herald/tgemu"
)

// startOperation confirms an operation on a campaign like the card's buttons do.
func (b *testBundle) startOperation(t *testing.T, client *river.Client[pgx.Tx], no store.NewOperation) store.Operation {
	t.Helper()
	ctx := context.Background()
	no.ControlChatID, no.CreatedBy = b.admin, b.admin
	var op store.Operation
	require.NoError(t, b.store.InTx(ctx, func(tx *store.Store) error {
		var err error
		op, err = queue.NewStarter(client).StartOperation(ctx, tx, no)
		return err
	}))
	return op
}

// waitOperation polls until the operation is done and returns its counts.
func (b *testBundle) waitOperation(t *testing.T, id int64, timeout time.Duration) store.OperationCounts {
	t.Helper()
	timeout = patient(timeout)
	deadline := time.Now().Add(timeout)
	for {
		op, err := b.store.OperationGet(context.Background(), id)
		require.NoError(t, err)
		counts, err := b.store.OperationCountsGet(context.Background(), id)
		require.NoError(t, err)
		if op.Status == store.OperationDone {
			return counts
		}
		if time.Now().After(deadline) {
			t.Fatalf("operation %d is %s after %s; items %+v", id, op.Status, timeout, counts)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lastAdminText is the latest text of the management bot in the admin's chat that
// contains substr ("" when none).
func (b *testBundle) lastAdminText(substr string) string {
	tr := b.emu.Transcript(b.mgmt.Token, b.admin)
	for i := len(tr) - 1; i >= 0; i-- {
		if tr[i].FromBot && strings.Contains(tr[i].Message.Text, substr) {
			return tr[i].Message.Text
		}
	}
	return ""
}

// sentCampaign runs a campaign to users through a new channel bot at rate and waits
// for it to complete.
func (b *testBundle) sentCampaign(t *testing.T, client *river.Client[pgx.Tx], rate int, body string, chats []int64, bot *tgemu.Bot, channel int64) int64 {
	t.Helper()
	id := b.startCampaign(t, client, b.template(t, body), b.batch(t, chats), channel)
	b.waitStatus(t, id, store.CampaignCompleted, 60*time.Second)
	require.Equal(t, int64(len(chats)), b.counts(t, id).Sent)
	return id
}

// seededCampaign is a completed campaign whose messages the channel bot sent itself:
// the campaign start creates deliveries for private chats only (its fan-out cursor
// starts at chat id 0), so groups are seeded as recipients this way.
func (b *testBundle) seededCampaign(t *testing.T, body string, chats []int64, bot *tgemu.Bot, channel int64) int64 {
	t.Helper()
	ctx := context.Background()
	tg, err := telego.NewBot(bot.Token, telego.WithAPIServer(b.emu.URL()), telego.WithDiscardLogger())
	require.NoError(t, err)
	var id int64
	require.NoError(t, b.pool.QueryRow(ctx, `
		INSERT INTO campaigns (template_id, batch_id, channel_id, status, started_at, finished_at, control_chat_id, created_by)
		VALUES ($1, $2, $3, 'completed', now(), now(), $4, $4) RETURNING id`,
		b.template(t, body), b.batch(t, chats), channel, b.admin).Scan(&id))
	for _, chat := range chats {
		m, err := tg.SendMessage(ctx, &telego.SendMessageParams{ChatID: telego.ChatID{ID: chat}, Text: body})
		require.NoError(t, err)
		_, err = b.pool.Exec(ctx, `INSERT INTO deliveries (campaign_id, chat_id, status, message_id) VALUES ($1, $2, 'sent', $3)`,
			id, chat, m.MessageID)
		require.NoError(t, err)
	}
	return id
}

// TestEditForEveryone: every sent message shows the new text with its recipient's own
// variables, the edits are paced with the bot's rate (never a 429), and the admin
// gets a report.
func TestEditForEveryone(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	client := b.newClient(t, clientOpts{id: "p1", withMgmt: true})
	const rate = 30
	channel, bot := b.channel(t, rate)
	users := b.users(t, bot, 90)
	id := b.sentCampaign(t, client, rate, "Helo, {{first_name}}!", ids(users), bot, channel)

	op := b.startOperation(t, client, store.NewOperation{CampaignID: id, Kind: store.OperationEdit, Body: "Hello, {{first_name}}! (fixed)"})
	require.EqualValues(t, 90, op.Total)
	counts := b.waitOperation(t, op.ID, 60*time.Second)
	require.Equal(t, store.OperationCounts{Done: 90, Reasons: map[string]int64{}}, counts)

	for _, u := range users {
		tr := b.emu.Transcript(bot.Token, u.ID)
		require.Len(t, tr, 1, "chat %d", u.ID)
		require.Equal(t, fmt.Sprintf("Hello, User %d! (fixed)", u.ID), tr[0].Message.Text)
		require.Len(t, tr[0].History, 1, "edited once")
		require.Equal(t, fmt.Sprintf("Helo, User %d!", u.ID), tr[0].History[0].Text)
	}
	st := b.emu.Stats(bot.Token)
	require.EqualValues(t, 90, st.Edited)
	require.Zero(t, st.TooManyRequests)
	require.LessOrEqual(t, st.MaxPerSecond, rate, "sends and edits share the bot's rate")
	t.Logf("edit for everyone: %d edited, max %d calls in a 1-s window (rate %d), %d × 429", st.Edited, st.MaxPerSecond, rate, st.TooManyRequests)
	require.Eventually(t, func() bool { return strings.Contains(b.lastAdminText("finished"), "Done: 90") }, patient(10*time.Second), 50*time.Millisecond)
}

// TestDeleteForEveryone: fresh messages are deleted for everyone; messages Telegram
// says are older than 48 hours are reported, and a second delete does not try them
// again; messages the database knows are older are refused without a request.
func TestDeleteForEveryone(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	client := b.newClient(t, clientOpts{id: "p1", withMgmt: true})
	channel, bot := b.channel(t, 100)
	users := b.users(t, bot, 60)
	old := b.sentCampaign(t, client, 100, "Old {{first_name}}", ids(users[:20]), bot, channel)
	b.emu.AdvanceClock(49 * time.Hour) // the emulator's calendar: those 20 are now too old
	fresh := b.sentCampaign(t, client, 100, "Fresh {{first_name}}", ids(users[20:40]), bot, channel)
	known := b.sentCampaign(t, client, 100, "Known {{first_name}}", ids(users[40:]), bot, channel)
	_, err := b.pool.Exec(context.Background(), `UPDATE deliveries SET updated_at = now() - interval '3 days' WHERE campaign_id = $1`, known)
	require.NoError(t, err)

	op := b.startOperation(t, client, store.NewOperation{CampaignID: fresh, Kind: store.OperationDelete})
	require.Equal(t, store.OperationCounts{Done: 20, Reasons: map[string]int64{}}, b.waitOperation(t, op.ID, 30*time.Second))
	for _, u := range users[20:40] {
		tr := b.emu.Transcript(bot.Token, u.ID)
		require.True(t, tr[len(tr)-1].Deleted, "chat %d", u.ID)
	}

	op = b.startOperation(t, client, store.NewOperation{CampaignID: old, Kind: store.OperationDelete})
	counts := b.waitOperation(t, op.ID, 30*time.Second)
	require.Equal(t, store.OperationCounts{Refused: 20, Reasons: map[string]int64{store.RefusedTooOld: 20}}, counts)
	report := ""
	require.Eventually(t, func() bool { report = b.lastAdminText("finished"); return strings.Contains(report, "48 hours") }, patient(10*time.Second), 50*time.Millisecond)
	require.Contains(t, report, fmt.Sprint(users[0].ID), "the report lists them")

	// Not attempted twice: a second delete finds nothing to do and sends no request.
	n, _, err := b.store.OperationTargets(context.Background(), old, store.OperationDelete)
	require.NoError(t, err)
	require.Zero(t, n)
	op = b.startOperation(t, client, store.NewOperation{CampaignID: old, Kind: store.OperationDelete})
	require.Equal(t, store.OperationCounts{Reasons: map[string]int64{}}, b.waitOperation(t, op.ID, 30*time.Second))

	op = b.startOperation(t, client, store.NewOperation{CampaignID: known, Kind: store.OperationDelete})
	require.Equal(t, store.OperationCounts{Refused: 20, Reasons: map[string]int64{store.RefusedTooOld: 20}}, b.waitOperation(t, op.ID, 30*time.Second))

	st := b.emu.Stats(bot.Token)
	require.EqualValues(t, 20, st.Deleted)
	require.Zero(t, st.TooManyRequests)
	for _, u := range append(users[:20:20], users[40:]...) {
		tr := b.emu.Transcript(bot.Token, u.ID)
		require.False(t, tr[len(tr)-1].Deleted, "chat %d", u.ID)
	}
	var attempted int
	require.NoError(t, b.pool.QueryRow(context.Background(), `
		SELECT count(*) FROM operation_items i JOIN campaign_operations o ON o.id = i.operation_id
		WHERE o.campaign_id = $1 AND i.requested_at IS NOT NULL`, known).Scan(&attempted))
	require.Zero(t, attempted, "the database's own 48 hours spare the requests")
}

// TestPinInGroups: a campaign sent to three groups pins its message in each, with
// or without notification, and unpins it again.
func TestPinInGroups(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	client := b.newClient(t, clientOpts{id: "p1"})
	channel, bot := b.channel(t, 30)
	owner := b.emu.CreateUser(tgemu.UserSpec{FirstName: "Olga"})
	var groups []int64
	for i := range 3 {
		g := b.emu.CreateSupergroup(fmt.Sprintf("Group %d", i), "", owner)
		g.AddBot(bot.Token, owner)
		groups = append(groups, g.ID)
	}
	id := b.seededCampaign(t, "Announcement", groups, bot, channel)

	op := b.startOperation(t, client, store.NewOperation{CampaignID: id, Kind: store.OperationPin, Silent: true})
	require.Equal(t, store.OperationCounts{Done: 3, Reasons: map[string]int64{}}, b.waitOperation(t, op.ID, 30*time.Second))
	for _, g := range groups {
		tr := b.emu.Transcript(bot.Token, g)
		require.Equal(t, []tgemu.Pin{{MessageID: tr[len(tr)-1].Message.MessageID, Silent: true, By: bot.ID}}, b.emu.Pinned(bot.Token, g))
	}

	op = b.startOperation(t, client, store.NewOperation{CampaignID: id, Kind: store.OperationUnpin})
	require.Equal(t, store.OperationCounts{Done: 3, Reasons: map[string]int64{}}, b.waitOperation(t, op.ID, 30*time.Second))
	for _, g := range groups {
		require.Empty(t, b.emu.Pinned(bot.Token, g))
	}
	_, err := b.store.OperationCreate(context.Background(), store.NewOperation{CampaignID: id, Kind: store.OperationPin, ControlChatID: b.admin, CreatedBy: b.admin})
	require.NoError(t, err)
	_, err = b.store.OperationCreate(context.Background(), store.NewOperation{CampaignID: id, Kind: store.OperationPin, ControlChatID: b.admin, CreatedBy: b.admin})
	require.ErrorIs(t, err, store.ErrOperationBusy, "one operation at a time per campaign")
}

// TestOperationSharesRateWithSends: an edit for everyone on one campaign while another
// campaign of the same bot is sending: both finish, and sends and edits together stay
// within the bot's rate in every second, without a 429.
func TestOperationSharesRateWithSends(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	client := b.newClient(t, clientOpts{id: "p1"})
	const rate = 30
	channel, bot := b.channel(t, rate)
	users := b.users(t, bot, 150)
	done := b.sentCampaign(t, client, rate, "Helo {{first_name}}", ids(users[:60]), bot, channel)
	running := b.startCampaign(t, client, b.template(t, "News for {{first_name}}"), b.batch(t, ids(users[60:])), channel)
	b.waitSent(t, bot, 70, 30*time.Second) // the second campaign is under way

	op := b.startOperation(t, client, store.NewOperation{CampaignID: done, Kind: store.OperationEdit, Body: "Hello {{first_name}}"})
	require.Equal(t, store.OperationCounts{Done: 60, Reasons: map[string]int64{}}, b.waitOperation(t, op.ID, 60*time.Second))
	c := b.waitStatus(t, running, store.CampaignCompleted, 60*time.Second)
	require.Equal(t, store.DeliveryCounts{Sent: 90}, b.counts(t, running))
	require.True(t, op.CreatedAt.Before(*c.FinishedAt), "the edits ran while the campaign was sending")
	st := b.emu.Stats(bot.Token)
	require.EqualValues(t, 60, st.Edited)
	require.EqualValues(t, 150, st.Sent)
	require.Zero(t, st.TooManyRequests)
	require.LessOrEqual(t, st.MaxPerSecond, rate)
	t.Logf("edits beside sends: %d sent + %d edited, max %d calls in a 1-s window (rate %d), %d × 429", st.Sent, st.Edited, st.MaxPerSecond, rate, st.TooManyRequests)
}

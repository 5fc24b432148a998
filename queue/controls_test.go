package queue_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"

	"herald/queue"
	"herald/store"
	"herald/tgemu"
)

func TestControlCallbackData(t *testing.T) {
	t.Parallel()
	for _, a := range []queue.ControlAction{queue.ActionPause, queue.ActionResume, queue.ActionCancel, queue.ActionResend} {
		data := queue.ControlCallbackData(a, 9_007_199_254_740_991)
		require.LessOrEqual(t, len(data), 64)
		got, id, ok := queue.ParseControlCallback(data)
		require.True(t, ok)
		require.Equal(t, a, got)
		require.EqualValues(t, 9_007_199_254_740_991, id)
	}
	for _, bad := range []string{"", "cmp:", "cmp:pause", "cmp:pause:", "cmp:pause:x", "cmp:explode:1", "cmp:pause:-1", "tpl:pause:1"} {
		_, _, ok := queue.ParseControlCallback(bad)
		require.False(t, ok, bad)
	}
}

// lastAccept is the emulator's time of the bot's latest accepted send.
// acceptedAfter counts the sends the emulator accepted after t. A send a lane started
// before a Pause returned may still arrive after it (its request is on its way, longer
// on a loaded machine): at most one per sender. A lane that went on sending after the
// acknowledgement exceeds that within a fraction of a second at the tests' rates.
func acceptedAfter(st tgemu.Stats, t time.Time) int {
	n := 0
	for _, at := range st.Series {
		if at.After(t) {
			n++
		}
	}
	return n
}

// senders is the lane concurrency of the pause tests: small, so the sends that may
// legitimately arrive after a Pause returned (one per sender) are far fewer than a
// lane that ignored the pause would make.
const senders = 4

func lastAccept(st tgemu.Stats) time.Time {
	if len(st.Series) == 0 {
		return time.Time{}
	}
	return st.Series[len(st.Series)-1]
}

// Acceptance: Pause, Resume and Cancel during a run; no send starts after the call
// returns; the control message is edited, never with identical content; the final
// report's CSV matches the database.
func TestPauseResumeCancel(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	d := queue.DeliveryConfig{ProgressEvery: 300 * time.Millisecond, Concurrency: senders}
	client := b.newClient(t, clientOpts{id: "p1", withMgmt: true, delivery: d})
	controls := queue.NewControls(b.store, client, d)
	ctx := context.Background()
	channel, bot := b.channel(t, 30)
	users := b.users(t, bot, 400)
	id := b.startCampaign(t, client, b.template(t, "Hi {{first_name}}"), b.batch(t, ids(users)), channel)

	b.waitSent(t, bot, 45, 20*time.Second)
	require.NoError(t, controls.Pause(ctx, id, b.admin))
	paused := time.Now()
	time.Sleep(1500 * time.Millisecond)
	st := b.emu.Stats(bot.Token)
	require.LessOrEqual(t, acceptedAfter(st, paused), senders, "sends accepted after Pause returned (the last %s after)", lastAccept(st).Sub(paused))
	var markedAfter int
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE campaign_id = $1 AND requested_at > $2`,
		id, paused).Scan(&markedAfter))
	require.Zero(t, markedAfter, "deliveries marked requested after Pause returned")
	counts := b.counts(t, id)
	require.Zero(t, counts.Inflight)
	require.EqualValues(t, st.Sent, counts.Sent)

	err := controls.Pause(ctx, id, b.admin)
	require.ErrorIs(t, err, queue.ErrInvalidTransition)
	var stateErr *store.CampaignStateError
	require.True(t, errors.As(err, &stateErr))
	require.Equal(t, store.CampaignPaused, stateErr.Status)

	// The control message shows the pause with a Resume button.
	b.waitControl(t, id, func(e tgemu.Entry) bool {
		return strings.Contains(e.Message.Text, "paused") && hasButton(e, queue.ControlCallbackData(queue.ActionResume, id))
	})

	require.NoError(t, controls.Resume(ctx, id, b.admin))
	b.waitSent(t, bot, st.Sent+45, 20*time.Second)
	n, err := controls.Cancel(ctx, id, b.admin)
	require.NoError(t, err)
	require.Positive(t, n)
	cancelled := time.Now()
	c := b.waitStatus(t, id, store.CampaignCancelled, 5*time.Second)
	require.NotNil(t, c.FinishedAt)
	report := b.waitReport(t, id)
	st = b.emu.Stats(bot.Token)
	require.LessOrEqual(t, acceptedAfter(st, cancelled), senders, "sends accepted after Cancel returned (the last %s after)", lastAccept(st).Sub(cancelled))
	counts = b.counts(t, id)
	require.Zero(t, counts.Open())
	require.EqualValues(t, st.Sent, counts.Sent)
	require.EqualValues(t, len(users), counts.Sent+counts.Cancelled)
	require.Contains(t, report, fmt.Sprintf("Cancelled: %d", counts.Cancelled))
	require.ErrorIs(t, controls.Resume(ctx, id, b.admin), queue.ErrInvalidTransition)

	// The CSV lists exactly the cancelled deliveries.
	rows := b.reportCSV(t)
	require.Len(t, rows, int(counts.Cancelled))
	for _, r := range rows {
		require.Equal(t, "cancelled", r[1])
	}

	// One control message, edited many times, never to the same content.
	var control []tgemu.Entry
	for _, e := range b.emu.Transcript(b.mgmt.Token, b.admin) {
		if e.FromBot && strings.Contains(e.Message.Text, fmt.Sprintf("Campaign #%d", id)) {
			control = append(control, e)
		}
	}
	require.Len(t, control, 1)
	versions := control[0].History
	require.GreaterOrEqual(t, len(versions), 3)
	for i := 1; i < len(versions); i++ {
		require.False(t, versions[i].Text == versions[i-1].Text && markupText(versions[i].ReplyMarkup) == markupText(versions[i-1].ReplyMarkup),
			"version %d repeats version %d", i, i-1)
	}
}

func markupText(m *telego.InlineKeyboardMarkup) string {
	if m == nil {
		return ""
	}
	return fmt.Sprint(m.InlineKeyboard)
}

func hasButton(e tgemu.Entry, data string) bool {
	if e.Message.ReplyMarkup == nil {
		return false
	}
	for _, row := range e.Message.ReplyMarkup.InlineKeyboard {
		for _, btn := range row {
			if btn.CallbackData == data {
				return true
			}
		}
	}
	return false
}

// waitControl waits until the campaign's control message satisfies ok.
func (b *testBundle) waitControl(t *testing.T, id int64, ok func(tgemu.Entry) bool) tgemu.Entry {
	t.Helper()
	deadline := time.Now().Add(patient(10 * time.Second))
	for {
		c, err := b.store.CampaignGet(context.Background(), id)
		require.NoError(t, err)
		if c.ControlMessageID != nil {
			for _, e := range b.emu.Transcript(b.mgmt.Token, b.admin) {
				if int64(e.Message.MessageID) == *c.ControlMessageID && ok(e) {
					return e
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("control message of campaign %d never matched", id)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Issue 11.2: Pause returns once the channel's lane acknowledged a poll made after the
// pause committed — not after a fixed sleep — so with lanes that poll only every
// 1.5 s no send still starts after Pause returns.
func TestPauseWaitsForTheLaneAcknowledgement(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	d := queue.DeliveryConfig{ControlPoll: 1500 * time.Millisecond, Concurrency: senders}
	client := b.newClient(t, clientOpts{id: "p1", delivery: d})
	controls := queue.NewControls(b.store, client, d)
	ctx := context.Background()
	channel, bot := b.channel(t, 100)
	users := b.users(t, bot, 3000)
	id := b.startCampaign(t, client, b.template(t, "Hi {{first_name}}"), b.batch(t, ids(users)), channel)

	b.waitSent(t, bot, 150, 20*time.Second)
	require.NoError(t, controls.Pause(ctx, id, b.admin))
	paused := time.Now()
	var ackedAfterPause, leaseLive bool
	require.NoError(t, b.pool.QueryRow(ctx, `
		SELECT coalesce(l.acked_at >= c.updated_at, false), l.lease_until > now()
		FROM lanes l JOIN campaigns c ON c.channel_id = l.channel_id WHERE c.id = $1`, id).Scan(&ackedAfterPause, &leaseLive))
	require.True(t, ackedAfterPause || !leaseLive, "Pause returned before the lane acknowledged it")
	time.Sleep(2 * time.Second)
	st := b.emu.Stats(bot.Token)
	require.LessOrEqual(t, acceptedAfter(st, paused), senders, "sends accepted after Pause returned (the last %s after)", lastAccept(st).Sub(paused))
	require.Zero(t, b.counts(t, id).Inflight)
}

package queue_test

import (
	"context"
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

// reportMarkup is the final report's keyboard, as the admin sees it.
func (b *testBundle) reportMarkup(t *testing.T, id int64) *telego.InlineKeyboardMarkup {
	t.Helper()
	b.waitReport(t, id)
	c, err := b.store.CampaignGet(context.Background(), id)
	require.NoError(t, err)
	for _, e := range b.emu.Transcript(b.mgmt.Token, b.admin) {
		if int64(e.Message.MessageID) == *c.ControlMessageID {
			require.NotNil(t, e.Message.ReplyMarkup)
			return e.Message.ReplyMarkup
		}
	}
	t.Fatalf("no report of campaign %d", id)
	return nil
}

// buttonsText lists a keyboard's buttons as "text|data", one a line.
func buttonsText(m *telego.InlineKeyboardMarkup) string {
	var lines []string
	for _, row := range m.InlineKeyboard {
		for _, btn := range row {
			lines = append(lines, btn.Text+"|"+btn.CallbackData)
		}
	}
	return strings.Join(lines, "\n")
}

// TestReportButtonsAndSafeResend: the final report keeps Open, "unreached → new
// list" and, only for those safe to resend to (had not started the bot, started it
// since), "Resend to N unreached". Resending reaches exactly them: nobody who got the
// message, blocked the bot or cannot be found gets a send, and nobody gets two.
func TestReportButtonsAndSafeResend(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	d := queue.DeliveryConfig{ProgressEvery: 200 * time.Millisecond}
	client := b.newClient(t, clientOpts{id: "p1", withMgmt: true, delivery: d})
	controls := queue.NewControls(b.store, client, d)
	ctx := context.Background()
	channel, bot := b.channel(t, 100)
	started := b.users(t, bot, 3)
	late := b.emu.CreateUsers(2, tgemu.UserSpec{}) // never started: "can't initiate conversation"
	started[0].Block(bot.Token)
	recipients := append(ids(started), late[0].ID, late[1].ID, 900_000_001) // the last: chat not found
	// late[0] starts the bot "after" the campaign (a subscriber whose start is later
	// than its failed delivery); late[1] does not.
	_, err := b.pool.Exec(ctx, `INSERT INTO subscribers (channel_id, chat_id, joined_at, status_changed_at)
		VALUES ($1, $2, now() + interval '1 hour', now() + interval '1 hour')`, channel, late[0].ID)
	require.NoError(t, err)
	id := b.startCampaign(t, client, b.template(t, "Hi {{first_name}}"), b.batch(t, recipients), channel)
	b.waitStatus(t, id, store.CampaignCompleted, 30*time.Second)

	markup := b.reportMarkup(t, id)
	text := buttonsText(markup)
	sid := fmt.Sprint(id)
	require.Contains(t, text, "🔁 Resend to 1 unreached|"+queue.ReportResendPrefix+":"+sid)
	require.Contains(t, text, "👥 4 unreached → new list|"+queue.ReportListPrefix+":"+sid) // blocked, 2 not started, not found
	require.Contains(t, text, "📄 Open campaign|"+queue.ReportOpenPrefix+":"+sid)

	// late[0] has really started the bot now; the resend reaches only them.
	b.emu.SetStarted(bot.Token, late[0])
	sentBefore := b.emu.Stats(bot.Token).Sent
	n, err := controls.ResendUnreached(ctx, id, b.admin)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	b.waitStatus(t, id, store.CampaignCompleted, 30*time.Second)
	markup = b.reportMarkup(t, id)
	require.NotContains(t, buttonsText(markup), "Resend to")
	require.Contains(t, buttonsText(markup), "👥 3 unreached → new list")
	require.Equal(t, sentBefore+1, b.emu.Stats(bot.Token).Sent)
	for _, u := range append(started[1:], late[0]) {
		var got int
		for _, e := range b.emu.Transcript(bot.Token, u.ID) {
			if e.FromBot {
				got++
			}
		}
		require.Equal(t, 1, got, "messages to %d", u.ID)
	}
	var audited int
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'campaign.resend_unreached'`).Scan(&audited))
	require.Equal(t, 1, audited)

	// Nothing is left that is safe to resend: a second call changes nothing.
	_, err = controls.ResendUnreached(ctx, id, b.admin)
	require.ErrorIs(t, err, queue.ErrInvalidTransition)
	require.False(t, strings.Contains(buttonsText(markup), queue.ReportResendPrefix+":"))
}

package bot_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// seedSent records a finished campaign of templateName to the "Clients" list whose
// deliveries to chats went out sentAgo ago.
func (b *testBundle) seedSent(t *testing.T, templateName string, channelID int64, sentAgo time.Duration, chats ...int64) {
	t.Helper()
	var id int64
	require.NoError(t, b.st.Pool().QueryRow(b.ctx, `
		INSERT INTO campaigns (template_id, batch_id, channel_id, status, started_at, finished_at, control_chat_id, created_by)
		SELECT t.id, bt.id, $2, 'completed', now() - $3::interval, now() - $3::interval, $4, $4
		FROM templates t, batches bt WHERE t.name = $1 AND bt.name = 'Clients' RETURNING id`,
		templateName, channelID, sentAgo.String(), b.owner.ID).Scan(&id))
	for i, chat := range chats {
		_, err := b.st.Pool().Exec(b.ctx, `INSERT INTO deliveries (campaign_id, chat_id, status, message_id, updated_at)
			VALUES ($1, $2, 'sent', $3, now() - $4::interval)`, id, chat, i+1, sentAgo.String())
		require.NoError(t, err)
	}
}

// TestCampaignRepeatGuard: the same template to the same list within a day is
// flagged on the summary with the count, and its Confirm becomes "Send anyway"; a
// Confirm from a card shown before the repeat is refused with the same count; "Send
// anyway" starts the campaign. A send older than a day, or to under half of the
// list, is no repeat.
func TestCampaignRepeatGuard(t *testing.T) {
	t.Parallel()
	b := setup(t)
	box := b.withSecrets(t)
	b.withQueue(t)
	b.start(t)
	owner := b.owner
	fx := b.campaignFixture(t, box) // "Clients": the owner and owner+1

	// Yesterday's send (25 hours ago) is no repeat.
	b.seedSent(t, "Welcome", fx.channel.ID, 25*time.Hour, owner.ID, owner.ID+1)
	b.command(t, owner, "/newcampaign")
	b.pick(t, owner, "Welcome") // the only bot and list are chosen by themselves
	b.next(t, owner)            // the rendered message
	summary := b.next(t, owner)
	require.NotContains(t, summary.Text, "already received")
	confirm := buttonData(t, summary, "Send now")

	// Meanwhile both got it an hour ago: the card's Confirm is refused with the count.
	b.seedSent(t, "Welcome", fx.channel.ID, time.Hour, owner.ID, owner.ID+1)
	b.pressData(t, owner, summary.MessageID, confirm)
	refused := b.nextContaining(t, owner, "already received")
	require.Contains(t, refused.Text, "This template was already received by 2 of 2 recipients in the last 24 hours.")
	require.Contains(t, refused.Text, "press «Send anyway»")
	require.Equal(t, 2, b.count(t, `SELECT count(*) FROM campaigns`))

	// The summary, shown again, warns and offers only "Send anyway".
	b.press(t, owner, refused, "Edit")
	b.pick(t, owner, "Welcome") // the only bot and list are chosen by themselves
	b.next(t, owner)
	summary = b.next(t, owner)
	require.Contains(t, summary.Text, "⚠️ This template was already received by 2 of 2 recipients in the last 24 hours.")
	for _, row := range summary.ReplyMarkup.InlineKeyboard {
		for _, btn := range row {
			require.NotContains(t, []string{"✅ Confirm", "🚀 Send now"}, btn.Text)
		}
	}
	b.press(t, owner, summary, "Send anyway")
	b.nextContaining(t, owner, "is confirmed and starts now")
	require.Equal(t, 3, b.count(t, `SELECT count(*) FROM campaigns`))

	// Another template to the same list is no repeat.
	b.command(t, owner, "/newcampaign")
	b.pick(t, owner, "Coupon")
	b.next(t, owner)
	require.NotContains(t, b.next(t, owner).Text, "already received")
	require.Empty(t, b.srv.UnansweredCallbacks(b.token))
}

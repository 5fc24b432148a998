package bot_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"herald/flows"
	"herald/queue"
)

// The report's buttons are made by queue and answered by flows' screens.
func TestReportButtonPrefixesAgree(t *testing.T) {
	t.Parallel()
	require.Equal(t, flows.ActCampaignReportOpen, queue.ReportOpenPrefix)
	require.Equal(t, flows.ActCampaignResendUnreached, queue.ReportResendPrefix)
	require.Equal(t, flows.ActCampaignUnreachedList, queue.ReportListPrefix)
}

// TestReportButtons: from the final report, Open shows the card below it (the report
// stays), the unreached become a new list with the list's columns (once: a second
// press names the existing list), and Resend asks once with the count before it
// reopens only the delivery that is safe to resend.
func TestReportButtons(t *testing.T) {
	t.Parallel()
	b := setup(t)
	box := b.withSecrets(t)
	b.withQueue(t)
	b.start(t)
	owner := b.owner
	fx := b.campaignFixture(t, box) // "Clients": owner (Olga), owner+1 (Petr)

	// A completed "Welcome" campaign: the owner got it; Petr had not started the bot
	// (refused), and has started it since.
	var id int64
	require.NoError(t, b.st.Pool().QueryRow(b.ctx, `
		INSERT INTO campaigns (template_id, batch_id, channel_id, status, started_at, finished_at, reported_at, control_chat_id, created_by)
		SELECT t.id, bt.id, $1, 'completed', now() - interval '1 hour', now() - interval '1 hour', now(), $2, $2
		FROM templates t, batches bt WHERE t.name = 'Welcome' AND bt.name = 'Clients' RETURNING id`,
		fx.channel.ID, owner.ID).Scan(&id))
	_, err := b.st.Pool().Exec(b.ctx, `INSERT INTO deliveries (campaign_id, chat_id, status, message_id, error, updated_at) VALUES
		($1, $2, 'sent', 1, NULL, now() - interval '1 hour'),
		($1, $2 + 1, 'failed', NULL, 'Forbidden: bot can''t initiate conversation with a user', now() - interval '1 hour')`, id, owner.ID)
	require.NoError(t, err)
	// Deliveries are counted as the fan-out inserts them (campaign_counters).
	_, err = b.st.Pool().Exec(b.ctx, `INSERT INTO campaign_counters (campaign_id, status, n) VALUES ($1, 'sent', 1), ($1, 'failed', 1)`, id)
	require.NoError(t, err)
	_, err = b.st.Pool().Exec(b.ctx, `INSERT INTO subscribers (channel_id, chat_id, first_name) VALUES ($1, $2 + 1, 'Petr')`, fx.channel.ID, owner.ID)
	require.NoError(t, err)
	sid := fmt.Sprint(id)
	report := b.plant(t, owner.ID, "kq:"+sid, "ku:"+sid, "kr:"+sid)

	opened := b.pressData(t, owner, report.MessageID, "kq:"+sid)
	require.Empty(t, opened.Text)
	card := b.nextContaining(t, owner, "Deliveries")
	require.NotEqual(t, report.MessageID, card.MessageID)
	require.Equal(t, "planted", b.current(t, owner, report.MessageID).Text)

	b.pressData(t, owner, report.MessageID, "ku:"+sid)
	listed := b.nextContaining(t, owner, "is ready")
	name := fmt.Sprintf("Unreached — Welcome #%d", id)
	require.Contains(t, listed.Text, "The recipient list "+name+" is ready: 1 recipient who did not get campaign #"+sid)
	var cols []string
	var count int
	var vars string
	require.NoError(t, b.st.Pool().QueryRow(b.ctx, `SELECT b.columns, b.recipient_count, r.vars::text FROM batches b
		JOIN recipients r ON r.batch_id = b.id WHERE b.name = $1 AND r.chat_id = $2`, name, owner.ID+1).Scan(&cols, &count, &vars))
	require.Equal(t, []string{"first_name"}, cols)
	require.Equal(t, 1, count)
	require.JSONEq(t, `{"first_name": "Petr"}`, vars)
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM audit_log WHERE action = 'campaign.unreached_listed'`))
	answer := b.pressData(t, owner, report.MessageID, "ku:"+sid)
	require.Contains(t, answer.Text, "already exists")
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM batches WHERE name = $1`, name))

	// Resend asks first, changing nothing; "Yes" reopens Petr's delivery only.
	before := b.snapshot(t)
	b.pressData(t, owner, report.MessageID, "kr:"+sid)
	ask := b.nextContaining(t, owner, "again to 1 recipient who had not started the sender bot")
	require.Contains(t, ask.Text, "nobody gets the message twice")
	require.Equal(t, before, b.snapshot(t), "the question changed the database")
	b.press(t, owner, ask, "Yes, send to them")
	b.waitEdited(t, owner, ask.MessageID, "Deliveries")
	require.Equal(t, "running", b.status(t, id))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM deliveries WHERE campaign_id = $1 AND status = 'pending' AND chat_id = $2`, id, owner.ID+1))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM deliveries WHERE campaign_id = $1 AND status = 'sent'`, id))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM audit_log WHERE action = 'campaign.resend_unreached'`))
	require.Empty(t, b.srv.UnansweredCallbacks(b.token))
}

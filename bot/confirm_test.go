package bot_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"herald/queue"
	"herald/store"
)

// TestDestructiveControlsAskFirst: Resend uncertain and Cancel, from the card and from
// the delivery engine's progress message, ask once, saying what happens; the first
// press changes no table (authorization-matrix checksum), the answer's button acts.
func TestDestructiveControlsAskFirst(t *testing.T) {
	t.Parallel()
	b := setup(t)
	box := b.withSecrets(t)
	b.withQueue(t)
	b.start(t)
	b.plantVictims(t, box)
	owner := b.owner
	for i, status := range []string{"uncertain", "uncertain", "uncertain", "sent", "pending"} {
		q := `INSERT INTO deliveries (campaign_id, chat_id, status, message_id) VALUES ($1, $2, $3, CASE WHEN $3 = 'sent' THEN 1 END)`
		_, err := b.st.Pool().Exec(b.ctx, q, victimID, 1000+i, status)
		require.NoError(t, err)
	}
	// Only a fan-out's INSERT counts its deliveries (migration 00008): count these.
	_, err := b.st.Pool().Exec(b.ctx, `
		INSERT INTO campaign_counters (campaign_id, status, n)
		SELECT campaign_id, status, count(*) FROM deliveries WHERE campaign_id = $1 GROUP BY campaign_id, status
		ON CONFLICT (campaign_id, channel_id, status) DO UPDATE SET n = EXCLUDED.n`, victimID)
	require.NoError(t, err)

	// Resend from the card.
	b.command(t, owner, "/campaigns")
	list := b.next(t, owner)
	b.press(t, owner, list, fmt.Sprintf("#%d", victimID))
	card := b.waitEdited(t, owner, list.MessageID, "Deliveries")
	before := b.snapshot(t)
	b.press(t, owner, card, "Resend uncertain")
	question := b.waitEdited(t, owner, card.MessageID, "Resend 3 uncertain deliveries")
	require.Contains(t, question.Text, "up to 3 recipients may already have the message and may get it twice")
	require.Equal(t, before, b.snapshot(t), "the first press of Resend changed the database")
	answer := b.press(t, owner, question, "Yes, resend")
	require.Contains(t, answer.Text, "3 uncertain deliveries will be sent again")
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM deliveries WHERE status = 'uncertain'`))
	b.waitEdited(t, owner, card.MessageID, "Deliveries")

	// Cancel from the progress message: the question comes as a message of its own.
	data := queue.ControlCallbackData(queue.ActionCancel, victimID)
	progress := b.plant(t, owner.ID, data)
	before = b.snapshot(t)
	b.pressData(t, owner, progress.MessageID, data)
	ask := b.nextContaining(t, owner, "This cannot be undone")
	require.Contains(t, ask.Text, fmt.Sprintf("Cancel campaign #%d", victimID))
	require.Contains(t, ask.Text, "4 messages not sent yet will never be sent (1 already sent stay sent)")
	require.Equal(t, before, b.snapshot(t), "the first press of Cancel changed the database")
	b.press(t, owner, ask, "Yes, cancel")
	b.waitEdited(t, owner, ask.MessageID, "cancelled")
	require.Equal(t, store.CampaignCancelled, b.status(t, victimID))
	require.Empty(t, b.srv.UnansweredCallbacks(b.token))
}

func (b *testBundle) status(t *testing.T, campaignID int64) string {
	t.Helper()
	var s string
	require.NoError(t, b.st.Pool().QueryRow(b.ctx, `SELECT status FROM campaigns WHERE id = $1`, campaignID).Scan(&s))
	return s
}

// TestTextPostgresRefusesIsInvalidInput: a NUL in a template name, a template text, a
// batch name or a channel name gets a validation message; nothing is stored and the
// dialog waits for corrected input.
func TestTextPostgresRefusesIsInvalidInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.withSecrets(t)
	b.start(t)
	owner := b.owner
	const refusal = "contains a NUL character"

	b.command(t, owner, "/newtemplate")
	b.nextContaining(t, owner, "step 1 of 4")
	b.send(t, owner, "Pro\x00mo")
	require.Contains(t, b.next(t, owner).Text, refusal)
	b.send(t, owner, "Promo")
	b.nextContaining(t, owner, "Step 2 of 4")
	b.send(t, owner, "Hello\x00, {{first_name}}")
	require.Contains(t, b.next(t, owner).Text, refusal)

	b.command(t, owner, "/cancel")
	b.next(t, owner)
	b.command(t, owner, "/newbatch")
	b.next(t, owner)
	b.send(t, owner, "Cli\x00ents")
	require.Contains(t, b.next(t, owner).Text, refusal)

	b.command(t, owner, "/cancel")
	b.next(t, owner)
	sender := b.srv.CreateBot("nul_sender_bot")
	b.command(t, owner, "/newchannel")
	b.nextContaining(t, owner, "token")
	b.send(t, owner, sender.Token)
	b.press(t, owner, b.nextContaining(t, owner, "Token verified"), "Send-only")
	b.nextContaining(t, owner, "how should Herald call")
	b.send(t, owner, "Ma\x00in")
	require.Contains(t, b.next(t, owner).Text, refusal)
	b.send(t, owner, "Main")
	b.nextContaining(t, owner, "messages per second")

	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM templates`))
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM batches`))
	for _, e := range b.srv.Transcript(b.token, owner.ID) {
		require.NotContains(t, e.Message.Text, "went wrong")
	}
}

// TestManagementTokenRefusedAsChannelBot: the management bot's own token is not a
// channel bot; the admin is told why, and nothing is stored.
func TestManagementTokenRefusedAsChannelBot(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.withSecrets(t)
	b.start(t)
	owner := b.owner
	b.command(t, owner, "/newchannel")
	b.nextContaining(t, owner, "token")
	b.send(t, owner, b.token)
	refused := b.next(t, owner).Text
	require.Contains(t, refused, "This is the token of Herald's own management bot (@herald_admin_bot)")
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM channels`))
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM dialog_sessions WHERE draft ? 'sealed'`))
}

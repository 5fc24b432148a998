package bot_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"herald/store"
)

// TestCampaignOperationButtons: a finished campaign's card offers to edit, delete,
// pin and unpin what it sent; delete asks once with the count and the consequence
// (the question changes nothing), the answer starts the operation with its lane job
// and an audit entry; the edit dialog checks the new text like the template builder
// and asks once; a viewer can do none of it.
func TestCampaignOperationButtons(t *testing.T) {
	t.Parallel()
	b := setup(t)
	box := b.withSecrets(t)
	b.withQueue(t)
	b.start(t)
	owner := b.owner
	fx := b.campaignFixture(t, box)
	var id int64
	require.NoError(t, b.st.Pool().QueryRow(b.ctx, `
		INSERT INTO campaigns (template_id, batch_id, channel_id, status, started_at, finished_at, control_chat_id, created_by)
		SELECT (SELECT id FROM templates WHERE name = 'Welcome'), (SELECT id FROM batches), $1, 'completed', now(), now(), $2, $2
		RETURNING id`, fx.channel.ID, owner.ID).Scan(&id))
	_, err := b.st.Pool().Exec(b.ctx, `INSERT INTO deliveries (campaign_id, chat_id, status, message_id)
		SELECT $1, chat_id, 'sent', 10 + row_number() OVER (ORDER BY chat_id) FROM recipients`, id)
	require.NoError(t, err)
	_, err = b.st.Pool().Exec(b.ctx, `INSERT INTO campaign_counters (campaign_id, status, n) VALUES ($1, 'sent', 2)`, id)
	require.NoError(t, err)

	b.command(t, owner, "/campaigns")
	list := b.next(t, owner)
	b.press(t, owner, list, fmt.Sprintf("#%d", id))
	card := b.waitEdited(t, owner, list.MessageID, "Deliveries")
	for _, label := range []string{"Edit sent messages", "Delete for everyone", "Pin", "Unpin"} {
		buttonData(t, card, label)
	}

	before := b.snapshot(t)
	b.press(t, owner, card, "Delete for everyone")
	question := b.waitEdited(t, owner, card.MessageID, "cannot be brought back")
	require.Contains(t, question.Text, "Delete 2 sent messages of campaign")
	require.Equal(t, before, b.snapshot(t), "the question changed the database")
	b.press(t, owner, question, "Yes, delete for everyone")
	b.nextContaining(t, owner, "Deleting 2 messages")
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM campaign_operations WHERE kind = 'delete' AND status = 'running' AND total = 2`))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM audit_log WHERE action = 'campaign.operation_started'`))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM river_job WHERE kind = 'delivery_lane'`))

	// One operation at a time per campaign.
	busy := b.press(t, owner, question, "Yes, delete for everyone")
	require.Contains(t, busy.Text, "already has an edit, delete or pin in progress")
	_, err = b.st.Pool().Exec(b.ctx, `UPDATE campaign_operations SET status = 'done', finished_at = now()`)
	require.NoError(t, err)

	// The edit dialog: the builder's checks, then one question with a sample.
	b.command(t, owner, "/campaigns")
	list = b.next(t, owner)
	b.press(t, owner, list, fmt.Sprintf("#%d", id))
	card = b.waitEdited(t, owner, list.MessageID, "Deliveries")
	b.press(t, owner, card, "Edit sent messages")
	b.nextContaining(t, owner, "New text for campaign")
	b.send(t, owner, "Hi {{frist_name}}")
	require.Contains(t, b.nextContaining(t, owner, "No list has").Text, "Did you mean")
	b.send(t, owner, "Hi {{first_name")
	b.next(t, owner) // the syntax error, as the template builder words it
	b.send(t, owner, "Hello again, {{first_name}}!")
	confirm := b.nextContaining(t, owner, "Replace the text of 2 sent messages")
	require.Contains(t, confirm.Text, "The old text cannot be restored")
	b.press(t, owner, confirm, "Yes, edit for everyone")
	b.nextContaining(t, owner, "Editing 2 messages")
	var body string
	require.NoError(t, b.st.Pool().QueryRow(b.ctx, `SELECT body FROM campaign_operations WHERE kind = 'edit' AND status = 'running'`).Scan(&body))
	require.Equal(t, "Hello again, {{first_name}}!", body)

	// A viewer sees the card without these buttons, and pressing them is refused.
	viewer := b.user(t, "Vic", "en")
	b.addAdmin(t, viewer, store.RoleViewer)
	b.command(t, viewer, "/campaigns")
	vlist := b.next(t, viewer)
	b.press(t, viewer, vlist, fmt.Sprintf("#%d", id))
	vcard := b.waitEdited(t, viewer, vlist.MessageID, "Deliveries")
	for _, row := range vcard.ReplyMarkup.InlineKeyboard {
		for _, btn := range row {
			require.NotContains(t, btn.Text, "Delete for everyone")
		}
	}
	data := fmt.Sprintf("kp:delete:%d", id)
	answer := b.pressData(t, viewer, b.plant(t, viewer.ID, data).MessageID, data)
	require.Contains(t, answer.Text, "your role does not allow changes")
	require.Empty(t, b.srv.UnansweredCallbacks(b.token))
}

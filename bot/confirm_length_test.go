package bot_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"herald/importer"
	"herald/store"
)

// Confirm checks the message's length against every recipient of the batch, not only
// the first: recipients whose values make it too long are named (the first few chat
// ids and how many) and the admin may send to the rest; a template that is too long on
// its own still blocks the campaign.
func TestConfirmNamesRecipientsWithTooLongMessage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	box := b.withSecrets(t)
	b.withQueue(t)
	b.start(t)
	owner := b.owner
	b.campaignFixture(t, box)

	// "Long": the owner and Petr, then seven recipients whose name is 5,000 characters
	// (set in the database: the importer refuses such a cell).
	csv := fmt.Sprintf("chat_id,first_name\n%d,Olga\n%d,Petr\n", owner.ID, owner.ID+1)
	for i := range 7 {
		csv += fmt.Sprintf("%d,Long\n", owner.ID+10+int64(i))
	}
	rd, err := importer.OpenCSV(strings.NewReader(csv))
	require.NoError(t, err)
	long, err := b.st.BatchImport(b.ctx, store.BatchImportParams{Name: "Long", CreatedBy: owner.ID, Source: rd})
	require.NoError(t, err)
	_, err = b.st.Pool().Exec(b.ctx, `UPDATE recipients SET vars = jsonb_build_object('first_name', repeat('Ж', 5000))
		WHERE batch_id = $1 AND vars->>'first_name' = 'Long'`, long.ID)
	require.NoError(t, err)

	b.command(t, owner, "/newcampaign")
	b.pick(t, owner, "Welcome", "Main", "Long", "Now")
	require.Equal(t, "Hello, Olga! See you in town.", b.next(t, owner).Text, "the first recipient's preview")
	summary := b.next(t, owner)
	require.Contains(t, summary.Text, "The message would be too long for 7 recipients (over 4096 characters")
	var ids []string
	for i := range 5 {
		ids = append(ids, fmt.Sprint(owner.ID+10+int64(i)))
	}
	require.Contains(t, summary.Text, "chat id "+strings.Join(ids, ", ")+" and 2 more.")
	require.Contains(t, summary.Text, "message too long for this recipient")
	require.NotContains(t, summary.Text, "cannot start")
	for _, row := range summary.ReplyMarkup.InlineKeyboard {
		for _, btn := range row {
			require.NotContains(t, btn.Text, "Confirm", "plain Confirm would hide the rows")
		}
	}

	b.press(t, owner, summary, "Send to the rest")
	b.nextContaining(t, owner, "is confirmed and starts now")
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM campaigns`))
	var details []byte
	require.NoError(t, b.st.Pool().QueryRow(b.ctx,
		`SELECT details FROM audit_log WHERE action = 'campaign.confirmed'`).Scan(&details))
	var d map[string]any
	require.NoError(t, json.Unmarshal(details, &d))
	require.EqualValues(t, 7, d["too_long"])

	// A template over the limit with every variable at its default blocks, as before.
	_, err = b.st.TemplateCreate(b.ctx, store.Template{Name: "Huge", Body: strings.Repeat("x", 4100) + " {{first_name}}",
		Entities: json.RawMessage(`[]`), Buttons: json.RawMessage(`[]`), CreatedBy: owner.ID})
	require.NoError(t, err)
	b.command(t, owner, "/newcampaign")
	b.pick(t, owner, "Huge", "Main", "Clients", "Now")
	blocked := b.nextContaining(t, owner, "This campaign cannot start")
	require.Contains(t, blocked.Text, "the template alone (every variable empty or at its default) is 4101 characters long; Telegram's limit is 4096")
	for _, row := range blocked.ReplyMarkup.InlineKeyboard {
		for _, btn := range row {
			require.NotContains(t, btn.Text, "Confirm")
			require.NotContains(t, btn.Text, "Send to the rest")
		}
	}
}

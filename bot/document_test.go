package bot_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDocumentWithoutDialogStartsImport: a CSV sent with no dialog open starts the
// upload with it and asks only the name, defaulting from the file name; one press
// imports it.
func TestDocumentWithoutDialogStartsImport(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)
	owner := b.owner
	csv := fmt.Appendf(nil, "chat_id,first_name\n%d,Olga\n%d,Petr\n", owner.ID, owner.ID+1)

	_, err := owner.SendDocument(b.token, "December clients.csv", "text/csv", csv, "")
	require.NoError(t, err)
	ask := b.next(t, owner)
	require.Contains(t, ask.Text, "December clients.csv")
	b.press(t, owner, ask, "Use «December clients»")
	done := b.nextContaining(t, owner, "is ready")
	require.Contains(t, done.Text, "December clients")
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM batches WHERE name = 'December clients' AND recipient_count = 2`))
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM dialog_sessions`))

	// Another name typed instead of the default.
	_, err = owner.SendDocument(b.token, "list.csv", "text/csv", csv, "")
	require.NoError(t, err)
	b.next(t, owner)
	b.send(t, owner, "Second list")
	require.Contains(t, b.nextContaining(t, owner, "is ready").Text, "Second list")
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM batches WHERE name = 'Second list' AND source_name = 'list.csv'`))

	// The default name is taken: said so, and another name still imports the file.
	_, err = owner.SendDocument(b.token, "list.csv", "text/csv", csv, "")
	require.NoError(t, err)
	b.next(t, owner)
	b.send(t, owner, "Second list")
	require.Contains(t, b.next(t, owner).Text, "already")
	b.send(t, owner, "Third list")
	require.Contains(t, b.nextContaining(t, owner, "is ready").Text, "Third list")

	// Sent at the upload dialog's own name step, the file is kept for the import.
	b.command(t, owner, "/newbatch")
	b.next(t, owner)
	_, err = owner.SendDocument(b.token, "fourth.csv", "text/csv", csv, "")
	require.NoError(t, err)
	b.press(t, owner, b.nextContaining(t, owner, "fourth.csv"), "Use «fourth»")
	require.Contains(t, b.nextContaining(t, owner, "is ready").Text, "fourth")
	require.Empty(t, b.srv.UnansweredCallbacks(b.token))
}

// TestDocumentAtAnotherDialogsTextStep: a list sent where the template builder asks
// for a name is not dropped: the answer says what it is and offers to import it.
func TestDocumentAtAnotherDialogsTextStep(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)
	owner := b.owner
	csv := fmt.Appendf(nil, "chat_id\n%d\n", owner.ID)

	b.command(t, owner, "/newtemplate")
	b.next(t, owner)
	_, err := owner.SendDocument(b.token, "vip.csv", "text/csv", csv, "")
	require.NoError(t, err)
	answer := b.next(t, owner)
	require.Contains(t, answer.Text, "vip.csv looks like a recipient list")
	b.press(t, owner, answer, "Import this file")
	ask := b.nextContaining(t, owner, "vip.csv")
	b.press(t, owner, ask, "Use «vip»")
	require.Contains(t, b.nextContaining(t, owner, "is ready").Text, "vip")
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM batches WHERE name = 'vip'`))
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM dialog_sessions`))
}

package bot_test

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"herald/store"
)

// An owner adds a webhook with /webhooks: a bad URL is refused, a good one is stored
// with its secret sealed and the secret is shown once; removal asks first. An admin
// who is not an owner cannot open the screen.
func TestWebhooksAreManagedByOwners(t *testing.T) {
	t.Parallel()
	b := setup(t)
	box := b.withSecrets(t)
	b.start(t)
	owner := b.owner

	b.command(t, owner, "/webhooks")
	list := b.next(t, owner)
	require.Contains(t, list.Text, "0 webhooks")
	b.press(t, owner, list, "➕ Add a webhook")
	require.Contains(t, b.next(t, owner).Text, "Send the URL")
	b.send(t, owner, "ftp://crm.example.com/x")
	require.Contains(t, b.next(t, owner).Text, "not a usable webhook URL")
	b.send(t, owner, "https://user:pw@crm.example.com/x")
	require.Contains(t, b.next(t, owner).Text, "not a usable webhook URL")
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM webhooks`))

	b.send(t, owner, "https://crm.example.com/herald?key=abc")
	added := b.next(t, owner)
	require.Contains(t, added.Text, "shown only now")
	secret := regexp.MustCompile(`whsec_[0-9a-f]{48}`).FindString(added.Text)
	require.NotEmpty(t, secret, added.Text)
	require.NotContains(t, added.Text, "key=abc", "the query may hold a key: not echoed")

	var sealed []byte
	require.NoError(t, b.st.Pool().QueryRow(b.ctx, `SELECT secret_ciphertext FROM webhooks`).Scan(&sealed))
	require.NotContains(t, string(sealed), secret)
	opened, err := box.Open(sealed)
	require.NoError(t, err)
	require.Equal(t, secret, string(opened))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM audit_log WHERE action = 'webhook.added' AND details::text NOT LIKE '%key=abc%'`))

	// A plain admin is refused the screen and changes nothing.
	other := b.user(t, "Alice", "en")
	b.addAdmin(t, other, store.RoleAdmin)
	b.command(t, other, "/webhooks")
	require.NotContains(t, b.next(t, other).Text, "crm.example.com")

	b.command(t, owner, "/webhooks")
	list = b.next(t, owner)
	require.Contains(t, list.Text, "1 webhook")
	require.Contains(t, list.Text, "https://crm.example.com/herald")
	b.press(t, owner, list, "✖️ Remove #1")
	ask := b.waitEdited(t, owner, list.MessageID, "Remove the webhook")
	b.press(t, owner, ask, "✖️ Yes, remove")
	b.waitEdited(t, owner, list.MessageID, "0 webhooks")
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM webhooks`))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM audit_log WHERE action = 'webhook.removed'`))
}

package bot_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"herald/bot"
)

// TestTokenMessageDeletedWhenGetMeFails: the admin's message carrying a channel-bot
// token is deleted from the chat even when Telegram refuses the token (getMe fails),
// and the token is stored nowhere.
func TestTokenMessageDeletedWhenGetMeFails(t *testing.T) {
	t.Parallel()
	registered := false
	for _, r := range bot.Routes() {
		registered = registered || (r.Kind == "command" && r.Name == "newchannel")
	}
	if !registered {
		t.Skip("the channel registration dialog (/newchannel) is on branch flows5, not yet routed on main")
	}
	b := setup(t)
	b.start(t)
	owner := b.owner
	b.command(t, owner, "/newchannel")
	b.next(t, owner)
	const token = "987654321:AAEunknownTokenUnknownToken_unknown0" // the emulator knows no such bot
	m, err := owner.SendText(b.token, token)
	require.NoError(t, err)
	b.next(t, owner) // the refusal
	var deleted bool
	for _, e := range b.srv.Transcript(b.token, owner.ID) {
		if e.Message.MessageID == m.MessageID {
			deleted = e.Deleted
		}
	}
	require.True(t, deleted, "the message with the token is still in the chat")
	require.Zero(t, b.count(t, `SELECT count(*) FROM channels`))
	for _, table := range []string{"dialog_sessions", "audit_log", "channels"} {
		require.Zero(t, b.count(t, fmt.Sprintf(`SELECT count(*) FROM %s AS r WHERE strpos(r::text, $1) > 0`, table), token), table)
	}
}

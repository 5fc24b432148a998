package bot_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"

	"herald/bot"
)

// TestStrangerFlood: a stranger sending 1,000 messages gets one reply, and the database
// grows by nothing but the one audit row of the refusal.
func TestStrangerFlood(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)
	stranger := b.user(t, "Mallory", "en")
	before := b.snapshot(t)
	started := time.Now()
	for i := range 1000 {
		if i%10 == 0 {
			b.command(t, stranger, fmt.Sprintf("/newtemplate %d", i))
		} else {
			b.send(t, stranger, fmt.Sprintf("let me in %d", i))
		}
	}
	sentinel := b.plant(t, stranger.ID, "zz:0")
	b.pressData(t, stranger, sentinel.MessageID, "zz:0") // answered after the flood was handled
	t.Logf("1,000 messages handled in %s", time.Since(started).Round(time.Millisecond))

	var replies int
	for _, e := range b.srv.Transcript(b.token, stranger.ID) {
		if e.FromBot && e.Message.Text != "planted" {
			replies++
		}
	}
	require.Equal(t, 1, replies)
	after := b.snapshot(t)
	require.Equal(t, before.tables, after.tables)
	require.Equal(t, before.dialogs, after.dialogs)
	require.Equal(t, before.audit+1, after.audit, "one refusal, one audit row")
}

// toContentStep opens the template builder and names the template.
func (b *testBundle) toContentStep(t *testing.T) {
	t.Helper()
	b.command(t, b.owner, "/newtemplate")
	b.nextContaining(t, b.owner, "step 1 of 4")
	b.send(t, b.owner, fmt.Sprintf("Abuse %d", time.Now().UnixNano()))
	b.nextContaining(t, b.owner, "Step 2 of 4")
}

// TestHostileTemplateInput: absurd sizes get a clear refusal in the dialog, nothing is
// saved, and the dialog stays usable.
func TestHostileTemplateInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)
	owner := b.owner

	t.Run("100 KB text", func(t *testing.T) {
		b.toContentStep(t)
		b.send(t, owner, strings.Repeat("Спам ", 20_000))
		require.Contains(t, b.next(t, owner).Text, "Telegram allows 4096")
		b.command(t, owner, "/cancel")
		b.nextContaining(t, owner, "ancel")
	})
	t.Run("10,000 buttons", func(t *testing.T) {
		b.toContentStep(t)
		b.send(t, owner, "Hello {{first_name}}")
		b.nextContaining(t, owner, "Step 3 of 4")
		b.send(t, owner, strings.Repeat("Button - https://example.org\n", 10_000))
		require.Contains(t, b.next(t, owner).Text, "at most 100 buttons")
		b.command(t, owner, "/cancel")
		b.nextContaining(t, owner, "ancel")
	})
	t.Run("deeply nested formatting", func(t *testing.T) {
		b.toContentStep(t)
		text := strings.Repeat("x", 1000)
		kinds := []string{"bold", "italic", "underline", "strikethrough", "spoiler"}
		var entities []telego.MessageEntity
		for i := range 500 { // 500 entities, each inside the previous one
			entities = append(entities, telego.MessageEntity{Type: kinds[i%len(kinds)], Offset: i, Length: 1000 - 2*i})
		}
		b.send(t, owner, text, entities...)
		require.Contains(t, b.next(t, owner).Text, "Telegram shows at most 100")
		b.command(t, owner, "/cancel")
		b.nextContaining(t, owner, "ancel")
	})
	t.Run("oversized document", func(t *testing.T) {
		b.toContentStep(t)
		_, err := owner.SendDocument(b.token, "huge.bin", "application/octet-stream", make([]byte, 21<<20), "caption")
		require.NoError(t, err)
		require.Contains(t, b.next(t, owner).Text, "at most 20 MB")
		b.command(t, owner, "/cancel")
		b.nextContaining(t, owner, "ancel")
	})
	t.Run("oversized batch file", func(t *testing.T) {
		if !hasCommand("newbatch") {
			t.Skip("the batch upload dialog (/newbatch) is not routed on this branch yet")
		}
		b.command(t, owner, "/newbatch")
		b.next(t, owner)
		b.send(t, owner, "Huge list")
		b.next(t, owner)
		_, err := owner.SendDocument(b.token, "huge.csv", "text/csv", make([]byte, 21<<20), "")
		require.NoError(t, err)
		require.Contains(t, b.next(t, owner).Text, "at most 20 MB")
		b.command(t, owner, "/cancel")
		b.nextContaining(t, owner, "ancel")
		require.Zero(t, b.count(t, `SELECT count(*) FROM batches`))
	})
	require.Zero(t, b.count(t, `SELECT count(*) FROM templates`))
	require.Zero(t, b.count(t, `SELECT count(*) FROM dialog_sessions`))
}

func hasCommand(name string) bool {
	for _, r := range bot.Routes() {
		if r.Kind == "command" && r.Name == name {
			return true
		}
	}
	return false
}

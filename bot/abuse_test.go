package bot_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"

	"herald/bot"
	"herald/tgemu"
)

// TestStrangerFlood: a stranger sending 1,000 messages gets one reply, and the database
// grows by nothing but the one audit row of the refusal.
func TestStrangerFlood(t *testing.T) {
	t.Parallel()
	b := setup(t)
	stop := b.start(t)
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
	stop() // writes the last count
	require.Equal(t, 1001, b.count(t, `SELECT (details->>'count')::int FROM audit_log WHERE action = 'access.refused' AND actor_id = $1`, stranger.ID),
		"the row counts every message and the press")
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

// TestStrangerCrowdKeepsOwnerFast: 2,000 strangers send /start twice within 10 s
// while the owner works. The owner's replies stay quick (strangers wait in a lane of
// their own and share a small reply rate), and the audit log gets at most one row
// per stranger, counting the attempts.
func TestStrangerCrowdKeepsOwnerFast(t *testing.T) {
	if testing.Short() {
		t.Skip("a 10-second load test")
	}
	t.Parallel()
	b := setup(t)
	stop := b.start(t)
	const strangers, spread = 2000, 10 * time.Second
	crowd := b.srv.CreateUsers(strangers, tgemu.UserSpec{FirstName: "Stranger", LanguageCode: "en"})
	b.srv.SetStarted(b.token, crowd...)

	flood := make(chan struct{})
	floodStart := time.Now()
	var floodTook time.Duration
	go func() { // owned here: the test waits on flood
		defer close(flood)
		defer func() { floodTook = time.Since(floodStart) }()
		pause := spread / (2 * strangers)
		for i := range 2 * strangers {
			if i%20 == 0 { // in bursts of 20, on schedule whatever the sends cost
				time.Sleep(time.Until(floodStart.Add(time.Duration(i) * pause)))
			}
			if _, err := crowd[i%strangers].SendCommand(b.token, fmt.Sprintf("/start %d", i/strangers)); err != nil {
				t.Errorf("stranger /start: %v", err)
				return
			}
		}
	}()
	var waits []time.Duration
	deadline := time.Now().Add(spread)
	for time.Now().Before(deadline) {
		sent := time.Now()
		b.command(t, b.owner, "/help")
		b.nextContaining(t, b.owner, "What Herald does")
		waits = append(waits, time.Since(sent))
		time.Sleep(100 * time.Millisecond)
	}
	<-flood
	sort.Slice(waits, func(i, j int) bool { return waits[i] < waits[j] })
	p99 := waits[(len(waits)*99)/100]
	t.Logf("owner: %d replies during the crowd, p50 %s, p99 %s, max %s", len(waits),
		waits[len(waits)/2].Round(time.Millisecond), p99.Round(time.Millisecond), waits[len(waits)-1].Round(time.Millisecond))
	// The acceptance figure is p99 ≤ 300 ms (logged above, measured without the race
	// detector); the bound here is loose so that a loaded machine does not fail it.
	// Under the race detector every goroutine of the crowd runs several times slower
	// on the same two cores, so only the log is kept.
	if !raceDetector {
		require.Less(t, p99, 2*time.Second)
	}

	stop() // writes the last counts
	rows := b.count(t, `SELECT count(*) FROM audit_log WHERE action = 'access.refused'`)
	attempts := b.count(t, `SELECT coalesce(sum((details->>'count')::int), 0) FROM audit_log WHERE action = 'access.refused'`)
	replies := 0
	for _, u := range crowd {
		replies += b.countReplies(u, "admins only")
	}
	t.Logf("audit rows %d for %d attempts; %d strangers got a reply; the crowd took %s", rows, attempts, replies, floodTook.Round(time.Millisecond))
	require.LessOrEqual(t, rows, strangers)
	if !raceDetector { // under the race detector a full lane drops more of the crowd
		require.Greater(t, attempts, rows, "attempts are counted, not written as rows")
	}
	require.LessOrEqual(t, float64(replies), 5*floodTook.Seconds()+10, "stranger replies share a small rate")
	for _, u := range crowd {
		require.LessOrEqual(t, b.countReplies(u, "admins only"), 1)
	}
}

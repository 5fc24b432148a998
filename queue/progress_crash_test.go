package queue_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"

	"herald/queue"
	"herald/store"
)

// reporterOwner is the process whose reporter holds the campaign's live lease ("": none).
func (b *testBundle) reporterOwner(t *testing.T, id int64) string {
	t.Helper()
	var owner string
	err := b.pool.QueryRow(context.Background(),
		`SELECT owner FROM progress_reporters WHERE campaign_id = $1 AND lease_until > now()`, id).Scan(&owner)
	if err == pgx.ErrNoRows {
		return ""
	}
	require.NoError(t, err)
	process, _, _ := strings.Cut(owner, "/")
	return process
}

// controlVersions is how many versions the campaign's control message has had.
func (b *testBundle) controlVersions(t *testing.T, id int64) int {
	t.Helper()
	c, err := b.store.CampaignGet(context.Background(), id)
	require.NoError(t, err)
	if c.ControlMessageID == nil {
		return 0
	}
	for _, e := range b.emu.Transcript(b.mgmt.Token, b.admin) {
		if int64(e.Message.MessageID) == *c.ControlMessageID {
			return len(e.History)
		}
	}
	return 0
}

// Acceptance (issue 12.3, in-process kill -9): the process running a campaign's
// progress reporter dies; the other process takes the reporter over and edits the
// control message again within 10 s, with default leases and maintenance intervals.
func TestProgressReporterSurvivesKill(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	d := queue.DeliveryConfig{ProgressEvery: 500 * time.Millisecond}
	mgmt := func() *telego.Bot {
		bot, err := telego.NewBot(b.mgmt.Token, telego.WithAPIServer(b.emu.URL()), telego.WithDiscardLogger())
		require.NoError(t, err)
		return bot
	}
	p1 := b.startProcessWith(t, "p1", d, mgmt())
	p2 := b.startProcessWith(t, "p2", d, mgmt())
	channel, bot := b.channel(t, 30)
	users := b.users(t, bot, 900)
	id := b.startCampaign(t, p1.client, b.template(t, "Hi {{first_name}}"), b.batch(t, ids(users)), channel)

	b.waitSent(t, bot, 60, 20*time.Second)
	var owner string
	require.Eventually(t, func() bool { owner = b.reporterOwner(t, id); return owner != "" }, 10*time.Second, 20*time.Millisecond)
	victim, survivor := p1, p2
	if owner == "p2" {
		victim, survivor = p2, p1
	}
	require.Eventually(t, func() bool { return b.controlVersions(t, id) >= 2 }, 10*time.Second, 20*time.Millisecond)
	t.Logf("killing %s (reporter owner)", victim.id)
	victim.kill(t, b.pool)
	killed := time.Now()
	// An edit the victim had already sent may land after the kill: count edits from
	// when the survivor holds the reporter (it takes over once the lease runs out).
	require.Eventually(t, func() bool { return b.reporterOwner(t, id) == survivor.id }, patient(10*time.Second), 20*time.Millisecond,
		"the survivor did not take the reporter over")
	before := b.controlVersions(t, id)

	require.Eventually(t, func() bool { return b.controlVersions(t, id) > before }, patient(10*time.Second), 20*time.Millisecond,
		"the survivor did not edit the control message")
	t.Logf("control message edited again %s after the kill", time.Since(killed).Round(100*time.Millisecond))
	require.Equal(t, survivor.id, b.reporterOwner(t, id))
	c, err := b.store.CampaignGet(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, store.CampaignRunning, c.Status, "the edit was progress, not the final report")
}

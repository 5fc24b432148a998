package queue_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"herald/queue"
	"herald/store"
)

// TestOperationSurvivesKill: a process dies in the middle of an edit for everyone; a
// survivor takes the lane over and finishes it. No message is edited twice: what the
// dead process may have requested is reported uncertain, the rest is edited once.
func TestOperationSurvivesKill(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	// Short leases: the survivor claims what the dead process had only reserved once
	// those leases run out.
	d := queue.DeliveryConfig{LaneLease: time.Second, OrphanGrace: 500 * time.Millisecond, MaintenanceEvery: 300 * time.Millisecond,
		DeliveryLease: 4 * time.Second, RequestTimeout: 2 * time.Second}
	a := b.startProcess(t, "a", d)
	channel, bot := b.channel(t, 20)
	users := b.users(t, bot, 100)
	id := b.sentCampaign(t, a.client, 20, "Helo {{first_name}}", ids(users), bot, channel)

	op := b.startOperation(t, a.client, store.NewOperation{CampaignID: id, Kind: store.OperationEdit, Body: "Hello {{first_name}}"})
	deadline := time.Now().Add(patient(30 * time.Second))
	for b.emu.Stats(bot.Token).Edited < 30 {
		require.True(t, time.Now().Before(deadline), "process a edits nothing")
		time.Sleep(10 * time.Millisecond)
	}
	a.kill(t, b.pool)
	editedByA := b.emu.Stats(bot.Token).Edited
	b.startProcess(t, "b", d)

	counts := b.waitOperation(t, op.ID, 60*time.Second)
	require.EqualValues(t, 100, counts.Done+counts.Uncertain, "%+v", counts)
	require.LessOrEqual(t, counts.Uncertain, int64(queue.DefaultConcurrency), "at most the requests in the air")
	edited := 0
	for _, u := range users {
		tr := b.emu.Transcript(bot.Token, u.ID)
		require.Len(t, tr, 1)
		require.LessOrEqual(t, len(tr[0].History), 1, "chat %d edited twice", u.ID)
		if len(tr[0].History) == 1 {
			edited++
		}
	}
	require.EqualValues(t, edited, b.emu.Stats(bot.Token).Edited)
	require.GreaterOrEqual(t, int64(edited), counts.Done)
	require.Greater(t, counts.Done, editedByA, "the survivor edited the rest")
	t.Logf("edited by a before the kill: %d; done %d, uncertain %d", editedByA, counts.Done, counts.Uncertain)
}

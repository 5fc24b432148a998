package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"herald/store"
)

// controlVersions is how many versions the campaign's control message has had in the
// owner's chat (0: none yet).
func (b *faultBundle) controlVersions(t *testing.T) int {
	t.Helper()
	c, err := store.New(b.pool).CampaignGet(context.Background(), b.campaignID)
	require.NoError(t, err)
	if c.ControlMessageID == nil {
		return 0
	}
	for _, e := range b.emu.Transcript(b.mgmt.Token, b.owner.ID) {
		if int64(e.Message.MessageID) == *c.ControlMessageID {
			return len(e.History)
		}
	}
	return 0
}

// TestFaultKill9ProgressMoves (issue 12.3): after kill -9 of the process running the
// progress reporter and a restart, the campaign's progress message is edited again
// within 10 s of the restart, long before River would rescue the dead job.
func TestFaultKill9ProgressMoves(t *testing.T) {
	t.Parallel()
	b := setupFault(t, faultOpts{rate: 30, recipients: 1500})
	first := startHerald(t, b.env()...)
	b.waitSent(t, 60, 60*time.Second)
	require.Eventually(t, func() bool { return b.controlVersions(t) >= 2 }, patient(30*time.Second), 50*time.Millisecond,
		"the progress message was never edited before the kill")
	require.NoError(t, first.cmd.Process.Kill())
	<-first.done
	before := b.controlVersions(t)

	restarted := time.Now()
	second := startHerald(t, b.env()...)
	require.Eventually(t, func() bool { return b.controlVersions(t) > before }, 10*time.Second, 50*time.Millisecond,
		"the progress message was not edited within 10 s of the restart")
	t.Logf("progress message edited again %s after the restart", time.Since(restarted).Round(100*time.Millisecond))
	c, err := store.New(b.pool).CampaignGet(context.Background(), b.campaignID)
	require.NoError(t, err)
	require.Equal(t, store.CampaignRunning, c.Status, "the edit was progress, not the final report")
	second.stop(t, 15*time.Second)
}

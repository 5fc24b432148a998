package queue_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"herald/queue"
	"herald/store"
)

// A scheduled campaign starts at its time (within the ±5 s the issue allows; in
// practice within a second or two).
func TestScheduledCampaignStartsOnTime(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	client := b.newClient(t, clientOpts{id: "p1"})
	channel, bot := b.channel(t, 30)
	users := b.users(t, bot, 3)
	tpl, batch := b.template(t, "Hi"), b.batch(t, ids(users))
	at := time.Now().Add(8 * time.Second).Truncate(time.Second)
	ctx := context.Background()
	var id int64
	require.NoError(t, b.store.InTx(ctx, func(tx *store.Store) error {
		var err error
		id, err = queue.NewStarter(client).CreateCampaign(ctx, tx, store.NewCampaign{
			TemplateID: tpl, BatchID: batch, ChannelID: channel, ScheduledAt: at, ControlChatID: b.admin, CreatedBy: b.admin,
		})
		return err
	}))
	c := b.waitStatus(t, id, store.CampaignCompleted, 30*time.Second)
	require.False(t, c.StartedAt.Before(at), "started %s early", at.Sub(*c.StartedAt))
	require.Less(t, c.StartedAt.Sub(at), 5*time.Second)
	t.Logf("scheduled start %s after its time", c.StartedAt.Sub(at).Round(time.Millisecond))
}

// Campaigns sharing a bot share its lane fairly.
func TestCampaignsShareALaneFairly(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	client := b.newClient(t, clientOpts{id: "p1"})
	channel, bot := b.channel(t, 200)
	tpl := b.template(t, "Hi")
	users1, users2 := b.users(t, bot, 600), b.users(t, bot, 600)
	first := b.startCampaign(t, client, tpl, b.batch(t, ids(users1)), channel)
	second := b.startCampaign(t, client, tpl, b.batch(t, ids(users2)), channel)

	// Who had the message when 500 were sent, by the emulator's record (the database's
	// counts follow the settles, which may trail a loaded machine by a second).
	b.waitSent(t, bot, 500, 20*time.Second)
	got := b.emu.Stats(bot.Token).PerChat
	c1, c2 := 0, 0
	for i := range users1 {
		c1 += min(got[users1[i].ID], 1)
		c2 += min(got[users2[i].ID], 1)
	}
	t.Logf("at 500 sent: first campaign %d, second %d", c1, c2)
	require.InDelta(t, c1, c2, float64(c1+c2)/4, "first %d, second %d", c1, c2)
	b.waitStatus(t, first, store.CampaignCompleted, 20*time.Second)
	b.waitStatus(t, second, store.CampaignCompleted, 20*time.Second)
	st := b.emu.Stats(bot.Token)
	require.EqualValues(t, 1200, st.Sent)
	require.LessOrEqual(t, st.MaxPerSecond, 200)
	require.Zero(t, st.TooManyRequests)
}

package bot_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"herald/bot"
	"herald/queue"
	"herald/secrets"
	"herald/store"
)

// withRunningQueue gives the dialogs River's starter and controls with River running,
// so that a confirmed campaign is delivered. River has a pool of its own (its
// listener and producers hold connections by design); the controls and the starter
// run on the bot's store, the one under test.
func (b *testBundle) withRunningQueue(t *testing.T, box *secrets.Box) *pgxpool.Pool {
	t.Helper()
	riverPool, err := pgxpool.New(b.ctx, b.st.Pool().Config().ConnString())
	require.NoError(t, err)
	t.Cleanup(riverPool.Close)
	mgmt, err := bot.NewClient(b.token, b.srv.URL(), 0)
	require.NoError(t, err)
	client, err := queue.NewClient(riverPool, queue.Config{
		Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel), Store: store.New(riverPool),
		ManagementBot: mgmt, TelegramAPIURL: b.srv.URL(), MaintenanceInterval: time.Hour,
		OpenToken: func(c []byte) (string, error) {
			p, err := box.Open(c)
			return string(p), err
		},
	})
	require.NoError(t, err)
	require.NoError(t, client.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.StopAndCancel(ctx)
	})
	b.cfg.Services.Campaigns = queue.NewStarter(client)
	b.cfg.Services.Controls = queue.NewControls(b.st, client, queue.DeliveryConfig{})
	return riverPool
}

// TestEveryDialogOnTwoConnections runs every dialog — template, batch upload, channel
// registration, the campaign wizard with a test send and Confirm — and the campaign
// to completion, with the bot's store on a pool of two connections, one of which the
// polling lock holds. A dialog that took a second connection inside its transaction
// (a store call on the pool, queue.Controls committing on its own) would wait for the
// one the transaction holds until the update's deadline.
func TestEveryDialogOnTwoConnections(t *testing.T) {
	t.Parallel()
	b := setupWith(t, setupOpts{maxConns: 2})
	box := b.withSecrets(t)
	b.withRunningQueue(t, box)
	b.start(t)
	owner := b.owner
	petr := b.user(t, "Petr", "en")

	// Template.
	b.command(t, owner, "/newtemplate")
	b.nextContaining(t, owner, "step 1 of 4")
	b.send(t, owner, "Promo")
	b.nextContaining(t, owner, "Step 2 of 4")
	b.send(t, owner, "Hello, {{first_name}}!")
	b.press(t, owner, b.nextContaining(t, owner, "Step 3 of 4"), "Without buttons")
	b.nextContaining(t, owner, "Hello, ")
	b.press(t, owner, b.next(t, owner), "Save")
	b.nextContaining(t, owner, "is saved")

	// Batch upload: the file is downloaded before the transaction.
	text := b.uploadBatch(t, owner, "Clients", "clients.csv",
		fmt.Appendf(nil, "chat_id,first_name\n%d,Olga\n%d,Petr\n", owner.ID, petr.ID))
	require.Contains(t, text, "is ready: 2 recipients")

	// Channel registration: getMe before the transaction.
	sender := b.srv.CreateBot("pool_sender_bot")
	b.srv.SetStarted(sender.Token, owner)
	b.srv.SetStarted(sender.Token, petr)
	b.command(t, owner, "/newchannel")
	b.nextContaining(t, owner, "token")
	b.send(t, owner, sender.Token)
	b.press(t, owner, b.nextContaining(t, owner, "Token verified"), "Send-only")
	b.nextContaining(t, owner, "how should Herald call")
	b.send(t, owner, "Main")
	b.nextContaining(t, owner, "messages per second")
	b.send(t, owner, "30")
	b.nextContaining(t, owner, "is registered")

	// The wizard, its test send (before the transaction) and Confirm (River's job is
	// inserted in the dialog's transaction).
	b.command(t, owner, "/newcampaign")
	b.pick(t, owner, "Promo", "Main", "Now")
	b.next(t, owner) // the rendered message
	summary := b.nextContaining(t, owner, "Start: now")
	b.press(t, owner, summary, "Send test to me")
	sent := b.nextContaining(t, owner, "Test sent to you")
	b.press(t, owner, sent, "Confirm")
	b.nextContaining(t, owner, "is confirmed and starts now")

	var id int64
	require.NoError(t, b.st.Pool().QueryRow(b.ctx, `SELECT id FROM campaigns`).Scan(&id))
	deadline := time.Now().Add(60 * time.Second)
	for b.count(t, `SELECT count(*) FROM campaigns WHERE status = 'completed'`) == 0 {
		require.True(t, time.Now().Before(deadline), "the campaign did not complete")
		time.Sleep(50 * time.Millisecond)
	}
	for _, u := range []struct {
		id   int64
		want string
	}{{owner.ID, "Hello, Olga!"}, {petr.ID, "Hello, Petr!"}} {
		var got []string
		for _, e := range b.srv.Transcript(sender.Token, u.id) {
			got = append(got, e.Message.Text)
		}
		require.Contains(t, got, u.want)
	}

	// A campaign control runs queue.Controls, which commits on its own: outside the
	// update's transaction.
	m := b.plant(t, owner.ID, queue.ControlCallbackData(queue.ActionPause, id))
	answer := b.pressData(t, owner, m.MessageID, queue.ControlCallbackData(queue.ActionPause, id))
	require.Contains(t, answer.Text, fmt.Sprintf("Cannot pause campaign #%d: it is completed", id))
	require.False(t, strings.Contains(answer.Text, "went wrong"))
	require.Empty(t, b.srv.UnansweredCallbacks(b.token))
}

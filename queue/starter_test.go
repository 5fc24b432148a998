package queue_test

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"herald/pgtest"
	"herald/queue"
	"herald/store"
)

// TestStarterIsIdempotentPerRequestKey: Confirm delivered twice (two transactions with
// the wizard's key) makes one campaign and one start job; a scheduled one's job waits.
func TestStarterIsIdempotentPerRequestKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	st := store.New(pool)
	client, err := queue.NewClient(pool, queue.Config{Logger: zerolog.Nop(), Store: st})
	require.NoError(t, err)
	starter := queue.NewStarter(client)
	var tpl, batch, channel int64
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO templates (name, body, created_by) VALUES ('t', 'hi', 1) RETURNING id`).Scan(&tpl))
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO batches (name, status, created_by) VALUES ('b', 'ready', 1) RETURNING id`).Scan(&batch))
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO channels (bot_user_id, username, name, token_ciphertext, created_by)
		VALUES (1, 'c_bot', 'c', '\x00', 1) RETURNING id`).Scan(&channel))

	at := time.Now().Add(time.Hour).Truncate(time.Microsecond)
	nc := store.NewCampaign{TemplateID: tpl, BatchID: batch, ChannelID: channel, ScheduledAt: at,
		RequestKey: "wizard:1:42", ControlChatID: 1, CreatedBy: 1}
	var ids []int64
	for range 2 {
		require.NoError(t, st.InTx(ctx, func(tx *store.Store) error {
			id, err := starter.CreateCampaign(ctx, tx, nc)
			ids = append(ids, id)
			return err
		}))
	}
	require.Equal(t, ids[0], ids[1])
	var campaigns, jobs int
	var jobAt time.Time
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM campaigns`).Scan(&campaigns))
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*), max(scheduled_at) FROM river_job WHERE kind = 'campaign_start'`).Scan(&jobs, &jobAt))
	require.Equal(t, 1, campaigns)
	require.Equal(t, 1, jobs)
	require.True(t, jobAt.Before(at) && jobAt.After(at.Add(-10*time.Second)), "job at %s for %s", jobAt, at)

	// Outside a transaction it refuses rather than enqueue on its own.
	_, err = starter.CreateCampaign(ctx, st, nc)
	require.Error(t, err)
}

package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"herald/pgtest"
	"herald/store"
)

func TestDatabaseCreateAndDrop(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.ServerURL(t))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	st := store.New(pool)
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	name := "herald_bench_Test_" + hex.EncodeToString(suffix) // mixed case: quoted as an identifier
	exists := func() bool {
		var n int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n))
		return n == 1
	}
	require.NoError(t, st.DatabaseCreate(ctx, name))
	t.Cleanup(func() { _ = st.DatabaseDrop(context.Background(), name) })
	require.True(t, exists())
	require.Error(t, st.DatabaseCreate(ctx, name), "a second create fails")
	require.NoError(t, st.DatabaseDrop(ctx, name))
	require.False(t, exists())
	require.NoError(t, st.DatabaseDrop(ctx, name), "dropping a missing database is not an error")
}

func TestBatchCreateSynthetic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	st := store.New(pool)
	id, err := st.BatchCreateSynthetic(ctx, store.SyntheticBatch{Name: "bench", FirstChatID: 1000, Count: 50, CreatedBy: 7})
	require.NoError(t, err)
	b, first, err := st.BatchGet(ctx, id)
	require.NoError(t, err)
	require.Equal(t, "ready", b.Status)
	require.Equal(t, 50, b.RecipientCount)
	require.Equal(t, []string{"first_name"}, b.Columns)
	require.NotNil(t, first)
	var lo, hi int64
	var n int
	var name string
	require.NoError(t, pool.QueryRow(ctx, `SELECT min(chat_id), max(chat_id), count(*), min(vars->>'first_name') FILTER (WHERE chat_id = 1049)
		FROM recipients WHERE batch_id = $1`, id).Scan(&lo, &hi, &n, &name))
	require.Equal(t, []any{int64(1000), int64(1049), 50, "User 1049"}, []any{lo, hi, n, name})
	require.NoError(t, st.RecipientsVacuumAnalyze(ctx))

	_, err = st.BatchCreateSynthetic(ctx, store.SyntheticBatch{Name: "bench", FirstChatID: 1, Count: 1, CreatedBy: 7})
	require.Error(t, err, "the name is taken")
	_, err = st.BatchCreateSynthetic(ctx, store.SyntheticBatch{Name: "", FirstChatID: 1, Count: 1, CreatedBy: 7})
	require.ErrorIs(t, err, store.ErrNameInvalid)
}

func TestCampaignsOpenCountAndDeliveriesSentCount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	st := store.New(pool)
	batch, err := st.BatchCreateSynthetic(ctx, store.SyntheticBatch{Name: "b", FirstChatID: 1, Count: 3, CreatedBy: 1})
	require.NoError(t, err)
	var channel, tpl int64
	require.NoError(t, pool.QueryRow(ctx, `
		INSERT INTO channels (bot_user_id, username, name, token_ciphertext, created_by)
		VALUES (1, 'c_bot', 'c', '\x00', 1) RETURNING id`).Scan(&channel))
	require.NoError(t, pool.QueryRow(ctx, `
		INSERT INTO templates (name, body, created_by) VALUES ('t', 'hi', 1) RETURNING id`).Scan(&tpl))
	ids := map[string]int64{}
	for _, status := range []string{"scheduled", "running", "paused", "completed"} {
		var id int64
		require.NoError(t, pool.QueryRow(ctx, `
			INSERT INTO campaigns (template_id, batch_id, channel_id, status, control_chat_id, created_by, finished_at)
			VALUES ($1, $2, $3, $4, 1, 1, CASE WHEN $4 = 'completed' THEN now() END) RETURNING id`,
			tpl, batch, channel, status).Scan(&id))
		ids[status] = id
	}
	all := []int64{ids["scheduled"], ids["running"], ids["paused"], ids["completed"]}
	n, err := st.CampaignsOpenCount(ctx, all)
	require.NoError(t, err)
	require.Equal(t, 2, n, "scheduled and running are open; paused and completed are not")
	n, err = st.CampaignsOpenCount(ctx, []int64{ids["completed"]})
	require.NoError(t, err)
	require.Zero(t, n)

	_, err = pool.Exec(ctx, `
		INSERT INTO deliveries (campaign_id, chat_id, status, message_id) VALUES
			($1, 1, 'sent', 10), ($1, 2, 'sent', 11), ($1, 3, 'failed', NULL),
			($2, 1, 'sent', 12), ($2, 2, 'pending', NULL), ($3, 1, 'sent', 13)`,
		ids["running"], ids["completed"], ids["paused"])
	require.NoError(t, err)
	sent, err := st.DeliveriesSentCount(ctx, []int64{ids["running"], ids["completed"]})
	require.NoError(t, err)
	require.EqualValues(t, 3, sent)
}

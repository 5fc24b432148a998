package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"herald/pgtest"
	"herald/store"
)

// BenchmarkDeliveryRepeatCount: the duplicate guard's query on a 100 000-recipient
// list when the template went to all of them an hour ago ("repeat"), and when it
// never went out ("never_sent", the usual case: no recent campaign, nothing read).
func BenchmarkDeliveryRepeatCount(b *testing.B) {
	ctx := context.Background()
	pool := pgtest.NewPool(b)
	st := store.New(pool)
	var tpl, fresh, batch, campaign int64
	require.NoError(b, pool.QueryRow(ctx, `INSERT INTO channels (bot_user_id, username, name, token_ciphertext, created_by)
		VALUES (1, 'c_bot', 'c', '\x00', 1) RETURNING id`).Scan(new(int64)))
	require.NoError(b, pool.QueryRow(ctx, `INSERT INTO templates (name, body, created_by) VALUES ('t', 'hi', 1) RETURNING id`).Scan(&tpl))
	require.NoError(b, pool.QueryRow(ctx, `INSERT INTO templates (name, body, created_by) VALUES ('f', 'hi', 1) RETURNING id`).Scan(&fresh))
	require.NoError(b, pool.QueryRow(ctx, `INSERT INTO batches (name, status, created_by) VALUES ('b', 'ready', 1) RETURNING id`).Scan(&batch))
	_, err := pool.Exec(ctx, `INSERT INTO recipients (batch_id, chat_id) SELECT $1, g FROM generate_series(1, 100000) g`, batch)
	require.NoError(b, err)
	require.NoError(b, pool.QueryRow(ctx, `INSERT INTO campaigns (template_id, batch_id, channel_id, status, started_at, finished_at, control_chat_id, created_by)
		SELECT $1, $2, id, 'completed', now() - interval '1 hour', now(), 1, 1 FROM channels RETURNING id`, tpl, batch).Scan(&campaign))
	_, err = pool.Exec(ctx, `INSERT INTO deliveries (campaign_id, chat_id, status, message_id)
		SELECT $1, chat_id, 'sent', 1 FROM recipients WHERE batch_id = $2`, campaign, batch)
	require.NoError(b, err)
	_, err = pool.Exec(ctx, `ANALYZE`)
	require.NoError(b, err)
	since := time.Now().Add(-24 * time.Hour)
	for _, c := range []struct {
		name string
		tpl  int64
		want int64
	}{{"repeat", tpl, 100_000}, {"never_sent", fresh, 0}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				n, err := st.DeliveryRepeatCount(ctx, c.tpl, batch, since)
				require.NoError(b, err)
				require.Equal(b, c.want, n)
			}
		})
	}
}

package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestDeliveryRepeatCount: sent, in-flight and uncertain deliveries within the window
// count, and pending ones of a running campaign; failed and blocked ones, older ones,
// other templates and other lists do not.
func TestDeliveryRepeatCount(t *testing.T) {
	t.Parallel()
	b := setupDelivery(t, 10)
	ctx := context.Background()
	since := time.Now().Add(-24 * time.Hour)
	count := func() int64 {
		n, err := b.st.DeliveryRepeatCount(ctx, b.tpl, b.batch, since)
		require.NoError(t, err)
		return n
	}
	require.Zero(t, count())

	id := b.create(t, "first")
	b.start(t, id) // running, with ten pending deliveries
	require.Equal(t, int64(10), count())
	_, err := b.pool.Exec(ctx, `UPDATE deliveries SET status = 'failed', error = 'x' WHERE campaign_id = $1 AND chat_id <= 4`, id)
	require.NoError(t, err)
	_, err = b.pool.Exec(ctx, `UPDATE deliveries SET status = 'blocked', error = 'x' WHERE campaign_id = $1 AND chat_id = 5`, id)
	require.NoError(t, err)
	_, err = b.pool.Exec(ctx, `UPDATE deliveries SET status = 'sent', message_id = 1 WHERE campaign_id = $1 AND chat_id IN (6, 7)`, id)
	require.NoError(t, err)
	_, err = b.pool.Exec(ctx, `UPDATE deliveries SET status = 'uncertain' WHERE campaign_id = $1 AND chat_id = 8`, id)
	require.NoError(t, err)
	require.Equal(t, int64(5), count()) // 6, 7 sent, 8 uncertain, 9, 10 pending

	// The campaign ends: its pending ones are cancelled; a send older than the window is forgotten.
	_, err = b.pool.Exec(ctx, `UPDATE deliveries SET status = 'cancelled' WHERE campaign_id = $1 AND status = 'pending'`, id)
	require.NoError(t, err)
	_, err = b.pool.Exec(ctx, `UPDATE deliveries SET updated_at = now() - interval '25 hours' WHERE campaign_id = $1 AND chat_id = 7`, id)
	require.NoError(t, err)
	require.Equal(t, int64(2), count())

	// Another list sharing chat 6 only, and another template: counted per list and template.
	var other, otherTpl int64
	require.NoError(t, b.pool.QueryRow(ctx, `INSERT INTO batches (name, status, created_by) VALUES ('b2', 'ready', 1) RETURNING id`).Scan(&other))
	_, err = b.pool.Exec(ctx, `INSERT INTO recipients (batch_id, chat_id) VALUES ($1, 6), ($1, 99)`, other)
	require.NoError(t, err)
	n, err := b.st.DeliveryRepeatCount(ctx, b.tpl, other, since)
	require.NoError(t, err)
	require.Equal(t, int64(1), n)
	require.NoError(t, b.pool.QueryRow(ctx, `INSERT INTO templates (name, body, created_by) VALUES ('t2', 'hi', 1) RETURNING id`).Scan(&otherTpl))
	n, err = b.st.DeliveryRepeatCount(ctx, otherTpl, b.batch, since)
	require.NoError(t, err)
	require.Zero(t, n)
}

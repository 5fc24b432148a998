package queue_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"herald/pgtest"
	"herald/queue"
	"herald/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type recordingNotifier struct {
	mu       sync.Mutex
	notified []store.ExpiredDialog
	seen     chan struct{}
}

func (n *recordingNotifier) DialogExpired(_ context.Context, d store.ExpiredDialog) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.notified = append(n.notified, d)
	if len(n.notified) == 1 {
		close(n.seen)
	}
	return nil
}

func TestDialogExpiryJobExpiresOnlyStaleSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	_, err := pool.Exec(ctx, `
		INSERT INTO dialog_sessions (chat_id, user_id, flow, state, language, expires_at) VALUES
			(1, 1, 'template', 'name', 'ru', now() - interval '1 minute'),
			(2, 2, 'batch', 'file', 'en', now() + interval '1 hour')`)
	require.NoError(t, err)

	notifier := &recordingNotifier{seen: make(chan struct{})}
	client, err := queue.NewClient(pool, queue.Config{
		Logger: zerolog.New(zerolog.NewTestWriter(t)), Store: store.New(pool), DialogNotifier: notifier,
	})
	require.NoError(t, err)
	require.NoError(t, client.Start(ctx))
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, client.Stop(stopCtx))
	})

	select {
	case <-notifier.seen: // the periodic job runs on start
	case <-time.After(20 * time.Second):
		t.Fatal("dialog expiry job did not run")
	}
	notifier.mu.Lock()
	require.Equal(t, []store.ExpiredDialog{{ChatID: 1, UserID: 1, Flow: "template", Language: "ru"}}, notifier.notified)
	notifier.mu.Unlock()

	var left []int64
	rows, err := pool.Query(ctx, "SELECT chat_id FROM dialog_sessions ORDER BY chat_id")
	require.NoError(t, err)
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		left = append(left, id)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []int64{2}, left)
}

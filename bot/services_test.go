package bot_test

import (
	"bytes"
	"sync"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"herald/queue"
	"herald/secrets"
)

// syncBuffer collects a bot's log lines for a test to search.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// withSecrets gives the bot's dialogs a secrets box, as HERALD_SECRET_KEY does.
func (b *testBundle) withSecrets(t *testing.T) *secrets.Box {
	t.Helper()
	box, err := secrets.NewBox(bytes.Repeat([]byte{7}, secrets.KeySize))
	require.NoError(t, err)
	b.cfg.Services.Box = box
	return box
}

// withQueue gives the dialogs River's campaign start and controls. The client is not
// started: jobs stay in river_job for the test to look at.
func (b *testBundle) withQueue(t *testing.T) {
	t.Helper()
	client, err := queue.NewClient(b.st.Pool(), queue.Config{Logger: zerolog.Nop(), Store: b.st})
	require.NoError(t, err)
	b.cfg.Services.Campaigns = queue.NewStarter(client)
	b.cfg.Services.Controls = queue.NewControls(b.st, client, queue.DeliveryConfig{})
	b.cfg.Services.Charts = queue.NewCharts(client)
	b.cfg.Services.Exports, err = queue.NewExports(b.st, "en")
	require.NoError(t, err)
}

// captureLogs sends everything the bot logs, debug included, to the returned buffer.
func (b *testBundle) captureLogs() *syncBuffer {
	logs := &syncBuffer{}
	b.cfg.Logger = zerolog.New(logs).Level(zerolog.DebugLevel)
	return logs
}

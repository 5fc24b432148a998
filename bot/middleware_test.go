package bot

import (
	"bytes"
	"context"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/mymmrac/telego"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"herald/i18n"
	"herald/pgtest"
	"herald/store"
	"herald/tgemu"
	"herald/tgemu/emutest"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A panic in a handler is recovered: the admin gets a short apology with a reference
// id, and the log has the same id with the cause.
func TestPanicBecomesApologyWithReference(t *testing.T) {
	t.Parallel()
	srv := emutest.Start(t, tgemu.Config{})
	tb := srv.CreateBot("herald_admin_bot")
	user := srv.CreateUser(tgemu.UserSpec{FirstName: "Olga", LanguageCode: "ru"})
	srv.SetStarted(tb.Token, user)
	catalog, err := i18n.New("en")
	require.NoError(t, err)
	var logs syncBuffer
	b, err := New(Config{Token: tb.Token, APIURL: srv.URL(), Store: store.New(pgtest.NewPool(t)), Catalog: catalog, Logger: zerolog.New(&logs)})
	require.NoError(t, err)

	h := b.answerCallback(b.recoverPanics(func(context.Context, *update) { panic("boom") }))
	from := telego.User{ID: user.ID, LanguageCode: "ru"}
	h(context.Background(), &update{Update: telego.Update{Message: &telego.Message{Chat: telego.Chat{ID: user.ID}, From: &from, Text: "hi"}},
		chatID: user.ID, from: from, l: catalog.For("ru")})

	m, err := user.WaitBotMessage(tb.Token, 5*time.Second)
	require.NoError(t, err)
	require.Contains(t, m.Text, "Простите, у нас что-то сломалось")
	ref := regexp.MustCompile(`код: ([0-9a-f]{8})`).FindStringSubmatch(m.Text)
	require.NotNil(t, ref, m.Text)
	require.Contains(t, logs.String(), `"ref":"`+ref[1]+`"`)
	require.Contains(t, logs.String(), "panic: boom")
	require.NotContains(t, logs.String(), tb.Token)
}

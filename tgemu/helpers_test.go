package tgemu_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mymmrac/telego"
	ta "github.com/mymmrac/telego/telegoapi"
	"github.com/stretchr/testify/require"

	"herald/tgemu"
	"herald/tgemu/emutest"
)

// env is one emulator, one bot, one telego client.
type env struct {
	srv *tgemu.Server
	bot *tgemu.Bot
	tg  *telego.Bot
	ctx context.Context
}

func newEnv(t *testing.T, cfg tgemu.Config) *env {
	t.Helper()
	srv := emutest.Start(t, cfg)
	b := srv.CreateBot("herald_bot")
	return &env{srv: srv, bot: b, tg: client(t, srv, b.Token), ctx: context.Background()}
}

func client(t testing.TB, srv *tgemu.Server, token string) *telego.Bot {
	t.Helper()
	tg, err := telego.NewBot(token, telego.WithAPIServer(srv.URL()), telego.WithDiscardLogger())
	require.NoError(t, err)
	return tg
}

// startedUser creates a user who has started the bot and drains nothing.
func (e *env) startedUser(t *testing.T) *tgemu.User {
	t.Helper()
	u := e.srv.CreateUser(tgemu.UserSpec{FirstName: "Ann", Username: "ann"})
	_, err := u.Start(e.bot.Token)
	require.NoError(t, err)
	return u
}

func apiErr(t *testing.T, err error) *ta.Error {
	t.Helper()
	require.Error(t, err)
	var ae *ta.Error
	require.True(t, errors.As(err, &ae), "not an API error: %v", err)
	return ae
}

func requireAPIError(t *testing.T, err error, code int, desc string) *ta.Error {
	t.Helper()
	ae := apiErr(t, err)
	require.Equal(t, code, ae.ErrorCode, ae.Description)
	require.Equal(t, desc, ae.Description)
	return ae
}

func send(e *env, chatID int64, text string) (*telego.Message, error) {
	return e.tg.SendMessage(e.ctx, &telego.SendMessageParams{ChatID: telego.ChatID{ID: chatID}, Text: text})
}

func poll(t *testing.T, e *env, offset int, timeout int) []telego.Update {
	t.Helper()
	ups, err := e.tg.GetUpdates(e.ctx, &telego.GetUpdatesParams{Offset: offset, Timeout: timeout})
	require.NoError(t, err)
	return ups
}

var _ = time.Second

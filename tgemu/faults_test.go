package tgemu_test

import (
	"context"
	"errors"
	"testing"
	"time"

	ta "github.com/mymmrac/telego/telegoapi"
	"github.com/stretchr/testify/require"

	"herald/tgemu"
)

func TestFaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tgemu.Config{PerChatDisabled: true})
	u := e.startedUser(t)

	t.Run("latency", func(t *testing.T) {
		e.srv.SetFaults(e.bot.Token, tgemu.Faults{Latency: 30 * time.Millisecond, Jitter: 10 * time.Millisecond})
		start := time.Now()
		_, err := e.tg.GetMe(e.ctx)
		require.NoError(t, err)
		require.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)
	})
	t.Run("5xx", func(t *testing.T) {
		e.srv.SetFaults(e.bot.Token, tgemu.Faults{ServerErrorRate: 1})
		_, err := send(e, u.ID, "x")
		require.ErrorContains(t, err, "internal server error: 50") // telego does not parse 5xx bodies
		var ae *ta.Error
		require.False(t, errors.As(err, &ae))
	})
	t.Run("drop", func(t *testing.T) {
		e.srv.SetFaults(e.bot.Token, tgemu.Faults{DropRate: 1})
		_, err := send(e, u.ID, "x")
		require.Error(t, err)
	})
	t.Run("stall", func(t *testing.T) {
		e.srv.SetFaults(e.bot.Token, tgemu.Faults{StallRate: 1})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := e.tg.GetMe(ctx)
		require.Error(t, err)
	})
	require.Zero(t, e.srv.Stats(e.bot.Token).Sent, "failed requests were not processed")
	t.Run("lost response", func(t *testing.T) {
		e.srv.SetFaults(e.bot.Token, tgemu.Faults{LostResponseRate: 1})
		_, err := send(e, u.ID, "did it arrive?")
		require.Error(t, err)
		require.Equal(t, int64(1), e.srv.Stats(e.bot.Token).Sent, "processed although the client saw an error")
		tr := e.srv.Transcript(e.bot.Token, u.ID)
		require.Equal(t, "did it arrive?", tr[len(tr)-1].Message.Text)
	})
	e.srv.SetFaults(e.bot.Token, tgemu.Faults{})
	_, err := send(e, u.ID, "healthy again")
	require.NoError(t, err)
}

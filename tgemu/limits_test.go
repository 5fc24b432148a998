package tgemu_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mymmrac/telego"
	ta "github.com/mymmrac/telego/telegoapi"
	"github.com/stretchr/testify/require"

	"herald/tgemu"
)

// 100 concurrent senders hammer one token for 3 s: many 429s, and the
// accepted sends never exceed the limit in any sliding second.
func TestRateLimitStorm(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tgemu.Config{PerChatDisabled: true})
	users := e.srv.CreateUsers(100, tgemu.UserSpec{})
	e.srv.SetStarted(e.bot.Token, users...)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var ok, limited atomic.Int64
	var retryAfter atomic.Int64
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Go(func() {
			for ctx.Err() == nil {
				_, err := e.tg.SendMessage(context.Background(), &telego.SendMessageParams{ChatID: telego.ChatID{ID: u.ID}, Text: "storm"})
				if err == nil {
					ok.Add(1)
					continue
				}
				var ae *ta.Error
				if !errors.As(err, &ae) || ae.ErrorCode != 429 || ae.Parameters == nil {
					t.Errorf("unexpected error: %v", err)
					return
				}
				limited.Add(1)
				retryAfter.Store(int64(ae.Parameters.RetryAfter))
				time.Sleep(5 * time.Millisecond) // a polite client would wait retry_after; this one hammers
			}
		})
	}
	wg.Wait()
	st := e.srv.Stats(e.bot.Token)
	require.Positive(t, limited.Load())
	require.GreaterOrEqual(t, retryAfter.Load(), int64(1))
	require.Equal(t, ok.Load(), st.Sent)
	require.Equal(t, limited.Load(), st.TooManyRequests)
	require.LessOrEqual(t, st.MaxPerSecond, 30)
	require.GreaterOrEqual(t, st.MaxPerSecond, 25, "the limiter should let the full rate through")
	require.GreaterOrEqual(t, st.Sent, int64(60)) // ~30/s for 3 s
	require.Len(t, st.Series, int(st.Sent))
	// Independently re-check the window over the recorded series.
	maxWin := 0
	for i, j := 0, 0; i < len(st.Series); i++ {
		for st.Series[i].Sub(st.Series[j]) >= time.Second {
			j++
		}
		maxWin = max(maxWin, i-j+1)
	}
	require.Equal(t, st.MaxPerSecond, maxWin)
}

// The per-bot limits count sends in a sliding second, so the 429s below are due only if
// the sends of one step fall within a second. On a loaded machine they may not: such an
// attempt proves nothing and is repeated with a fresh bot, up to five times.
func TestRetryAfterBodyAndPaidBroadcast(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tgemu.Config{DefaultRate: 2, PaidRate: 4, PerChatDisabled: true})
	for attempt := 1; ; attempt++ {
		b := e.srv.CreateBot(fmt.Sprintf("limits_%d_bot", attempt))
		be := &env{srv: e.srv, bot: b, tg: client(t, e.srv, b.Token), ctx: e.ctx}
		if retryAfterAndPaid(t, be) {
			return
		}
		require.Less(t, attempt, 5, "the sends of one step never fell within a second")
		t.Logf("attempt %d: the sends took over a second; again", attempt)
	}
}

// retryAfterAndPaid runs the checks on e's fresh bot; false when a step's sends spread
// over more than a second, so that its 429 was not due.
func retryAfterAndPaid(t *testing.T, e *env) bool {
	u := e.startedUser(t)
	start := time.Now()
	for range 2 {
		_, err := send(e, u.ID, "x")
		require.NoError(t, err)
	}
	_, err := send(e, u.ID, "x")
	if err == nil && time.Since(start) >= time.Second {
		return false
	}
	ae := requireAPIError(t, err, 429, "Too Many Requests: retry after 1")
	require.Equal(t, 1, ae.Parameters.RetryAfter)

	// Paid broadcast uses the higher limit on the same window.
	for range 2 {
		_, err = e.tg.SendMessage(e.ctx, &telego.SendMessageParams{ChatID: telego.ChatID{ID: u.ID}, Text: "paid", AllowPaidBroadcast: true})
		require.NoError(t, err)
	}
	_, err = e.tg.SendMessage(e.ctx, &telego.SendMessageParams{ChatID: telego.ChatID{ID: u.ID}, Text: "paid", AllowPaidBroadcast: true})
	if err == nil && time.Since(start) >= time.Second {
		return false
	}
	requireAPIError(t, err, 429, "Too Many Requests: retry after 1")

	// The rate can change mid-run.
	e.srv.SetBotRate(e.bot.Token, 100)
	_, err = send(e, u.ID, "x")
	require.NoError(t, err)
	st := e.srv.Stats(e.bot.Token)
	require.Equal(t, int64(5), st.Sent)
	require.Equal(t, int64(2), st.TooManyRequests)
	require.Equal(t, map[int64]int{u.ID: 5}, st.PerChat)
	require.Equal(t, map[int64]int{u.ID: 5}, st.Duplicates())
	return true
}

func TestPerChatLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tgemu.Config{DefaultRate: -1, PerChatBurst: 3})
	// The limit counts a sliding second: on a loaded machine the four sends may spread
	// over more than that, and the fourth legitimately passes. Such an attempt proves
	// nothing and is repeated with a fresh chat, up to five times.
	var u *tgemu.User
	var err error
	for attempt := 1; ; attempt++ {
		u = e.startedUser(t)
		start := time.Now()
		for range 3 {
			_, err := send(e, u.ID, "burst")
			require.NoError(t, err)
		}
		_, err = send(e, u.ID, "one too many")
		if err != nil || time.Since(start) < time.Second || attempt == 5 {
			break
		}
	}
	ae := requireAPIError(t, err, 429, "Too Many Requests: retry after 1")
	require.Equal(t, 1, ae.Parameters.RetryAfter)

	// Groups: 20 per minute per bot.
	g := e.srv.CreateGroup("Ops", u)
	g.AddBot(e.bot.Token, u)
	for range 20 {
		_, err = send(e, g.ID, "group")
		require.NoError(t, err)
	}
	_, err = send(e, g.ID, "group")
	ae = apiErr(t, err)
	require.Equal(t, 429, ae.ErrorCode)
	require.InDelta(t, 60, ae.Parameters.RetryAfter, 1)
	require.Equal(t, 20, e.srv.Stats(e.bot.Token).PerChat[g.ID])
}

package tgemu_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"

	"herald/tgemu"
)

// An update sent while a long poll waits ends that poll with exactly that update, in
// order, and the next offset confirms it. (How fast: BenchmarkLongPollLatency.)
func TestLongPollDeliversWhileWaiting(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tgemu.Config{})
	u := e.startedUser(t)
	ups := poll(t, e, 0, 0)
	offset := ups[len(ups)-1].UpdateID + 1

	for i := range 5 {
		text := fmt.Sprintf("ping %d", i)
		done := waitingPoll(t, e, offset)
		_, err := u.SendText(e.bot.Token, text)
		require.NoError(t, err)
		var r pollResult
		select {
		case r = <-done:
		case <-time.After(5 * time.Second): // the poll's own timeout is 10 s
			t.Fatal("the update did not end the long poll")
		}
		require.NoError(t, r.err)
		require.Len(t, r.ups, 1, "try %d", i)
		require.Equal(t, offset, r.ups[0].UpdateID, "update ids follow each other")
		require.Equal(t, text, r.ups[0].Message.Text)
		offset = r.ups[0].UpdateID + 1
	}
	require.Empty(t, poll(t, e, offset, 0), "every update was confirmed by the next offset")
}

type pollResult struct {
	ups []telego.Update
	at  time.Time
	err error
}

// waitingPoll starts a long poll (timeout 10 s) from offset and returns once the
// emulator holds it open; the result arrives on the channel.
func waitingPoll(t testing.TB, e *env, offset int) <-chan pollResult {
	t.Helper()
	done := make(chan pollResult, 1)
	go func() { // owned: ends with its poll (at most 10 s), the channel is buffered
		ups, err := e.tg.GetUpdates(e.ctx, &telego.GetUpdatesParams{Offset: offset, Timeout: 10})
		done <- pollResult{ups, time.Now(), err}
	}()
	for !e.srv.Polling(e.bot.Token) {
		select {
		case r := <-done:
			t.Fatalf("the poll returned before any update: %v %v", r.ups, r.err)
		case <-time.After(time.Millisecond):
		}
	}
	return done
}

func TestOffsetConfirmation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tgemu.Config{})
	u := e.startedUser(t)
	for _, s := range []string{"a", "b", "c"} {
		_, err := u.SendText(e.bot.Token, s)
		require.NoError(t, err)
	}
	all := poll(t, e, 0, 0)
	require.Len(t, all, 5) // my_chat_member, /start, a, b, c
	again := poll(t, e, 0, 0)
	require.Equal(t, all, again, "unconfirmed updates are redelivered")

	ups, err := e.tg.GetUpdates(e.ctx, &telego.GetUpdatesParams{Offset: all[2].UpdateID, Limit: 2})
	require.NoError(t, err)
	require.Len(t, ups, 2)
	require.Equal(t, "a", ups[0].Message.Text)

	// Confirm everything; nothing comes back, ever.
	ups = poll(t, e, all[4].UpdateID+1, 0)
	require.Empty(t, ups)
	ups = poll(t, e, 0, 0)
	require.Empty(t, ups)
	require.Equal(t, 0, e.srv.PendingUpdates(e.bot.Token))
	_, err = u.SendText(e.bot.Token, "d")
	require.NoError(t, err)
	ups = poll(t, e, 0, 0)
	require.Len(t, ups, 1)
	require.Equal(t, all[4].UpdateID+1, ups[0].UpdateID)
}

// A second concurrent getUpdates terminates the waiting one with 409.
func TestTwoPollersConflict(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tgemu.Config{})
	first := make(chan error, 1)
	go func() {
		_, err := e.tg.GetUpdates(e.ctx, &telego.GetUpdatesParams{Timeout: 10})
		first <- err
	}()
	require.Eventually(t, func() bool { return e.srv.Polling(e.bot.Token) }, 5*time.Second, time.Millisecond)
	second := make(chan error, 1)
	go func() {
		_, err := e.tg.GetUpdates(e.ctx, &telego.GetUpdatesParams{Timeout: 1})
		second <- err
	}()
	select {
	case err := <-first:
		requireAPIError(t, err, 409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running")
	case <-time.After(5 * time.Second):
		t.Fatal("first poller was not terminated")
	}
	require.NoError(t, <-second)
}

func TestAllowedUpdates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tgemu.Config{})
	_, err := e.tg.GetUpdates(e.ctx, &telego.GetUpdatesParams{AllowedUpdates: []string{"callback_query"}})
	require.NoError(t, err)
	u := e.startedUser(t) // my_chat_member and message are filtered out
	require.Empty(t, poll(t, e, 0, 0), "allowed_updates is remembered")
	m, err := e.tg.SendMessage(e.ctx, &telego.SendMessageParams{ChatID: telego.ChatID{ID: u.ID}, Text: "pick",
		ReplyMarkup: &telego.InlineKeyboardMarkup{InlineKeyboard: [][]telego.InlineKeyboardButton{{{Text: "A", CallbackData: "a"}}}}})
	require.NoError(t, err)
	_, err = u.Press(e.bot.Token, m.MessageID, "a")
	require.NoError(t, err)
	ups := poll(t, e, 0, 0)
	require.Len(t, ups, 1)
	require.NotNil(t, ups[0].CallbackQuery)
}

func TestWebhook(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tgemu.Config{WebhookRetryMin: 5 * time.Millisecond, WebhookRetryMax: 20 * time.Millisecond})
	var fails atomic.Int32
	fails.Store(2) // the first two deliveries fail: retried
	got := make(chan telego.Update, 10)
	var mu sync.Mutex
	var secrets []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		secrets = append(secrets, r.Header.Get("X-Telegram-Bot-Api-Secret-Token"))
		mu.Unlock()
		if fails.Add(-1) >= 0 {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var up telego.Update
		if err := json.Unmarshal(body, &up); err != nil {
			t.Error(err)
		}
		got <- up
	}))
	defer hook.Close()

	require.NoError(t, e.tg.SetWebhook(e.ctx, &telego.SetWebhookParams{URL: hook.URL, SecretToken: "s3cr3t"}))
	_, err := e.tg.GetUpdates(e.ctx, &telego.GetUpdatesParams{})
	requireAPIError(t, err, 409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first")

	u := e.startedUser(t)
	var ups []telego.Update
	for len(ups) < 2 {
		select {
		case up := <-got:
			ups = append(ups, up)
		case <-time.After(5 * time.Second):
			t.Fatal("webhook not called")
		}
	}
	require.NotNil(t, ups[0].MyChatMember)
	require.Equal(t, "/start", ups[1].Message.Text)
	require.Equal(t, u.ID, ups[1].Message.From.ID)
	mu.Lock()
	require.GreaterOrEqual(t, len(secrets), 4)
	for _, s := range secrets {
		require.Equal(t, "s3cr3t", s)
	}
	mu.Unlock()

	// The handler saw the update before its 200 reached the emulator.
	require.Eventually(t, func() bool { return e.srv.PendingUpdates(e.bot.Token) == 0 }, 5*time.Second, time.Millisecond)
	info, err := e.tg.GetWebhookInfo(e.ctx)
	require.NoError(t, err)
	require.Equal(t, hook.URL, info.URL)
	require.Equal(t, 0, info.PendingUpdateCount)
	require.Equal(t, "Wrong response from the webhook: 503 Service Unavailable", info.LastErrorMessage)
	require.NotZero(t, info.LastErrorDate)

	require.NoError(t, e.tg.DeleteWebhook(e.ctx, &telego.DeleteWebhookParams{}))
	_, err = u.SendText(e.bot.Token, "after")
	require.NoError(t, err)
	require.Len(t, poll(t, e, 0, 0), 1)
}

// Close releases a waiting poll promptly.
func TestCloseReleasesPoll(t *testing.T) {
	t.Parallel()
	srv, err := tgemu.Start(tgemu.Config{})
	require.NoError(t, err)
	b := srv.CreateBot("closing_bot")
	tg := client(t, srv, b.Token)
	done := make(chan struct{})
	go func() {
		_, _ = tg.GetUpdates(context.Background(), &telego.GetUpdatesParams{Timeout: 30})
		close(done)
	}()
	require.Eventually(t, func() bool { return srv.Polling(b.Token) }, 5*time.Second, time.Millisecond)
	srv.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("poll not released by Close")
	}
}

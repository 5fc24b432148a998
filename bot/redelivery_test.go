package bot_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"herald/bot"
	"herald/store"
	"herald/tgemu"
)

// TestWebhookDuplicateAnsweredOnce: Telegram re-posts an update it thinks timed out;
// the same update posted three times gets one reply.
func TestWebhookDuplicateAnsweredOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	mux := http.NewServeMux()
	hook := httptest.NewServer(mux)
	t.Cleanup(hook.Close)
	b.cfg.WebhookURL = hook.URL + "/telegram/herald"
	rt, err := bot.New(b.cfg)
	require.NoError(t, err)
	mux.Handle("POST "+rt.WebhookPath(), rt)
	rt.Start(b.ctx)
	t.Cleanup(func() { rt.Stop(b.ctx) })
	eventually(t, func() bool { state, _ := rt.Status(); return state == bot.StateOK })

	post3 := func(id int, u *tgemu.User) {
		update := fmt.Sprintf(`{"update_id":%d,"message":{"message_id":7,"date":%d,
			"chat":{"id":%d,"type":"private","first_name":"X"},
			"from":{"id":%d,"is_bot":false,"first_name":"X","language_code":"en"},
			"text":"/help","entities":[{"type":"bot_command","offset":0,"length":5}]}}`,
			id, time.Now().Unix(), u.ID, u.ID)
		for range 3 {
			r, err := http.NewRequest(http.MethodPost, hook.URL+"/telegram/herald", strings.NewReader(update))
			require.NoError(t, err)
			r.Header.Set("X-Telegram-Bot-Api-Secret-Token", rt.WebhookSecret())
			resp, err := http.DefaultClient.Do(r)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
		}
	}
	post3(900001, b.owner)
	b.nextContaining(t, b.owner, "What Herald does")
	b.command(t, b.owner, "/menu") // a later update: everything before it is done
	b.nextContaining(t, b.owner, "What shall we do")
	require.Equal(t, 1, b.countReplies(b.owner, "What Herald does"))

	stranger := b.user(t, "Mallory", "en") // takes the strangers' lane
	post3(900002, stranger)
	b.nextContaining(t, stranger, "admins only")
	require.Equal(t, 1, b.countReplies(stranger, "admins only"))
	require.Equal(t, 1, b.count(t, `SELECT (details->>'count')::int FROM audit_log WHERE actor_id = $1`, stranger.ID),
		"the re-posts were dropped, not counted as attempts")
}

// TestShutdownLeavesQueuedUpdates: updates fetched but not started when the bot
// stops are neither answered with an apology nor confirmed: the next start (another
// runtime on the same database) answers each of them, and nothing twice.
func TestShutdownLeavesQueuedUpdates(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admins := []*tgemu.User{b.owner}
	for i := range 4 {
		u := b.user(t, fmt.Sprintf("Admin%d", i), "en")
		b.addAdmin(t, u, store.RoleAdmin)
		admins = append(admins, u)
	}
	// Slow replies, so that most updates are still queued when the bot stops.
	b.srv.SetFaults(b.token, tgemu.Faults{Latency: 150 * time.Millisecond})
	first, err := bot.New(b.cfg)
	require.NoError(t, err)
	first.Start(b.ctx)
	eventually(t, func() bool { s, _ := first.Status(); return s == bot.StateOK })

	const perAdmin = 10 // 50 updates
	for i := range perAdmin {
		for _, u := range admins {
			b.command(t, u, fmt.Sprintf("/help %d", i))
		}
	}
	eventually(t, func() bool { return b.countReplies(admins[0], "What Herald does") >= 2 })
	stopCtx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	first.Stop(stopCtx)
	cancel()
	answered := 0
	for _, u := range admins {
		answered += b.countReplies(u, "What Herald does")
	}
	t.Logf("%d of %d updates answered before the stop", answered, perAdmin*len(admins))
	require.Less(t, answered, perAdmin*len(admins), "nothing was left queued: the test proves nothing")

	b.srv.SetFaults(b.token, tgemu.Faults{})
	second, err := bot.New(b.cfg)
	require.NoError(t, err)
	second.Start(b.ctx)
	t.Cleanup(func() { second.Stop(b.ctx) })
	for _, u := range admins {
		eventually(t, func() bool { return b.countReplies(u, "What Herald does") >= perAdmin })
	}
	for _, u := range admins { // a last update each: everything before it is handled
		b.command(t, u, "/menu")
		b.nextContaining(t, u, "What shall we do")
	}
	for _, u := range admins {
		require.Equal(t, perAdmin, b.countReplies(u, "What Herald does"), u.FirstName)
		require.Zero(t, b.countReplies(u, "went wrong"), u.FirstName)
	}
}

package bot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"

	"herald/bot"
	"herald/tgemu"
)

// TestCallbackAnsweredBeforeSlowReplies: every reply waits out a 429 of several
// seconds, and each press is still answered within a second, before its reply.
func TestCallbackAnsweredBeforeSlowReplies(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)
	b.command(t, b.owner, "/menu")
	menu := b.next(t, b.owner)

	const retryAfter = 3 // seconds: far beyond the answer's bound
	screens := []struct{ label, shows string }{{"Help", "What Herald does"}, {"Menu", "What shall we do"}, {"Help", "What Herald does"}}
	for _, screen := range screens {
		label := screen.label
		slow := tgemu.MethodFault{Code: 429, RetryAfter: retryAfter, Times: 1}
		b.srv.SetFaults(b.token, tgemu.Faults{Methods: map[string]tgemu.MethodFault{
			"sendmessage": slow, "editmessagetext": slow}})
		limited := b.srv.Stats(b.token).TooManyRequests
		data := buttonData(t, b.current(t, b.owner, menu.MessageID), label)
		id, err := b.owner.Press(b.token, menu.MessageID, data)
		require.NoError(t, err)
		var answer tgemu.CallbackAnswer
		eventually(t, func() bool {
			var ok bool
			answer, ok = b.srv.CallbackAnswerFor(b.token, id)
			return ok
		})
		waited := answer.AnsweredAt.Sub(answer.PressedAt)
		t.Logf("%s: answered %s after the press", label, waited.Round(time.Millisecond))
		require.LessOrEqual(t, waited, time.Second, "the press of %s waited for its reply", label)
		b.waitIdle(t)
		require.Greater(t, b.srv.Stats(b.token).TooManyRequests, limited, "the reply met a 429")
		require.GreaterOrEqual(t, time.Since(answer.PressedAt), retryAfter*time.Second, "the reply waited the 429 out")
		b.waitEdited(t, b.owner, menu.MessageID, screen.shows)
	}
	b.srv.SetFaults(b.token, tgemu.Faults{})
	require.Empty(t, b.srv.UnansweredCallbacks(b.token))
}

// TestFailedReplyStopsTheTurn: when the preview photo cannot be sent, the text that
// refers to it ("Above is the message…") is not sent; the admin is told what failed
// and gets a Retry button that shows the step again.
func TestFailedReplyStopsTheTurn(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)
	owner := b.owner
	b.command(t, owner, "/newtemplate")
	b.next(t, owner)
	b.send(t, owner, "Photo promo")
	b.next(t, owner)
	_, err := owner.SendPhoto(b.token, []byte("\x89PNG fake"), "Hi {{first_name}}, look!")
	require.NoError(t, err)
	buttons := b.next(t, owner)
	require.Contains(t, buttons.Text, "Step 3 of 4")

	b.srv.SetFaults(b.token, tgemu.Faults{Methods: map[string]tgemu.MethodFault{
		"sendphoto": {Code: 400, Description: "Bad Request: wrong file identifier/HTTP URL specified"}}})
	b.press(t, owner, buttons, "Without buttons")
	failed := b.next(t, owner)
	require.Contains(t, failed.Text, "could not send the photo")
	require.Contains(t, failed.Text, "wrong file identifier")
	for _, e := range b.srv.Transcript(b.token, owner.ID) {
		require.NotContains(t, e.Message.Text+e.Message.Caption, "Above is the message", "sent as if the photo had gone out")
	}
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM templates`))

	b.srv.SetFaults(b.token, tgemu.Faults{})
	b.press(t, owner, failed, "Retry")
	preview := b.next(t, owner)
	require.NotEmpty(t, preview.Photo)
	require.Equal(t, "Hi Anna, look!", preview.Caption)
	save := b.next(t, owner)
	require.Contains(t, save.Text, "Above is the message")
	b.press(t, owner, save, "Save")
	require.Contains(t, b.next(t, owner).Text, "is saved")
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM templates WHERE media_kind = 'photo'`))
}

// TestPollingFloor: a server that answers getUpdates at once, whatever the timeout,
// is not called in a tight loop; the bot still answers.
func TestPollingFloor(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.srv.SetFaults(b.token, tgemu.Faults{IgnorePollTimeout: true})
	rt, err := bot.New(b.cfg)
	require.NoError(t, err)
	rt.Start(b.ctx)
	t.Cleanup(func() { rt.Stop(b.ctx) })
	eventually(t, func() bool { s, _ := rt.Status(); return s == bot.StateOK })

	const window = 3 * time.Second
	before := b.srv.Calls(b.token, "getUpdates")
	time.Sleep(window)
	calls := b.srv.Calls(b.token, "getUpdates") - before
	t.Logf("%d getUpdates calls in %s against a server ignoring timeout", calls, window)
	require.LessOrEqual(t, calls, 15*int(window/time.Second))

	b.command(t, b.owner, "/help")
	require.Contains(t, b.next(t, b.owner).Text, "What Herald does")
}

// TestCommandsPerLanguageRetried: setMyCommands failing for some languages does not
// skip the others, and the failed ones are set later.
func TestCommandsPerLanguageRetried(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// The first two calls fail (the default list and English); Russian goes through
	// in the same round, the other two on a retry.
	b.srv.SetFaults(b.token, tgemu.Faults{Methods: map[string]tgemu.MethodFault{
		"setmycommands": {Code: 500, Description: "Internal Server Error", Times: 2}}})
	b.cfg.CommandsRetry = 50 * time.Millisecond
	b.start(t)
	tg, err := telego.NewBot(b.token, telego.WithAPIServer(b.srv.URL()), telego.WithDiscardLogger())
	require.NoError(t, err)
	menu := func(lang string) string {
		cmds, err := tg.GetMyCommands(b.ctx, &telego.GetMyCommandsParams{LanguageCode: lang})
		require.NoError(t, err)
		for _, c := range cmds {
			if c.Command == "menu" {
				return c.Description
			}
		}
		return ""
	}
	eventually(t, func() bool { return menu("") != "" && menu("en") != "" && menu("ru") != "" })
	require.Equal(t, "Главное меню", menu("ru"))
	require.NotEqual(t, menu("ru"), menu("en"))
	require.Equal(t, menu("en"), menu(""))
	require.GreaterOrEqual(t, b.srv.Calls(b.token, "setMyCommands"), 5, "two failed calls were retried")
}

// countReplies counts u's bot messages containing substr.
func (b *testBundle) countReplies(u *tgemu.User, substr string) int {
	n := 0
	for _, e := range b.srv.Transcript(b.token, u.ID) {
		if e.FromBot && strings.Contains(e.Message.Text+e.Message.Caption, substr) {
			n++
		}
	}
	return n
}

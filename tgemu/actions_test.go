package tgemu_test

import (
	"testing"
	"time"

	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"

	"herald/tgemu"
)

// TestDeleteWindow: a bot's message can be deleted for everyone for 48 hours;
// after that (the test moves the emulator's calendar) Telegram refuses.
func TestDeleteWindow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tgemu.Config{})
	u := e.startedUser(t)
	fresh, err := send(e, u.ID, "fresh")
	require.NoError(t, err)
	old, err := send(e, u.ID, "old")
	require.NoError(t, err)

	e.srv.AdvanceClock(47 * time.Hour)
	require.NoError(t, e.tg.DeleteMessage(e.ctx, &telego.DeleteMessageParams{ChatID: telego.ChatID{ID: u.ID}, MessageID: fresh.MessageID}))
	e.srv.AdvanceClock(time.Hour)
	err = e.tg.DeleteMessage(e.ctx, &telego.DeleteMessageParams{ChatID: telego.ChatID{ID: u.ID}, MessageID: old.MessageID})
	requireAPIError(t, err, 400, "Bad Request: message can't be deleted for everyone")
	err = e.tg.DeleteMessage(e.ctx, &telego.DeleteMessageParams{ChatID: telego.ChatID{ID: u.ID}, MessageID: fresh.MessageID})
	requireAPIError(t, err, 400, "Bad Request: message to delete not found")

	tr := e.srv.Transcript(e.bot.Token, u.ID)
	var deleted, kept []string
	for _, m := range tr {
		if !m.FromBot {
			continue
		}
		if m.Deleted {
			deleted = append(deleted, m.Message.Text)
		} else {
			kept = append(kept, m.Message.Text)
		}
	}
	require.Equal(t, []string{"fresh"}, deleted)
	require.Equal(t, []string{"old"}, kept)

	// A message sent now carries the moved calendar's date and is deletable.
	now, err := send(e, u.ID, "now")
	require.NoError(t, err)
	require.InDelta(t, e.srv.Now().Unix(), now.Date, 2)
	require.Greater(t, now.Date-old.Date, int64(47*3600))
	require.NoError(t, e.tg.DeleteMessage(e.ctx, &telego.DeleteMessageParams{ChatID: telego.ChatID{ID: u.ID}, MessageID: now.MessageID}))
	st := e.srv.Stats(e.bot.Token)
	require.Equal(t, int64(2), st.Deleted)
	require.Equal(t, int64(3), st.Sent)
}

// TestActionsCountAgainstRate: edits share the bot's per-second window with sends.
func TestActionsCountAgainstRate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tgemu.Config{DefaultRate: 3, PerChatDisabled: true})
	u := e.startedUser(t)
	m, err := send(e, u.ID, "v0")
	require.NoError(t, err)
	for i := 1; i <= 2; i++ {
		_, err := e.tg.EditMessageText(e.ctx, &telego.EditMessageTextParams{ChatID: telego.ChatID{ID: u.ID}, MessageID: m.MessageID, Text: "v" + string(rune('0'+i))})
		require.NoError(t, err)
	}
	_, err = e.tg.EditMessageText(e.ctx, &telego.EditMessageTextParams{ChatID: telego.ChatID{ID: u.ID}, MessageID: m.MessageID, Text: "v3"})
	require.Equal(t, 429, apiErr(t, err).ErrorCode)
	st := e.srv.Stats(e.bot.Token)
	require.Equal(t, int64(2), st.Edited)
	require.Equal(t, 3, st.MaxPerSecond)
	require.Equal(t, int64(1), st.TooManyRequests)
}

// TestPinState: pins show in the chat's state with or without notification;
// unpin removes them; a group needs the bot as a member.
func TestPinState(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tgemu.Config{})
	owner := e.srv.CreateUser(tgemu.UserSpec{FirstName: "Olga"})
	g := e.srv.CreateSupergroup("News", "", owner)
	g.AddBot(e.bot.Token, owner)
	a, err := send(e, g.ID, "first")
	require.NoError(t, err)
	b, err := send(e, g.ID, "second")
	require.NoError(t, err)
	gid := telego.ChatID{ID: g.ID}
	require.NoError(t, e.tg.PinChatMessage(e.ctx, &telego.PinChatMessageParams{ChatID: gid, MessageID: a.MessageID}))
	require.NoError(t, e.tg.PinChatMessage(e.ctx, &telego.PinChatMessageParams{ChatID: gid, MessageID: b.MessageID, DisableNotification: true}))
	require.Equal(t, []tgemu.Pin{{MessageID: a.MessageID, By: e.bot.ID}, {MessageID: b.MessageID, Silent: true, By: e.bot.ID}},
		e.srv.Pinned(e.bot.Token, g.ID))
	info, err := e.tg.GetChat(e.ctx, &telego.GetChatParams{ChatID: gid})
	require.NoError(t, err)
	require.Equal(t, "second", info.PinnedMessage.Text)

	require.NoError(t, e.tg.UnpinChatMessage(e.ctx, &telego.UnpinChatMessageParams{ChatID: gid, MessageID: a.MessageID}))
	require.NoError(t, e.tg.UnpinChatMessage(e.ctx, &telego.UnpinChatMessageParams{ChatID: gid, MessageID: a.MessageID}), "not pinned: no error")
	require.Equal(t, []tgemu.Pin{{MessageID: b.MessageID, Silent: true, By: e.bot.ID}}, e.srv.Pinned(e.bot.Token, g.ID))
	require.NoError(t, e.tg.UnpinChatMessage(e.ctx, &telego.UnpinChatMessageParams{ChatID: gid}))
	require.Empty(t, e.srv.Pinned(e.bot.Token, g.ID))

	other := e.srv.CreateSupergroup("Elsewhere", "", owner)
	err = e.tg.PinChatMessage(e.ctx, &telego.PinChatMessageParams{ChatID: telego.ChatID{ID: other.ID}, MessageID: 1})
	require.Equal(t, 403, apiErr(t, err).ErrorCode)
}

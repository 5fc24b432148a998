package tgemu

import (
	"context"
	"testing"
	"time"

	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"
)

// TestChatWatch: a watch sees what the user and the bot write, the bot's edits and
// deletions, in order, and waits when nothing changed.
func TestChatWatch(t *testing.T) {
	t.Parallel()
	srv, err := Start(Config{})
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	b := srv.CreateBot("watched_bot")
	tg, err := telego.NewBot(b.Token, telego.WithAPIServer(srv.URL()), telego.WithDiscardLogger())
	require.NoError(t, err)
	u := srv.CreateUser(UserSpec{FirstName: "Ann"})
	ctx := context.Background()

	_, err = u.Start(b.Token)
	require.NoError(t, err)
	w := u.WatchChats(b.Token)
	evs, err := w.Next(ctx)
	require.NoError(t, err)
	require.Len(t, evs, 1)
	require.Equal(t, ChatEvent{Kind: EventMessage, BotID: b.ID, FromBot: false, Message: evs[0].Message}, evs[0])
	require.Equal(t, "/start", evs[0].Message.Text)

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = w.Next(short)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded, "nothing changed: Next waits")

	done := make(chan []ChatEvent, 1)
	go func() { // owned: the test reads done
		evs, _ := w.Next(ctx)
		done <- evs
	}()
	m, err := tg.SendMessage(ctx, &telego.SendMessageParams{ChatID: telego.ChatID{ID: u.ID}, Text: "hello"})
	require.NoError(t, err)
	evs = <-done
	require.Equal(t, EventMessage, evs[0].Kind)
	require.True(t, evs[0].FromBot)

	_, err = tg.EditMessageText(ctx, &telego.EditMessageTextParams{ChatID: telego.ChatID{ID: u.ID}, MessageID: m.MessageID, Text: "hello again"})
	require.NoError(t, err)
	_, err = u.SendMedia(b.Token, false, "a.csv", "text/csv", []byte("x"), "list", []telego.MessageEntity{{Type: "bold", Offset: 0, Length: 4}})
	require.NoError(t, err)
	evs, err = w.Next(ctx)
	require.NoError(t, err)
	require.Len(t, evs, 2)
	require.Equal(t, EventEdit, evs[0].Kind)
	require.Equal(t, "hello again", evs[0].Message.Text)
	require.Equal(t, EventMessage, evs[1].Kind)
	require.Equal(t, "list", evs[1].Message.Caption)
	require.Equal(t, []telego.MessageEntity{{Type: "bold", Offset: 0, Length: 4}}, evs[1].Message.CaptionEntities)
	f, ok := srv.File(evs[1].Message.Document.FileID)
	require.True(t, ok)
	require.Equal(t, FileInfo{Name: "a.csv", MIME: "text/csv", Data: []byte("x")}, f)

	require.NoError(t, tg.DeleteMessage(ctx, &telego.DeleteMessageParams{ChatID: telego.ChatID{ID: u.ID}, MessageID: m.MessageID}))
	evs, err = w.Next(ctx)
	require.NoError(t, err)
	require.Equal(t, EventDelete, evs[0].Kind)
	require.Equal(t, m.MessageID, evs[0].Message.MessageID)

	k := srv.BotCounters(b.Token)
	// The edit and the delete count against flood control with the send.
	require.Equal(t, Counters{Sent: 1, MaxPerSecond: 3, LastSecond: k.LastSecond, Rate: 30, PaidRate: 1000}, k)
	require.LessOrEqual(t, k.LastSecond, 1)
}

package tgemu_test

import (
	"testing"

	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"

	"herald/tgemu"
)

// A forwarded channel post reaches the bot as Telegram sends it: forward_origin of
// type channel, the caption's entities, the photo and the post's inline keyboard.
func TestForwardPostCarriesOriginEntitiesMediaAndKeyboard(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tgemu.Config{})
	u := e.startedUser(t)
	markup := &telego.InlineKeyboardMarkup{InlineKeyboard: [][]telego.InlineKeyboardButton{
		{{Text: "Open", URL: "https://example.com"}}, {{Text: "Vote", CallbackData: "v1"}}}}
	_, err := u.ForwardPost(e.bot.Token, tgemu.Post{ChatID: -1001, ChatTitle: "News", Username: "news", MessageID: 7,
		Text: "Big news", Entities: []telego.MessageEntity{{Type: "bold", Offset: 0, Length: 3}},
		Photo: []byte("photo"), Markup: markup})
	require.NoError(t, err)
	_, err = u.ForwardAlbum(e.bot.Token, tgemu.Post{ChatID: -1001, ChatTitle: "News", MessageID: 20, Text: "Album"},
		[]byte("a"), []byte("b"))
	require.NoError(t, err)

	ups := poll(t, e, 0, 0)
	require.Len(t, ups, 5) // my_chat_member, /start, the post, two album items
	m := ups[2].Message
	origin, ok := m.ForwardOrigin.(*telego.MessageOriginChannel)
	require.True(t, ok, "origin %T", m.ForwardOrigin)
	require.Equal(t, int64(-1001), origin.Chat.ID)
	require.Equal(t, 7, origin.MessageID)
	require.Equal(t, "Big news", m.Caption)
	require.Equal(t, []telego.MessageEntity{{Type: "bold", Offset: 0, Length: 3}}, m.CaptionEntities)
	require.NotEmpty(t, m.Photo)
	require.Equal(t, markup, m.ReplyMarkup)

	a, b := ups[3].Message, ups[4].Message
	require.NotEmpty(t, a.MediaGroupID)
	require.Equal(t, a.MediaGroupID, b.MediaGroupID)
	require.Equal(t, "Album", a.Caption)
	require.Empty(t, b.Caption)
}

package tgemu_test

import (
	"testing"
	"time"

	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"

	"herald/tgemu"
)

func TestGetMeAndSend(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tgemu.Config{})
	me, err := e.tg.GetMe(e.ctx)
	require.NoError(t, err)
	require.Equal(t, e.bot.ID, me.ID)
	require.True(t, me.IsBot)
	require.Equal(t, "herald_bot", me.Username)

	u := e.startedUser(t)
	ups := poll(t, e, 0, 0)
	require.Len(t, ups, 2)
	require.NotNil(t, ups[0].MyChatMember)
	require.Equal(t, "member", ups[0].MyChatMember.NewChatMember.MemberStatus())
	require.Equal(t, "/start", ups[1].Message.Text)

	m, err := e.tg.SendMessage(e.ctx, &telego.SendMessageParams{
		ChatID: telego.ChatID{ID: u.ID}, Text: "<b>hi</b> there", ParseMode: telego.ModeHTML,
	})
	require.NoError(t, err)
	require.Equal(t, "hi there", m.Text)
	require.Equal(t, "private", m.Chat.Type)
	require.Equal(t, u.ID, m.Chat.ID)
	require.Equal(t, e.bot.ID, m.From.ID)
	require.Equal(t, []telego.MessageEntity{{Type: "bold", Offset: 0, Length: 2}}, m.Entities)
	got, err := u.WaitBotMessage(e.bot.Token, time.Second)
	require.NoError(t, err)
	require.Equal(t, m.MessageID, got.MessageID)
}

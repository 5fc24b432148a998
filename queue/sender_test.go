package queue_test

import (
	"context"
	"testing"

	ta "github.com/mymmrac/telego/telegoapi"
	"github.com/stretchr/testify/require"

	"herald/queue"
	"herald/tgemu"
	"herald/tgemu/emutest"
)

// TextSender is bench's way to send as a lane does: the rendered template reaches the
// chat, each bot sends its own, and Telegram's errors come back as *telegoapi.Error.
func TestTextSenderSendsTheRenderedTemplate(t *testing.T) {
	t.Parallel()
	srv := emutest.Start(t, tgemu.Config{PerChatDisabled: true})
	a, b := srv.CreateBot("a_bot"), srv.CreateBot("b_bot")
	u := srv.CreateUser(tgemu.UserSpec{FirstName: "Ann"})
	srv.SetStarted(a.Token, u)
	srv.SetStarted(b.Token, u)
	s, err := queue.NewTextSender(srv.URL(), "Hello, {{first_name}}!", []string{a.Token, b.Token})
	require.NoError(t, err)
	ctx := context.Background()

	id, err := s.Send(ctx, 1, u.ID, []byte(`{"first_name": "Ann"}`))
	require.NoError(t, err)
	require.Positive(t, id)
	require.Zero(t, srv.Stats(a.Token).Sent)
	tr := srv.Transcript(b.Token, u.ID)
	require.Len(t, tr, 1)
	require.Equal(t, "Hello, Ann!", tr[0].Message.Text)

	_, err = s.Send(ctx, 0, 999_999_999, nil)
	var apiErr *ta.Error
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, 400, apiErr.ErrorCode)
	_, err = s.Send(ctx, 0, u.ID, []byte(`not json`))
	require.ErrorContains(t, err, "recipient variables")
}

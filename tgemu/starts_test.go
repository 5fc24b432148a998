package tgemu_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"

	"herald/tgemu"
)

// TestStartManyAndReplyLatencies: a crowd start makes a my_chat_member and a /start
// per user (every k-th with the payload), a range of existing users starts a second
// bot the same way, and the latencies cover exactly the chats the bot answered.
func TestStartManyAndReplyLatencies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tgemu.Config{})
	first, last, err := e.srv.StartMany(tgemu.StartSpec{Token: e.bot.Token, Count: 6, Payload: "promo", PayloadEvery: 3})
	require.NoError(t, err)
	require.EqualValues(t, 5, last-first)
	updates, err := e.tg.GetUpdates(e.ctx, &telego.GetUpdatesParams{Limit: 100})
	require.NoError(t, err)
	require.Len(t, updates, 12)
	var texts []string
	for _, u := range updates {
		if u.Message != nil {
			texts = append(texts, u.Message.Text)
		} else {
			require.NotNil(t, u.MyChatMember)
			require.Equal(t, telego.MemberStatusMember, u.MyChatMember.NewChatMember.MemberStatus())
		}
	}
	require.Equal(t, []string{"/start promo", "/start", "/start", "/start promo", "/start", "/start"}, texts)

	other := e.srv.CreateBot("other_bot")
	_, _, err = e.srv.StartMany(tgemu.StartSpec{Token: other.Token, First: first + 1, Count: 2})
	require.NoError(t, err)
	otherTG := client(t, e.srv, other.Token)
	updates, err = otherTG.GetUpdates(e.ctx, &telego.GetUpdatesParams{Limit: 100})
	require.NoError(t, err)
	require.Len(t, updates, 4)
	require.Equal(t, first+1, updates[1].Message.Chat.ID)
	_, _, err = e.srv.StartMany(tgemu.StartSpec{Token: other.Token, First: last + 1, Count: 1})
	require.Error(t, err, "a user who does not exist")

	for _, id := range []int64{first, first + 2} {
		_, err := e.tg.SendMessage(e.ctx, &telego.SendMessageParams{ChatID: telego.ChatID{ID: id}, Text: "welcome"})
		require.NoError(t, err)
	}
	lat, unanswered := e.srv.StartReplyLatencies(e.bot.Token)
	require.Len(t, lat, 2)
	require.Equal(t, 4, unanswered)
	for _, d := range lat {
		require.Positive(t, d)
	}

	// The same over the user-side HTTP API.
	resp, err := http.Post(e.srv.URL()+"/emu/starts", "application/json",
		strings.NewReader(`{"token":"`+e.bot.Token+`","count":3}`))
	require.NoError(t, err)
	var started struct {
		OK     bool
		Result struct{ First, Last int64 }
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&started))
	resp.Body.Close()
	require.True(t, started.OK)
	require.Equal(t, started.Result.First+2, started.Result.Last)
	resp, err = http.Get(e.srv.URL() + "/emu/bots/" + e.bot.Token + "/start-replies")
	require.NoError(t, err)
	var replies struct {
		Result struct {
			LatenciesUS []int64 `json:"latencies_us"`
			Unanswered  int     `json:"unanswered"`
		}
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&replies))
	resp.Body.Close()
	require.Len(t, replies.Result.LatenciesUS, 2)
	require.Equal(t, 7, replies.Result.Unanswered)
}

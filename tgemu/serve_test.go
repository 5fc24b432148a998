package tgemu_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"

	"herald/tgemu"
)

type syncBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// Serve runs standalone with a fixed token; the /emu/ API drives a user.
func TestServeAndUserHTTP(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	token := "1234567:" + strings.Repeat("A", 35)
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuf{}
	done := make(chan error, 1)
	go func() {
		done <- tgemu.Serve(ctx, addr, tgemu.Config{Bots: []tgemu.BotSpec{{Username: "fixed_bot", Token: token}}}, out)
	}()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), token) }, 5*time.Second, 5*time.Millisecond)
	base := "http://" + addr

	call := func(method, path, body string) json.RawMessage {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		require.Equal(t, 200, resp.StatusCode, string(raw))
		var env struct {
			Result json.RawMessage `json:"result"`
		}
		require.NoError(t, json.Unmarshal(raw, &env))
		return env.Result
	}
	var users []telego.User
	require.NoError(t, json.Unmarshal(call("POST", "/emu/users", `{"first_name":"Eve","count":2}`), &users))
	require.Len(t, users, 2)
	uid := jsonInt(users[0].ID)
	call("POST", "/emu/users/"+uid+"/start", `{"token":"`+token+`"}`)

	tg, err := telego.NewBot(token, telego.WithAPIServer(base), telego.WithDiscardLogger())
	require.NoError(t, err)
	_, err = tg.SendMessage(ctx, &telego.SendMessageParams{ChatID: telego.ChatID{ID: users[0].ID}, Text: "welcome"})
	require.NoError(t, err)
	var next telego.Message
	require.NoError(t, json.Unmarshal(call("GET", "/emu/users/"+uid+"/next?token="+token+"&timeout=2s", ""), &next))
	require.Equal(t, "welcome", next.Text)

	var st struct {
		Sent    int64          `json:"sent"`
		PerChat map[string]int `json:"per_chat"`
		Max     int            `json:"max_per_second"`
		Unans   []string       `json:"unanswered_callbacks"`
		Other   map[string]any `json:"-"`
	}
	require.NoError(t, json.Unmarshal(call("GET", "/emu/bots/"+token+"/stats", ""), &st))
	require.Equal(t, int64(1), st.Sent)
	require.Equal(t, 1, st.PerChat[uid])
	call("PUT", "/emu/bots/"+token+"/rate", `{"per_second":5}`)
}

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"herald/pgtest"
	"herald/tgemu"
	"herald/tgemu/emutest"
)

// TestWebhookRequiresSecret runs Herald in webhook mode: Telegram's own deliveries
// (the emulator sends the secret set with setWebhook) are handled, while requests
// without the secret or with a wrong one get 401 and change nothing, even when they
// claim to come from the owner.
func TestWebhookRequiresSecret(t *testing.T) {
	t.Parallel()
	emu := emutest.Start(t, tgemu.Config{PerChatDisabled: true})
	mgmt := emu.CreateBot("herald_hook_bot")
	owner := emu.CreateUser(tgemu.UserSpec{FirstName: "Olga", LanguageCode: "en"})
	emu.SetStarted(mgmt.Token, owner)
	dbURL := pgtest.NewDB(t)
	addr := freeAddr(t)
	key := make([]byte, 32)
	_, _ = rand.Read(key)

	p := startInProcess(t, map[string]string{
		"DATABASE_URL": dbURL, "HERALD_HTTP_ADDR": addr, "HERALD_TELEGRAM_API_URL": emu.URL(),
		"HERALD_BOT_TOKEN": mgmt.Token, "HERALD_OWNER_IDS": fmt.Sprint(owner.ID),
		"HERALD_WEBHOOK_URL": "http://" + addr + "/telegram/hook", "HERALD_SECRET_KEY": base64.StdEncoding.EncodeToString(key),
		"LOG_LEVEL": "debug",
	})
	defer func() {
		p.stop(t)
		require.NotContains(t, p.out.String(), mgmt.Token, "the token is in the log")
	}()
	waitReady(t, addr, http.StatusOK, 30*time.Second)

	// Telegram's delivery, with the secret, works.
	_, err := owner.SendCommand(mgmt.Token, "/menu")
	require.NoError(t, err)
	m, err := owner.WaitBotMessage(mgmt.Token, 10*time.Second)
	require.NoError(t, err)
	require.NotEmpty(t, m.Text)

	forged := fmt.Sprintf(`{"update_id":999001,"message":{"message_id":5000,"date":%d,"chat":{"id":%d,"type":"private"},
		"from":{"id":%d,"is_bot":false,"first_name":"Olga"},"text":"/newtemplate","entities":[{"type":"bot_command","offset":0,"length":12}]}}`,
		time.Now().Unix(), owner.ID, owner.ID)
	for name, secret := range map[string]string{"no secret": "", "wrong secret": strings.Repeat("0", 64), "token as secret": mgmt.Token} {
		req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/telegram/hook", bytes.NewBufferString(forged))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		if secret != "" {
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, name)
	}
	// A body over the webhook's limit is refused unread, before the secret is looked at.
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/telegram/hook", bytes.NewReader(make([]byte, 2<<20)))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)

	resp, err = http.Get("http://" + addr + "/telegram/hook")
	require.NoError(t, err)
	resp.Body.Close()
	require.NotEqual(t, http.StatusOK, resp.StatusCode)

	// Nothing the forged updates asked for happened.
	conn, err := pgx.Connect(context.Background(), dbURL)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var sessions int
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT count(*) FROM dialog_sessions`).Scan(&sessions))
	require.Zero(t, sessions)
	_, err = owner.WaitBotMessage(mgmt.Token, 500*time.Millisecond)
	require.Error(t, err, "the bot answered a forged update")
}

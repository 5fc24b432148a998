package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"herald/bot"
	"herald/pgtest"
	"herald/secrets"
	"herald/store"
	"herald/tgemu"
	"herald/tgemu/emutest"
)

// TestManagedBotByWebhook runs Herald in webhook mode with a managed channel bot:
// the bot's webhook points at Herald's HTTP server below HERALD_WEBHOOK_URL, a user's
// /start arrives there and is recorded and welcomed, and the route keeps the
// webhook's body limit.
func TestManagedBotByWebhook(t *testing.T) {
	t.Parallel()
	emu := emutest.Start(t, tgemu.Config{PerChatDisabled: true})
	shop := emu.CreateBot("shop_hook_bot")
	dbURL := pgtest.NewDB(t)
	addr := freeAddr(t)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	box, err := secrets.NewBox(key)
	require.NoError(t, err)

	p := startInProcess(t, map[string]string{
		"DATABASE_URL": dbURL, "HERALD_HTTP_ADDR": addr, "HERALD_TELEGRAM_API_URL": emu.URL(),
		"HERALD_WEBHOOK_URL": "http://" + addr + "/telegram/hook", "HERALD_SECRET_KEY": base64.StdEncoding.EncodeToString(key),
	})
	defer func() {
		p.stop(t)
		require.NotContains(t, p.out.String(), shop.Token, "the token is in the log")
	}()
	waitReady(t, addr, http.StatusOK, 30*time.Second)

	pool, err := pgxpool.New(context.Background(), dbURL)
	require.NoError(t, err)
	defer pool.Close()
	ch, err := store.New(pool).ChannelCreate(context.Background(), box, store.ChannelCreateParams{BotUserID: shop.ID,
		Username: "shop_hook_bot", Name: "Shop", Token: shop.Token, CreatedBy: 1, Mode: store.ChannelManaged})
	require.NoError(t, err)
	hook := "http://" + addr + "/telegram/hook/channel/" + strconv.FormatInt(ch.ID, 10)
	tg, err := bot.NewClient(shop.Token, emu.URL(), time.Second)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		info, err := tg.GetWebhookInfo(context.Background())
		return err == nil && info.URL == hook
	}, 15*time.Second, 20*time.Millisecond, "the managed bot's webhook is set")

	u := emu.CreateUser(tgemu.UserSpec{FirstName: "Hana", LanguageCode: "en"})
	_, err = u.StartWithPayload(shop.Token, "from_hook")
	require.NoError(t, err)
	m, err := u.WaitBotMessage(shop.Token, 10*time.Second)
	require.NoError(t, err)
	require.Contains(t, m.Text, "You are subscribed")
	var source string
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT source FROM subscribers WHERE chat_id = $1`, u.ID).Scan(&source))
	require.Equal(t, "from_hook", source)

	resp, err := http.Post(hook, "application/json", bytes.NewReader(make([]byte, 2<<20)))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
}

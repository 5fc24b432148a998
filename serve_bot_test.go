package main

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"herald/pgtest"
	"herald/tgemu"
	"herald/tgemu/emutest"
)

// TestServeRunsManagementBot starts the whole service against the emulator: owners
// are synced from HERALD_OWNER_IDS, readiness reports the bot, the owner gets the menu,
// and shutdown stops the bot before River.
func TestServeRunsManagementBot(t *testing.T) {
	t.Parallel()
	srv := emutest.Start(t, tgemu.Config{PerChatDisabled: true})
	tb := srv.CreateBot("herald_admin_bot")
	owner := srv.CreateUser(tgemu.UserSpec{FirstName: "Olga", LanguageCode: "ru"})
	srv.SetStarted(tb.Token, owner)

	ctx := context.Background()
	dbURL := pgtest.NewDB(t)
	p := startInProcess(t, map[string]string{
		"DATABASE_URL": dbURL, "HERALD_BOT_TOKEN": tb.Token, "HERALD_TELEGRAM_API_URL": srv.URL(),
		"HERALD_OWNER_IDS": fmt.Sprint(owner.ID),
	})
	addr := p.addr
	body := waitReady(t, addr, http.StatusOK, 30*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for body.Components["bot"]["state"] != "ok" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		_, body, _ = getReady(addr)
	}
	require.Equal(t, "ok", body.Components["bot"]["state"], p.out.String())

	_, err := owner.SendCommand(tb.Token, "/menu")
	require.NoError(t, err)
	m, err := owner.WaitBotMessage(tb.Token, 10*time.Second)
	require.NoError(t, err)
	require.Contains(t, m.Text, "Чем займёмся?")

	conn, err := pgx.Connect(ctx, dbURL)
	require.NoError(t, err)
	var role string
	require.NoError(t, conn.QueryRow(ctx, `SELECT role FROM admins WHERE user_id = $1`, owner.ID).Scan(&role))
	require.Equal(t, "owner", role)
	require.NoError(t, conn.Close(ctx))

	p.stop(t)
	require.False(t, srv.Polling(tb.Token))
}

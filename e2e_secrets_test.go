package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"

	"herald/pgtest"
	"herald/store"
	"herald/tgemu"
	"herald/tgemu/emutest"
)

// chat drives the management bot as one Telegram user.
type chat struct {
	t     *testing.T
	emu   *tgemu.Server
	token string
	u     *tgemu.User
}

// next skips bot messages until one contains substr.
func (c chat) next(substr string) telego.Message {
	c.t.Helper()
	for {
		m, err := c.u.WaitBotMessage(c.token, 15*time.Second)
		require.NoError(c.t, err, "waiting for %q", substr)
		if strings.Contains(m.Text+m.Caption, substr) {
			return m
		}
	}
}

func (c chat) send(text string) telego.Message {
	c.t.Helper()
	m, err := c.u.SendText(c.token, text)
	require.NoError(c.t, err)
	return m
}

func (c chat) command(cmd string) {
	c.t.Helper()
	_, err := c.u.SendCommand(c.token, cmd)
	require.NoError(c.t, err)
}

// press presses m's button whose text contains label and waits for its answer.
func (c chat) press(m telego.Message, label string) {
	c.t.Helper()
	require.NotNil(c.t, m.ReplyMarkup, "%q has no buttons", m.Text)
	for _, row := range m.ReplyMarkup.InlineKeyboard {
		for _, b := range row {
			if strings.Contains(b.Text, label) && b.CallbackData != "" {
				id, err := c.u.Press(c.token, m.MessageID, b.CallbackData)
				require.NoError(c.t, err)
				require.Eventually(c.t, func() bool { _, ok := c.emu.CallbackAnswerFor(c.token, id); return ok },
					patient(15*time.Second), 10*time.Millisecond)
				return
			}
		}
	}
	c.t.Fatalf("no button %q under %q", label, m.Text)
}

// TestEndToEndKeepsSecrets runs the built binary through a whole campaign driven from
// the chat: the owner registers a channel bot by sending its token, builds a template,
// uploads a batch and confirms a campaign, which is delivered. Then every log line
// (debug level), the health bodies and every row of every table are searched for both
// tokens and the key, and the message that carried the token must be gone from the chat.
func TestEndToEndKeepsSecrets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	emu := emutest.Start(t, tgemu.Config{PerChatDisabled: true})
	mgmt := emu.CreateBot("herald_e2e_admin_bot")
	sender := emu.CreateBot("herald_e2e_sender_bot")
	owner := emu.CreateUser(tgemu.UserSpec{FirstName: "Olga", LanguageCode: "en"})
	emu.SetStarted(mgmt.Token, owner)
	users := emu.CreateUsers(200, tgemu.UserSpec{})
	emu.SetStarted(sender.Token, users...)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	dbURL := pgtest.NewDB(t)
	pool, err := pgxpool.New(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	p := startHerald(t, "DATABASE_URL="+dbURL, "HERALD_TELEGRAM_API_URL="+emu.URL(), "HERALD_BOT_TOKEN="+mgmt.Token,
		"HERALD_OWNER_IDS="+strconv.FormatInt(owner.ID, 10), "HERALD_SECRET_KEY="+base64.StdEncoding.EncodeToString(key),
		"HERALD_HTTP_ADDR=127.0.0.1:0", "LOG_LEVEL=debug")
	addr := listeningAddr(t, p.output, 10*time.Second)
	waitReady(t, addr, http.StatusOK, 30*time.Second)
	c := chat{t: t, emu: emu, token: mgmt.Token, u: owner}

	c.command("/newchannel")
	c.next("Send the bot's token")
	tokenMsg := c.send(sender.Token)
	c.press(c.next("Token verified"), "Send-only")
	c.next("how should Herald call")
	c.send("E2E sender")
	c.next("messages per second")
	c.send("200")
	c.next("is registered")
	for _, e := range emu.Transcript(mgmt.Token, owner.ID) {
		if e.Message.MessageID == tokenMsg.MessageID {
			require.True(t, e.Deleted, "the message with the token is still in the chat")
		}
	}

	c.command("/newtemplate")
	c.next("step 1 of 4")
	c.send("E2E template")
	c.next("Step 2 of 4")
	c.send("Hello, {{first_name}}!")
	c.press(c.next("Step 3 of 4"), "Without buttons")
	c.press(c.next("Step 4 of 4"), "Save")
	c.next("is saved")

	c.command("/newbatch")
	c.next("step 1 of 2")
	c.send("E2E batch")
	c.next("2 of 2")
	var csv strings.Builder
	csv.WriteString("chat_id,first_name\n")
	for i, u := range users {
		fmt.Fprintf(&csv, "%d,User%d\n", u.ID, i)
	}
	_, err = owner.SendDocument(mgmt.Token, "e2e.csv", "text/csv", []byte(csv.String()), "")
	require.NoError(t, err)
	c.next("is ready")

	c.command("/newcampaign") // the only template, list and sender bot: chosen by themselves
	c.press(c.next("Sending to:"), "Send now")
	c.next("is confirmed")

	var campaignID int64
	require.NoError(t, pool.QueryRow(ctx, `SELECT id FROM campaigns`).Scan(&campaignID))
	require.Eventually(t, func() bool {
		var status string
		require.NoError(t, pool.QueryRow(ctx, `SELECT status FROM campaigns WHERE id = $1`, campaignID).Scan(&status))
		return status == store.CampaignCompleted
	}, patient(60*time.Second), 100*time.Millisecond)
	st := emu.Stats(sender.Token)
	require.EqualValues(t, len(users), st.Sent)
	require.Empty(t, st.Duplicates())

	texts := healthBodies(t, addr)
	p.stop(t, 15*time.Second)
	texts["log"] = p.output.String()
	b := &faultBundle{pool: pool, mgmt: mgmt, channel: sender, key: key, keyText: base64.StdEncoding.EncodeToString(key)}
	b.checkSecrets(t, texts)
	// The ciphertext is there, and it is not the token in another encoding.
	var sealed []byte
	require.NoError(t, pool.QueryRow(ctx, `SELECT token_ciphertext FROM channels`).Scan(&sealed))
	require.NotContains(t, hex.EncodeToString(sealed), hex.EncodeToString([]byte(sender.Token)))
	require.NotContains(t, string(sealed), base64.StdEncoding.EncodeToString([]byte(sender.Token)))
}

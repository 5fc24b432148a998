package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"herald/pgtest"
	"herald/store"
	"herald/tgemu"
	"herald/tgemu/emutest"
)

// apiClient calls Herald's HTTP API with a key.
type apiClient struct {
	t    *testing.T
	base string
	key  string
}

// do sends a request and decodes a JSON answer into out (when not nil); it returns
// the status and the raw body.
func (c apiClient) do(method, path, contentType string, body io.Reader, headers map[string]string, out any) (int, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	require.NoError(c.t, err)
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	if out != nil && resp.StatusCode < 300 {
		require.NoError(c.t, json.Unmarshal(raw, out), "%s", raw)
	}
	return resp.StatusCode, raw
}

func (c apiClient) json(method, path string, in any, headers map[string]string, out any) (int, []byte) {
	c.t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		require.NoError(c.t, err)
		body = bytes.NewReader(b)
	}
	return c.do(method, path, "application/json", body, headers, out)
}

var keyInMessage = regexp.MustCompile(`hrld_[A-Za-z0-9_-]{43}`)

// createKeyInBot creates an API key the way an owner does: /apikeys in the bot.
func createKeyInBot(c chat, name, role string) string {
	c.t.Helper()
	c.command("/apikeys")
	c.press(c.next("API key"), "New API key")
	c.next("What should it be called")
	c.send(name)
	c.press(c.next("What may the key"), role)
	m := c.next("is ready")
	key := keyInMessage.FindString(m.Text)
	require.NotEmpty(c.t, key, "no key in %q", m.Text)
	return key
}

// TestAPIDrivesWholeCampaign is issue 15's acceptance run: a whole campaign through
// the API only — template, a batch of 10,000 rows uploaded as CSV, channel
// registration, campaign start with an Idempotency-Key sent twice (one campaign),
// polling until it finishes, the unreached list — against the emulator, whose count
// of sent messages must equal the API's.
func TestAPIDrivesWholeCampaign(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	emu := emutest.Start(t, tgemu.Config{PerChatDisabled: true})
	mgmt := emu.CreateBot("herald_api_admin_bot")
	sender := emu.CreateBot("herald_api_sender_bot")
	owner := emu.CreateUser(tgemu.UserSpec{FirstName: "Olga", LanguageCode: "en"})
	emu.SetStarted(mgmt.Token, owner)
	users := emu.CreateUsers(10_000, tgemu.UserSpec{})
	const unstarted = 25 // never started the sender bot: Telegram refuses them (403)
	emu.SetStarted(sender.Token, users[unstarted:]...)
	secret := make([]byte, 32)
	dbURL := pgtest.NewDB(t)
	pool, err := pgxpool.New(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	p := startInProcess(t, map[string]string{
		"DATABASE_URL": dbURL, "HERALD_BOT_TOKEN": mgmt.Token, "HERALD_TELEGRAM_API_URL": emu.URL(),
		"HERALD_OWNER_IDS": strconv.FormatInt(owner.ID, 10), "HERALD_SECRET_KEY": base64.StdEncoding.EncodeToString(secret),
	})
	waitReady(t, p.addr, http.StatusOK, 30*time.Second)
	key := createKeyInBot(chat{t: t, emu: emu, token: mgmt.Token, u: owner}, "CRM", "admin")
	api := apiClient{t: t, base: "http://" + p.addr + "/api/v1", key: key}

	var tpl struct{ ID int64 }
	code, raw := api.json("POST", "/templates", map[string]any{"name": "API template", "text": "Hello, {{first_name}}!",
		"entities": []map[string]any{{"type": "bold", "offset": 0, "length": 5}}}, nil, &tpl)
	require.Equal(t, http.StatusCreated, code, "%s", raw)

	var sb strings.Builder
	sb.WriteString("chat_id,first_name\n")
	for i, u := range users {
		fmt.Fprintf(&sb, "%d,User%d\n", u.ID, i)
	}
	var batch struct {
		ID             int64
		RecipientCount int `json:"recipient_count"`
	}
	code, raw = api.do("POST", "/batches?name=API+batch&filename=crm.csv", "text/csv", strings.NewReader(sb.String()), nil, &batch)
	require.Equal(t, http.StatusCreated, code, "%s", raw)
	require.Equal(t, len(users), batch.RecipientCount)

	var ch struct {
		ID    int64
		Token string
	}
	code, raw = api.json("POST", "/channels", map[string]any{"token": sender.Token, "name": "API sender", "rate_per_second": 1000}, nil, &ch)
	require.Equal(t, http.StatusCreated, code, "%s", raw)
	require.NotContains(t, string(raw), sender.Token, "the token is never echoed")

	start := map[string]any{"template_id": tpl.ID, "batch_id": batch.ID, "channel_id": ch.ID}
	idem := map[string]string{"Idempotency-Key": "crm-2026-12-02"}
	var first, second struct {
		ID     int64
		Status string
	}
	code, raw = api.json("POST", "/campaigns", start, idem, &first)
	require.Equal(t, http.StatusCreated, code, "%s", raw)
	code, raw = api.json("POST", "/campaigns", start, idem, &second)
	require.Equal(t, http.StatusCreated, code, "%s", raw)
	require.Equal(t, first.ID, second.ID, "the same Idempotency-Key gives the same campaign")
	var campaigns int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM campaigns`).Scan(&campaigns))
	require.Equal(t, 1, campaigns)
	// The same key with another body is refused, not a second campaign.
	start["batch_id"] = batch.ID + 1000
	code, _ = api.json("POST", "/campaigns", start, idem, nil)
	require.Equal(t, http.StatusUnprocessableEntity, code)

	var got struct {
		Status string
		Counts struct{ Sent, Blocked, Failed, Uncertain, Total int64 }
	}
	require.Eventually(t, func() bool {
		code, raw := api.json("GET", fmt.Sprintf("/campaigns/%d", first.ID), nil, nil, &got)
		require.Equal(t, http.StatusOK, code, "%s", raw)
		return got.Status == store.CampaignCompleted
	}, patient(60*time.Second), 200*time.Millisecond)
	truth := emu.Stats(sender.Token)
	require.EqualValues(t, len(users)-unstarted, truth.Sent)
	require.Equal(t, truth.Sent, got.Counts.Sent, "the API's count is the emulator's")
	require.EqualValues(t, len(users), got.Counts.Total)
	require.Empty(t, truth.Duplicates())

	code, raw = api.do("GET", fmt.Sprintf("/campaigns/%d/unreached?format=csv", first.ID), "", nil, nil, nil)
	require.Equal(t, http.StatusOK, code)
	rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"chat_id", "status", "reason"}, rows[0])
	require.Len(t, rows[1:], unstarted)
	for _, r := range rows[1:] {
		require.Contains(t, []string{store.DeliveryBlocked, store.DeliveryFailed}, r[1], "%v", r)
	}
	var unreached []struct {
		ChatID int64 `json:"chat_id"`
	}
	code, raw = api.do("GET", fmt.Sprintf("/campaigns/%d/unreached?format=json", first.ID), "", nil, nil, &unreached)
	require.Equal(t, http.StatusOK, code, "%s", raw)
	require.Len(t, unreached, unstarted)
	want := map[int64]bool{}
	for _, u := range users[:unstarted] {
		want[u.ID] = true
	}
	for _, u := range unreached {
		require.True(t, want[u.ChatID], "%d was started", u.ChatID)
	}

	// Every call is in the audit log under the key's name.
	var calls int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'api.call' AND details->>'api_key' = 'CRM'`).Scan(&calls))
	require.Greater(t, calls, 7)
	p.stop(t)
}

package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAPIAudiences: a managed bot's subscribers and groups are listed through the API
// (paged by chat id, filtered by status), and a campaign to "everyone who started the
// bot" is created through the same rules as the wizard's; an audience missing its
// part is refused with a problem that names it, creating nothing.
func TestAPIAudiences(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	for i, status := range []string{"active", "active", "blocked"} {
		_, err := e.st.Pool().Exec(ctx, `INSERT INTO subscribers (channel_id, chat_id, first_name, source, status)
			VALUES ($1, $2, $3, 'promo', $4)`, e.ch, 5001+i, fmt.Sprintf("Sub%d", i), status)
		require.NoError(t, err)
	}
	_, err := e.st.Pool().Exec(ctx, `INSERT INTO channel_chats (channel_id, chat_id, type, title, bot_status, can_post)
		VALUES ($1, -100123, 'channel', 'News', 'administrator', true)`, e.ch)
	require.NoError(t, err)

	var page struct {
		Items []struct {
			ChatID int64  `json:"chat_id"`
			Status string `json:"status"`
			Source string `json:"source"`
		} `json:"items"`
		NextCursor string `json:"next_cursor"`
	}
	code, body := e.call(t, "viewer", http.MethodGet, fmt.Sprintf("/api/v1/channels/%d/subscribers?limit=2", e.ch), "", nil)
	require.Equal(t, http.StatusOK, code, "%s", body)
	require.NoError(t, json.Unmarshal(body, &page))
	require.Len(t, page.Items, 2)
	require.Equal(t, "5002", page.NextCursor)
	code, body = e.call(t, "viewer", http.MethodGet, fmt.Sprintf("/api/v1/channels/%d/subscribers?cursor=%s", e.ch, page.NextCursor), "", nil)
	require.Equal(t, http.StatusOK, code, "%s", body)
	require.NoError(t, json.Unmarshal(body, &page))
	require.Len(t, page.Items, 1)
	require.Equal(t, "blocked", page.Items[0].Status)
	code, body = e.call(t, "viewer", http.MethodGet, fmt.Sprintf("/api/v1/channels/%d/subscribers?status=active", e.ch), "", nil)
	require.Equal(t, http.StatusOK, code, "%s", body)
	require.NoError(t, json.Unmarshal(body, &page))
	require.Len(t, page.Items, 2)
	require.Equal(t, "promo", page.Items[0].Source)
	code, body = e.call(t, "viewer", http.MethodGet, fmt.Sprintf("/api/v1/channels/%d/chats", e.ch), "", nil)
	require.Equal(t, http.StatusOK, code, "%s", body)
	require.Contains(t, string(body), `"targetable":true`)
	code, _ = e.call(t, "viewer", http.MethodGet, "/api/v1/channels/987654/subscribers", "", nil)
	require.Equal(t, http.StatusNotFound, code)

	before := e.snapshot(t)
	code, body = e.call(t, "admin", http.MethodPost, "/api/v1/campaigns", "application/json",
		[]byte(fmt.Sprintf(`{"template_id":%d,"audience":"batch","channel_id":%d}`, e.tpl, e.ch)))
	require.Equal(t, http.StatusUnprocessableEntity, code, "%s", body)
	require.Contains(t, string(body), "batch_id")
	after := e.snapshot(t)
	delete(before, "audit_log")
	delete(after, "audit_log")
	require.Equal(t, before, after, "a refused audience creates nothing")

	code, body = e.call(t, "admin", http.MethodPost, "/api/v1/campaigns", "application/json",
		[]byte(fmt.Sprintf(`{"template_id":%d,"audience":"subscribers","channel_id":%d}`, e.tpl, e.ch)))
	require.Equal(t, http.StatusCreated, code, "%s", body)
	var c struct {
		ID       int64  `json:"id"`
		Audience string `json:"audience"`
		BatchID  int64  `json:"batch_id"`
	}
	require.NoError(t, json.Unmarshal(body, &c))
	require.Equal(t, "subscribers", c.Audience)
	require.Zero(t, c.BatchID)
	var audience string
	require.NoError(t, e.st.Pool().QueryRow(ctx, `SELECT audience FROM campaigns WHERE id = $1`, c.ID).Scan(&audience))
	require.Equal(t, "subscribers", audience)
}

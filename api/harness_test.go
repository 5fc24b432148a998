package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"herald/api"
	"herald/bot"
	"herald/flows"
	"herald/i18n"
	"herald/importer"
	"herald/pgtest"
	"herald/queue"
	"herald/secrets"
	"herald/store"
	"herald/tgemu"
	"herald/tgemu/emutest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// recordingMux is the server's mux, noting every pattern registered on it, so a test
// can compare the router with the OpenAPI document.
type recordingMux struct {
	*http.ServeMux
	mu       sync.Mutex
	patterns []string
}

func (m *recordingMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.mu.Lock()
	m.patterns = append(m.patterns, pattern)
	m.mu.Unlock()
	m.ServeMux.HandleFunc(pattern, h)
}

// env is the API over real services: Postgres, the emulator (channel bots' getMe),
// River's starter and controls (River not started: start jobs stay queued).
type env struct {
	st      *store.Store
	srv     *api.Server
	mux     *recordingMux
	http    *httptest.Server
	emu     *tgemu.Server
	channel *tgemu.Bot // registered as channel c
	spare   *tgemu.Bot // not registered
	keys    map[string]string
	// victims: objects every route can name
	tpl, batch, ch, campaign int64
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	st := store.New(pool)
	e := &env{st: st, emu: emutest.Start(t, tgemu.Config{PerChatDisabled: true}), keys: map[string]string{}}
	mgmt := e.emu.CreateBot("api_test_admin_bot")
	e.channel = e.emu.CreateBot("api_test_channel_bot")
	e.spare = e.emu.CreateBot("api_test_spare_bot")
	key := make([]byte, secrets.KeySize)
	_, _ = rand.Read(key)
	box, err := secrets.NewBox(key)
	require.NoError(t, err)
	catalog, err := i18n.New("en")
	require.NoError(t, err)
	qcfg := queue.Config{Logger: zerolog.Nop(), Store: st, TelegramAPIURL: e.emu.URL(), DefaultLanguage: "en",
		Stopping: make(chan struct{})}
	river, err := queue.NewClient(pool, qcfg)
	require.NoError(t, err)
	services := flows.Services{Box: box, Campaigns: queue.NewStarter(river), Controls: queue.NewControls(st, river, qcfg.Delivery)}
	b, err := bot.New(bot.Config{Token: mgmt.Token, APIURL: e.emu.URL(), Store: st, Catalog: catalog, Logger: zerolog.Nop(), Services: services})
	require.NoError(t, err)
	e.mux = &recordingMux{ServeMux: http.NewServeMux()}
	e.srv = api.Register(e.mux, api.Config{Store: st, Services: b.Services(), Catalog: catalog, Logger: zerolog.Nop(), Version: "test"})
	e.http = httptest.NewServer(e.mux)
	t.Cleanup(e.http.Close)

	const owner = 42
	require.NoError(t, st.AdminSyncOwners(ctx, []int64{owner}))
	for _, role := range []string{store.RoleAdmin, store.RoleViewer, "revoked"} {
		k, hash, hint := store.NewAPIKey()
		r := role
		if role == "revoked" {
			r = store.RoleAdmin
		}
		created, err := st.APIKeyCreate(ctx, "test "+role, r, hash, hint, owner)
		require.NoError(t, err)
		if role == "revoked" {
			require.NoError(t, st.APIKeyRevoke(ctx, created.ID))
		}
		e.keys[role] = k
	}
	e.plantVictims(t, box, services.Campaigns, owner)
	return e
}

func (e *env) plantVictims(t testing.TB, box *secrets.Box, starter flows.CampaignStarter, owner int64) {
	t.Helper()
	ctx := context.Background()
	var err error
	e.tpl, err = e.st.TemplateCreate(ctx, store.Template{Name: "Victim", Body: "Hi {{name|there}}", CreatedBy: owner})
	require.NoError(t, err)
	rd, err := importer.OpenIDList("1001 1002 1003")
	require.NoError(t, err)
	b, err := e.st.BatchImport(ctx, store.BatchImportParams{Name: "Victims", CreatedBy: owner, Source: rd})
	require.NoError(t, err)
	e.batch = b.ID
	c, err := e.st.ChannelCreate(ctx, box, store.ChannelCreateParams{BotUserID: e.channel.ID, Username: e.channel.Username,
		Name: "Victim channel", Token: e.channel.Token, CreatedBy: owner})
	require.NoError(t, err)
	e.ch = c.ID
	require.NoError(t, e.st.InTx(ctx, func(tx *store.Store) error {
		e.campaign, err = starter.CreateCampaign(ctx, tx, store.NewCampaign{TemplateID: e.tpl, BatchID: e.batch, ChannelID: e.ch,
			ScheduledAt: time.Now().Add(24 * time.Hour), ControlChatID: owner, CreatedBy: owner})
		return err
	}))
}

// call sends a request with the key of role ("" for none) and returns status and body.
func (e *env) call(t testing.TB, role, method, path, contentType string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.http.URL+path, bytes.NewReader(body))
	require.NoError(t, err)
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+e.keys[role])
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.http.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, raw
}

// snapshot is a checksum of every table, audit_log included.
func (e *env) snapshot(t testing.TB) map[string]string {
	t.Helper()
	ctx := context.Background()
	rows, err := e.st.Pool().Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1`)
	require.NoError(t, err)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	out := map[string]string{}
	for _, name := range names {
		var sum string
		require.NoError(t, e.st.Pool().QueryRow(ctx, fmt.Sprintf(
			`SELECT count(*) || ':' || coalesce(md5(string_agg(r::text, '|' ORDER BY r::text)), '') FROM %s AS r`,
			pgx.Identifier{name}.Sanitize())).Scan(&sum))
		out[name] = sum
	}
	require.Greater(t, len(out), 10)
	return out
}

// request is a call of one operation that would succeed for an admin key.
type request struct {
	method, path, contentType string
	body                      []byte
}

// requests has a valid request for every operation, by operation id; id replaces the
// victims' ids when not zero (an object that does not exist).
func (e *env) requests(id int64) map[string]request {
	pick := func(v int64) int64 {
		if id != 0 {
			return id
		}
		return v
	}
	j := func(s string, args ...any) []byte { return []byte(fmt.Sprintf(s, args...)) }
	const js = "application/json"
	tpl, batch, ch, cmp := pick(e.tpl), pick(e.batch), pick(e.ch), pick(e.campaign)
	return map[string]request{
		"createTemplate":    {"POST", "/api/v1/templates", js, j(`{"name":"New one","text":"Hello {{name|you}}"}`)},
		"listTemplates":     {"GET", "/api/v1/templates", "", nil},
		"getTemplate":       {"GET", fmt.Sprintf("/api/v1/templates/%d", tpl), "", nil},
		"deleteTemplate":    {"DELETE", fmt.Sprintf("/api/v1/templates/%d", tpl), "", nil},
		"previewTemplate":   {"POST", fmt.Sprintf("/api/v1/templates/%d/preview", tpl), js, j(`{"values":{"name":"Ann"}}`)},
		"createBatch":       {"POST", "/api/v1/batches?name=Uploaded", "text/csv", j("chat_id,name\n5,Ann\n6,Bob\n")},
		"listBatches":       {"GET", "/api/v1/batches", "", nil},
		"getBatch":          {"GET", fmt.Sprintf("/api/v1/batches/%d", batch), "", nil},
		"deleteBatch":       {"DELETE", fmt.Sprintf("/api/v1/batches/%d", batch), "", nil},
		"createChannel":     {"POST", "/api/v1/channels", js, j(`{"token":%q}`, e.spare.Token)},
		"listChannels":      {"GET", "/api/v1/channels", "", nil},
		"getChannel":        {"GET", fmt.Sprintf("/api/v1/channels/%d", ch), "", nil},
		"listSubscribers":   {"GET", fmt.Sprintf("/api/v1/channels/%d/subscribers", ch), "", nil},
		"listChannelChats":  {"GET", fmt.Sprintf("/api/v1/channels/%d/chats", ch), "", nil},
		"setChannelEnabled": {"PUT", fmt.Sprintf("/api/v1/channels/%d/enabled", ch), js, j(`{"enabled":false}`)},
		"createCampaign": {"POST", "/api/v1/campaigns", js, j(`{"template_id":%d,"batch_id":%d,"channel_id":%d,"scheduled_at":%q}`,
			tpl, batch, ch, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))},
		"estimateCampaign": {"GET", fmt.Sprintf("/api/v1/campaigns/estimate?template_id=%d&batch_id=%d&channel_id=%d", tpl, batch, ch), "", nil},
		"listCampaigns":    {"GET", "/api/v1/campaigns", "", nil},
		"getCampaign":      {"GET", fmt.Sprintf("/api/v1/campaigns/%d", cmp), "", nil},
		"pauseCampaign":    {"POST", fmt.Sprintf("/api/v1/campaigns/%d/pause", cmp), "", nil},
		"resumeCampaign":   {"POST", fmt.Sprintf("/api/v1/campaigns/%d/resume", cmp), "", nil},
		"cancelCampaign":   {"POST", fmt.Sprintf("/api/v1/campaigns/%d/cancel", cmp), "", nil},
		"listUnreached":    {"GET", fmt.Sprintf("/api/v1/campaigns/%d/unreached", cmp), "", nil},
		"listAudit":        {"GET", "/api/v1/audit", "", nil},
	}
}

func hasID(path string) bool {
	return strings.ContainsAny(path, "0123456789") && !strings.Contains(path, "?name=")
}

package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"herald/tgemu"
)

var sandboxLineRe = regexp.MustCompile(`Sandbox: open (http://127\.0\.0\.1:\d+/) — no Telegram involved\n`)

// waitSandboxLine waits for the line the sandbox prints when it is ready to use and
// returns the web chat's address.
func waitSandboxLine(t *testing.T, out *bytesBuffer, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(patient(within))
	for time.Now().Before(deadline) {
		if m := sandboxLineRe.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no sandbox line within %s; output:\n%s", within, out.String())
	return ""
}

// TestSandboxIsTheDefault is `make run` on a fresh clone: the built binary with an empty
// environment (only a data directory and a free loopback port) prints the sandbox line
// within 45 s, is ready with the bot "ok", serves the web chat, keeps its data under
// HERALD_DATA_DIR/sandbox, and stops cleanly; a second start reuses that data.
func TestSandboxIsTheDefault(t *testing.T) {
	t.Parallel()
	dataDir := reachableDir(t)
	addr := freeAddr(t)
	heraldBinary(t) // built before the clock starts: a fresh clone's `make run` compiles first too
	started := time.Now()
	p := startHerald(t, "HERALD_DATA_DIR="+dataDir, "HERALD_HTTP_ADDR="+addr)
	base := waitSandboxLine(t, p.output, 45*time.Second)
	t.Logf("sandbox line after %s", time.Since(started).Round(100*time.Millisecond))
	require.Equal(t, "http://"+addr+"/", base)
	body := waitReady(t, addr, http.StatusOK, 5*time.Second)
	require.Equal(t, "ok", body.Components["bot"]["state"], "%+v", body)

	page := httpGet(t, base)
	require.Contains(t, page, "Herald sandbox")
	require.Contains(t, page, "herald_sandbox_bot")
	require.NotContains(t, page, "://cdn", "assets are embedded")
	require.DirExists(t, filepath.Join(dataDir, "sandbox", "postgres"))
	require.NoDirExists(t, filepath.Join(dataDir, "postgres"), "the sandbox never mixes with a real installation's data")
	state, err := os.ReadFile(filepath.Join(dataDir, "sandbox", sandboxStateFile))
	require.NoError(t, err)
	require.Contains(t, string(state), `"seeded": true`)
	require.NotContains(t, p.output.String(), "api.telegram.org")
	p.stop(t, 15*time.Second)

	second := startHerald(t, "HERALD_DATA_DIR="+dataDir, "HERALD_HTTP_ADDR="+addr)
	waitSandboxLine(t, second.output, 45*time.Second)
	body = waitReady(t, addr, http.StatusOK, 5*time.Second)
	require.Equal(t, "ok", body.Components["bot"]["state"])
	require.Contains(t, second.output.String(), `"herald_applied":0`)
	second.stop(t, 15*time.Second)
}

func TestSandboxWanted(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		command string
		env     map[string]string
		want    bool
	}{
		{"run", nil, true},
		{"sandbox", nil, true},
		{"run", map[string]string{"HERALD_BOT_TOKEN": "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", "HERALD_OWNER_IDS": "1"}, false},
		{"sandbox", map[string]string{"HERALD_BOT_TOKEN": "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", "HERALD_OWNER_IDS": "1"}, true},
		{"run", map[string]string{"DATABASE_URL": "postgres://localhost/herald"}, false},
		{"run", map[string]string{"HERALD_SANDBOX": "off"}, false},
		{"migrate", nil, false},
	} {
		cfg, err := loadConfig(envOf(tc.env))
		require.NoError(t, err)
		got, err := sandboxWanted(tc.command, cfg)
		require.NoError(t, err)
		require.Equal(t, tc.want, got, "%s %v", tc.command, tc.env)
	}
	cfg, err := loadConfig(envOf(map[string]string{"HERALD_SANDBOX": "maybe"}))
	require.NoError(t, err)
	_, err = sandboxWanted("run", cfg)
	var ce *configError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "HERALD_SANDBOX", ce.Var)
}

// TestSandboxStaysOnLoopback: a public address needs HERALD_SANDBOX_PUBLIC=1, and
// nothing starts before the refusal.
func TestSandboxStaysOnLoopback(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	for _, addr := range []string{"0.0.0.0:0", ":8080", "192.0.2.1:8080"} {
		err := run(context.Background(), []string{"herald", "sandbox"}, envOf(map[string]string{
			"HERALD_HTTP_ADDR": addr, "HERALD_DATA_DIR": dataDir,
		}), &bytesBuffer{}, &bytesBuffer{})
		var ce *configError
		require.ErrorAs(t, err, &ce, addr)
		require.Equal(t, "HERALD_HTTP_ADDR", ce.Var)
		require.Contains(t, err.Error(), "HERALD_SANDBOX_PUBLIC=1")
	}
	entries, err := os.ReadDir(dataDir)
	require.NoError(t, err)
	require.Empty(t, entries)

	cfg, err := loadConfig(envOf(map[string]string{"HERALD_HTTP_ADDR": "0.0.0.0:8080", "HERALD_SANDBOX_PUBLIC": "1"}))
	require.NoError(t, err)
	addr, err := sandboxAddr(cfg)
	require.NoError(t, err)
	require.Equal(t, "0.0.0.0:8080", addr)
}

// TestSandboxConfigNeverReachesTelegram: whatever the environment says, the sandbox's
// Herald talks to the emulator only, with its own key, data and owners.
func TestSandboxConfigNeverReachesTelegram(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(envOf(map[string]string{
		"HERALD_TELEGRAM_API_URL": "https://api.telegram.org", "HERALD_WEBHOOK_URL": "https://example.com/hook",
		"HERALD_SECRET_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
	}))
	require.NoError(t, err)
	dir := t.TempDir()
	state, err := loadSandboxState(dir)
	require.NoError(t, err)
	again, err := loadSandboxState(dir)
	require.NoError(t, err)
	require.Equal(t, state, again, "the key and tokens survive restarts")

	w := &sandboxWorld{}
	w.mgmt.Token = state.ManagementToken
	w.admins = map[string]*tgemu.User{"en": {ID: 1}, "ru": {ID: 2}}
	w.setup = []*tgemu.User{{ID: 3}}
	got, err := sandboxConfig(cfg, dir, "127.0.0.1:8080", state, "http://127.0.0.1:5555", w)
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.1:5555", got.TelegramAPIURL)
	require.Empty(t, got.WebhookURL)
	require.Empty(t, got.DatabaseURL)
	require.Equal(t, dir, got.DataDir)
	require.Equal(t, state.ManagementToken, got.BotToken)
	require.Equal(t, []int64{1, 2, 3}, got.OwnerIDs)
	require.NotEqual(t, cfg.secretKey, got.secretKey, "the sandbox's own key, not the installation's")
	require.True(t, strings.HasPrefix(state.ManagementToken, "7000000101:"))
}

package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"herald/sandbox"
	"herald/tgemu"
)

// Sandbox mode: Herald's real engine (dialogs, River, delivery, progress) against an
// emulated Telegram in the same process, with a web chat in place of the Telegram app.
// It is what `make run` gives a newcomer with no bot token.

// sandboxWanted says whether the command runs the sandbox: `herald sandbox` always;
// `herald [run]` when there is neither a bot token nor the database of a real
// installation (the sandbox never writes into a DATABASE_URL), unless HERALD_SANDBOX=off.
func sandboxWanted(command string, cfg config) (bool, error) {
	if cfg.Sandbox != "auto" && cfg.Sandbox != "off" {
		return false, &configError{"HERALD_SANDBOX", fmt.Sprintf("%q is not auto or off", cfg.Sandbox)}
	}
	switch command {
	case "sandbox":
		return true, nil
	case "run":
		return cfg.BotToken == "" && cfg.DatabaseURL == "" && cfg.Sandbox == "auto", nil
	}
	return false, nil
}

// sandboxState is what must survive restarts for the sandbox's database to stay
// usable: the key its channel tokens are sealed with, and the emulated bots' tokens.
type sandboxState struct {
	SecretKey       string   `json:"secret_key"`
	ManagementToken string   `json:"management_token"`
	ChannelTokens   []string `json:"channel_tokens"`
	Seeded          bool     `json:"seeded"` // the channel bots and the sample batch exist
}

const sandboxStateFile = "sandbox.json"

// loadSandboxState reads dir's state, creating it (fresh key and tokens) on first use.
// A missing database means nothing was seeded, whatever the file says.
func loadSandboxState(dir string) (sandboxState, error) {
	var st sandboxState
	// Not 0700: the PostgreSQL server runs as its own user and must reach the cluster
	// inside; the state file itself is 0600.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return st, fmt.Errorf("sandbox data dir: %w", err)
	}
	data, err := os.ReadFile(filepath.Join(dir, sandboxStateFile))
	_, dbErr := os.Stat(filepath.Join(dir, "postgres"))
	switch {
	case errors.Is(err, fs.ErrNotExist) && dbErr == nil:
		// The database's channel tokens are sealed with the lost key: nothing to resume.
		return st, fmt.Errorf("the sandbox's data in %s lacks %s; delete %s to start the sandbox afresh", dir, sandboxStateFile, dir)
	case errors.Is(err, fs.ErrNotExist):
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		st.SecretKey = base64.StdEncoding.EncodeToString(key)
		st.ManagementToken = sandboxToken(7000000101)
		st.ChannelTokens = []string{sandboxToken(7000000102), sandboxToken(7000000103)}
	case err != nil:
		return st, fmt.Errorf("sandbox state: %w", err)
	default:
		if err := json.Unmarshal(data, &st); err != nil || len(st.ChannelTokens) != 2 {
			return st, fmt.Errorf("sandbox state %s is damaged; delete %s to start the sandbox afresh", filepath.Join(dir, sandboxStateFile), dir)
		}
	}
	if errors.Is(dbErr, fs.ErrNotExist) {
		st.Seeded = false
	}
	return st, saveSandboxState(dir, st)
}

func saveSandboxState(dir string, st sandboxState) error {
	data, _ := json.MarshalIndent(st, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, sandboxStateFile), data, 0o600); err != nil {
		return fmt.Errorf("sandbox state: %w", err)
	}
	return nil
}

// sandboxToken makes a Telegram-shaped token for an emulated bot.
func sandboxToken(id int64) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
	buf := make([]byte, 35)
	_, _ = rand.Read(buf)
	for i := range buf {
		buf[i] = alphabet[int(buf[i])%len(alphabet)]
	}
	return strconv.FormatInt(id, 10) + ":" + string(buf)
}

// sandboxAddr checks that the web chat stays on this computer unless the operator
// says otherwise, and picks the port when HERALD_HTTP_ADDR asks for any (:0), so the
// printed address is the real one.
func sandboxAddr(cfg config) (string, error) {
	host, port, _ := net.SplitHostPort(cfg.HTTPAddr)
	ip := net.ParseIP(host)
	loopback := host == "localhost" || (ip != nil && ip.IsLoopback())
	if !loopback && !cfg.SandboxPublic {
		return "", &configError{"HERALD_HTTP_ADDR", fmt.Sprintf("%q is not a loopback address: the sandbox lets anyone who reaches it act as Herald's owner, so it listens on 127.0.0.1 only (set HERALD_SANDBOX_PUBLIC=1 to allow it, or HERALD_BOT_TOKEN to run the real service)", cfg.HTTPAddr)}
	}
	if port != "0" {
		return cfg.HTTPAddr, nil
	}
	l, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return "", &configError{"HERALD_HTTP_ADDR", fmt.Sprintf("cannot listen on %s: %v", cfg.HTTPAddr, unwrapAll(err))}
	}
	addr := l.Addr().String()
	_ = l.Close() // serve listens again a moment later; a loopback port is rarely taken in between
	return addr, nil
}

// runSandbox starts the emulator and its simulated people, runs Herald against it with
// the web chat on Herald's HTTP server, seeds the channel bots and a sample batch
// through the management bot's own dialogs, and prints where to look.
func runSandbox(ctx context.Context, cfg config, logger zerolog.Logger, stdout io.Writer) error {
	addr, err := sandboxAddr(cfg)
	if err != nil {
		return err
	}
	dir := filepath.Join(cfg.DataDir, "sandbox")
	state, err := loadSandboxState(dir)
	if err != nil {
		return err
	}
	emu, err := tgemu.Start(tgemu.Config{Bots: []tgemu.BotSpec{
		{Username: "herald_sandbox_bot", FirstName: "Herald", Token: state.ManagementToken},
		{Username: "sandbox_news_bot", FirstName: "Sandbox News", Token: state.ChannelTokens[0]},
		{Username: "sandbox_promo_bot", FirstName: "Sandbox Promo", Token: state.ChannelTokens[1]},
	}})
	if err != nil {
		return fmt.Errorf("sandbox emulator: %w", err)
	}
	defer emu.Close()
	w := populateSandbox(emu, state.Seeded)
	if cfg.BotToken != "" || cfg.DatabaseURL != "" {
		logger.Warn().Msg("sandbox: HERALD_BOT_TOKEN and DATABASE_URL are ignored; the sandbox keeps to its own emulator and database")
	}
	cfg, err = sandboxConfig(cfg, dir, addr, state, emu.URL(), w)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	chatCfg := w.webChat(logger)
	chatCfg.Public = cfg.SandboxPublic
	cfg.webChat = sandbox.New(gctx, chatCfg) // its streams end when serve starts to stop
	logger.Info().Str("data_dir", dir).Str("emulator", emu.URL()).Msg("sandbox: Herald runs against the in-process Telegram emulator")

	g.Go(func() error { return serve(gctx, cfg, logger) })
	g.Go(func() error {
		if !state.Seeded {
			if err := w.seed(gctx); err != nil {
				if gctx.Err() != nil {
					return nil // shutting down (or serve failed: its error is the one to report)
				}
				return fmt.Errorf("sandbox set-up: %w", err)
			}
			state.Seeded = true
			if err := saveSandboxState(dir, state); err != nil {
				return err
			}
		} else if err := w.waitPolling(gctx); err != nil {
			return nil
		}
		fmt.Fprintf(stdout, "Sandbox: open http://%s/ — no Telegram involved\n", addr)
		return nil
	})
	return g.Wait()
}

// sandboxConfig is cfg pointed at the emulator: the sandbox's own data directory and
// database, its key, its bots, its owners, and no way to the real Telegram.
func sandboxConfig(cfg config, dir, addr string, state sandboxState, emulatorURL string, w *sandboxWorld) (config, error) {
	key, err := decodeKey(state.SecretKey)
	if err != nil {
		return cfg, fmt.Errorf("sandbox state: secret key: %w", err)
	}
	cfg.DataDir, cfg.DatabaseURL, cfg.HTTPAddr = dir, "", addr
	cfg.TelegramAPIURL = emulatorURL
	cfg.WebhookURL, cfg.WebhookSecret = "", "" // long polling: nothing to expose
	cfg.BotToken = w.mgmt.Token
	cfg.OwnerIDs = []int64{w.admins["en"].ID, w.admins["ru"].ID}
	for _, u := range w.setup {
		cfg.OwnerIDs = append(cfg.OwnerIDs, u.ID)
	}
	cfg.SecretKey, cfg.secretKey = "", key
	return cfg, nil
}

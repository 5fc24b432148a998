package main

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/rs/zerolog"
)

// config is Herald's whole configuration, read from the environment only. The README's
// configuration table mirrors it; keep them together.
type config struct {
	BotToken        string        `env:"HERALD_BOT_TOKEN"`
	DatabaseURL     string        `env:"DATABASE_URL"`
	OwnerIDs        []int64       `env:"HERALD_OWNER_IDS" envSeparator:","`
	SecretKey       string        `env:"HERALD_SECRET_KEY"`
	NewSecretKey    string        `env:"HERALD_NEW_SECRET_KEY"` // herald rotate-key only
	HTTPAddr        string        `env:"HERALD_HTTP_ADDR" envDefault:"127.0.0.1:8080"`
	HTTPIdleTimeout time.Duration `env:"HERALD_HTTP_IDLE_TIMEOUT" envDefault:"60s"`
	HTTPMaxConns    int           `env:"HERALD_HTTP_MAX_CONNS" envDefault:"1000"`
	TelegramAPIURL  string        `env:"HERALD_TELEGRAM_API_URL" envDefault:"https://api.telegram.org"`
	WebhookURL      string        `env:"HERALD_WEBHOOK_URL"`
	WebhookSecret   string        `env:"HERALD_WEBHOOK_SECRET"`
	MetricsAddr     string        `env:"HERALD_METRICS_ADDR"`
	MetricsToken    string        `env:"HERALD_METRICS_TOKEN"`
	DataDir         string        `env:"HERALD_DATA_DIR" envDefault:"./.herald"`
	DefaultLang     string        `env:"HERALD_DEFAULT_LANG" envDefault:"en"`
	DialogTTL       time.Duration `env:"HERALD_DIALOG_TTL" envDefault:"30m"`
	ShutdownTimeout time.Duration `env:"HERALD_SHUTDOWN_TIMEOUT" envDefault:"8s"`
	UpdateTimeout   time.Duration `env:"HERALD_UPDATE_TIMEOUT" envDefault:"15s"`
	UploadTimeout   time.Duration `env:"HERALD_UPLOAD_TIMEOUT" envDefault:"60s"`
	LogLevel        string        `env:"LOG_LEVEL" envDefault:"info"`
	LogFormat       string        `env:"LOG_FORMAT" envDefault:"json"`
	Sandbox         string        `env:"HERALD_SANDBOX" envDefault:"auto"`
	SandboxPublic   bool          `env:"HERALD_SANDBOX_PUBLIC"`

	secretKey    []byte        // SecretKey decoded
	newSecretKey []byte        // NewSecretKey decoded
	logLevel     zerolog.Level // LogLevel parsed
	webChat      http.Handler  // sandbox mode only: the web chat, served at / (sandbox.go)
}

// configError names the variable at fault; its message is the one line start-up prints.
type configError struct {
	Var    string
	Reason string
}

func (e *configError) Error() string { return fmt.Sprintf("config: %s: %s", e.Var, e.Reason) }

// loadConfig reads the configuration through getenv (so tests need no real environment)
// and validates every value.
func loadConfig(getenv func(string) string) (config, error) {
	var cfg config
	environment := make(map[string]string)
	keyOfField := make(map[string]string)
	t := reflect.TypeOf(cfg)
	for i := range t.NumField() {
		key, _, _ := strings.Cut(t.Field(i).Tag.Get("env"), ",")
		if key == "" {
			continue
		}
		keyOfField[t.Field(i).Name] = key
		if v := getenv(key); v != "" {
			environment[key] = v
		}
	}
	if err := env.ParseWithOptions(&cfg, env.Options{Environment: environment}); err != nil {
		var agg env.AggregateError
		if errors.As(err, &agg) && len(agg.Errors) > 0 {
			var pe env.ParseError
			if errors.As(agg.Errors[0], &pe) {
				return cfg, &configError{Var: keyOfField[pe.Name], Reason: fmt.Sprintf("not a valid %s: %v", describeType(pe.Type.String()), unwrapAll(pe.Err))}
			}
		}
		return cfg, fmt.Errorf("config: %w", err)
	}
	return cfg, cfg.validate()
}

func (c *config) validate() error {
	if c.BotToken != "" && !looksLikeToken(c.BotToken) {
		return &configError{"HERALD_BOT_TOKEN", "not a bot token (expected <digits>:<secret> as given by @BotFather)"}
	}
	for _, id := range c.OwnerIDs {
		if id <= 0 {
			return &configError{"HERALD_OWNER_IDS", fmt.Sprintf("%d is not a Telegram user ID (user IDs are positive)", id)}
		}
	}
	if c.BotToken != "" && len(c.OwnerIDs) == 0 {
		return &configError{"HERALD_OWNER_IDS", "required when HERALD_BOT_TOKEN is set: nobody could administer the bot (comma-separated user IDs)"}
	}
	if c.SecretKey != "" {
		key, err := decodeKey(c.SecretKey)
		if err != nil {
			return &configError{"HERALD_SECRET_KEY", err.Error()}
		}
		c.secretKey = key
	}
	if c.NewSecretKey != "" {
		key, err := decodeKey(c.NewSecretKey)
		if err != nil {
			return &configError{"HERALD_NEW_SECRET_KEY", err.Error()}
		}
		c.newSecretKey = key
	}
	if _, port, err := net.SplitHostPort(c.HTTPAddr); err != nil || port == "" {
		return &configError{"HERALD_HTTP_ADDR", fmt.Sprintf("%q is not host:port (for example 127.0.0.1:8080)", c.HTTPAddr)}
	}
	if c.HTTPIdleTimeout < time.Second || c.HTTPIdleTimeout > time.Hour {
		return &configError{"HERALD_HTTP_IDLE_TIMEOUT", fmt.Sprintf("%s is outside 1s…1h", c.HTTPIdleTimeout)}
	}
	if c.HTTPMaxConns < 16 || c.HTTPMaxConns > 1_000_000 {
		return &configError{"HERALD_HTTP_MAX_CONNS", fmt.Sprintf("%d is outside 16…1000000", c.HTTPMaxConns)}
	}
	if err := checkURL(c.TelegramAPIURL); err != nil {
		return &configError{"HERALD_TELEGRAM_API_URL", err.Error()}
	}
	if c.WebhookURL != "" {
		if err := checkURL(c.WebhookURL); err != nil {
			return &configError{"HERALD_WEBHOOK_URL", err.Error()}
		}
	}
	if c.WebhookSecret != "" && !webhookSecretRe.MatchString(c.WebhookSecret) {
		return &configError{"HERALD_WEBHOOK_SECRET", "must be 16–256 characters of A–Z, a–z, 0–9, _ and - (Telegram's rule; e.g. openssl rand -hex 32)"}
	}
	if err := c.validateMetrics(); err != nil {
		return err
	}
	if c.DataDir == "" {
		return &configError{"HERALD_DATA_DIR", "must not be empty"}
	}
	if c.DefaultLang != "en" && c.DefaultLang != "ru" {
		return &configError{"HERALD_DEFAULT_LANG", fmt.Sprintf("%q is not a supported language (en, ru)", c.DefaultLang)}
	}
	if c.DialogTTL < time.Minute {
		return &configError{"HERALD_DIALOG_TTL", fmt.Sprintf("%s is too short (at least 1m)", c.DialogTTL)}
	}
	if c.ShutdownTimeout < time.Second || c.ShutdownTimeout > 10*time.Minute {
		return &configError{"HERALD_SHUTDOWN_TIMEOUT", fmt.Sprintf("%s is outside 1s…10m", c.ShutdownTimeout)}
	}
	// An update's deadline covers its database work and its replies; an upload's also
	// the download of the file (up to 20 MB) and its import, so it is never shorter.
	if c.UpdateTimeout < time.Second || c.UpdateTimeout > 10*time.Minute {
		return &configError{"HERALD_UPDATE_TIMEOUT", fmt.Sprintf("%s is outside 1s…10m", c.UpdateTimeout)}
	}
	if c.UploadTimeout < c.UpdateTimeout || c.UploadTimeout > time.Hour {
		return &configError{"HERALD_UPLOAD_TIMEOUT", fmt.Sprintf("%s is outside HERALD_UPDATE_TIMEOUT (%s)…1h", c.UploadTimeout, c.UpdateTimeout)}
	}
	level, err := zerolog.ParseLevel(strings.ToLower(c.LogLevel))
	if err != nil || c.LogLevel == "" {
		return &configError{"LOG_LEVEL", fmt.Sprintf("%q is not a level (trace, debug, info, warn, error)", c.LogLevel)}
	}
	c.logLevel = level
	if c.LogFormat != "json" && c.LogFormat != "console" {
		return &configError{"LOG_FORMAT", fmt.Sprintf("%q is not a format (json, console)", c.LogFormat)}
	}
	return nil
}

// validateMetrics checks where /metrics is served: on its own listener
// (HERALD_METRICS_ADDR), or on the main one only behind a bearer token
// (HERALD_METRICS_TOKEN), since that one may face the internet in webhook mode.
func (c *config) validateMetrics() error {
	if c.MetricsAddr != "" {
		if _, port, err := net.SplitHostPort(c.MetricsAddr); err != nil || port == "" {
			return &configError{"HERALD_METRICS_ADDR", fmt.Sprintf("%q is not host:port (for example 127.0.0.1:9090)", c.MetricsAddr)}
		}
		if c.MetricsAddr == c.HTTPAddr {
			return &configError{"HERALD_METRICS_ADDR", "must differ from HERALD_HTTP_ADDR (unset it to serve /metrics there behind HERALD_METRICS_TOKEN)"}
		}
	}
	if c.MetricsToken != "" && !webhookSecretRe.MatchString(c.MetricsToken) {
		return &configError{"HERALD_METRICS_TOKEN", "must be 16–256 characters of A–Z, a–z, 0–9, _ and - (e.g. openssl rand -hex 32)"}
	}
	return nil
}

// webhookSecretRe is Telegram's alphabet for secret_token, with a floor of 16 characters
// so a guessable secret is refused.
var webhookSecretRe = regexp.MustCompile(`^[A-Za-z0-9_-]{16,256}$`)

// looksLikeToken checks the shape only; getMe decides whether Telegram accepts it.
func looksLikeToken(t string) bool {
	id, secret, ok := strings.Cut(t, ":")
	if !ok || id == "" || len(secret) < 20 {
		return false
	}
	for _, r := range id {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// decodeKey accepts 32 bytes written as base64 (standard or URL alphabet) or hex.
func decodeKey(s string) ([]byte, error) {
	for _, dec := range []func(string) ([]byte, error){
		base64.StdEncoding.DecodeString, base64.URLEncoding.DecodeString,
		base64.RawStdEncoding.DecodeString, base64.RawURLEncoding.DecodeString, hex.DecodeString,
	} {
		if b, err := dec(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("must be 32 random bytes, base64- or hex-encoded (generate one with: openssl rand -base64 32)")
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", s)
	}
	return nil
}

func describeType(t string) string {
	switch t {
	case "int64", "[]int64":
		return "list of numeric IDs"
	case "int":
		return "whole number"
	case "time.Duration":
		return "duration (for example 30s, 5m)"
	}
	return t
}

func unwrapAll(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

package main

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(envOf(nil))
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:8080", cfg.HTTPAddr)
	require.Equal(t, "https://api.telegram.org", cfg.TelegramAPIURL)
	require.Equal(t, "./.herald", cfg.DataDir)
	require.Equal(t, "json", cfg.LogFormat)
	require.Equal(t, 30*time.Minute, cfg.DialogTTL)
	require.Empty(t, cfg.DatabaseURL)
}

func TestConfigValues(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(envOf(map[string]string{
		"HERALD_BOT_TOKEN":  "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
		"HERALD_OWNER_IDS":  "42,4242",
		"HERALD_SECRET_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
		"LOG_LEVEL":         "DEBUG",
	}))
	require.NoError(t, err)
	require.Equal(t, []int64{42, 4242}, cfg.OwnerIDs)
	require.Len(t, cfg.secretKey, 32)
	require.Equal(t, 15*time.Second, cfg.UpdateTimeout)
	require.Equal(t, time.Minute, cfg.UploadTimeout)

	cfg, err = loadConfig(envOf(map[string]string{"HERALD_UPDATE_TIMEOUT": "30s", "HERALD_UPLOAD_TIMEOUT": "5m"}))
	require.NoError(t, err)
	require.Equal(t, 30*time.Second, cfg.UpdateTimeout)
	require.Equal(t, 5*time.Minute, cfg.UploadTimeout)
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	t.Parallel()
	token := "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	for _, tc := range []struct {
		env map[string]string
		v   string
	}{
		{map[string]string{"HERALD_OWNER_IDS": "42,abc"}, "HERALD_OWNER_IDS"},
		{map[string]string{"HERALD_OWNER_IDS": "-5"}, "HERALD_OWNER_IDS"},
		{map[string]string{"HERALD_BOT_TOKEN": token}, "HERALD_OWNER_IDS"},
		{map[string]string{"HERALD_BOT_TOKEN": "not-a-token", "HERALD_OWNER_IDS": "1"}, "HERALD_BOT_TOKEN"},
		{map[string]string{"HERALD_SECRET_KEY": "short"}, "HERALD_SECRET_KEY"},
		{map[string]string{"HERALD_HTTP_ADDR": "8080"}, "HERALD_HTTP_ADDR"},
		{map[string]string{"HERALD_TELEGRAM_API_URL": "ftp://x"}, "HERALD_TELEGRAM_API_URL"},
		{map[string]string{"HERALD_WEBHOOK_URL": "not a url"}, "HERALD_WEBHOOK_URL"},
		{map[string]string{"HERALD_WEBHOOK_SECRET": "short"}, "HERALD_WEBHOOK_SECRET"},
		{map[string]string{"HERALD_WEBHOOK_SECRET": "has spaces in it, sixteen+"}, "HERALD_WEBHOOK_SECRET"},
		{map[string]string{"HERALD_METRICS_TOKEN": "short"}, "HERALD_METRICS_TOKEN"},
		{map[string]string{"HERALD_METRICS_ADDR": "9090"}, "HERALD_METRICS_ADDR"},
		{map[string]string{"HERALD_METRICS_ADDR": "127.0.0.1:8080"}, "HERALD_METRICS_ADDR"},
		{map[string]string{"HERALD_DEFAULT_LANG": "de"}, "HERALD_DEFAULT_LANG"},
		{map[string]string{"HERALD_DIALOG_TTL": "soon"}, "HERALD_DIALOG_TTL"},
		{map[string]string{"HERALD_DIALOG_TTL": "5s"}, "HERALD_DIALOG_TTL"},
		{map[string]string{"HERALD_SHUTDOWN_TIMEOUT": "1h"}, "HERALD_SHUTDOWN_TIMEOUT"},
		{map[string]string{"HERALD_UPDATE_TIMEOUT": "0s"}, "HERALD_UPDATE_TIMEOUT"},
		{map[string]string{"HERALD_UPDATE_TIMEOUT": "soon"}, "HERALD_UPDATE_TIMEOUT"},
		{map[string]string{"HERALD_UPLOAD_TIMEOUT": "10s"}, "HERALD_UPLOAD_TIMEOUT"},
		{map[string]string{"HERALD_UPDATE_TIMEOUT": "2m", "HERALD_UPLOAD_TIMEOUT": "90s"}, "HERALD_UPLOAD_TIMEOUT"},
		{map[string]string{"HERALD_UPLOAD_TIMEOUT": "2h"}, "HERALD_UPLOAD_TIMEOUT"},
		{map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{map[string]string{"LOG_FORMAT": "xml"}, "LOG_FORMAT"},
	} {
		_, err := loadConfig(envOf(tc.env))
		var ce *configError
		require.True(t, errors.As(err, &ce), "%v: %v", tc.env, err)
		require.Equal(t, tc.v, ce.Var, "%v", tc.env)
		require.NotContains(t, err.Error(), "\n", "one line")
		require.NotContains(t, err.Error(), "ABCDEFGHIJKLMNOP", "config errors never echo a token")
	}
}

func TestRunVersionAndUnknownCommand(t *testing.T) {
	t.Parallel()
	var out, errOut bytesBuffer
	require.NoError(t, run(t.Context(), []string{"herald", "version"}, envOf(nil), &out, &errOut))
	require.Contains(t, out.String(), "herald ")
	err := run(t.Context(), []string{"herald", "frobnicate"}, envOf(nil), &out, &errOut)
	require.ErrorContains(t, err, `unknown command "frobnicate"`)
	require.Contains(t, errOut.String(), "Usage: herald")
	err = run(t.Context(), []string{"herald", "run"}, envOf(map[string]string{"LOG_FORMAT": "xml"}), &out, &errOut)
	require.ErrorContains(t, err, "LOG_FORMAT")
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"herald/tgemu"
)

// runEmulator serves the Telegram Bot API emulator, for local runs of Herald without
// Telegram and for tools other than Go tests.
func runEmulator(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("herald emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8081", "listen address (loopback keeps it private)")
	rate := fs.Int("rate", 30, "sends per second per bot token (negative: unlimited)")
	paid := fs.Int("paid-rate", 1000, "sends per second with allow_paid_broadcast")
	var tokens multiFlag
	fs.Var(&tokens, "bot-token", "create a bot with this token (repeatable); default: one generated bot")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := tgemu.Config{DefaultRate: *rate, PaidRate: *paid}
	for i, tok := range tokens {
		cfg.Bots = append(cfg.Bots, tgemu.BotSpec{Username: fmt.Sprintf("herald_bot_%d", i+1), Token: tok})
	}
	return tgemu.Serve(ctx, *addr, cfg, stdout)
}

type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint(*m) }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

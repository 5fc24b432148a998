package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"herald/tgemu"
)

// runEmulator serves the Telegram Bot API emulator, for local runs of Herald without
// Telegram, for tools other than Go tests, and as the child process of `herald bench`
// (so that the benchmark's CPU figures are Herald's own).
func runEmulator(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("herald emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8081", "listen address (loopback keeps it private)")
	rate := fs.Int("rate", 30, "sends per second per bot token (negative: unlimited)")
	paid := fs.Int("paid-rate", 1000, "sends per second with allow_paid_broadcast")
	var tokens multiFlag
	fs.Var(&tokens, "bot-token", "create a bot with this token (repeatable); default: one generated bot")
	bots := fs.Int("bots", 0, "create this many bots with generated tokens (besides --bot-token)")
	users := fs.Int("users", 0, "create this many users who have started every bot; printed as a range of ids")
	latency := fs.Duration("latency", 0, "added to every Bot API request")
	jitter := fs.Duration("jitter", 0, "plus a uniform random 0..jitter per request")
	noChatLimit := fs.Bool("no-chat-limit", false, "turn off the per-chat limits (1 message/s per private chat)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := tgemu.Config{DefaultRate: *rate, PaidRate: *paid, PerChatDisabled: *noChatLimit}
	for i, tok := range tokens {
		cfg.Bots = append(cfg.Bots, tgemu.BotSpec{Username: fmt.Sprintf("herald_bot_%d", i+1), Token: tok})
	}
	for i := range *bots {
		cfg.Bots = append(cfg.Bots, tgemu.BotSpec{Username: fmt.Sprintf("herald_bot_%d", len(tokens)+i+1)})
	}
	faults := tgemu.Faults{Latency: *latency, Jitter: *jitter}
	return tgemu.Serve(ctx, *addr, cfg, stdout, func(s *tgemu.Server) {
		bs := s.Bots()
		for _, b := range bs {
			if faults.Latency != 0 || faults.Jitter != 0 { // Faults holds a map: not comparable
				s.SetFaults(b.Token, faults)
			}
		}
		if *users <= 0 {
			return
		}
		created := s.CreateUsers(*users, tgemu.UserSpec{})
		for _, b := range bs {
			s.SetStarted(b.Token, created...)
		}
		fmt.Fprintf(stdout, "users %d..%d have started every bot\n", created[0].ID, created[len(created)-1].ID)
	})
}

type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint(*m) }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

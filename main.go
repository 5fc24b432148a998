// Command herald runs Telegram message campaigns that admins control from Telegram.
//
//	herald [run]      the service: management bot, delivery workers, health endpoint
//	                  (with no HERALD_BOT_TOKEN and no DATABASE_URL: the sandbox)
//	herald sandbox    Herald on an emulated Telegram, with a web chat (sandbox.go)
//	herald migrate    apply database migrations and exit
//	herald rotate-key re-encrypt stored tokens from HERALD_SECRET_KEY to HERALD_NEW_SECRET_KEY
//	herald version    print the version
//	herald emulator   a local Telegram Bot API for tests and demos
//	herald bench      measure the delivery engine, import and bot (BENCHMARKS.md)
//	herald healthcheck  probe a running service's /healthz (container HEALTHCHECK)
//
// Configuration comes from the environment; see README.md.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/rs/zerolog"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "herald:", err)
		stop()
		os.Exit(1)
	}
}

const usage = `Usage: herald [command]

Commands:
  run          run the service (default; the sandbox when HERALD_BOT_TOKEN is unset)
  sandbox      run Herald on an emulated Telegram with a web chat at http://127.0.0.1:8080/
  migrate      apply database migrations and exit
  rotate-key   re-encrypt stored tokens from HERALD_SECRET_KEY to HERALD_NEW_SECRET_KEY
               (stop the service first; see SECURITY.md)
  version      print the version and exit
  emulator     run the Telegram Bot API emulator (--addr 127.0.0.1:8081)
  bench        run the benchmarks (--scenario NAME, --json, --quick; see BENCHMARKS.md)
  healthcheck  exit 0 when the running service's /healthz answers (for containers)
  help         print this help

Configuration is read from the environment; see README.md.
`

// run is the whole program; main only adds the process's environment and exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	command := "run"
	if len(args) > 1 {
		command = args[1]
	}
	switch command {
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "herald %s\n", version)
		return nil
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return nil
	case "emulator":
		return runEmulator(ctx, args[2:], stdout, stderr)
	case "bench":
		return runBench(ctx, args[2:], getenv, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, getenv)
	case "run", "migrate", "rotate-key", "sandbox":
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", command)
	}

	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	switch command {
	case "migrate":
		return migrate(ctx, cfg, logger, stdout)
	case "rotate-key":
		return rotateKey(ctx, cfg, logger, stdout)
	}
	sandboxed, err := sandboxWanted(command, cfg)
	if err != nil {
		return err
	}
	if sandboxed {
		return runSandbox(ctx, cfg, logger, stdout)
	}
	return serve(ctx, cfg, logger)
}

func newLogger(cfg config, w io.Writer) zerolog.Logger {
	if cfg.LogFormat == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000"}
	}
	return zerolog.New(w).Level(cfg.logLevel).With().Timestamp().Logger()
}

// Package tgemu is a local Telegram Bot API server for Herald's tests,
// benchmarks and the `herald emulator` subcommand. See the full
// documentation at the end of development (API, emulated-vs-not table,
// benchmark).
package tgemu

package main

import (
	"log/slog"

	"github.com/rs/zerolog"
)

// riverLogger adapts zerolog for River and goose, which log through slog.
func riverLogger(logger zerolog.Logger) *slog.Logger {
	return slog.New(zerolog.NewSlogHandler(logger.With().Str("component", "river").Logger()))
}

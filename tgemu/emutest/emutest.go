// Package emutest starts the Telegram emulator for Go tests. It lives apart from
// package tgemu so that the herald binary, which serves the emulator (`herald
// emulator`), does not link the testing package; import it only from _test.go files.
package emutest

import (
	"testing"

	"herald/tgemu"
)

// Start is tgemu.Start for tests: it fails t on error and closes the server in
// t.Cleanup.
func Start(t testing.TB, cfg tgemu.Config) *tgemu.Server {
	t.Helper()
	s, err := tgemu.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

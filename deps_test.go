package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The herald binary must not link the testing package (its flags, its init and its
// code do not belong in a service); test helpers live in packages that only _test.go
// files import, such as tgemu/emutest and pgtest.
func TestBinaryDoesNotLinkTesting(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	require.NoError(t, err)
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "herald/tgemu", "the list must hold the binary's dependencies")
	require.False(t, slices.Contains(deps, "testing"), "the binary links package testing: see `go list -deps . | grep -x testing`")
}

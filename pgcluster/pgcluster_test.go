package pgcluster

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// reachableTempDir is a temporary directory the server's user (postgres, when the test
// runs as root) can enter; t.TempDir is private to the test's user.
func reachableTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pgcluster-test-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o755))
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func alive(pid int) bool { return pid > 0 && syscall.Kill(pid, 0) == nil }

func TestStartReuseStop(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(reachableTempDir(t), "data")

	first, err := Start(ctx, Options{DataDir: dir, Ephemeral: true})
	require.NoError(t, err)
	require.True(t, first.Owned())
	pid := first.Pid()
	require.True(t, alive(pid))

	conn, err := pgx.Connect(ctx, first.ConnString(""))
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')")
	require.NoError(t, err)
	require.NoError(t, conn.Close(ctx))

	// A second Start on a running cluster shares it instead of starting another server.
	shared, err := Start(ctx, Options{DataDir: dir})
	require.NoError(t, err)
	require.False(t, shared.Owned())
	require.NoError(t, shared.Stop(ctx), "stopping a shared cluster is a no-op")
	require.True(t, alive(pid))

	stopCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	require.NoError(t, first.Stop(stopCtx))
	require.False(t, alive(pid), "server process still running after Stop")
	_, err = os.Stat(filepath.Join(dir, "pg", "postmaster.pid"))
	require.True(t, os.IsNotExist(err), "postmaster.pid left behind: not a clean shutdown")

	// Restart reuses the data.
	again, err := Start(ctx, Options{DataDir: dir, Ephemeral: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = again.Stop(context.Background()) })
	conn, err = pgx.Connect(ctx, again.ConnString(""))
	require.NoError(t, err)
	defer conn.Close(ctx)
	var v string
	require.NoError(t, conn.QueryRow(ctx, "SELECT v FROM kept").Scan(&v))
	require.Equal(t, "still here", v)

	// The server listens on the socket only.
	var listen string
	require.NoError(t, conn.QueryRow(ctx, "SHOW listen_addresses").Scan(&listen))
	require.Empty(t, listen)
}

func TestNoBinaries(t *testing.T) {
	old := libRoot
	libRoot = t.TempDir()
	defer func() { libRoot = old }()
	_, err := FindBinaries(t.TempDir())
	require.ErrorIs(t, err, ErrNoBinaries)
	require.Contains(t, err.Error(), "apt-get install -y postgresql")
	require.Contains(t, err.Error(), "DATABASE_URL")

	_, err = Start(context.Background(), Options{DataDir: t.TempDir(), Path: t.TempDir()})
	require.ErrorIs(t, err, ErrNoBinaries)
}

func TestFindBinariesPrefersPath(t *testing.T) {
	t.Parallel()
	dir, err := FindBinaries(os.Getenv("PATH") + ":/usr/lib/postgresql/15/bin")
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(dir, "postgres"))
	require.FileExists(t, filepath.Join(dir, "initdb"))
}

// TestUnreachableDataDirAsRoot covers root running Herald from a directory the postgres
// user cannot enter (a checkout under /root): the cluster lives in a reachable place,
// linked from the data directory, and is found again on the next start.
func TestUnreachableDataDirAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root runs the server as another user")
	}
	// Not parallel: it swaps fallbackRoot.
	ctx := context.Background()
	private := t.TempDir() // 0700, owned by root
	require.NoError(t, os.Chmod(private, 0o700))
	dataDir := filepath.Join(private, "data")
	old := fallbackRoot
	fallbackRoot = reachableTempDir(t)
	defer func() { fallbackRoot = old }()

	c, err := Start(ctx, Options{DataDir: dataDir, Ephemeral: true})
	require.NoError(t, err)
	target, err := filepath.EvalSymlinks(filepath.Join(dataDir, "cluster"))
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(target, "pg", "PG_VERSION"))
	require.NoError(t, c.Stop(ctx))

	again, err := Start(ctx, Options{DataDir: dataDir, Ephemeral: true})
	require.NoError(t, err)
	defer again.Stop(ctx)
	require.Equal(t, again.socketDir, filepath.Join(target, "run"), "second start reuses the linked cluster")
}

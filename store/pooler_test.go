package store_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"herald/pgtest"
	"herald/store"
)

func TestSessionPoolingCheckPassesOnPostgres(t *testing.T) {
	t.Parallel()
	st := store.New(pgtest.NewPool(t))
	require.NoError(t, st.SessionPoolingCheck(context.Background()))
}

// The negative case needs PgBouncer (Debian: apt-get install -y pgbouncer); it runs
// in front of the test database, in transaction mode and, as a control, in session mode.
func TestSessionPoolingCheckDetectsTransactionPooler(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		if _, statErr := os.Stat("/usr/sbin/pgbouncer"); statErr != nil {
			t.Skip("pgbouncer is not installed (apt-get install -y pgbouncer); the transaction-pooler case is not checked")
		}
		bin = "/usr/sbin/pgbouncer"
	}
	dbURL := pgtest.NewDB(t)
	for _, mode := range []string{"transaction", "session"} {
		t.Run(mode, func(t *testing.T) {
			url := startPgBouncer(t, bin, dbURL, mode)
			pool, err := pgxpool.New(context.Background(), url)
			require.NoError(t, err)
			t.Cleanup(pool.Close)
			err = store.New(pool).SessionPoolingCheck(context.Background())
			if mode == "transaction" {
				require.ErrorIs(t, err, store.ErrTransactionPooler)
				t.Logf("detected: %v", err)
			} else {
				require.NoError(t, err)
			}
		})
	}
}

// startPgBouncer runs PgBouncer on a free loopback port in front of dbURL's database
// and returns a URL through it. PgBouncer refuses to run as root, so under root it runs
// as the user the test cluster runs as.
func startPgBouncer(t *testing.T, bin, dbURL, mode string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(dbURL)
	require.NoError(t, err)
	dir, err := os.MkdirTemp("", "pgbouncer-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o777))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	ini := fmt.Sprintf(`[databases]
probe = host=%s port=%d dbname=%s user=%s
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = %s
default_pool_size = 4
logfile = %s
pidfile = %s
`, cfg.Host, cfg.Port, cfg.Database, cfg.User, port, filepath.Join(dir, "users.txt"), mode,
		filepath.Join(dir, "pgbouncer.log"), filepath.Join(dir, "pgbouncer.pid"))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "users.txt"), []byte(strconv.Quote(cfg.User)+` ""`+"\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pgbouncer.ini"), []byte(ini), 0o644))

	cmd := exec.Command(bin, filepath.Join(dir, "pgbouncer.ini"))
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			u, err = user.Lookup("nobody")
		}
		require.NoError(t, err)
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	}
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }() // owned: the cleanup kills the process and waits
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", l.Addr().String(), time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
			t.Fatalf("pgbouncer exited: %v\n%s", waitErr, log)
		default:
		}
		require.True(t, time.Now().Before(deadline), "pgbouncer did not listen within 10 s")
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/probe?sslmode=disable", cfg.User, port)
}

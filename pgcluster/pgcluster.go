// Package pgcluster runs a private PostgreSQL server from the binaries installed on the
// machine. Herald uses it as its default database when DATABASE_URL is unset, and the
// tests use it when TEST_DATABASE_URL is unset, so that both work on a fresh machine
// with nothing but the PostgreSQL server package installed.
//
// The server listens on a Unix socket inside the data directory only (no TCP), trusts
// local connections (only processes that can reach the socket directory can connect),
// and is a child of the calling process: it receives SIGINT when its parent dies, so a
// killed Herald never leaves a server behind. PostgreSQL refuses to run as root, so
// when the caller is root the server runs as the "postgres" user (or "nobody").
package pgcluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoBinaries is returned when no PostgreSQL server binaries can be found.
var ErrNoBinaries = errors.New("no PostgreSQL server binaries (initdb, postgres) found on PATH or in /usr/lib/postgresql/*/bin; " +
	"install them (Debian/Ubuntu: apt-get install -y postgresql) or set DATABASE_URL to an existing server")

// Options configure a cluster.
type Options struct {
	// DataDir holds the cluster: DataDir/pg is PGDATA, DataDir/run the socket directory,
	// DataDir/postgres.log the server log. Created when missing, reused when present.
	DataDir string
	// Database is created on first start and named in ConnString (default "herald").
	Database string
	// Path is the PATH used to find the binaries (default: the process's PATH).
	Path string
	// Ephemeral trades durability for speed (fsync off): for tests only.
	Ephemeral bool
	// StartTimeout bounds the wait for the server to accept connections (default 60s).
	StartTimeout time.Duration
}

// Cluster is a running server started (or found running) by Start.
type Cluster struct {
	dataDir   string
	socketDir string
	database  string
	cmd       *exec.Cmd // nil when the server was already running (another process owns it)
	exited    chan struct{}
	waitErr   error
	stopOnce  sync.Once
	stopErr   error
}

const port = 5432 // only names the socket file; there is no TCP listener

// libRoot is where Debian and Ubuntu install PostgreSQL's versioned binaries.
var libRoot = "/usr/lib/postgresql"

// FindBinaries returns the directory that holds initdb and postgres: first the PATH,
// then the newest /usr/lib/postgresql/*/bin.
func FindBinaries(path string) (string, error) {
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		if isExecutable(filepath.Join(dir, "initdb")) && isExecutable(filepath.Join(dir, "postgres")) {
			// Debian links initdb into PATH; resolve so postgres comes from the same install.
			if real, err := filepath.EvalSymlinks(filepath.Join(dir, "initdb")); err == nil {
				realDir := filepath.Dir(real)
				if isExecutable(filepath.Join(realDir, "postgres")) {
					return realDir, nil
				}
			}
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(libRoot, "*", "bin"))
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, dir := range dirs {
		if isExecutable(filepath.Join(dir, "initdb")) && isExecutable(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	return "", ErrNoBinaries
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// Start initialises the cluster when DataDir holds none, starts the server unless one
// is already running on that data directory, and creates the database.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Database == "" {
		opts.Database = "herald"
	}
	if opts.Path == "" {
		opts.Path = os.Getenv("PATH")
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 60 * time.Second
	}
	binDir, err := FindBinaries(opts.Path)
	if err != nil {
		return nil, err
	}
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	if dataDir, err = reachableDataDir(dataDir, cred); err != nil {
		return nil, err
	}
	c := &Cluster{dataDir: dataDir, database: opts.Database, exited: make(chan struct{})}
	c.socketDir = filepath.Join(dataDir, "run")
	if len(c.socketDir)+len("/.s.PGSQL.5432") > 100 {
		return nil, fmt.Errorf("data directory %s is too long for a Unix socket path; choose a shorter one", dataDir)
	}
	pgData := filepath.Join(dataDir, "pg")
	if err := ensureOwnedDir(c.socketDir, cred); err != nil {
		return nil, err
	}

	// A server already running on this data directory (another Herald process on the
	// same machine) is shared rather than fought over.
	if c.ping(ctx, "postgres") == nil {
		close(c.exited)
		return c, c.createDatabase(ctx)
	}

	if err := initCluster(ctx, binDir, dataDir, pgData, cred); err != nil {
		return nil, err
	}
	if err := c.launch(binDir, pgData, opts.Ephemeral, cred); err != nil {
		return nil, err
	}
	if err := c.waitReady(ctx, opts.StartTimeout); err != nil {
		_ = c.Stop(context.Background())
		return nil, err
	}
	if err := c.createDatabase(ctx); err != nil {
		_ = c.Stop(context.Background())
		return nil, err
	}
	return c, nil
}

// initCluster runs initdb in pgData unless a cluster is already there.
func initCluster(ctx context.Context, binDir, dataDir, pgData string, cred *syscall.Credential) error {
	if _, err := os.Stat(filepath.Join(pgData, "PG_VERSION")); errors.Is(err, fs.ErrNotExist) {
		if err := os.RemoveAll(pgData); err != nil { // a half-made cluster from an interrupted initdb
			return fmt.Errorf("remove incomplete cluster: %w", err)
		}
		if err := ensureOwnedDir(pgData, cred); err != nil {
			return err
		}
		initdb := exec.CommandContext(ctx, filepath.Join(binDir, "initdb"),
			"-D", pgData, "-U", "herald", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
		initdb.Dir = dataDir
		initdb.Env = []string{"PATH=" + binDir, "LC_ALL=C"}
		initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		if out, err := initdb.CombinedOutput(); err != nil {
			return fmt.Errorf("initdb in %s failed: %w: %s%s", pgData, err, lastLines(out, 5), accessHint(dataDir, cred))
		}
	}

	return nil
}

// launch starts the server on the cluster's socket; a goroutine owned by the Cluster
// waits for it and closes exited.
func (c *Cluster) launch(binDir, pgData string, ephemeral bool, cred *syscall.Credential) error {
	logFile, err := os.OpenFile(filepath.Join(c.dataDir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open server log: %w", err)
	}
	defer logFile.Close() // the child keeps its own descriptor

	args := []string{"-D", pgData, "-k", c.socketDir, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=", "-c", "max_connections=200", "-c", "unix_socket_permissions=0700"}
	if ephemeral {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	cmd := exec.Command(filepath.Join(binDir, "postgres"), args...)
	cmd.Dir = c.dataDir
	cmd.Env = []string{"PATH=" + binDir, "LC_ALL=C"}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Pdeathsig: a parent killed with -9 takes its server down with it (fast shutdown).
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGINT, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	c.cmd = cmd
	go func() { // owned by Cluster: ends when the server exits; Stop waits for it
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	return nil
}

// waitReady waits until the server accepts connections, it exits, ctx ends or timeout
// passes.
func (c *Cluster) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if err := c.ping(ctx, "postgres"); err == nil {
			return nil
		}
		select {
		case <-c.exited:
			log, _ := os.ReadFile(filepath.Join(c.dataDir, "postgres.log"))
			return fmt.Errorf("postgres exited during start-up (%v): %s", c.waitErr, lastLines(log, 5))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres did not accept connections within %s (log: %s)", timeout, filepath.Join(c.dataDir, "postgres.log"))
		}
	}
}

// ConnString names the cluster's database (or another one on the same server).
func (c *Cluster) ConnString(database string) string {
	if database == "" {
		database = c.database
	}
	return fmt.Sprintf("host=%s port=%d user=herald dbname=%s sslmode=disable", c.socketDir, port, database)
}

// Owned reports whether this process started the server (and so stops it).
func (c *Cluster) Owned() bool { return c.cmd != nil }

// Pid is the server's process id, or 0 when it is not owned by this process.
func (c *Cluster) Pid() int {
	if c.cmd == nil || c.cmd.Process == nil {
		return 0
	}
	return c.cmd.Process.Pid
}

// Exited is closed when an owned server has exited (at once for a shared one).
func (c *Cluster) Exited() <-chan struct{} { return c.exited }

// Stop shuts an owned server down (fast shutdown: open sessions are ended) and waits
// for it; after ctx is done it kills it. A server this process did not start is left
// running.
func (c *Cluster) Stop(ctx context.Context) error {
	if c.cmd == nil {
		return nil
	}
	c.stopOnce.Do(func() {
		select {
		case <-c.exited:
			return
		default:
		}
		_ = c.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-c.exited:
		case <-ctx.Done():
			_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
			<-c.exited
			c.stopErr = fmt.Errorf("postgres did not stop in time and was killed: %w", ctx.Err())
		}
	})
	return c.stopErr
}

func (c *Cluster) ping(ctx context.Context, database string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.ConnString(database))
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

func (c *Cluster) createDatabase(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, c.ConnString("postgres"))
	if err != nil {
		return fmt.Errorf("connect to embedded postgres: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", c.database).Scan(&exists); err != nil {
		return fmt.Errorf("look up database: %w", err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{c.database}.Sanitize())
	var dup interface{ SQLState() string }
	if errors.As(err, &dup) && (dup.SQLState() == "42P04" || dup.SQLState() == "23505") {
		return nil // created concurrently by another process
	}
	if err != nil {
		return fmt.Errorf("create database %s: %w", c.database, err)
	}
	return nil
}

// serverCredential is nil when the caller may run postgres itself, otherwise the
// unprivileged user to run it as.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, errors.New("running as root, but neither a postgres nor a nobody user exists to run the PostgreSQL server as")
}

func ensureOwnedDir(dir string, cred *syscall.Credential) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("chmod %s: %w", dir, err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("chown %s: %w", dir, err)
		}
	}
	return nil
}

// fallbackRoot holds clusters whose data directory the server's user cannot reach.
var fallbackRoot = "/var/lib/herald"

// reachableDataDir returns dir when the server's user can enter it. Root often runs
// Herald from a checkout under /root, which the postgres user cannot enter; rather than
// loosen /root's permissions, the cluster then lives under /var/lib/herald and dir gets
// a symlink to it, so the data still appears under HERALD_DATA_DIR and is reused.
func reachableDataDir(dir string, cred *syscall.Credential) (string, error) {
	if cred == nil || canEnter(dir, cred) {
		return dir, nil
	}
	if target, err := filepath.EvalSymlinks(filepath.Join(dir, "cluster")); err == nil && canEnter(target, cred) {
		return target, nil
	}
	sum := sha256.Sum256([]byte(dir))
	target := filepath.Join(fallbackRoot, "cluster-"+hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(target, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", target, err)
	}
	if !canEnter(target, cred) {
		return "", fmt.Errorf("the PostgreSQL server runs as uid %d, which can reach neither %s nor %s; set HERALD_DATA_DIR to a directory it can enter", cred.Uid, dir, target)
	}
	link := filepath.Join(dir, "cluster")
	_ = os.Remove(link)
	if err := os.Symlink(target, link); err != nil {
		return "", fmt.Errorf("link %s to %s: %w", link, target, err)
	}
	return target, nil
}

// canEnter reports whether cred may traverse every directory from / down to dir.
func canEnter(dir string, cred *syscall.Credential) bool {
	for d := dir; ; d = filepath.Dir(d) {
		var st syscall.Stat_t
		if err := syscall.Stat(d, &st); err != nil {
			return false
		}
		mode := st.Mode
		switch {
		case st.Uid == cred.Uid:
			if mode&0o100 == 0 {
				return false
			}
		case st.Gid == cred.Gid:
			if mode&0o010 == 0 {
				return false
			}
		default:
			if mode&0o001 == 0 {
				return false
			}
		}
		if d == "/" || d == "." {
			return true
		}
	}
}

// accessHint explains the usual cause of initdb failing as another user: a parent
// directory (such as /root) that user cannot enter.
func accessHint(dir string, cred *syscall.Credential) string {
	if cred == nil {
		return ""
	}
	for d := dir; d != "/" && d != "."; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err == nil && st.Mode().Perm()&0o001 == 0 {
			return fmt.Sprintf(" (the server runs as uid %d, which cannot enter %s; set HERALD_DATA_DIR to a directory it can reach, e.g. /var/lib/herald)", cred.Uid, d)
		}
	}
	return ""
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(bytes.ToValidUTF8(b, nil))), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

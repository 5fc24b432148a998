// Package pgtest gives tests real, isolated PostgreSQL databases. A package's TestMain
// calls Main; each test calls NewDB for a database of its own, cloned from a template
// database that was migrated once per test binary, and dropped when the test ends.
//
// The server is the one named by TEST_DATABASE_URL (a role that may create databases),
// or, when that is unset, a private cluster started from the installed PostgreSQL
// binaries for the duration of the test binary — so `go test ./...` works on a fresh
// machine, also as root.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"herald/migrations"
	"herald/pgcluster"
)

var (
	serverURL    string // connection string of the maintenance database on the test server
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// Main runs the tests of a package against a PostgreSQL server and exits.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if url := os.Getenv("TEST_DATABASE_URL"); url != "" {
		serverURL = url
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "herald-pgtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil { // the server may run as another user
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		return 1
	}
	ctx := context.Background()
	cluster, err := pgcluster.Start(ctx, pgcluster.Options{DataDir: dir, Database: "herald", Ephemeral: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgtest: start a private PostgreSQL (or set TEST_DATABASE_URL):", err)
		return 1
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		_ = cluster.Stop(stopCtx)
	}()
	serverURL = cluster.ConnString("postgres")
	return m.Run()
}

// ServerURL is the connection string of the server's maintenance database.
func ServerURL(t testing.TB) string {
	t.Helper()
	if serverURL == "" {
		t.Fatal("pgtest: call pgtest.Main from TestMain")
	}
	return serverURL
}

// NewDB creates a migrated database for this test alone and returns its connection
// string. The database is dropped when the test ends.
func NewDB(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	templateOnce.Do(func() { templateName, templateErr = makeTemplate(ctx) })
	if templateErr != nil {
		t.Fatalf("pgtest: migrate template database: %v", templateErr)
	}
	name := "herald_t_" + randomSuffix()
	admin := connectAdmin(t)
	// Cloning needs the template to have no other connections; concurrent clones of the
	// same template are fine.
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, templateName)); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	_ = admin.Close(ctx)
	t.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, serverURL)
		if err != nil {
			t.Errorf("pgtest: drop %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name)); err != nil {
			t.Errorf("pgtest: drop %s: %v", name, err)
		}
	})
	return withDatabase(t, serverURL, name)
}

// NewPool is NewDB plus a pool on it, closed when the test ends.
func NewPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), NewDB(t))
	if err != nil {
		t.Fatalf("pgtest: pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// NewEmptyDB creates an unmigrated database (for migration tests), dropped at the end.
func NewEmptyDB(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	name := "herald_e_" + randomSuffix()
	admin := connectAdmin(t)
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, serverURL)
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		_, _ = conn.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name))
	})
	return withDatabase(t, serverURL, name)
}

func makeTemplate(ctx context.Context) (string, error) {
	name := "herald_tpl_" + randomSuffix()
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	cfg, err := pgxpool.ParseConfig(serverURL)
	if err != nil {
		return "", err
	}
	cfg.ConnConfig.Database = name
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return "", err
	}
	_, err = migrations.Up(ctx, pool, slog.New(slog.DiscardHandler))
	pool.Close() // no connection may stay on a template while it is cloned
	return name, err
}

func connectAdmin(t testing.TB) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), ServerURL(t))
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	return conn
}

func withDatabase(t testing.TB, conn, database string) string {
	t.Helper()
	if strings.HasPrefix(conn, "postgres://") || strings.HasPrefix(conn, "postgresql://") {
		u, err := url.Parse(conn)
		if err != nil {
			t.Fatalf("pgtest: parse TEST_DATABASE_URL: %v", err)
		}
		u.Path = "/" + database
		return u.String()
	}
	return conn + " dbname=" + database // keyword form: the last dbname wins
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

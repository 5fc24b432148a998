package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"herald/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// bytesBuffer is a goroutine-safe buffer for a process's output.
type bytesBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *bytesBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *bytesBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// heraldBinary builds the real binary once per test run, for tests where a process
// must receive signals or die.
func heraldBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "herald-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "herald")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return binPath
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

var listeningRe = regexp.MustCompile(`"addr":"([0-9.:]+)"[^\n]*"message":"http listening"`)

// listeningAddr waits for Herald's "http listening" log line (HERALD_HTTP_ADDR may use
// port 0, so tests never race each other for a port) and returns the address.
func listeningAddr(t *testing.T, out *bytesBuffer, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(patient(within))
	for time.Now().Before(deadline) {
		if m := listeningRe.FindAllStringSubmatch(out.String(), -1); m != nil {
			return m[len(m)-1][1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("herald did not log its HTTP address; output:\n%s", out.String())
	return ""
}

type readyBody struct {
	Status     string                       `json:"status"`
	Components map[string]map[string]string `json:"components"`
}

func getReady(addr string) (int, readyBody, error) {
	client := http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get("http://" + addr + "/readyz")
	if err != nil {
		return 0, readyBody{}, err
	}
	defer resp.Body.Close()
	var body readyBody
	err = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body, err
}

// patient scales a hang guard (an embedded cluster's initdb alone took 35 s on a
// 2-core machine running two suites): HERALD_TEST_PATIENCE, default 4.
func patient(d time.Duration) time.Duration {
	f, err := strconv.ParseFloat(os.Getenv("HERALD_TEST_PATIENCE"), 64)
	if err != nil || f <= 0 {
		f = 4
	}
	return time.Duration(float64(d) * f)
}

// waitReady polls /readyz until it answers want or the deadline passes.
func waitReady(t *testing.T, addr string, want int, within time.Duration) readyBody {
	t.Helper()
	within = patient(within)
	deadline := time.Now().Add(patient(within))
	var last string
	for time.Now().Before(deadline) {
		code, body, err := getReady(addr)
		if err == nil && code == want {
			return body
		}
		last = fmt.Sprintf("%d %+v %v", code, body, err)
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("/readyz did not answer %d within %s; last: %s", want, within, last)
	return readyBody{}
}

// reachableDir is a temporary directory the embedded server's user can enter.
func reachableDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "herald-data-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o755))
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func postmasterPid(t *testing.T, dataDir string) int {
	t.Helper()
	f, err := os.Open(filepath.Join(dataDir, "postgres", "pg", "postmaster.pid"))
	require.NoError(t, err)
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	require.NoError(t, err)
	return pid
}

// childrenOf lists the pids whose parent is pid.
func childrenOf(pid int) []int {
	var kids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may contain spaces, so split after ')'.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			kids = append(kids, p)
		}
	}
	return kids
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

type process struct {
	cmd    *exec.Cmd
	output *bytesBuffer
	done   chan error    // Wait's answer, once
	exited chan struct{} // closed after Wait returned
}

func startHerald(t *testing.T, env ...string) *process {
	t.Helper()
	cmd := exec.Command(heraldBinary(t))
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "LOG_LEVEL=info"}, env...)
	p := &process{cmd: cmd, output: &bytesBuffer{}, done: make(chan error, 1), exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.output, p.output
	require.NoError(t, cmd.Start())
	go func() { // owned by the test: the cleanup waits for it
		p.done <- cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("herald output:\n%s", p.output.String())
		}
	})
	return p
}

func (p *process) stop(t *testing.T, within time.Duration) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-p.done:
		require.NoError(t, err, "herald must exit 0 on SIGTERM")
	case <-time.After(patient(within)):
		t.Fatalf("herald did not exit within %s of SIGTERM", patient(within))
	}
}

// TestEmbeddedDatabaseLifecycle is the foundation's acceptance run: with no
// DATABASE_URL Herald starts its own PostgreSQL, becomes ready, reports the database
// down when the server is killed, and exits 0 on SIGTERM leaving no server behind; a
// second start reuses the data.
func TestEmbeddedDatabaseLifecycle(t *testing.T) {
	t.Parallel()
	dataDir := reachableDir(t)
	env := []string{"HERALD_DATA_DIR=" + dataDir, "HERALD_HTTP_ADDR=127.0.0.1:0", "HERALD_SANDBOX=off"}

	first := startHerald(t, env...)
	addr := listeningAddr(t, first.output, 10*time.Second)
	body := waitReady(t, addr, http.StatusOK, 30*time.Second)
	require.Equal(t, "ready", body.Status)
	for _, c := range []string{"database", "migrations", "river"} {
		require.Equal(t, "ok", body.Components[c]["state"], c)
	}
	require.Equal(t, "not configured", body.Components["bot"]["state"])
	pid := postmasterPid(t, dataDir)
	kids := childrenOf(pid)
	require.NotEmpty(t, kids, "postgres has background processes")
	first.stop(t, 10*time.Second)
	require.False(t, alive(pid), "postgres still running after herald exited")
	for _, k := range kids {
		require.False(t, alive(k), "postgres child %d still running", k)
	}
	require.Contains(t, first.output.String(), fmt.Sprintf(`"herald_applied":%d`, heraldMigrationCount(t)))

	// Second start: same data, nothing to migrate; then kill the database under it.
	second := startHerald(t, env...)
	addr = listeningAddr(t, second.output, 10*time.Second)
	waitReady(t, addr, http.StatusOK, 30*time.Second)
	require.Contains(t, second.output.String(), `"herald_applied":0`)
	pid = postmasterPid(t, dataDir)
	kids = childrenOf(pid)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	killedAt := time.Now()
	body = waitReady(t, addr, http.StatusServiceUnavailable, 5*time.Second)
	require.Equal(t, "down", body.Components["database"]["state"])
	t.Logf("/readyz went 503 %s after the kill", time.Since(killedAt).Round(time.Millisecond))
	second.stop(t, 10*time.Second)
	deadline := time.Now().Add(5 * time.Second) // orphaned backends notice the postmaster's death
	for _, k := range kids {
		for alive(k) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		require.False(t, alive(k), "postgres child %d outlived its killed postmaster", k)
	}
}

func TestMigrateCommand(t *testing.T) {
	t.Parallel()
	url := pgtest.NewEmptyDB(t)
	var out, errOut bytesBuffer
	env := envOf(map[string]string{"DATABASE_URL": url, "LOG_LEVEL": "warn"})
	require.NoError(t, run(context.Background(), []string{"herald", "migrate"}, env, &out, &errOut))
	require.Contains(t, out.String(), fmt.Sprintf("herald %d;", heraldMigrationCount(t)))
	require.NoError(t, run(context.Background(), []string{"herald", "migrate"}, env, &out, &errOut))
	require.Contains(t, out.String(), "river 0, herald 0;")
}

// inProcess is Herald's run() in a goroutine of the test, the way tests of whole
// features drive the service.
type inProcess struct {
	addr   string
	out    *bytesBuffer
	cancel context.CancelFunc
	done   chan error
}

// startInProcess runs Herald with env (HERALD_HTTP_ADDR defaults to a free port) and
// waits until it listens; the test's cleanup stops it if the test did not.
func startInProcess(t *testing.T, env map[string]string) *inProcess {
	t.Helper()
	if env["HERALD_HTTP_ADDR"] == "" {
		env["HERALD_HTTP_ADDR"] = "127.0.0.1:0"
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &inProcess{out: &bytesBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() { // owned: stop (or the cleanup) cancels it and waits on done
		p.done <- run(ctx, []string{"herald"}, envOf(env), p.out, p.out)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-p.done:
		case <-time.After(patient(20 * time.Second)):
			t.Error("run did not return after cancel")
		}
	})
	p.addr = listeningAddr(t, p.out, 10*time.Second)
	return p
}

// stop cancels run and requires a clean return.
func (p *inProcess) stop(t *testing.T) {
	t.Helper()
	p.cancel()
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		require.NoError(t, err)
	case <-time.After(patient(15 * time.Second)):
		t.Fatal("run did not return after cancel")
	}
	require.Contains(t, p.out.String(), `"message":"stopped"`)
}

// TestServeInProcess drives run() with an existing database and checks a clean return
// on cancellation.
func TestServeInProcess(t *testing.T) {
	t.Parallel()
	p := startInProcess(t, map[string]string{"DATABASE_URL": pgtest.NewDB(t)})
	waitReady(t, p.addr, http.StatusOK, 30*time.Second)
	resp, err := http.Get("http://" + p.addr + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, run(context.Background(), []string{"herald", "healthcheck"}, envOf(map[string]string{"HERALD_HTTP_ADDR": p.addr}), p.out, p.out))
	p.stop(t)
}

func TestHealthcheckFailsWithoutService(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), []string{"herald", "healthcheck"}, envOf(map[string]string{"HERALD_HTTP_ADDR": freeAddr(t)}), &bytesBuffer{}, &bytesBuffer{})
	require.ErrorContains(t, err, "healthcheck")
}

func TestServeRefusesBusyPort(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	err = run(context.Background(), []string{"herald"}, envOf(map[string]string{"HERALD_HTTP_ADDR": l.Addr().String()}), &bytesBuffer{}, &bytesBuffer{})
	require.ErrorContains(t, err, "HERALD_HTTP_ADDR")
}

func TestEmulatorCommand(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	out := &bytesBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"herald", "emulator", "--addr", "127.0.0.1:0", "--bot-token", "123456:AAEmulatedTokenAbcdefghijklmnopqrst"}, envOf(nil), out, out)
	}()
	var url string
	deadline := time.After(patient(10 * time.Second))
	for url == "" {
		if _, rest, ok := strings.Cut(out.String(), "listening on "); ok {
			url, _, _ = strings.Cut(rest, "\n")
			break
		}
		select {
		case err := <-done:
			t.Fatalf("emulator stopped: %v; output: %s", err, out.String())
		case <-deadline:
			t.Fatalf("emulator did not start; output: %s", out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	resp, err := http.Get(url + "/bot123456:AAEmulatedTokenAbcdefghijklmnopqrst/getMe")
	require.NoError(t, err)
	var body struct {
		OK     bool `json:"ok"`
		Result struct {
			IsBot bool `json:"is_bot"`
		} `json:"result"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	resp.Body.Close()
	require.True(t, body.OK && body.Result.IsBot)
	cancel()
	require.NoError(t, <-done)
}

// heraldMigrationCount is how many Herald migrations a fresh database gets, so tests do
// not need editing whenever a migration is added.
func heraldMigrationCount(t *testing.T) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("migrations", "*.sql"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	return len(files)
}

func TestServeRefusesMissingKeyOnceChannelsExist(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewDB(t)
	conn, err := pgx.Connect(context.Background(), dbURL)
	require.NoError(t, err)
	_, err = conn.Exec(context.Background(), `INSERT INTO channels (bot_user_id, username, name, token_ciphertext, created_by)
		VALUES (77, 'news_bot', 'News', '\x01', 1)`)
	require.NoError(t, err)
	require.NoError(t, conn.Close(context.Background()))

	err = run(context.Background(), []string{"herald"}, envOf(map[string]string{
		"DATABASE_URL": dbURL, "HERALD_HTTP_ADDR": "127.0.0.1:0",
	}), &bytesBuffer{}, &bytesBuffer{})
	var ce *configError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "HERALD_SECRET_KEY", ce.Var)
	require.Contains(t, err.Error(), "1 channel bot")
}

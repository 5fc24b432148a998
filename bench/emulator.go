package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// emulator is a `herald emulator` child process and a client of its HTTP API.
type emulator struct {
	cmd       *exec.Cmd
	url       string
	tokens    []string
	firstUser int64
	lastUser  int64
	drained   chan struct{} // stdout copied to the end
	http      *http.Client
}

// emulatorSpec says what the emulator child starts with.
type emulatorSpec struct {
	bots        int           // channel bots (generated tokens, ids distinct per run)
	mgmt        bool          // one more bot first: the management bot
	users       int           // users who started every bot
	latency     time.Duration // added to every Bot API request
	rate        int           // per-bot window limit; negative: none, also for paid broadcasts
	noChatLimit bool
}

// runSeq makes bot ids distinct between the emulators of one scenario, since the
// channels table keeps a registered bot's id unique.
var runSeq int64

func startEmulator(ctx context.Context, exe string, env []string, spec emulatorSpec) (*emulator, error) {
	runSeq++
	paid := 1000 // Telegram's allow_paid_broadcast limit
	if spec.rate < 0 {
		paid = -1
	}
	args := []string{"emulator", "--addr", "127.0.0.1:0", "--rate", fmt.Sprint(spec.rate), "--paid-rate", fmt.Sprint(paid),
		"--users", fmt.Sprint(spec.users), "--latency", spec.latency.String()}
	if spec.noChatLimit {
		args = append(args, "--no-chat-limit")
	}
	n := spec.bots
	if spec.mgmt {
		n++
	}
	for i := range n {
		args = append(args, "--bot-token", fmt.Sprintf("%d:%s", 8_000_000_000+runSeq*100+int64(i), randomToken()))
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = env
	// The emulator must not outlive us, even if we are killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start emulator: %w", err)
	}
	e := &emulator{cmd: cmd, drained: make(chan struct{}), http: &http.Client{Timeout: time.Minute}}
	ready := make(chan error, 1)
	go func() { // owned: close waits on drained
		defer close(e.drained)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "Telegram Bot API emulator listening on "):
				e.url = strings.TrimPrefix(line, "Telegram Bot API emulator listening on ")
			case strings.HasPrefix(line, "bot @"):
				if i := strings.LastIndex(line, " token "); i > 0 {
					e.tokens = append(e.tokens, line[i+len(" token "):])
				}
			case strings.HasPrefix(line, "users "):
				_, _ = fmt.Sscanf(line, "users %d..%d", &e.firstUser, &e.lastUser)
			case strings.HasPrefix(line, "user-side API"):
				ready <- nil
			}
		}
		ready <- errors.New("emulator exited before it was ready")
		_, _ = io.Copy(io.Discard, out)
	}()
	t := time.NewTimer(2 * time.Minute)
	defer t.Stop()
	select {
	case err = <-ready:
	case <-t.C:
		err = errors.New("emulator did not start within 2 minutes")
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		e.close()
		return nil, fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return e, nil
}

// close stops the emulator (SIGTERM, then SIGKILL after 5 s) and waits for it.
func (e *emulator) close() {
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { // owned: we wait on done below
		<-e.drained
		_ = e.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = e.cmd.Process.Kill()
		<-done
	}
}

func randomToken() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 35)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// botStats is the emulator's truth about one bot.
type botStats struct {
	Sent            int64 `json:"sent"`
	TooManyRequests int64 `json:"too_many_requests"`
	MaxPerSecond    int   `json:"max_per_second"`
	Chats           int   `json:"chats"`
	Duplicates      int   `json:"duplicates"`
	FirstSentNS     int64 `json:"first_sent_ns"`
	LastSentNS      int64 `json:"last_sent_ns"`
	MaxGapNS        int64 `json:"max_gap_ns"`
}

func (e *emulator) stats(ctx context.Context, token string) (botStats, error) {
	var st botStats
	err := e.call(ctx, http.MethodGet, "/emu/bots/"+token+"/stats?brief=1", nil, &st)
	return st, err
}

// call does one request of the emulator's user-side API and decodes its result.
func (e *emulator) call(ctx context.Context, method, path string, body, result any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.url+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.http.Do(req)
	if err != nil {
		return fmt.Errorf("emulator %s: %w", strings.SplitN(path, "?", 2)[0], err)
	}
	defer resp.Body.Close()
	var env struct {
		OK          bool            `json:"ok"`
		Description string          `json:"description"`
		Result      json.RawMessage `json:"result"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return fmt.Errorf("emulator answer: %w", err)
	}
	if !env.OK {
		return fmt.Errorf("emulator: %s", env.Description)
	}
	if result == nil {
		return nil
	}
	return json.Unmarshal(env.Result, result)
}

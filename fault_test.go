package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"herald/migrations"
	"herald/pgcluster"
	"herald/pgtest"
	"herald/queue"
	"herald/secrets"
	"herald/store"
	"herald/tgemu"
	"herald/tgemu/emutest"
)

// The fault tests run the built herald binary against a real PostgreSQL and the
// emulator, break something mid-campaign (the process, the database, Telegram) and
// check the delivery invariants afterwards: nobody got a message twice, every
// recipient without a message is reported failed, blocked or uncertain, and the
// uncertain ones stay within the in-flight bound. Each also searches everything Herald
// wrote (logs, health bodies, every database column) for the tokens and the key.

// faultBundle is one campaign's world: database, emulator, bots, users and key.
type faultBundle struct {
	dbURL   string
	pool    *pgxpool.Pool
	emu     *tgemu.Server
	apiURL  string // the Bot API URL Herald is given (the emulator or a proxy to it)
	mgmt    *tgemu.Bot
	channel *tgemu.Bot
	owner   *tgemu.User
	users   []*tgemu.User
	keyText string // HERALD_SECRET_KEY as configured
	key     []byte

	channelID, campaignID int64
}

type faultOpts struct {
	dbURL      string // "" : a fresh pgtest database
	rate       int    // the channel bot's messages per second
	recipients int
}

func setupFault(t *testing.T, o faultOpts) *faultBundle {
	t.Helper()
	ctx := context.Background()
	if o.dbURL == "" {
		o.dbURL = pgtest.NewDB(t)
	}
	pool, err := pgxpool.New(ctx, o.dbURL)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	b := &faultBundle{dbURL: o.dbURL, pool: pool, emu: emutest.Start(t, tgemu.Config{})}
	b.apiURL = b.emu.URL()
	b.key = make([]byte, secrets.KeySize)
	_, _ = rand.Read(b.key)
	b.keyText = base64.StdEncoding.EncodeToString(b.key)
	box, err := secrets.NewBox(b.key)
	require.NoError(t, err)

	b.mgmt = b.emu.CreateBot("herald_fault_admin_bot")
	b.owner = b.emu.CreateUser(tgemu.UserSpec{FirstName: "Owner", LanguageCode: "en"})
	b.emu.SetStarted(b.mgmt.Token, b.owner)
	b.channel = b.emu.CreateBot("herald_fault_channel_bot")
	b.users = b.emu.CreateUsers(o.recipients, tgemu.UserSpec{})
	b.emu.SetStarted(b.channel.Token, b.users...)

	_, err = pool.Exec(ctx, `INSERT INTO admins (user_id, role, language) VALUES ($1, 'owner', 'en')`, b.owner.ID)
	require.NoError(t, err)
	require.NoError(t, pool.QueryRow(ctx, `
		INSERT INTO channels (bot_user_id, username, name, token_ciphertext, rate_per_second, paid_broadcast, created_by)
		VALUES ($1, $2, $2, $3, $4, $5, $6) RETURNING id`,
		b.channel.ID, b.channel.Username, box.Seal([]byte(b.channel.Token)), o.rate, o.rate > 30, b.owner.ID).Scan(&b.channelID))
	var tpl, batch int64
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO templates (name, body, created_by) VALUES ('fault', 'Hello, {{first_name}}!', $1) RETURNING id`,
		b.owner.ID).Scan(&tpl))
	chatIDs := make([]int64, len(b.users))
	for i, u := range b.users {
		chatIDs[i] = u.ID
	}
	require.NoError(t, pool.QueryRow(ctx, `
		INSERT INTO batches (name, status, columns, recipient_count, created_by)
		VALUES ('fault', 'ready', '{first_name}', $1, $2) RETURNING id`, len(chatIDs), b.owner.ID).Scan(&batch))
	_, err = pool.Exec(ctx, `
		INSERT INTO recipients (batch_id, chat_id, vars)
		SELECT $1, c, jsonb_build_object('first_name', 'User ' || c) FROM unnest($2::bigint[]) AS c`, batch, chatIDs)
	require.NoError(t, err)

	// The campaign is created and its start enqueued like the wizard does, with an
	// insert-only River client; the herald process started next runs it.
	inserter, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	require.NoError(t, err)
	require.NoError(t, store.New(pool).InTx(ctx, func(tx *store.Store) error {
		var err error
		b.campaignID, err = queue.NewStarter(inserter).CreateCampaign(ctx, tx, store.NewCampaign{
			TemplateID: tpl, BatchID: batch, ChannelID: b.channelID, ControlChatID: b.owner.ID, CreatedBy: b.owner.ID,
		})
		return err
	}))
	return b
}

// env is the environment of a herald process in this bundle.
func (b *faultBundle) env(extra ...string) []string {
	return append([]string{
		"DATABASE_URL=" + b.dbURL,
		"HERALD_TELEGRAM_API_URL=" + b.apiURL,
		"HERALD_BOT_TOKEN=" + b.mgmt.Token,
		"HERALD_OWNER_IDS=" + strconv.FormatInt(b.owner.ID, 10),
		"HERALD_SECRET_KEY=" + b.keyText,
		"HERALD_HTTP_ADDR=127.0.0.1:0",
		"HERALD_SHUTDOWN_TIMEOUT=6s",
		"LOG_LEVEL=debug", // the secrets check reads the most verbose logs
	}, extra...)
}

func (b *faultBundle) counts(t *testing.T) store.DeliveryCounts {
	t.Helper()
	c, err := store.New(b.pool).DeliveryCounts(context.Background(), b.campaignID)
	require.NoError(t, err)
	return c
}

// waitSent waits until the channel bot has sent at least n messages.
func (b *faultBundle) waitSent(t *testing.T, n int64, within time.Duration) {
	t.Helper()
	within = patient(within)
	deadline := time.Now().Add(within)
	for b.emu.Stats(b.channel.Token).Sent < n {
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d sent within %s (sent %d, deliveries %+v)", n, within, b.emu.Stats(b.channel.Token).Sent, b.counts(t))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitCompleted waits until the campaign is completed with no open delivery.
func (b *faultBundle) waitCompleted(t *testing.T, within time.Duration) {
	t.Helper()
	within = patient(within)
	deadline := time.Now().Add(within)
	for {
		c, err := store.New(b.pool).CampaignGet(context.Background(), b.campaignID)
		require.NoError(t, err)
		if c.Status == store.CampaignCompleted {
			require.Zero(t, b.counts(t).Open())
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("campaign is %s after %s; deliveries %+v", c.Status, within, b.counts(t))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkDeliveries proves the delivery invariants: no duplicates, every sent delivery
// reached its recipient once, every recipient without a message is failed, blocked or
// uncertain, and uncertain ones are within the in-flight bound.
func (b *faultBundle) checkDeliveries(t *testing.T) store.DeliveryCounts {
	t.Helper()
	st := b.emu.Stats(b.channel.Token)
	require.Empty(t, st.Duplicates(), "recipients who got the message twice")
	rows, err := b.pool.Query(context.Background(), `SELECT chat_id, status FROM deliveries WHERE campaign_id = $1`, b.campaignID)
	require.NoError(t, err)
	statuses := map[int64]string{}
	var chat int64
	var status string
	_, err = pgx.ForEachRow(rows, []any{&chat, &status}, func() error { statuses[chat] = status; return nil })
	require.NoError(t, err)
	require.Len(t, statuses, len(b.users))
	for _, u := range b.users {
		got := st.PerChat[u.ID]
		switch s := statuses[u.ID]; s {
		case store.DeliverySent:
			require.Equal(t, 1, got, "chat %d is sent", u.ID)
		case store.DeliveryUncertain:
			require.LessOrEqual(t, got, 1)
		case store.DeliveryFailed, store.DeliveryBlocked:
			require.Zero(t, got, "chat %d is %s but got the message", u.ID, s)
		default:
			t.Fatalf("chat %d left %q", u.ID, s)
		}
	}
	c := b.counts(t)
	require.LessOrEqual(t, c.Uncertain, int64(queue.DefaultMaxInFlight))
	require.Zero(t, st.TooManyRequests, "Herald went faster than the emulator allows")
	return c
}

// checkSecrets searches every row of every table (all columns, bytea as hex) and each
// text given for the tokens and the key.
func (b *faultBundle) checkSecrets(t *testing.T, texts map[string]string) {
	t.Helper()
	secretsByName := map[string]string{
		"management token": b.mgmt.Token, "channel token": b.channel.Token,
		"secret key": b.keyText, "secret key (hex)": hex.EncodeToString(b.key),
		"secret key (url base64)": base64.RawURLEncoding.EncodeToString(b.key),
	}
	for what, text := range texts {
		for name, secret := range secretsByName {
			require.NotContains(t, text, secret, "%s appears in %s", name, what)
		}
	}
	ctx := context.Background()
	rows, err := b.pool.Query(ctx, `SELECT table_schema, table_name FROM information_schema.tables
		WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`)
	require.NoError(t, err)
	tables, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pgx.Identifier, error) {
		var s, n string
		err := r.Scan(&s, &n)
		return pgx.Identifier{s, n}, err
	})
	require.NoError(t, err)
	require.Greater(t, len(tables), 10)
	for _, table := range tables {
		for name, secret := range secretsByName {
			// A row cast to text shows every column; bytea appears as \x<hex>.
			var n int
			require.NoError(t, b.pool.QueryRow(ctx, fmt.Sprintf(
				`SELECT count(*) FROM %s AS r WHERE strpos(r::text, $1) > 0 OR strpos(r::text, $2) > 0`, table.Sanitize()),
				secret, hex.EncodeToString([]byte(secret))).Scan(&n))
			require.Zero(t, n, "%s in plaintext in table %s", name, table.Sanitize())
		}
	}
}

// healthBodies fetches /healthz and /readyz for the secrets check.
func healthBodies(t *testing.T, addr string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get("http://" + addr + path)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		out[path] = string(body)
	}
	return out
}

// TestFaultKill9MidCampaign: kill -9 of the only Herald process with deliveries in
// flight, then a restart: the campaign completes, duplicates = 0, recipients without a
// message are exactly the failed, blocked and uncertain ones, uncertain ≤ the bound.
func TestFaultKill9MidCampaign(t *testing.T) {
	t.Parallel()
	b := setupFault(t, faultOpts{rate: 200, recipients: 2500})
	first := startHerald(t, b.env()...)
	b.waitSent(t, 500, 60*time.Second)
	// Requests hang from now on, so the process dies with deliveries in flight.
	b.emu.SetFaults(b.channel.Token, tgemu.Faults{StallRate: 1})
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, first.cmd.Process.Kill())
	<-first.done
	killed := time.Now()
	// Counted after the death, so nothing can change it any more: exactly the
	// deliveries whose outcome the dead process took with it.
	inflight := b.counts(t).Inflight
	require.LessOrEqual(t, inflight, int64(queue.DefaultMaxInFlight), "in flight beyond the engine's default bound (MaxInFlight), which the binary runs with")
	b.emu.SetFaults(b.channel.Token, tgemu.Faults{})

	sentAtKill := b.emu.Stats(b.channel.Token).Sent
	second := startHerald(t, b.env()...)
	addr := listeningAddr(t, second.output, 10*time.Second)
	b.waitSent(t, sentAtKill+1, 90*time.Second)
	t.Logf("kill -9 with %d in flight: sending resumed %s after the kill", inflight, time.Since(killed).Round(100*time.Millisecond))
	b.waitCompleted(t, 90*time.Second)
	t.Logf("campaign completed %s after the kill (in-flight deliveries wait out their 30 s lease)", time.Since(killed).Round(100*time.Millisecond))
	c := b.checkDeliveries(t)
	require.Positive(t, c.Uncertain, "deliveries in flight at the kill are reported uncertain")
	require.LessOrEqual(t, c.Uncertain, inflight)
	t.Logf("counts %+v", c)
	texts := healthBodies(t, addr)
	second.stop(t, 15*time.Second)
	texts["first process log"], texts["second process log"] = first.output.String(), second.output.String()
	b.checkSecrets(t, texts)
}

// TestFaultSIGTERMMidCampaign: SIGTERM mid-campaign stops Herald gracefully within
// HERALD_SHUTDOWN_TIMEOUT with no delivery left in flight; a restart completes the
// campaign without duplicates and without uncertain deliveries.
func TestFaultSIGTERMMidCampaign(t *testing.T) {
	t.Parallel()
	b := setupFault(t, faultOpts{rate: 100, recipients: 1500})
	const timeout = 6 * time.Second // HERALD_SHUTDOWN_TIMEOUT in env()
	first := startHerald(t, b.env()...)
	b.waitSent(t, 300, 60*time.Second)
	signalled := time.Now()
	first.stop(t, timeout+2*time.Second)
	took := time.Since(signalled)
	t.Logf("SIGTERM mid-campaign: exited 0 after %s (timeout %s)", took.Round(10*time.Millisecond), timeout)
	require.Less(t, took, timeout+time.Second)
	c := b.counts(t)
	require.Zero(t, c.Inflight, "a graceful stop leaves nothing in flight: %+v", c)
	require.Positive(t, c.Pending, "the campaign was stopped mid-way")
	require.Zero(t, c.Uncertain, "a graceful stop waits for the answers of what it sent")
	require.Equal(t, b.emu.Stats(b.channel.Token).Sent, c.Sent, "every accepted send is recorded as sent")
	require.NotContains(t, first.output.String(), "did not stop softly",
		"lanes end their slice when shutdown begins, so River's soft stop needs no cancellation")

	second := startHerald(t, b.env()...)
	b.waitCompleted(t, 60*time.Second)
	c = b.checkDeliveries(t)
	require.Equal(t, store.DeliveryCounts{Sent: int64(len(b.users))}, c)
	second.stop(t, 15*time.Second)
	b.checkSecrets(t, map[string]string{"first process log": first.output.String(), "second process log": second.output.String()})
}

// TestFaultEmulatorOutage: Telegram is unreachable for 10 s mid-campaign (connections
// refused, open ones cut). Requests that never left are retried; requests cut after
// they were written are uncertain, never resent; the campaign completes.
func TestFaultEmulatorOutage(t *testing.T) {
	t.Parallel()
	b := setupFault(t, faultOpts{rate: 100, recipients: 2000})
	proxy := startOutageProxy(t, strings.TrimPrefix(b.emu.URL(), "http://"))
	b.apiURL = "http://" + proxy.addr
	p := startHerald(t, b.env()...)
	addr := listeningAddr(t, p.output, 10*time.Second)
	b.waitSent(t, 300, 60*time.Second)

	proxy.down()
	downAt := time.Now()
	sentAtDown := b.emu.Stats(b.channel.Token).Sent
	time.Sleep(10 * time.Second) // the outage itself: nothing to poll for
	require.LessOrEqual(t, b.emu.Stats(b.channel.Token).Sent, sentAtDown+queue.DefaultMaxInFlight, "nothing got through the outage")
	require.NoError(t, proxy.up())
	t.Logf("outage of %s", time.Since(downAt).Round(10*time.Millisecond))

	b.waitCompleted(t, 60*time.Second)
	t.Logf("campaign completed %s after the outage ended", time.Since(downAt.Add(10*time.Second)).Round(100*time.Millisecond))
	c := b.checkDeliveries(t)
	require.Zero(t, c.Failed, "5 attempts with backoff outlast a 10 s outage")
	// Only requests under way when the connections were cut can be uncertain, and a
	// lane has at most Concurrency (the binary runs with the default) of those.
	require.LessOrEqual(t, c.Uncertain, int64(queue.DefaultConcurrency))
	var retried int
	require.NoError(t, b.pool.QueryRow(context.Background(),
		`SELECT count(*) FROM deliveries WHERE campaign_id = $1 AND status = 'sent' AND attempts > 1`, b.campaignID).Scan(&retried))
	require.Positive(t, retried, "sends refused during the outage are retried")
	t.Logf("counts %+v; sent after a retry: %d", c, retried)
	texts := healthBodies(t, addr)
	p.stop(t, 15*time.Second)
	texts["process log"] = p.output.String()
	b.checkSecrets(t, texts)
}

// TestFaultPostgresRestart: PostgreSQL restarts (fast shutdown, 3 s down, start on the
// same data) mid-campaign. /readyz reports the database down and then ready again
// without restarting Herald, and the campaign completes without duplicates and without
// uncertain deliveries.
func TestFaultPostgresRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := reachableDir(t)
	cluster, err := pgcluster.Start(ctx, pgcluster.Options{DataDir: dir, Database: "herald", Ephemeral: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cluster.Stop(context.Background()) })
	var restarted *pgcluster.Cluster
	t.Cleanup(func() {
		if restarted != nil {
			_ = restarted.Stop(context.Background())
		}
	})
	url := cluster.ConnString("")
	pool, err := pgxpool.New(ctx, url)
	require.NoError(t, err)
	_, err = migrations.Up(ctx, pool, riverLogger(zerolog.Nop()))
	require.NoError(t, err)
	pool.Close()

	b := setupFault(t, faultOpts{dbURL: url, rate: 100, recipients: 1500})
	p := startHerald(t, b.env()...)
	addr := listeningAddr(t, p.output, 10*time.Second)
	waitReady(t, addr, http.StatusOK, 30*time.Second)
	b.waitSent(t, 300, 60*time.Second)

	stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	require.NoError(t, cluster.Stop(stopCtx)) // pg_ctl stop -m fast
	cancel()
	downAt := time.Now()
	body := waitReady(t, addr, http.StatusServiceUnavailable, 10*time.Second)
	require.Equal(t, "down", body.Components["database"]["state"])
	t.Logf("/readyz reported the database down %s after the stop", time.Since(downAt).Round(10*time.Millisecond))
	time.Sleep(3 * time.Second) // the outage itself: lanes, reporter and intake all hit it
	restarted, err = pgcluster.Start(ctx, pgcluster.Options{DataDir: dir, Database: "herald", Ephemeral: true})
	require.NoError(t, err)
	upAt := time.Now()
	waitReady(t, addr, http.StatusOK, 30*time.Second)
	t.Logf("/readyz ready again %s after PostgreSQL was back (down %s in all)",
		time.Since(upAt).Round(10*time.Millisecond), time.Since(downAt).Round(10*time.Millisecond))

	b.waitCompleted(t, 90*time.Second)
	t.Logf("campaign completed %s after PostgreSQL was back", time.Since(upAt).Round(100*time.Millisecond))
	c := b.checkDeliveries(t)
	t.Logf("counts %+v", c)
	// Outcomes Telegram confirmed during the outage are written once the database is
	// back, not left to become uncertain.
	require.Zero(t, c.Uncertain)
	texts := healthBodies(t, addr)
	p.stop(t, 15*time.Second)
	texts["process log"] = p.output.String()
	b.checkSecrets(t, texts)
}

// outageProxy forwards TCP to the emulator and can refuse every connection for a
// while, the way an unreachable Telegram looks to a client: down() closes the listener
// (new connections are refused) and cuts the open ones; up() listens again on the same
// address.
type outageProxy struct {
	target, addr string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func startOutageProxy(t *testing.T, target string) *outageProxy {
	t.Helper()
	p := &outageProxy{target: target, conns: map[net.Conn]struct{}{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(func() {
		p.down()
		p.wg.Wait()
	})
	return p
}

func (p *outageProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() { // owned by the proxy: down() closes ln, cleanup waits on wg
		defer p.wg.Done()
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", p.target)
			if err != nil {
				client.Close()
				continue
			}
			p.track(ln, client, server)
		}
	}()
}

// track pipes client and server, unless the listener that accepted client was closed
// meanwhile: a connection accepted just before down() and dialled after it would
// otherwise outlive the outage and carry sends through it.
func (p *outageProxy) track(ln net.Listener, client, server net.Conn) {
	p.mu.Lock()
	if p.ln != ln {
		p.mu.Unlock()
		client.Close()
		server.Close()
		return
	}
	p.conns[client], p.conns[server] = struct{}{}, struct{}{}
	p.mu.Unlock()
	pipe := func(dst, src net.Conn) {
		defer p.wg.Done()
		_, _ = io.Copy(dst, src)
		dst.Close()
		src.Close()
		p.mu.Lock()
		delete(p.conns, dst)
		delete(p.conns, src)
		p.mu.Unlock()
	}
	p.wg.Add(2)
	go pipe(client, server) // owned by the proxy (wg)
	go pipe(server, client) // owned by the proxy (wg)
}

func (p *outageProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
}

func (p *outageProxy) up() error {
	var ln net.Listener
	var err error
	for range 50 { // the port was just released; rebinding it is normally immediate
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("proxy cannot listen on %s again: %w", p.addr, err)
	}
	p.serve(ln)
	return nil
}

package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"herald/pgtest"
	"herald/secrets"
	"herald/store"
	"herald/tgemu"
	"herald/tgemu/emutest"
)

// polledBots reads a Herald process's log: the managed bots it polls now, by channel
// id ("managed bot: polling" and "managed bot: stopped polling").
func polledBots(out string) map[int64]bool {
	polled := map[int64]bool{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		var line struct {
			Message   string `json:"message"`
			ChannelID int64  `json:"channel_id"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		switch line.Message {
		case "managed bot: polling":
			polled[line.ChannelID] = true
		case "managed bot: stopped polling":
			delete(polled, line.ChannelID)
		}
	}
	return polled
}

func sortedIDs(set map[int64]bool) []int64 {
	ids := make([]int64, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// TestTwoProcessesOnePollerEach: two Herald processes (the built binary) on one
// database share four managed bots, each polled by exactly one of them (the
// emulator's 409 counter stays 0). Then the process that polls bots is killed with
// SIGKILL while users keep sending /start: the other takes its bots within seconds
// and every /start is recorded, once.
func TestTwoProcessesOnePollerEach(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	emu := emutest.Start(t, tgemu.Config{PerChatDisabled: true})
	key := make([]byte, secrets.KeySize)
	_, _ = rand.Read(key)
	box, err := secrets.NewBox(key)
	require.NoError(t, err)
	dbURL := pgtest.NewDB(t)
	pool, err := pgxpool.New(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	st := store.New(pool)

	var bots []*tgemu.Bot
	all := map[int64]bool{}
	for _, name := range []string{"north_bot", "south_bot", "east_bot", "west_bot"} {
		b := emu.CreateBot(name)
		c, err := st.ChannelCreate(ctx, box, store.ChannelCreateParams{BotUserID: b.ID, Username: name, Name: name,
			Token: b.Token, CreatedBy: 1, Mode: store.ChannelManaged})
		require.NoError(t, err)
		bots = append(bots, b)
		all[c.ID] = true
	}
	env := []string{"DATABASE_URL=" + dbURL, "HERALD_TELEGRAM_API_URL=" + emu.URL(), "HERALD_SANDBOX=off",
		"HERALD_SECRET_KEY=" + base64.StdEncoding.EncodeToString(key), "HERALD_HTTP_ADDR=127.0.0.1:0"}
	procs := []*process{startHerald(t, env...), startHerald(t, env...)}
	for _, p := range procs {
		waitReady(t, listeningAddr(t, p.output, 10*time.Second), http.StatusOK, 30*time.Second)
	}

	// Every bot is polled, each by one process.
	polled := func() [2]map[int64]bool {
		return [2]map[int64]bool{polledBots(procs[0].output.String()), polledBots(procs[1].output.String())}
	}
	deadline := time.Now().Add(patient(15 * time.Second))
	for p := polled(); len(p[0])+len(p[1]) < len(all); p = polled() {
		if time.Now().After(deadline) {
			t.Fatalf("not every bot polled: %v and %v of %v", sortedIDs(p[0]), sortedIDs(p[1]), sortedIDs(all))
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // past a rescan: a second poller of a bot would have collided by now
	p := polled()
	union := map[int64]bool{}
	for id := range p[0] {
		require.False(t, p[1][id], "bot %d polled by both processes", id)
		union[id] = true
	}
	for id := range p[1] {
		union[id] = true
	}
	require.Equal(t, sortedIDs(all), sortedIDs(union))
	t.Logf("process 1 polls %v, process 2 polls %v", sortedIDs(p[0]), sortedIDs(p[1]))
	for i, b := range bots {
		require.Zero(t, emu.Conflicts(b.Token), "bot %d: 409, two pollers", i)
	}

	// Users keep starting the bots, before, during and after the kill.
	const starts = 600
	users := emu.CreateUsers(starts, tgemu.UserSpec{LanguageCode: "en"})
	var starters sync.WaitGroup
	var begun atomic.Int64 // users who began their /start
	startErrs := make(chan error, starts)
	starters.Go(func() { // owned here: bounded by starts, waited for below
		for i, u := range users {
			begun.Add(1)
			if _, err := u.Start(bots[i%len(bots)].Token); err != nil {
				startErrs <- err
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	time.Sleep(1500 * time.Millisecond)
	victim, survivor := procs[0], procs[1]
	if len(p[1]) > len(p[0]) {
		victim, survivor = procs[1], procs[0]
	}
	require.NoError(t, victim.cmd.Process.Kill())
	<-victim.done
	killedAt := time.Now()
	deadline = time.Now().Add(patient(15 * time.Second))
	for len(polledBots(survivor.output.String())) < len(all) {
		if time.Now().After(deadline) {
			t.Fatalf("the survivor polls %v of %v", sortedIDs(polledBots(survivor.output.String())), sortedIDs(all))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("the survivor polled every bot %s after the kill", time.Since(killedAt).Round(100*time.Millisecond))
	takenOver := int(begun.Load())
	require.Less(t, takenOver, starts, "users were still starting after the takeover")
	starters.Wait()
	close(startErrs)
	for err := range startErrs {
		require.NoError(t, err)
	}

	// Every /start is recorded once; each user was welcomed.
	want := map[[2]int64]bool{}
	byBot := map[int64]int64{} // emulated bot id → channel id
	rows, err := pool.Query(ctx, `SELECT id, bot_user_id FROM channels`)
	require.NoError(t, err)
	var channelID, botID int64
	_, err = pgx.ForEachRow(rows, []any{&channelID, &botID}, func() error { byBot[botID] = channelID; return nil })
	require.NoError(t, err)
	for i, u := range users {
		want[[2]int64{byBot[bots[i%len(bots)].ID], u.ID}] = true
	}
	recorded := func() map[[2]int64]bool {
		rows, err := pool.Query(ctx, `SELECT channel_id, chat_id FROM subscribers`)
		require.NoError(t, err)
		got := map[[2]int64]bool{}
		var ch, chat int64
		_, err = pgx.ForEachRow(rows, []any{&ch, &chat}, func() error { got[[2]int64{ch, chat}] = true; return nil })
		require.NoError(t, err)
		return got
	}
	deadline = time.Now().Add(patient(20 * time.Second))
	for got := recorded(); len(got) < len(want); got = recorded() {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d starts recorded", len(got), len(want))
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.Equal(t, want, recorded(), "every /start recorded, nothing else")
	// Welcomes are best effort: a reply the victim had queued for an update it had
	// recorded and confirmed dies with it, and an update it recorded but had not
	// confirmed is taken again by the survivor (its subscriber is written once, an
	// upsert, its welcome twice). Every user who started after the takeover is welcomed.
	welcomes := func(i int) int {
		n := 0
		for _, e := range emu.Transcript(bots[i%len(bots)].Token, users[i].ID) {
			if e.FromBot {
				n++
			}
		}
		return n
	}
	deadline = time.Now().Add(patient(10 * time.Second))
	for i := takenOver; i < starts; i++ {
		for welcomes(i) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("user %d started after the takeover and was not welcomed", users[i].ID)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	var lost, twice int
	for i := range starts {
		switch welcomes(i) {
		case 0:
			lost++
		case 1:
		default:
			twice++
		}
	}
	t.Logf("of %d users, %d started before the takeover; welcomes lost with the victim %d, sent twice %d", starts, takenOver, lost, twice)
	for i, b := range bots {
		require.Zero(t, emu.Conflicts(b.Token), "bot %d: 409, two pollers", i)
		require.Zero(t, emu.PendingUpdates(b.Token), "bot %d", i)
	}
	survivor.stop(t, 15*time.Second)
}

package channelbot_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"herald/tgemu"
)

// BenchmarkStarts measures how many /start updates one process records per second
// across its managed bots: b.N users each start one of the bots (a my_chat_member and
// a "/start <payload>" message each, as Telegram sends them), through the emulator and
// the real telego client, into Postgres; the clock stops when every subscriber is in
// the table. Replies go out meanwhile at each bot's rate (30/s); the emulator's flood
// control checks that they never exceed it.
//
// In webhook mode the emulator posts each bot's updates one at a time, in order, as
// Telegram does with max_connections 1.
//
//	go test -run XXX -bench Starts -benchtime 20000x ./channelbot/
func BenchmarkStarts(b *testing.B) {
	for _, mode := range []string{"polling", "webhook"} {
		for _, bots := range []int{1, 4} {
			b.Run(fmt.Sprintf("%s/bots=%d", mode, bots), func(b *testing.B) { benchmarkStarts(b, bots, mode == "webhook") })
		}
	}
}

func benchmarkStarts(b *testing.B, bots int, webhook bool) {
	tb := setup(b, tgemu.Config{PerChatDisabled: true})
	tb.webhook = webhook
	tokens := make([]string, bots)
	for i := range tokens {
		_, eb := tb.managedBot(b, fmt.Sprintf("bench%d_bot", i))
		tokens[i] = eb.Token
	}
	in := tb.startIntake(b, nil)
	eventually(b, "every bot polled", func() bool { return len(in.Polling()) == bots })
	users := tb.srv.CreateUsers(b.N, tgemu.UserSpec{FirstName: "Bench", LanguageCode: "en"})

	b.ResetTimer()
	started := time.Now()
	go func() {
		for i, u := range users {
			_, _ = u.StartWithPayload(tokens[i%bots], "bench")
		}
	}()
	deadline := time.Now().Add(time.Duration(b.N)*time.Millisecond + patience())
	for tb.count(b, `SELECT count(*) FROM subscribers`) < b.N {
		if time.Now().After(deadline) {
			b.Fatalf("recorded %d of %d starts", tb.count(b, `SELECT count(*) FROM subscribers`), b.N)
		}
		time.Sleep(50 * time.Millisecond)
	}
	took := time.Since(started)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/took.Seconds(), "starts/s")
	b.ReportMetric(float64(2*b.N)/took.Seconds(), "updates/s")
	sent, dropped := in.ReplyStats()
	b.ReportMetric(float64(sent), "replies_sent")
	b.ReportMetric(float64(dropped), "replies_dropped")
	for _, tok := range tokens {
		st := tb.srv.Stats(tok)
		require.LessOrEqual(b, st.MaxPerSecond, 30, "replies above the bot's rate")
		require.Zero(b, st.TooManyRequests)
	}
}

package tgemu_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mymmrac/telego"

	"herald/tgemu"
	"herald/tgemu/emutest"
)

// BenchmarkSendMessage measures sendMessage through the real telego client
// on loopback, with flood control off, spread over many chats.
func BenchmarkSendMessage(b *testing.B) {
	srv := emutest.Start(b, tgemu.Config{DefaultRate: -1, PerChatDisabled: true})
	bot := srv.CreateBot("bench_bot")
	users := srv.CreateUsers(1000, tgemu.UserSpec{})
	srv.SetStarted(bot.Token, users...)
	tg := client(b, srv, bot.Token)
	ctx := context.Background()
	var n atomic.Int64
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			u := users[n.Add(1)%int64(len(users))]
			_, err := tg.SendMessage(ctx, &telego.SendMessageParams{ChatID: telego.ChatID{ID: u.ID}, Text: "Hello from Herald, campaign #42"})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkLongPollLatency measures how long an update sent while a long poll waits
// takes to reach the poller: from the user's send to getUpdates returning it, through
// the real telego client on loopback (reported as latency-ns/update).
func BenchmarkLongPollLatency(b *testing.B) {
	srv := emutest.Start(b, tgemu.Config{PerChatDisabled: true})
	bot := srv.CreateBot("bench_bot")
	e := &env{srv: srv, bot: bot, tg: client(b, srv, bot.Token), ctx: context.Background()}
	u := srv.CreateUser(tgemu.UserSpec{FirstName: "Ann"})
	if _, err := u.Start(bot.Token); err != nil {
		b.Fatal(err)
	}
	ups, err := e.tg.GetUpdates(e.ctx, &telego.GetUpdatesParams{})
	if err != nil {
		b.Fatal(err)
	}
	offset := ups[len(ups)-1].UpdateID + 1
	var total time.Duration
	for b.Loop() {
		done := waitingPoll(b, e, offset)
		sentAt := time.Now()
		if _, err := u.SendText(bot.Token, "ping"); err != nil {
			b.Fatal(err)
		}
		r := <-done
		if r.err != nil || len(r.ups) != 1 {
			b.Fatalf("poll: %d updates, %v", len(r.ups), r.err)
		}
		total += r.at.Sub(sentAt)
		offset = r.ups[0].UpdateID + 1
	}
	b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "latency-ns/update")
}

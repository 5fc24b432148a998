package tgemu_test

import (
	"context"
	"sync/atomic"
	"testing"

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

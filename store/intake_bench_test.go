package store_test

import (
	"context"
	"testing"
	"time"

	"herald/pgtest"
	"herald/store"
)

// BenchmarkIntakeWrite is one write of 100 starts (a my_chat_member and a /start each)
// of new subscribers: the writer's unit of work for one getUpdates answer.
//
//	go test -run XXX -bench IntakeWrite ./store/
func BenchmarkIntakeWrite(b *testing.B) {
	ctx := context.Background()
	st := store.New(pgtest.NewPool(b))
	c, err := st.ChannelCreate(ctx, newTestBox(b), store.ChannelCreateParams{BotUserID: 1001, Username: "promo_bot",
		Name: "Promo", Token: testToken, CreatedBy: 7, Mode: store.ChannelManaged})
	if err != nil {
		b.Fatal(err)
	}
	chat := int64(0)
	now := time.Now()
	b.ResetTimer()
	for range b.N {
		var batch store.IntakeBatch
		for range 50 {
			chat++
			e := store.SubscriberEvent{ChannelID: c.ID, ChatID: chat, FirstName: "Bench", LanguageCode: "en", Status: store.SubscriberActive, At: now}
			batch.Subscribers = append(batch.Subscribers, e)
			e.Source = "bench"
			batch.Subscribers = append(batch.Subscribers, e)
		}
		if err := st.IntakeWrite(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(50*b.N)/b.Elapsed().Seconds(), "starts/s")
}

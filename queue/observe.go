package queue

import (
	"context"
	"time"

	"herald/store"
)

// Observer is told what the delivery engine does, for metrics (package metrics
// implements it). Its methods run on the send path: they must be cheap and never block.
type Observer interface {
	// SendStarted and SendFinished bracket one Bot API request of a lane.
	SendStarted(channelID int64)
	SendFinished(channelID int64)
	// RateLimited is a 429 answer and the retry_after it carried.
	RateLimited(channelID int64, retryAfter time.Duration)
	// DeliveriesSettled counts n outcomes written to the database: a terminal status
	// (sent, failed, blocked, uncertain) or "retry" (an attempt that will be repeated).
	DeliveriesSettled(channelID int64, outcome string, n int)
	// LeasesExpired counts in-flight deliveries the maintenance sweep made uncertain.
	LeasesExpired(n int64)
}

type nopObserver struct{}

func (c Config) observer() Observer {
	if c.Observer == nil {
		return nopObserver{}
	}
	return c.Observer
}

func (nopObserver) SendStarted(int64)                    {}
func (nopObserver) SendFinished(int64)                   {}
func (nopObserver) RateLimited(int64, time.Duration)     {}
func (nopObserver) DeliveriesSettled(int64, string, int) {}
func (nopObserver) LeasesExpired(int64)                  {}

// send makes the request of t, observed as in flight while it runs.
func (l *lane) send(ctx context.Context, t sendTask, vars map[string]string) (int64, error) {
	l.e.obs.SendStarted(l.ch.ID)
	defer l.e.obs.SendFinished(l.ch.ID)
	return t.msg.send(ctx, l.bot, t.d.ChatID, vars)
}

// observeSettled counts a batch of outcomes just written. A release (pending without
// an attempt: unsent, given back) or a 429 reschedule is not an outcome.
func observeSettled(obs Observer, channelID int64, batch []store.DeliveryOutcome) {
	counts := map[string]int{}
	for _, o := range batch {
		switch {
		case o.Status != store.DeliveryPending:
			counts[o.Status]++
		case o.CountAttempt:
			counts["retry"]++
		}
	}
	for outcome, n := range counts {
		obs.DeliveriesSettled(channelID, outcome, n)
	}
}

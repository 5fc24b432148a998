package queue

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"
)

// The window lets a send start only a second after the answer to the send `size`
// places before it, and waits for that answer when it has not come yet.
func TestSendWindowWaitsForTheAnswerASecondBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := &sendWindow{slots: make([]*sendSlot, 3)}
	var first []*sendSlot
	for range 3 {
		s, err := w.acquire(ctx)
		require.NoError(t, err)
		first = append(first, s)
	}

	got := make(chan time.Time, 1)
	go func() { // owned: the test reads got
		s, err := w.acquire(ctx)
		if err == nil {
			s.finish()
		}
		got <- time.Now()
	}()
	select {
	case <-got:
		t.Fatal("the fourth send started while the first was still unanswered")
	case <-time.After(100 * time.Millisecond):
	}
	first[0].finish()
	answered := first[0].answered
	start := <-got
	require.GreaterOrEqual(t, start.Sub(answered), time.Second, "started before a second had passed since the answer")

	// A cancelled wait gives its slot back finished, so the window never jams.
	first[1].finish()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err := w.acquire(cancelled)
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, 4+1, w.next)
}

func TestUnpacedPacerHasNoWindow(t *testing.T) {
	t.Parallel()
	p := newPacer(rate.Inf, 0)
	slot, err := p.wait(context.Background())
	require.NoError(t, err)
	require.Nil(t, slot)
	slot.finish() // nil-safe
	require.Equal(t, 30, newPacer(30, 1).window.size())
}

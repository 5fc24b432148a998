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
		s, err := w.acquire(ctx, 0)
		require.NoError(t, err)
		first = append(first, s)
	}

	got := make(chan time.Time, 1)
	go func() { // owned: the test reads got
		s, err := w.acquire(ctx, 0)
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
	_, err := w.acquire(cancelled, 0)
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

// An action (edit, delete, pin) on a paid bot looks back only ChannelMaxRate calls:
// with a window of 100 and 30 calls unanswered, the 31st waits for the first answer,
// while a send may still start.
func TestActionLooksBackTheFreeLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := &sendWindow{slots: make([]*sendSlot, 100)}
	var calls []*sendSlot
	for range 30 {
		s, err := w.acquire(ctx, 30)
		require.NoError(t, err)
		calls = append(calls, s)
	}
	send, err := w.acquire(ctx, 0) // a send: 31 of 100, no wait
	require.NoError(t, err)
	send.finish()

	got := make(chan time.Time, 1)
	go func() { // owned: the test reads got
		s, err := w.acquire(ctx, 30)
		if err == nil {
			s.finish()
		}
		got <- time.Now()
	}()
	select {
	case <-got:
		t.Fatal("the action started although the 30 calls before it were unanswered")
	case <-time.After(100 * time.Millisecond):
	}
	calls[1].finish() // 30 places before the 32nd call is the second
	start := <-got
	require.GreaterOrEqual(t, start.Sub(calls[1].answered), time.Second)
}

package backoff_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"herald/backoff"
)

func TestDelayDoublesUpToMax(t *testing.T) {
	p := backoff.Policy{Base: 200 * time.Millisecond, Max: 2 * time.Second}
	want := []time.Duration{200, 400, 800, 1600, 2000, 2000}
	for i, w := range want {
		require.Equal(t, w*time.Millisecond, p.Delay(i), "attempt %d", i)
	}
	require.Equal(t, 200*time.Millisecond, p.Delay(-1))
	require.Equal(t, 30*time.Second, backoff.Delay(1000), "no overflow on a huge attempt")
	require.Equal(t, time.Second, backoff.Delay(0))
}

func TestWaitEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.False(t, backoff.Wait(ctx, time.Hour))
	require.False(t, backoff.Sleep(ctx, 3))
	require.False(t, backoff.Wait(ctx, 0))
	require.True(t, backoff.Wait(context.Background(), 0))
	require.True(t, backoff.Wait(context.Background(), time.Millisecond))
}

// Package backoff is Herald's one retry delay and its one context-aware sleep: every
// loop that waits between attempts (the management bot's getMe/getUpdates/setWebhook,
// the delivery engine's settles and retries, the pacer) uses it, so each waits at most
// as long as its context lives and grows its delay the same way.
//
// A package of its own rather than github.com/cenkalti/backoff: Herald needs a capped
// doubling delay and a sleep that returns when the context ends — a few lines that read
// at the call site (`if !backoff.Sleep(ctx, attempt) { return }`) — not an operation
// runner with its own retry policy types and timers to manage.
package backoff

import (
	"context"
	"time"
)

// Policy is a doubling delay: Base for attempt 0, twice as long for each further
// attempt, at most Max.
type Policy struct {
	Base time.Duration
	Max  time.Duration
}

// Default is the policy of the package-level functions: 1 s, 2 s, 4 s, … up to 30 s.
var Default = Policy{Base: time.Second, Max: 30 * time.Second}

// Delay is the wait before retry number attempt (0 for the first retry).
func (p Policy) Delay(attempt int) time.Duration {
	if attempt < 0 {
		attempt = 0
	}
	d := p.Base
	for range attempt {
		if d >= p.Max/2 {
			return p.Max
		}
		d *= 2
	}
	return min(d, p.Max)
}

// Sleep waits Delay(attempt) or until ctx ends; it reports whether the full delay
// passed (false: give up, the context is done).
func (p Policy) Sleep(ctx context.Context, attempt int) bool {
	return Wait(ctx, p.Delay(attempt))
}

// Delay is Default.Delay.
func Delay(attempt int) time.Duration { return Default.Delay(attempt) }

// Sleep is Default.Sleep.
func Sleep(ctx context.Context, attempt int) bool { return Default.Sleep(ctx, attempt) }

// Wait waits d or until ctx ends and reports whether the full d passed. A d of zero or
// less does not wait (it reports whether ctx is still alive).
func Wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

package bot

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/mymmrac/telego"

	"herald/backoff"
)

// allowedUpdates are the only updates the management bot reads.
var allowedUpdates = []string{"message", "callback_query"}

// pollLockKey is the advisory-lock key of the management bot's poller: only one
// process may call getUpdates for a token (Telegram answers 409 otherwise), so every
// Herald process sharing the database competes for this lock and the others stand by.
func (b *Bot) pollLockKey() int64 { return 0x48455241<<32 ^ b.botID.Load() }

// runPolling competes for the polling lock, polls while holding it, and goes back to
// standing by when the lock's connection is lost.
func (b *Bot) runPolling(ctx context.Context) {
	for {
		lock, ok, err := b.cfg.Store.SessionLockTry(ctx, b.pollLockKey())
		switch {
		case ctx.Err() != nil:
			if lock != nil {
				lock.Release(context.WithoutCancel(ctx))
			}
			return
		case err != nil:
			b.setState(StateDown, "database does not answer the polling lock")
			b.log.Warn().Err(err).Msg("polling lock")
		case !ok:
			if st, _ := b.Status(); st != StateStandby {
				b.log.Info().Msg("another process polls the management bot; standing by")
			}
			b.setState(StateStandby, "another Herald process polls the management bot")
		default:
			b.pollWhileLocked(ctx, lock)
			lock.Release(context.WithoutCancel(ctx))
			if ctx.Err() != nil {
				return
			}
		}
		if !backoff.Wait(ctx, b.cfg.LockRetry) {
			return
		}
	}
}

func (b *Bot) pollWhileLocked(ctx context.Context, lock interface{ Check(context.Context) error }) {
	pollCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	lost := make(chan struct{})
	go func() { // owned here: cancel() ends it and we wait on lost before returning
		defer close(lost)
		for backoff.Wait(pollCtx, b.cfg.LockRetry) {
			checkCtx, cancelCheck := context.WithTimeout(pollCtx, 5*time.Second)
			err := lock.Check(checkCtx)
			cancelCheck()
			if err != nil && pollCtx.Err() == nil {
				b.log.Warn().Err(err).Msg("lost the polling lock; standing by")
				cancel()
				return
			}
		}
	}()
	defer func() { cancel(); <-lost }()

	// A webhook left over from an earlier deployment would make getUpdates fail (409).
	if err := b.tg.DeleteWebhook(pollCtx, &telego.DeleteWebhookParams{}); err != nil && pollCtx.Err() == nil {
		b.log.Warn().Err(err).Msg("deleteWebhook before polling")
	}
	b.log.Info().Msg("management bot polling")
	b.setState(StateOK, "long polling")
	offset := b.pollLoop(pollCtx)
	if ctx.Err() != nil {
		// Shutting down: Stop has told the dispatcher to skip what has not started;
		// once the running updates are done, the skipped ones are known.
		b.dispatch.wait()
	}
	if low, ok := b.dispatch.lowestUnstarted(); ok && low < offset {
		offset = low
	}
	// Confirm what was handled, so that the next poller (this process after a
	// restart, or a standby) does not handle those updates again, and nothing
	// beyond: updates skipped at shutdown come again to the next poller. Limit 1
	// and no timeout: at most one newer update is fetched, and it stays unconfirmed.
	if offset > 0 {
		confirmCtx, cancelConfirm := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
		_, err := b.tg.GetUpdates(confirmCtx, &telego.GetUpdatesParams{Offset: offset, Limit: 1, AllowedUpdates: allowedUpdates})
		cancelConfirm()
		if err != nil {
			b.log.Warn().Err(err).Msg("confirm the last updates at shutdown")
		}
	}
}

// pollFloor: after an empty answer that came sooner than the long poll asked for (a
// server that ignores timeout), wait before asking again, 100 ms doubling up to 1 s; a
// non-empty answer resets it.
var pollFloor = backoff.Policy{Base: 100 * time.Millisecond, Max: time.Second}

// pollLoop long-polls until ctx ends and returns the offset past every update
// taken. Each poll confirms only up to the first update that is queued and has not
// started (it is fetched again meanwhile, and dropped as a duplicate).
func (b *Bot) pollLoop(ctx context.Context) (fetched int) {
	failures, empties := 0, 0
	for ctx.Err() == nil {
		offset := fetched
		if low, ok := b.dispatch.lowestUnstarted(); ok && low < offset {
			offset = low
		}
		asked := time.Now()
		updates, err := b.tg.GetUpdates(ctx, &telego.GetUpdatesParams{
			Offset: offset, Timeout: int(b.cfg.PollTimeout / time.Second), AllowedUpdates: allowedUpdates,
		})
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			failures++
			if failures >= 3 {
				b.setState(StateDown, "getUpdates keeps failing")
			}
			b.log.Warn().Err(err).Int("failures", failures).Msg("getUpdates")
			if !backoff.Sleep(ctx, failures-1) {
				break
			}
			continue
		}
		if failures > 0 {
			failures = 0
			b.setState(StateOK, "long polling")
		}
		fresh := 0
		for _, u := range updates {
			res := b.take(ctx, u, nil)
			if res == refused {
				break
			}
			if res == accepted {
				fresh++
			}
			fetched = max(fetched, u.UpdateID+1)
		}
		if fresh > 0 {
			empties = 0
			continue
		}
		if time.Since(asked) < b.cfg.PollTimeout/2 {
			if !pollFloor.Sleep(ctx, empties) {
				break
			}
			empties++
		}
	}
	return fetched
}

// runWebhook registers the webhook (every replica sets the same URL and secret, so
// this is idempotent) and then serves until ctx ends. The webhook is not deleted at
// shutdown: other replicas keep serving it.
func (b *Bot) runWebhook(ctx context.Context) {
	for attempt := 0; ; attempt++ {
		callCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err := b.tg.SetWebhook(callCtx, &telego.SetWebhookParams{
			URL: b.cfg.WebhookURL, SecretToken: b.secret, AllowedUpdates: allowedUpdates,
		})
		cancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		b.setState(StateDown, "setWebhook failed")
		b.log.Warn().Err(err).Msg("setWebhook; retrying")
		if !backoff.Sleep(ctx, attempt) {
			return
		}
	}
	b.webhook.Store(true)
	b.setState(StateOK, "webhook")
	b.log.Info().Str("path", b.hookPath).Msg("management bot webhook set")
	<-ctx.Done()
}

// ServeHTTP receives webhook updates. Telegram sends the secret set with setWebhook in
// X-Telegram-Bot-Api-Secret-Token; any other request gets 401 and is not read.
func (b *Bot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	got := r.Header.Get("X-Telegram-Bot-Api-Secret-Token")
	if subtle.ConstantTimeCompare([]byte(got), []byte(b.secret)) != 1 {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if !b.webhook.Load() {
		// Starting or stopping: Telegram retries, possibly at another replica.
		http.Error(w, "not accepting updates", http.StatusServiceUnavailable)
		return
	}
	var u telego.Update
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&u); err != nil {
		http.Error(w, "bad update", http.StatusBadRequest)
		return
	}
	// dispatch waits only while this chat's buffer is full; Telegram delivers one
	// update at a time per webhook connection, so waiting slows just this sender.
	// The answer waits for the handling: an update skipped at shutdown gets 503, so
	// that Telegram delivers it again (here after a restart, or to another replica).
	done := make(chan bool, 1)
	if b.take(r.Context(), u, done) == refused {
		http.Error(w, "not accepting updates", http.StatusServiceUnavailable)
		return
	}
	select {
	case handled := <-done:
		if !handled {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	case <-r.Context().Done(): // Telegram gave up; a re-delivery is dropped as a duplicate
	}
}

// WebhookSecret is the secret Telegram must send (exposed for tests).
func (b *Bot) WebhookSecret() string { return b.secret }

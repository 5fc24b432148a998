package channelbot

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mymmrac/telego"

	"herald/backoff"
	"herald/store"
)

// Webhook mode (Config.WebhookURL set): Telegram posts each managed bot's updates to
// HookURL on Herald's HTTP server, so any replica behind that URL receives them and no
// poller is elected. The election still picks one process per bot — the one that calls
// setWebhook (idempotent: every replica would set the same URL and secret) and, when
// the bot stops being managed, deleteWebhook. Replies go out from the replica that
// received the update, through a replier each process starts for a bot on its first
// update.

// hookDir is the path below the management bot's webhook under which the managed
// bots' webhooks live: a reverse proxy that forwards the one forwards the others.
const hookDir = "/channel/"

// HookURL is where Telegram posts channelID's updates, given HERALD_WEBHOOK_URL. The
// path names the channel, never the token.
func HookURL(base string, channelID int64) string {
	return strings.TrimRight(base, "/") + hookDir + strconv.FormatInt(channelID, 10)
}

// OwnHook reports whether hook is a managed bot's webhook of this deployment (base is
// HERALD_WEBHOOK_URL): registration does not call it another app's.
func OwnHook(base, hook string) bool {
	return base != "" && strings.HasPrefix(hook, strings.TrimRight(base, "/")+hookDir)
}

// webhookMode: updates come by webhook. Without a key the per-bot secrets would be
// guessable, so there is no webhook mode without one.
func (in *Intake) webhookMode() bool { return in.cfg.WebhookURL != "" && len(in.cfg.WebhookKey) > 0 }

// WebhookPattern is the http.ServeMux pattern the Intake serves ("" in polling mode).
func (in *Intake) WebhookPattern() string {
	if !in.webhookMode() {
		return ""
	}
	u, err := url.Parse(in.cfg.WebhookURL)
	if err != nil {
		return ""
	}
	return "POST " + strings.TrimRight(u.Path, "/") + hookDir + "{channel}"
}

// WebhookSecret is the secret_token of channelID's webhook: an HMAC of the channel id
// under the deployment's key, so every replica computes the same one and a bot's
// secret does not open another bot's path (64 hex digits: Telegram's 1–256 of
// A-Z a-z 0-9 _ -).
func (in *Intake) WebhookSecret(channelID int64) string {
	m := hmac.New(sha256.New, in.cfg.WebhookKey)
	m.Write([]byte("herald-channel-webhook:" + strconv.FormatInt(channelID, 10)))
	return hex.EncodeToString(m.Sum(nil))
}

// maxUpdate bounds an update's body (serve.go's webhookLimits bounds it first).
const maxUpdate = 1 << 20

// ServeHTTP receives one managed bot's update. It answers 200 only once the update is
// committed: any other answer makes Telegram deliver it again (here or at another
// replica), so nothing is lost. Replies are queued after the commit.
func (in *Intake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("channel"), 10, 64)
	if err != nil || id <= 0 || !in.webhookMode() {
		http.NotFound(w, r)
		return
	}
	got := r.Header.Get("X-Telegram-Bot-Api-Secret-Token")
	if subtle.ConstantTimeCompare([]byte(got), []byte(in.WebhookSecret(id))) != 1 {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	var u telego.Update
	if err := json.NewDecoder(io.LimitReader(r.Body, maxUpdate)).Decode(&u); err != nil {
		http.Error(w, "bad update", http.StatusBadRequest)
		return
	}
	rc, runCtx := in.receiver(id)
	if rc == nil {
		// Starting, stopping, or a bot this process does not know as managed yet:
		// Telegram retries.
		http.Error(w, "not receiving this bot's updates", http.StatusServiceUnavailable)
		return
	}
	if !rc.claim(u.UpdateID) {
		// Recorded already (a retry of an update whose 200 got lost): answered, not
		// recorded or welcomed twice. Or being written right now: asked again later.
		if rc.done(u.UpdateID) {
			w.WriteHeader(http.StatusOK)
			return
		}
		http.Error(w, "update in progress", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), in.cfg.HookDeadline)
	defer cancel()
	defer context.AfterFunc(runCtx, cancel)() // shutting down: answer now, Telegram retries
	p := parseUpdates(id, []telego.Update{u})
	if rowsOf(p.batch) > 0 {
		if err := in.w.write(ctx, p.batch); err != nil {
			rc.forget(u.UpdateID)
			in.log.Warn().Err(err).Int64("channel_id", id).Int("update_id", u.UpdateID).Msg("managed bot: webhook update not recorded; Telegram retries")
			http.Error(w, "not recorded", http.StatusServiceUnavailable)
			return
		}
	}
	rc.commit(u.UpdateID)
	in.refreshForWelcome(ctx, id, rc.channel, p.replies)
	for _, rep := range p.replies {
		rc.replier.offer(rep)
	}
	w.WriteHeader(http.StatusOK)
}

// receiver is a managed bot's replier in this process, in webhook mode, with the ids
// of the updates it received lately.
type receiver struct {
	channelID int64
	sealed    []byte
	channel   *channelPointer
	replier   *replier
	cancel    context.CancelFunc
	stopped   chan struct{}

	mu     sync.Mutex
	states map[int]bool // update id → committed (false: being written)
	order  []int        // the ids in states, oldest first
}

// recentUpdates bounds the update ids a receiver remembers: Telegram retries an
// update within minutes, long before thousands of newer ones come.
const recentUpdates = 4096

func (rc *receiver) claim(id int) bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if _, ok := rc.states[id]; ok {
		return false
	}
	rc.states[id] = false
	rc.order = append(rc.order, id)
	if len(rc.order) > recentUpdates {
		delete(rc.states, rc.order[0])
		rc.order = rc.order[1:]
	}
	return true
}

func (rc *receiver) done(id int) bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.states[id]
}

func (rc *receiver) commit(id int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if _, ok := rc.states[id]; ok {
		rc.states[id] = true
	}
}

func (rc *receiver) forget(id int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	delete(rc.states, id)
	// A failed write is rare: the linear search keeps order free of ids no longer in
	// states (a retry claims the id again at the end).
	if i := slices.Index(rc.order, id); i >= 0 {
		rc.order = slices.Delete(rc.order, i, i+1)
	}
}

func (rc *receiver) stop() {
	rc.cancel()
	<-rc.stopped
}

// receiver returns channelID's receiver, started on the bot's first update, and the
// Intake's run context; nil when the Intake is not running or the bot is not managed
// (as of the last look-up).
func (in *Intake) receiver(channelID int64) (*receiver, context.Context) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.runCtx == nil {
		return nil, nil
	}
	if rc := in.hooks[channelID]; rc != nil {
		return rc, in.runCtx
	}
	c, ok := in.managed[channelID]
	if !ok || in.cfg.Opener == nil {
		return nil, nil
	}
	token, err := in.cfg.Opener.Open(c.TokenCiphertext)
	if err != nil {
		in.log.Error().Err(err).Int64("channel_id", c.ID).Msg("managed bot's token does not open; not receiving it")
		return nil, nil
	}
	tg, err := in.cfg.NewClient(string(token), in.cfg.APIURL, 0)
	if err != nil {
		in.log.Error().Err(err).Int64("channel_id", c.ID).Msg("managed bot client")
		return nil, nil
	}
	ctx, cancel := context.WithCancel(in.runCtx)
	rc := &receiver{channelID: c.ID, sealed: c.TokenCiphertext, channel: &channelPointer{}, cancel: cancel,
		stopped: make(chan struct{}), states: map[int]bool{}}
	rc.channel.Store(&c)
	rc.replier = newReplier(in, rc.channel, tg)
	in.hooks[c.ID] = rc
	in.receivers.Go(func() { // owned by the Intake: stopped with its bot, waited for by Run
		defer close(rc.stopped)
		rc.replier.run(ctx)
	})
	return rc, in.runCtx
}

// followManaged records the managed bots for the receivers (webhook mode) and stops
// the receivers of bots no longer managed or given another token.
func (in *Intake) followManaged(list []store.Channel) {
	if !in.webhookMode() {
		return
	}
	managed := make(map[int64]store.Channel, len(list))
	for _, c := range list {
		managed[c.ID] = c
	}
	var stopping []*receiver
	in.mu.Lock()
	in.managed = managed
	for id, rc := range in.hooks {
		c, ok := managed[id]
		if ok && string(c.TokenCiphertext) == string(rc.sealed) {
			rc.channel.Store(&c) // rate and welcome template changes
			continue
		}
		delete(in.hooks, id)
		stopping = append(stopping, rc)
	}
	in.mu.Unlock()
	for _, rc := range stopping {
		rc.stop()
	}
}

// stopReceiving refuses further webhook updates and stops every receiver.
func (in *Intake) stopReceiving() {
	in.mu.Lock()
	in.runCtx = nil
	stopping := in.hooks
	in.hooks = map[int64]*receiver{}
	in.mu.Unlock()
	for _, rc := range stopping {
		rc.stop()
	}
	in.receivers.Wait()
}

// keepHook points the bot's webhook at this deployment (retrying until it is set),
// then holds the bot's election until ctx ends.
func (r *botRunner) keepHook(ctx context.Context) {
	params := &telego.SetWebhookParams{URL: HookURL(r.in.cfg.WebhookURL, r.channelID),
		SecretToken: r.in.WebhookSecret(r.channelID), AllowedUpdates: allowedUpdates}
	for attempt := 0; ; attempt++ {
		callCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err := r.tg.SetWebhook(callCtx, params)
		cancel()
		if err == nil {
			r.log.Info().Msg("managed bot: webhook set")
			break
		}
		if ctx.Err() != nil {
			return
		}
		r.log.Warn().Err(err).Int("attempt", attempt).Msg("managed bot: setWebhook; retrying")
		if !backoff.Sleep(ctx, attempt) {
			return
		}
	}
	<-ctx.Done()
}

// dropHook deletes the webhook of a bot that is no longer managed (send-only, removed)
// in webhook mode: its updates then wait for the other app's getUpdates. A process
// that merely stops keeps the webhook (other replicas serve it).
func (in *Intake) dropHook(r *botRunner) error {
	if !in.webhookMode() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return r.tg.DeleteWebhook(ctx, &telego.DeleteWebhookParams{})
}

// dropOwnHook deletes a webhook this deployment set for the bot in webhook mode
// (HookURL ends in the channel's path) before polling it: getUpdates would fail with
// 409 while it is set. Another app's webhook is left alone (logged by the poll).
func (r *botRunner) dropOwnHook(ctx context.Context) {
	callCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	info, err := r.tg.GetWebhookInfo(callCtx)
	if err != nil || info.URL == "" {
		return
	}
	u, err := url.Parse(info.URL)
	if err != nil || !strings.HasSuffix(u.Path, hookDir+strconv.FormatInt(r.channelID, 10)) {
		return
	}
	if err := r.tg.DeleteWebhook(callCtx, &telego.DeleteWebhookParams{}); err != nil {
		r.log.Warn().Err(err).Msg("managed bot: deleteWebhook before polling")
		return
	}
	r.log.Info().Msg("managed bot: our webhook deleted before polling")
}

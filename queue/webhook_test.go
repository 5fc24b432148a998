package queue_test

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"herald/queue"
	"herald/store"
)

// receiver is a webhook endpoint on loopback that checks every signature and
// optionally fails the first requests.
type receiver struct {
	t      *testing.T
	secret string
	srv    *httptest.Server

	mu       sync.Mutex
	failLeft int
	attempts int
	events   []receivedEvent
}

type receivedEvent struct {
	Event    string `json:"event"`
	ID       string `json:"id"`
	Reason   string `json:"reason"`
	Campaign struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	} `json:"campaign"`
	Totals *struct {
		Recipients, Sent, Failed, Blocked, Uncertain, Cancelled int64
	} `json:"totals"`
}

func newReceiver(t *testing.T, secret string, failFirst int) *receiver {
	r := &receiver{t: t, secret: secret, failLeft: failFirst}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ts := req.Header.Get("X-Herald-Timestamp")
	sig, ok := strings.CutPrefix(req.Header.Get("X-Herald-Signature"), "sha256=")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute ||
		!hmac.Equal([]byte(sig), []byte(queue.Sign(r.secret, ts, body))) {
		r.t.Errorf("bad signature %q for timestamp %q", req.Header.Get("X-Herald-Signature"), ts)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	if r.failLeft > 0 {
		r.failLeft--
		http.Error(w, "not now", http.StatusServiceUnavailable)
		return
	}
	var ev receivedEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		r.t.Errorf("event body: %v", err)
		return
	}
	require.Equal(r.t, ev.Event, req.Header.Get("X-Herald-Event"))
	require.Equal(r.t, ev.ID, req.Header.Get("X-Herald-Event-Id"))
	r.events = append(r.events, ev)
}

// waitEvents waits until the receiver got events named want, in order.
func (r *receiver) waitEvents(t *testing.T, want ...string) []receivedEvent {
	return r.waitEventsOrdered(t, true, want...)
}

// waitEventsOrdered waits for events named want; unordered, it sorts what arrived in
// the order of want (a retried event arrives after later ones).
func (r *receiver) waitEventsOrdered(t *testing.T, ordered bool, want ...string) []receivedEvent {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r.mu.Lock()
		got := append([]receivedEvent(nil), r.events...)
		r.mu.Unlock()
		names := make([]string, len(got))
		for i, e := range got {
			names[i] = e.Event
		}
		if len(names) >= len(want) {
			if ordered {
				require.Equal(t, want, names)
				return got
			}
			require.ElementsMatch(t, want, names)
			sorted := make([]receivedEvent, 0, len(got))
			for _, w := range want {
				for _, e := range got {
					if e.Event == w {
						sorted = append(sorted, e)
					}
				}
			}
			return sorted
		}
		require.True(t, time.Now().Before(deadline), "events so far: %v, want %v", names, want)
		time.Sleep(50 * time.Millisecond)
	}
}

// Owners' endpoints get campaign.started, campaign.paused (with the reason) and
// campaign.finished (with totals), signed; an endpoint that fails is retried until it
// takes the event.
func TestWebhooksReceiveCampaignEvents(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	ctx := context.Background()
	ok := newReceiver(t, "whsec-ok-0123456789", 0)
	flaky := newReceiver(t, "whsec-flaky-0123456789", 2)
	for _, r := range []*receiver{ok, flaky} {
		_, err := b.store.WebhookCreate(ctx, b.box, r.srv.URL, r.secret, b.admin)
		require.NoError(t, err)
	}
	delivery := queue.DeliveryConfig{ProgressEvery: 300 * time.Millisecond, ControlPoll: 50 * time.Millisecond}
	client := b.newClient(t, clientOpts{id: "p1", delivery: delivery, webhooks: queue.WebhookConfig{Backoff: 100 * time.Millisecond}})
	channel, bot := b.channel(t, 20)
	users := b.users(t, bot, 60)
	id := b.startCampaign(t, client, b.template(t, "Hi {{first_name}}"), b.batch(t, ids(users)), channel)

	ok.waitEvents(t, queue.EventCampaignStarted)
	controls := queue.NewControls(b.store, client, delivery)
	require.NoError(t, controls.Pause(ctx, id, b.admin))
	paused := ok.waitEvents(t, queue.EventCampaignStarted, queue.EventCampaignPaused)
	require.Equal(t, store.CampaignPaused, paused[1].Campaign.Status)
	require.NoError(t, controls.Resume(ctx, id, b.admin))
	b.waitStatus(t, id, store.CampaignCompleted, 30*time.Second)

	want := []string{queue.EventCampaignStarted, queue.EventCampaignPaused, queue.EventCampaignFinished}
	for _, r := range []*receiver{ok, flaky} {
		got := r.waitEventsOrdered(t, r == ok, want...)
		fin := got[2]
		require.Equal(t, id, fin.Campaign.ID)
		require.Equal(t, store.CampaignCompleted, fin.Campaign.Status)
		require.NotNil(t, fin.Totals)
		require.EqualValues(t, 60, fin.Totals.Recipients)
		require.EqualValues(t, b.emu.Stats(bot.Token).Sent, fin.Totals.Sent)
	}
	flaky.mu.Lock()
	ids := map[string]bool{}
	for _, e := range flaky.events {
		ids[e.ID] = true
	}
	flaky.mu.Unlock()
	for _, e := range ok.events {
		require.True(t, ids[e.ID], "event %s reaches every endpoint with one id", e.ID)
	}
	flaky.mu.Lock()
	require.Equal(t, 3+2, flaky.attempts, "two failures retried, then three events taken")
	flaky.mu.Unlock()
	ok.mu.Lock()
	require.Equal(t, 3, ok.attempts, "each event once")
	ok.mu.Unlock()
}

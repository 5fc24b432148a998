package queue

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"herald/store"
)

// Webhook events (the "event" field and the X-Herald-Event header).
const (
	EventCampaignStarted  = "campaign.started"
	EventCampaignPaused   = "campaign.paused"
	EventCampaignFinished = "campaign.finished"
)

// WebhookConfig tunes outgoing webhooks. Zero values take the defaults in brackets.
type WebhookConfig struct {
	// Timeout bounds one POST [10s].
	Timeout time.Duration
	// Backoff is the first retry's delay, doubling each attempt up to an hour [10s].
	Backoff time.Duration
	// MaxAttempts is how often an event is tried before River discards it [12].
	MaxAttempts int
	// Client sends the requests (default: a client without redirects).
	Client *http.Client
}

func (c WebhookConfig) withDefaults() WebhookConfig {
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Backoff <= 0 {
		c.Backoff = 10 * time.Second
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 12
	}
	if c.Client == nil {
		c.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return c
}

// WebhookArgs is one event for one endpoint. The body is built when the event is
// enqueued, so every retry sends the same bytes with the same event id.
type WebhookArgs struct {
	WebhookID int64           `json:"webhook_id"`
	Event     string          `json:"event"`
	EventID   string          `json:"event_id"`
	Body      json.RawMessage `json:"body"`
}

// Kind implements river.JobArgs.
func (WebhookArgs) Kind() string { return "webhook_delivery" }

// webhookQueue is the River queue of webhook deliveries: its own, so slow or dead
// endpoints occupy a few workers of their own and never the delivery engine's.
const webhookQueue = "webhooks"

// InsertOpts implements river.JobArgsWithInsertOpts.
func (WebhookArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: webhookQueue} }

type webhookWorker struct {
	river.WorkerDefaults[WebhookArgs]
	store     *store.Store
	openToken func([]byte) (string, error)
	cfg       WebhookConfig
}

func (w *webhookWorker) Timeout(*river.Job[WebhookArgs]) time.Duration {
	return w.cfg.Timeout + 5*time.Second
}

// NextRetry backs off exponentially from cfg.Backoff, capped at an hour.
func (w *webhookWorker) NextRetry(job *river.Job[WebhookArgs]) time.Time {
	shift := min(max(job.Attempt-1, 0), 20)
	return time.Now().Add(min(w.cfg.Backoff<<shift, time.Hour))
}

func (w *webhookWorker) Work(ctx context.Context, job *river.Job[WebhookArgs]) error {
	hook, err := w.store.WebhookGet(ctx, job.Args.WebhookID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // removed since: nobody to tell
	}
	if err != nil {
		return err
	}
	if w.openToken == nil {
		return river.JobCancel(errors.New("HERALD_SECRET_KEY is not set: cannot sign webhooks"))
	}
	secret, err := w.openToken(hook.SecretCiphertext)
	if err != nil {
		return river.JobCancel(fmt.Errorf("open webhook secret: %w", err))
	}
	reqCtx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodPost, hook.URL, bytes.NewReader(job.Args.Body))
	if err != nil {
		return river.JobCancel(fmt.Errorf("webhook %d request: %w", hook.ID, err))
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Herald-Webhook/1")
	req.Header.Set("X-Herald-Event", job.Args.Event)
	req.Header.Set("X-Herald-Event-Id", job.Args.EventID)
	req.Header.Set("X-Herald-Timestamp", ts)
	req.Header.Set("X-Herald-Signature", "sha256="+Sign(secret, ts, job.Args.Body))
	resp, err := w.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook %d: %w", hook.ID, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook %d answered %s", hook.ID, resp.Status)
	}
	return nil
}

// Sign is the hex HMAC-SHA256 of timestamp + "." + body under secret: what
// X-Herald-Signature carries after "sha256=".
func Sign(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// webhookEvent is the JSON body of every event.
type webhookEvent struct {
	ID         string          `json:"id"`
	Event      string          `json:"event"`
	OccurredAt time.Time       `json:"occurred_at"`
	Campaign   webhookCampaign `json:"campaign"`
	Reason     string          `json:"reason,omitempty"` // campaign.paused
	Totals     *webhookTotals  `json:"totals,omitempty"` // campaign.finished
}

type webhookCampaign struct {
	ID         int64      `json:"id"`
	Status     string     `json:"status"`
	ChannelID  int64      `json:"channel_id"`
	TemplateID int64      `json:"template_id"`
	BatchID    int64      `json:"batch_id"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

type webhookTotals struct {
	Recipients int64 `json:"recipients"`
	Sent       int64 `json:"sent"`
	Failed     int64 `json:"failed"`
	Blocked    int64 `json:"blocked"`
	Uncertain  int64 `json:"uncertain"`
	Cancelled  int64 `json:"cancelled"`
}

// announce enqueues the webhook events of the campaign's state change, if any, in one
// transaction with recording the state as announced. The progress reporter calls it
// on every tick; without webhooks it is one query that changes nothing. A failure is
// logged and retried at the next tick: events never hold up delivery or the report.
func (e *engine) announce(ctx context.Context, c store.Campaign, counts store.DeliveryCounts, finished bool) {
	state := ""
	switch {
	case finished:
		state = "finished"
	case c.Status == store.CampaignRunning:
		state = "running"
	case c.Status == store.CampaignPaused:
		state = store.CampaignPaused
	default:
		return
	}
	client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return
	}
	err = e.store.InTx(ctx, func(tx *store.Store) error {
		prev, hooks, err := tx.CampaignAnnounce(ctx, c.ID, state)
		if err != nil || len(hooks) == 0 {
			return err
		}
		var events []string
		if prev == "" && c.StartedAt != nil {
			events = append(events, EventCampaignStarted)
		}
		switch state {
		case "finished":
			events = append(events, EventCampaignFinished)
		case store.CampaignPaused:
			events = append(events, EventCampaignPaused)
		}
		jobs := make([]river.InsertManyParams, 0, len(events)*len(hooks))
		now := e.now()
		for _, ev := range events {
			body, id, err := eventBody(ev, c, counts, now)
			if err != nil {
				return err
			}
			for _, h := range hooks {
				jobs = append(jobs, river.InsertManyParams{Args: WebhookArgs{WebhookID: h, Event: ev, EventID: id, Body: body},
					InsertOpts: &river.InsertOpts{Queue: webhookQueue, MaxAttempts: e.hooks.MaxAttempts}})
			}
		}
		if len(jobs) == 0 {
			return nil
		}
		ptx, _ := tx.Tx()
		if _, err := client.InsertManyTx(ctx, ptx, jobs); err != nil {
			return fmt.Errorf("enqueue webhook events: %w", err)
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		e.logger.Warn().Err(err).Int64("campaign_id", c.ID).Msg("announce campaign state to webhooks")
	}
}

func eventBody(event string, c store.Campaign, counts store.DeliveryCounts, now time.Time) (json.RawMessage, string, error) {
	ev := webhookEvent{
		ID:         fmt.Sprintf("campaign-%d-%s-%d", c.ID, event, now.UnixNano()),
		Event:      event,
		OccurredAt: now.UTC(),
		Campaign: webhookCampaign{ID: c.ID, Status: c.Status, ChannelID: c.ChannelID, TemplateID: c.TemplateID,
			BatchID: c.BatchID, StartedAt: c.StartedAt, FinishedAt: c.FinishedAt},
	}
	switch event {
	case EventCampaignPaused:
		if c.PauseReason != nil {
			ev.Reason = *c.PauseReason
		}
	case EventCampaignFinished:
		ev.Totals = &webhookTotals{Recipients: counts.Total(), Sent: counts.Sent, Failed: counts.Failed,
			Blocked: counts.Blocked, Uncertain: counts.Uncertain, Cancelled: counts.Cancelled}
	}
	body, err := json.Marshal(ev)
	return body, ev.ID, err
}

package tgemu

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mymmrac/telego"
)

// Update types that Telegram leaves out unless asked for explicitly.
var optInUpdates = []string{"chat_member", "message_reaction", "message_reaction_count"}

type queued struct {
	id  int
	raw []byte // the marshalled telego.Update, built once
}

// updateQueue is a bot's pending updates plus whoever consumes them: one
// long poll or one webhook at a time.
type updateQueue struct {
	mu      sync.Mutex
	items   []queued
	nextID  int
	notify  chan struct{} // closed and replaced on every enqueue
	allowed []string      // nil: default set
	poll    *poller
	hook    *webhook
	// conflicts counts 409 answers to getUpdates: two pollers, or a poll while a
	// webhook is set.
	conflicts atomic.Int64
}

type poller struct{ terminated chan struct{} }

type webhook struct {
	url, secret    string
	maxConnections int
	cancel         context.CancelFunc
	lastErrorDate  int64
	lastErrorMsg   string
	// attempts of the head update, so a replaced webhook starts fresh
	attempts int
}

func (q *updateQueue) init() {
	q.nextID = 1
	q.notify = make(chan struct{})
}

func (q *updateQueue) wants(typ string) bool {
	if len(q.allowed) == 0 {
		return !slices.Contains(optInUpdates, typ)
	}
	return slices.Contains(q.allowed, typ)
}

// enqueue stores an update of the given type (the JSON field name, which
// is also its allowed_updates name) unless the bot filtered it out.
func (b *bot) enqueue(typ string, u telego.Update) {
	q := &b.upd
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.wants(typ) {
		return
	}
	u.UpdateID = q.nextID
	raw, err := json.Marshal(u)
	if err != nil {
		panic(fmt.Sprintf("tgemu: marshal update: %v", err)) // our own types: a bug
	}
	q.nextID++
	q.items = append(q.items, queued{id: u.UpdateID, raw: raw})
	close(q.notify)
	q.notify = make(chan struct{})
}

// Conflicts is the number of 409 answers the bot's getUpdates calls got (another
// poller took over, or a webhook is set): 0 when exactly one process polls it.
func (s *Server) Conflicts(token string) int64 {
	return s.mustBot(token).upd.conflicts.Load()
}

// PendingUpdates is the number of updates not yet confirmed by getUpdates
// or accepted by the webhook.
func (s *Server) PendingUpdates(token string) int {
	b := s.mustBot(token)
	b.upd.mu.Lock()
	defer b.upd.mu.Unlock()
	return len(b.upd.items)
}

func (q *updateQueue) confirm(offset int64) {
	switch {
	case offset > 0:
		i := 0
		for i < len(q.items) && int64(q.items[i].id) < offset {
			i++
		}
		q.items = slices.Delete(q.items, 0, i)
	case offset < 0:
		if keep := int(-offset); keep < len(q.items) {
			q.items = slices.Delete(q.items, 0, len(q.items)-keep)
		}
	}
}

func (q *updateQueue) take(limit int) []byte {
	n := min(limit, len(q.items))
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i := range n {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(q.items[i].raw)
	}
	buf.WriteByte(']')
	return buf.Bytes()
}

var (
	errConflictPoll = &apiError{409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running", 0}
	errConflictHook = &apiError{409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first", 0}
)

// getUpdates implements long polling. A new request terminates a waiting
// one with 409, as Telegram does, so a restarted client is never locked out
// by its own abandoned poll.
func (b *bot) getUpdates(ctx context.Context, p *params) (any, *apiError) {
	limit := p.Limit
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	timeout := time.Duration(max(p.Timeout, 0)) * time.Second
	q := &b.upd
	q.mu.Lock()
	if q.hook != nil {
		q.mu.Unlock()
		q.conflicts.Add(1)
		return nil, errConflictHook
	}
	if p.AllowedUpdates != nil {
		q.allowed = slices.Clone(p.AllowedUpdates)
	}
	q.confirm(p.Offset)
	if q.poll != nil {
		close(q.poll.terminated)
		q.poll = nil
	}
	if len(q.items) > 0 || timeout == 0 {
		out := q.take(limit)
		q.mu.Unlock()
		return rawJSON(out), nil
	}
	me := &poller{terminated: make(chan struct{})}
	q.poll = me
	wake := q.notify
	q.mu.Unlock()

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	release := func() {
		if q.poll == me {
			q.poll = nil
		}
	}
	for {
		select {
		case <-wake:
			q.mu.Lock()
			if q.poll != me { // terminated concurrently
				q.mu.Unlock()
				q.conflicts.Add(1)
				return nil, errConflictPoll
			}
			if len(q.items) > 0 {
				release()
				out := q.take(limit)
				q.mu.Unlock()
				return rawJSON(out), nil
			}
			wake = q.notify
			q.mu.Unlock()
		case <-me.terminated:
			q.conflicts.Add(1)
			return nil, errConflictPoll
		case <-timer.C:
			q.mu.Lock()
			release()
			q.mu.Unlock()
			return rawJSON("[]"), nil
		case <-ctx.Done():
			q.mu.Lock()
			release()
			q.mu.Unlock()
			return nil, errGone
		}
	}
}

func (b *bot) setWebhook(p *params) (any, *apiError) {
	if p.URL == "" {
		return b.deleteWebhook(p)
	}
	if p.SecretToken != "" && !secretRE.MatchString(p.SecretToken) {
		return nil, badRequest("secret token contains unallowed characters")
	}
	q := &b.upd
	q.mu.Lock()
	defer q.mu.Unlock()
	if p.AllowedUpdates != nil {
		q.allowed = slices.Clone(p.AllowedUpdates)
	}
	if p.DropPendingUpdates {
		q.items = nil
	}
	if q.poll != nil {
		close(q.poll.terminated)
		q.poll = nil
	}
	if q.hook != nil {
		q.hook.cancel()
	}
	ctx, cancel := context.WithCancel(b.srv.ctx)
	h := &webhook{url: p.URL, secret: p.SecretToken, maxConnections: p.MaxConnections, cancel: cancel}
	if h.maxConnections == 0 {
		h.maxConnections = 40
	}
	q.hook = h
	b.srv.wg.Add(1)
	go b.deliver(ctx, h)
	return true, nil
}

func (b *bot) deleteWebhook(p *params) (any, *apiError) {
	q := &b.upd
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.hook != nil {
		q.hook.cancel()
		q.hook = nil
	}
	if p.DropPendingUpdates {
		q.items = nil
	}
	return true, nil
}

func (b *bot) getWebhookInfo() (any, *apiError) {
	q := &b.upd
	q.mu.Lock()
	defer q.mu.Unlock()
	info := telego.WebhookInfo{PendingUpdateCount: len(q.items), AllowedUpdates: q.allowed}
	if h := q.hook; h != nil {
		info.URL = h.url
		info.MaxConnections = h.maxConnections
		info.LastErrorDate = h.lastErrorDate
		info.LastErrorMessage = h.lastErrorMsg
		info.IPAddress = "127.0.0.1"
	}
	return info, nil
}

// deliver POSTs updates to the webhook one at a time, in order. It is
// owned by the webhook h and ends when h is replaced or deleted, or when
// the server closes.
func (b *bot) deliver(ctx context.Context, h *webhook) {
	defer b.srv.wg.Done()
	cfg := b.srv.cfg
	q := &b.upd
	for {
		q.mu.Lock()
		if len(q.items) == 0 {
			wake := q.notify
			q.mu.Unlock()
			select {
			case <-wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		head := q.items[0]
		q.mu.Unlock()

		errMsg := b.post(ctx, h, head.raw)
		if ctx.Err() != nil {
			return
		}
		q.mu.Lock()
		if errMsg == "" || h.attempts+1 >= cfg.WebhookMaxAttempts {
			if len(q.items) > 0 && q.items[0].id == head.id {
				q.items = q.items[1:]
			}
			h.attempts = 0
		} else {
			h.attempts++
		}
		if errMsg != "" {
			h.lastErrorDate = time.Now().Unix()
			h.lastErrorMsg = errMsg
		}
		attempts := h.attempts
		q.mu.Unlock()
		if errMsg == "" || attempts == 0 {
			continue
		}
		backoff := cfg.WebhookRetryMin << min(attempts-1, 20)
		if backoff > cfg.WebhookRetryMax || backoff <= 0 {
			backoff = cfg.WebhookRetryMax
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
}

// post makes one delivery attempt and returns Telegram's wording of the
// failure, or "" on a 2xx answer.
func (b *bot) post(ctx context.Context, h *webhook, body []byte) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		return "Invalid URL"
	}
	req.Header.Set("Content-Type", "application/json")
	if h.secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", h.secret)
	}
	resp, err := b.srv.webhookClient.Do(req)
	if err != nil {
		return "Connection refused"
	}
	_, _ = discard(resp)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Sprintf("Wrong response from the webhook: %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return ""
}

// Polling reports whether a getUpdates request is waiting for the bot.
func (s *Server) Polling(token string) bool {
	b := s.mustBot(token)
	b.upd.mu.Lock()
	defer b.upd.mu.Unlock()
	return b.upd.poll != nil
}

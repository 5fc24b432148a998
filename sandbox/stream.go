package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"herald/tgemu"
)

// heartbeat keeps an idle event stream open through proxies and lets the server notice
// a closed page.
const heartbeat = 15 * time.Second

// messageView is a message as the page draws it.
type messageView struct {
	Kind    string `json:"kind"` // message, edit, delete
	ID      int    `json:"id"`
	Chat    int64  `json:"chat"` // the bot's id: one inbox shows several chats
	BotName string `json:"bot_name,omitempty"`
	Out     bool   `json:"out"` // written by the person at the page
	Date    int64  `json:"date"`
	Edited  bool   `json:"edited"`
	HTML    string `json:"html"`
}

func fileURL(id string) string { return "/sandbox/file/" + id }

func (h *Handler) view(ev tgemu.ChatEvent) messageView {
	m := ev.Message
	v := messageView{Kind: ev.Kind, ID: m.MessageID, Chat: ev.BotID, Out: !ev.FromBot, Date: m.Date, Edited: m.EditDate != 0}
	if ev.Kind != tgemu.EventDelete {
		v.HTML = MessageHTML(m, fileURL)
	}
	if ev.FromBot && m.From != nil {
		v.BotName = m.From.FirstName
		for _, c := range h.cfg.Channels {
			if c.Bot.ID == ev.BotID {
				v.BotName = c.Name
			}
		}
	}
	return v
}

// sse prepares an event stream; the server's write deadline, if any, does not apply to
// it (it lives as long as the page).
type sse struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func startSSE(w http.ResponseWriter) sse {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	return sse{w, rc}
}

func (s sse) send(event string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", event, data); err != nil {
		return err
	}
	return s.rc.Flush()
}

func (s sse) ping() error {
	if _, err := fmt.Fprint(s.w, ": ping\n\n"); err != nil {
		return err
	}
	return s.rc.Flush()
}

// streamCtx ends with the request or with the handler (server shutdown).
func (h *Handler) streamCtx(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	stop := context.AfterFunc(h.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

// follow sends a watch's events until the page goes away. Each connection starts with
// "reset" and the whole chat, so a reconnecting page redraws instead of guessing.
func (h *Handler) follow(w http.ResponseWriter, r *http.Request, watch *tgemu.ChatWatch) {
	ctx, cancel := h.streamCtx(r)
	defer cancel()
	s := startSSE(w)
	if s.send("reset", true) != nil {
		return
	}
	for {
		waitCtx, cancelWait := context.WithTimeout(ctx, heartbeat)
		events, err := watch.Next(waitCtx)
		cancelWait()
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, context.DeadlineExceeded):
			if s.ping() != nil {
				return
			}
			continue
		case err != nil:
			return
		}
		views := make([]messageView, len(events))
		for i, ev := range events {
			views[i] = h.view(ev)
		}
		slices.SortStableFunc(views, func(a, b messageView) int { return int(a.Date - b.Date) })
		if s.send("messages", views) != nil {
			return
		}
	}
}

func (h *Handler) streamChat(w http.ResponseWriter, r *http.Request) {
	h.follow(w, r, h.admin(r).WatchChats(h.cfg.Management.Token))
}

func (h *Handler) streamInbox(w http.ResponseWriter, r *http.Request) {
	id := parseID(r.PathValue("id"))
	var u *tgemu.User
	for _, c := range h.cfg.Recipients {
		if c.ID == id {
			u = c
		}
	}
	if u == nil {
		http.NotFound(w, r)
		return
	}
	tokens := make([]string, len(h.cfg.Channels))
	for i, c := range h.cfg.Channels {
		tokens[i] = c.Bot.Token
	}
	h.follow(w, r, u.WatchChats(tokens...))
}

// channelView is one channel bot's live counters.
type channelView struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Username   string `json:"username"`
	Rate       int    `json:"rate"`
	Paid       bool   `json:"paid"`
	Sent       int64  `json:"sent"`
	LastSecond int    `json:"last_second"`
	Peak       int    `json:"peak"`
	TooMany    int64  `json:"too_many"`
}

// streamStats sends the channel bots' counters whenever they change (looked at twice
// a second: a person cannot read faster).
func (h *Handler) streamStats(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := h.streamCtx(r)
	defer cancel()
	s := startSSE(w)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	var last []channelView
	quiet := time.Now()
	for {
		now := make([]channelView, len(h.cfg.Channels))
		for i, c := range h.cfg.Channels {
			k := h.cfg.Emulator.BotCounters(c.Bot.Token)
			now[i] = channelView{ID: c.Bot.ID, Name: c.Name, Username: c.Bot.Username, Rate: c.Rate, Paid: c.PaidRate,
				Sent: k.Sent, LastSecond: k.LastSecond, Peak: k.MaxPerSecond, TooMany: k.TooManyRequests}
		}
		var err error
		switch {
		case !slices.Equal(now, last):
			err = s.send("channels", now)
			last, quiet = now, time.Now()
		case time.Since(quiet) > heartbeat:
			err = s.ping()
			quiet = time.Now()
		}
		if err != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

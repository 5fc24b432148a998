package tgemu

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/mymmrac/telego"
)

// userMux is the small JSON API under /emu/ for tools that are not Go
// tests. Every answer is {"ok":true,"result":…} or {"ok":false,…} like the
// Bot API, so the same client code can read both.
func (s *Server) userMux() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("POST /emu/bots", func(w http.ResponseWriter, r *http.Request) {
		var spec BotSpec
		if !decode(w, r, &spec) {
			return
		}
		b, err := s.CreateBotSpec(spec)
		if err != nil {
			writeError(w, badRequest(err.Error()))
			return
		}
		writeOK(w, b)
	})
	m.HandleFunc("GET /emu/bots", func(w http.ResponseWriter, _ *http.Request) { writeOK(w, s.Bots()) })
	m.HandleFunc("POST /emu/users", func(w http.ResponseWriter, r *http.Request) {
		var spec struct {
			UserSpec
			Count int `json:"count"`
		}
		if !decode(w, r, &spec) {
			return
		}
		users := s.CreateUsers(max(spec.Count, 1), spec.UserSpec)
		out := make([]telego.User, len(users))
		for i, u := range users {
			out[i] = u.tg()
		}
		writeOK(w, out)
	})
	// POST /emu/users/{id}/{action} with {"token":…, "text":…, "command":…,
	// "message_id":…, "data":…, "caption":…, "name":…, "mime":…, "bytes": base64}
	m.HandleFunc("POST /emu/users/{id}/{action}", func(w http.ResponseWriter, r *http.Request) {
		u := s.pathUser(w, r)
		if u == nil {
			return
		}
		var in struct {
			Token     string         `json:"token"`
			Text      string         `json:"text"`
			Payload   string         `json:"payload"` // start: t.me/<bot>?start=<payload>
			Command   string         `json:"command"`
			MessageID int            `json:"message_id"`
			Data      string         `json:"data"`
			Caption   string         `json:"caption"`
			Name      string         `json:"name"`
			Mime      string         `json:"mime"`
			Bytes     []byte         `json:"bytes"`
			Contact   telego.Contact `json:"contact"`
		}
		if !decode(w, r, &in) {
			return
		}
		if s.lookupBot(in.Token) == nil {
			writeError(w, errUnauthorized)
			return
		}
		var res any
		var err error
		switch r.PathValue("action") {
		case "start":
			res, err = u.StartWithPayload(in.Token, in.Payload)
		case "block":
			u.Block(in.Token)
			res = true
		case "unblock":
			u.Unblock(in.Token)
			res = true
		case "deactivate":
			u.Deactivate()
			res = true
		case "text":
			res, err = u.SendText(in.Token, in.Text)
		case "command":
			res, err = u.SendCommand(in.Token, in.Command)
		case "document":
			res, err = u.SendDocument(in.Token, in.Name, in.Mime, in.Bytes, in.Caption)
		case "photo":
			res, err = u.SendPhoto(in.Token, in.Bytes, in.Caption)
		case "contact":
			res, err = u.SendContact(in.Token, in.Contact)
		case "press":
			res, err = u.Press(in.Token, in.MessageID, in.Data)
		default:
			writeError(w, errNotFound)
			return
		}
		if err != nil {
			writeError(w, badRequest(err.Error()))
			return
		}
		writeOK(w, res)
	})
	// GET /emu/users/{id}/next?token=…&timeout=5s: the next bot message.
	m.HandleFunc("GET /emu/users/{id}/next", func(w http.ResponseWriter, r *http.Request) {
		u := s.pathUser(w, r)
		if u == nil {
			return
		}
		token := r.URL.Query().Get("token")
		if s.lookupBot(token) == nil {
			writeError(w, errUnauthorized)
			return
		}
		d, err := time.ParseDuration(r.URL.Query().Get("timeout"))
		if err != nil {
			d = 5 * time.Second
		}
		ctx, cancel := contextWithTimeout(r, d)
		defer cancel()
		msg, err := u.WaitBotMessageCtx(ctx, token)
		if err != nil {
			writeError(w, &apiError{408, "Request Timeout: no bot message", 0})
			return
		}
		writeOK(w, msg)
	})
	m.HandleFunc("GET /emu/bots/{token}/stats", func(w http.ResponseWriter, r *http.Request) {
		if b := s.pathBot(w, r); b != nil {
			st := s.Stats(b.token)
			out := map[string]any{
				"sent": st.Sent, "too_many_requests": st.TooManyRequests, "max_per_second": st.MaxPerSecond,
				"unanswered_callbacks": s.UnansweredCallbacks(b.token),
				"chats":                len(st.PerChat), "duplicates": len(st.Duplicates()),
			}
			if n := len(st.Series); n > 0 {
				// Unix nanoseconds of the first and last accepted send, for rates
				// measured by the emulator's clock (herald bench).
				out["first_sent_ns"], out["last_sent_ns"] = st.Series[0].UnixNano(), st.Series[n-1].UnixNano()
				var gap time.Duration
				for i := 1; i < n; i++ {
					gap = max(gap, st.Series[i].Sub(st.Series[i-1]))
				}
				out["max_gap_ns"] = gap.Nanoseconds() // the longest pause between two sends
			}
			if r.URL.Query().Get("brief") == "" {
				out["per_chat"] = st.PerChat
			}
			writeOK(w, out)
		}
	})
	s.handleStarts(m)
	m.HandleFunc("GET /emu/bots/{token}/chats/{chat}", func(w http.ResponseWriter, r *http.Request) {
		if b := s.pathBot(w, r); b != nil {
			id, _ := strconv.ParseInt(r.PathValue("chat"), 10, 64)
			writeOK(w, s.Transcript(b.token, id))
		}
	})
	m.HandleFunc("PUT /emu/bots/{token}/rate", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			PerSecond int `json:"per_second"`
		}
		if b := s.pathBot(w, r); b != nil && decode(w, r, &in) {
			s.SetBotRate(b.token, in.PerSecond)
			writeOK(w, true)
		}
	})
	m.HandleFunc("PUT /emu/bots/{token}/faults", func(w http.ResponseWriter, r *http.Request) {
		var in Faults // durations in nanoseconds
		if b := s.pathBot(w, r); b != nil && decode(w, r, &in) {
			s.SetFaults(b.token, in)
			writeOK(w, true)
		}
	})
	return m
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if r.ContentLength == 0 {
		return true
	}
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeError(w, badRequest("invalid JSON body"))
		return false
	}
	return true
}

func (s *Server) pathUser(w http.ResponseWriter, r *http.Request) *User {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	u := s.user(id)
	if u == nil {
		writeError(w, badRequest("user not found"))
	}
	return u
}

func (s *Server) pathBot(w http.ResponseWriter, r *http.Request) *bot {
	b := s.lookupBot(r.PathValue("token"))
	if b == nil {
		writeError(w, errUnauthorized)
	}
	return b
}

func contextWithTimeout(r *http.Request, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), d)
}

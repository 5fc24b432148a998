package tgemu

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// StartSpec is a crowd of users starting a bot at once (POST /emu/starts): Count new
// users (or, with First set, the existing users First..First+Count-1) each start the
// bot, every PayloadEvery-th of them (0: none) from a t.me link with Payload.
type StartSpec struct {
	Token        string `json:"token"`
	First        int64  `json:"first"`
	Count        int    `json:"count"`
	Payload      string `json:"payload"`
	PayloadEvery int    `json:"payload_every"`
	LanguageCode string `json:"language_code"` // of new users
}

// StartMany runs spec as fast as the emulator can (for intake benchmarks, where one
// HTTP request per start would measure the client) and returns the ids it used.
func (s *Server) StartMany(spec StartSpec) (first, last int64, err error) {
	if s.lookupBot(spec.Token) == nil {
		return 0, 0, errors.New("unknown bot token")
	}
	var users []*User
	if spec.First == 0 {
		users = s.CreateUsers(max(spec.Count, 1), UserSpec{LanguageCode: spec.LanguageCode})
	} else {
		for id := spec.First; id < spec.First+int64(spec.Count); id++ {
			u := s.user(id)
			if u == nil {
				return 0, 0, fmt.Errorf("user %d not found", id)
			}
			users = append(users, u)
		}
	}
	for i, u := range users {
		payload := ""
		if spec.PayloadEvery > 0 && i%spec.PayloadEvery == 0 {
			payload = spec.Payload
		}
		if _, err := u.StartWithPayload(spec.Token, payload); err != nil {
			return 0, 0, err
		}
	}
	return users[0].ID, users[len(users)-1].ID, nil
}

// StartReplyLatencies looks at every private chat of the bot: from the user's first
// /start to the bot's first message after it. Unanswered are the chats with a /start
// and no bot message after it.
func (s *Server) StartReplyLatencies(token string) (latencies []time.Duration, unanswered int) {
	b := s.mustBot(token)
	for i := range b.shards {
		sh := &b.shards[i]
		sh.mu.Lock()
		chats := make([]*chat, 0, len(sh.chats))
		for _, c := range sh.chats {
			chats = append(chats, c)
		}
		sh.mu.Unlock()
		for _, c := range chats {
			c.mu.Lock()
			var started int64
			answered := false
			for _, m := range c.msgs {
				switch {
				case started == 0 && m.from != nil && strings.HasPrefix(m.text, "/start"):
					started = m.at
				case started != 0 && m.bot == b:
					latencies = append(latencies, time.Duration(m.at-started))
					answered = true
				}
				if answered {
					break
				}
			}
			if started != 0 && !answered {
				unanswered++
			}
			c.mu.Unlock()
		}
	}
	return latencies, unanswered
}

// handleStarts adds the crowd start and the start→reply latencies to the user-side API.
func (s *Server) handleStarts(m *http.ServeMux) {
	// POST /emu/starts with a StartSpec: a crowd of users starts a bot at once.
	m.HandleFunc("POST /emu/starts", func(w http.ResponseWriter, r *http.Request) {
		var spec StartSpec
		if !decode(w, r, &spec) {
			return
		}
		first, last, err := s.StartMany(spec)
		if err != nil {
			writeError(w, badRequest(err.Error()))
			return
		}
		writeOK(w, map[string]int64{"first": first, "last": last})
	})
	// GET /emu/bots/{token}/start-replies: StartReplyLatencies, in microseconds.
	m.HandleFunc("GET /emu/bots/{token}/start-replies", func(w http.ResponseWriter, r *http.Request) {
		if b := s.pathBot(w, r); b != nil {
			lat, unanswered := s.StartReplyLatencies(b.token)
			us := make([]int64, len(lat))
			for i, d := range lat {
				us[i] = d.Microseconds()
			}
			writeOK(w, map[string]any{"latencies_us": us, "unanswered": unanswered})
		}
	})
}

package tgemu

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mymmrac/telego"
)

// BotSpec describes a bot to create. Token is optional; when set it must
// look like a Telegram token ("<id>:<35 chars>") and its id part is the
// bot's id.
type BotSpec struct {
	Username  string `json:"username"`
	FirstName string `json:"first_name"`
	Token     string `json:"token"`
}

// Bot identifies a created bot.
type Bot struct {
	ID       int64  `json:"id"`
	Token    string `json:"token"`
	Username string `json:"username"`
}

var tokenRE = regexp.MustCompile(`^(\d+):[\w-]{35}$`)

const chatShards = 64

// bot holds everything that belongs to one token. Nothing here is shared
// between bots, so bots never contend with each other.
type bot struct {
	srv                 *Server
	id                  int64
	token, username, fn string

	lim limiter

	faults       atomic.Pointer[Faults]
	methodFaults methodCounters

	// Private chats, sharded so that sends to different users rarely meet.
	shards [chatShards]chatShard

	upd updateQueue

	cbMu      sync.Mutex
	callbacks map[string]*callbackRecord

	miscMu   sync.Mutex
	commands map[string][]telego.BotCommand // scope+language -> commands
	paths    map[string]*file               // file_path -> file (getFile)
}

type chatShard struct {
	mu    sync.Mutex
	chats map[int64]*chat
}

func (b *bot) tgUser() telego.User {
	return telego.User{ID: b.id, IsBot: true, FirstName: b.fn, Username: b.username}
}

// CreateBot registers a new bot with a random Telegram-shaped token.
func (s *Server) CreateBot(username string) *Bot {
	b, err := s.CreateBotSpec(BotSpec{Username: username})
	if err != nil {
		panic(err) // only a fixed token can fail
	}
	return b
}

// CreateBotSpec registers a bot, optionally with a fixed token.
func (s *Server) CreateBotSpec(spec BotSpec) (*Bot, error) {
	var id int64
	token := spec.Token
	if token != "" {
		m := tokenRE.FindStringSubmatch(token)
		if m == nil {
			return nil, fmt.Errorf("tgemu: token %q is not <id>:<35 chars>", token)
		}
		id, _ = strconv.ParseInt(m[1], 10, 64)
	} else {
		id = s.nextID.Add(1)
		token = strconv.FormatInt(id, 10) + ":" + randomString(35)
	}
	if spec.Username == "" {
		spec.Username = "bot" + strconv.FormatInt(id, 10) + "_bot"
	}
	if spec.FirstName == "" {
		spec.FirstName = spec.Username
	}
	b := &bot{
		srv: s, id: id, token: token, username: spec.Username, fn: spec.FirstName,
		callbacks: make(map[string]*callbackRecord),
		commands:  make(map[string][]telego.BotCommand),
		paths:     make(map[string]*file),
	}
	b.lim.rate = s.cfg.DefaultRate
	b.lim.paid = s.cfg.PaidRate
	for i := range b.shards {
		b.shards[i].chats = make(map[int64]*chat)
	}
	b.upd.init()
	s.botsMu.Lock()
	defer s.botsMu.Unlock()
	old := *s.bots.Load()
	if _, dup := old[token]; dup {
		return nil, fmt.Errorf("tgemu: token already registered")
	}
	next := make(map[string]*bot, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[token] = b
	s.bots.Store(&next)
	return &Bot{ID: id, Token: token, Username: spec.Username}, nil
}

// Bots lists the registered bots ordered by id.
func (s *Server) Bots() []Bot {
	var out []Bot
	for _, b := range *s.bots.Load() {
		out = append(out, Bot{ID: b.id, Token: b.token, Username: b.username})
	}
	slices.SortFunc(out, func(a, b Bot) int { return int(a.ID - b.ID) })
	return out
}

// SetBotRate changes the bot's per-second limit mid-run (negative: no limit).
func (s *Server) SetBotRate(token string, perSecond int) {
	b := s.mustBot(token)
	b.lim.mu.Lock()
	b.lim.rate = perSecond
	b.lim.mu.Unlock()
}

// SetPaidRate changes the bot's allow_paid_broadcast limit.
func (s *Server) SetPaidRate(token string, perSecond int) {
	b := s.mustBot(token)
	b.lim.mu.Lock()
	b.lim.paid = perSecond
	b.lim.mu.Unlock()
}

// limiter is the per-token flood control: a sliding 1-second window of
// accepted sends. It also produces the statistics, because the window it
// keeps is exactly what MaxPerSecond needs.
type limiter struct {
	mu     sync.Mutex
	rate   int
	paid   int
	window []int64 // accepted send instants; window[head:] are within the last second
	head   int

	sent      int64
	maxWindow int
	// edited, deleted, pinned count accepted editMessage*, deleteMessage and
	// (un)pinChatMessage calls: they share the window with sends (Telegram's flood
	// control counts them) but not Sent or Series.
	edited, deleted, pinned int64
	series                  []int64
	tooMany                 atomic.Int64
}

const second = int64(time.Second)

// prune drops instants that left the window (t-1s, t].
func (l *limiter) prune(now int64) {
	for l.head < len(l.window) && l.window[l.head] <= now-second {
		l.head++
	}
	if l.head > 1024 && l.head*2 > len(l.window) {
		n := copy(l.window, l.window[l.head:])
		l.window = l.window[:n]
		l.head = 0
	}
}

// check reports whether a send at now fits; if not, the whole seconds
// until it would (at least 1, as Telegram never says 0).
func (l *limiter) check(now int64, paid bool) (ok bool, retryAfter int) {
	limit := l.rate
	if paid {
		limit = l.paid
	}
	l.prune(now)
	n := len(l.window) - l.head
	if limit < 0 || n < limit {
		return true, 0
	}
	if limit == 0 {
		return false, 1
	}
	// The send fits once the (n-limit+1)-th oldest instant leaves the window.
	oldest := l.window[l.head+n-limit]
	wait := oldest + second - now
	secs := int((wait + second - 1) / second)
	return false, max(secs, 1)
}

// accept records an accepted send; call only after check said ok.
func (l *limiter) accept(now int64) {
	l.window = append(l.window, now)
	if n := len(l.window) - l.head; n > l.maxWindow {
		l.maxWindow = n
	}
	l.sent++
	l.series = append(l.series, now)
}

// Stats are a bot's observable counters.
type Stats struct {
	// Sent is the number of accepted sends (sendMessage, sendPhoto,
	// sendDocument, sendVideo, sendAnimation, copyMessage).
	Sent int64
	// TooManyRequests is the number of 429 answers (bot and chat limits).
	TooManyRequests int64
	// MaxPerSecond is the largest number of accepted calls counted by flood
	// control (sends, edits, deletes, pins) in any sliding 1-second window
	// (exact: evaluated at every accepted call).
	MaxPerSecond int
	// Edited, Deleted and Pinned count accepted editMessage* calls, deleted
	// messages and pinChatMessage/unpinChatMessage calls.
	Edited, Deleted, Pinned int64
	// PerChat counts accepted sends per chat id.
	PerChat map[int64]int
	// Series holds the instant of every accepted send, in order.
	Series []time.Time
}

// Duplicates returns the chats that received more than one message.
func (st Stats) Duplicates() map[int64]int {
	out := map[int64]int{}
	for id, n := range st.PerChat {
		if n > 1 {
			out[id] = n
		}
	}
	return out
}

// Stats snapshots a bot's counters.
func (s *Server) Stats(token string) Stats {
	b := s.mustBot(token)
	var st Stats
	b.lim.mu.Lock()
	st.Sent = b.lim.sent
	st.MaxPerSecond = b.lim.maxWindow
	st.Edited, st.Deleted, st.Pinned = b.lim.edited, b.lim.deleted, b.lim.pinned
	st.Series = make([]time.Time, len(b.lim.series))
	for i, ns := range b.lim.series {
		st.Series[i] = s.instant(ns)
	}
	b.lim.mu.Unlock()
	st.TooManyRequests = b.lim.tooMany.Load()
	st.PerChat = map[int64]int{}
	for i := range b.shards {
		sh := &b.shards[i]
		sh.mu.Lock()
		for id, c := range sh.chats {
			c.mu.Lock()
			if c.botSent > 0 {
				st.PerChat[id] = c.botSent
			}
			c.mu.Unlock()
		}
		sh.mu.Unlock()
	}
	s.groupsMu.RLock()
	for id, g := range s.groups {
		g.mu.Lock()
		if gb := g.groupBots[b.id]; gb != nil && gb.sent > 0 {
			st.PerChat[id] = gb.sent
		}
		g.mu.Unlock()
	}
	s.groupsMu.RUnlock()
	return st
}

package bench

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"herald/bot"
	"herald/i18n"
	"herald/queue"
)

// responsiveness: the ceiling load (latency 0, unpaced, size recipients over 4 bots)
// runs while the owner sends 200 /menu commands to the management bot, one every
// 50 ms, each waiting for its reply. Latency is from the user's send (the emulator's
// user API queues the update) to the bot's reply arriving in the emulator (GET
// /emu/users/{id}/next returns), so it includes the bot's long poll, the dialog's
// database work and the reply's sendMessage. The emulator runs with its per-chat
// limit off: 200 replies in 10 s to one chat would otherwise hit Telegram's
// 1 message/s per chat, which is about the chat and not about Herald.
func responsiveness(ctx context.Context, s *scenario) (Result, error) {
	r := newResult("responsiveness")
	const bots = 4
	n := s.size - s.size%bots
	messages := 200
	if s.quick {
		messages = 20
	}
	r.Params["recipients"], r.Params["dialog_messages"] = n, messages
	emu, err := startEmulator(ctx, s.exe, s.env, emulatorSpec{bots: bots, mgmt: true, users: n + 1, rate: -1, noChatLimit: true})
	if err != nil {
		return r, err
	}
	defer emu.close()
	mgmtToken, channelTokens := emu.tokens[0], emu.tokens[1:]
	owner := emu.lastUser
	h, err := openHerald(ctx, s, owner)
	if err != nil {
		return r, err
	}
	defer h.close()
	catalog, err := i18n.New("en")
	if err != nil {
		return r, err
	}
	mb, err := bot.New(bot.Config{Token: mgmtToken, APIURL: emu.url, Store: h.store, Catalog: catalog,
		Logger: h.logger.With().Str("component", "bot").Logger().Level(zerolog.WarnLevel), DialogTTL: 30 * time.Minute})
	if err != nil {
		return r, err
	}
	// River without the management bot: progress messages would land in the owner's
	// chat between the replies being timed.
	if err := h.startRiver(ctx, emu.url, queue.DeliveryConfig{Unpaced: true}, nil, mb); err != nil {
		return r, err
	}
	botCtx, stopBot := context.WithCancel(ctx)
	mb.Start(botCtx)
	defer func() {
		stopBot()
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		mb.Stop(stopCtx)
		cancel()
	}()
	probe := menuProbe{emu: emu, token: mgmtToken, user: "/emu/users/" + strconv.FormatInt(owner, 10)}
	// The owner starts the bot and sees the menu once before the load begins.
	if err := probe.start(ctx); err != nil {
		return r, err
	}
	idle, err := probe.sample(ctx, 20, 20*time.Millisecond, nil)
	if err != nil {
		return r, err
	}
	ids, err := confirmPerBot(ctx, h, emu, channelTokens, n/bots)
	if err != nil {
		return r, err
	}
	var duringLoad int
	loaded, err := probe.sample(ctx, messages, 50*time.Millisecond, func() {
		if open, err := h.store.CampaignsOpenCount(ctx, ids); err == nil && open > 0 {
			duringLoad++
		}
	})
	if err != nil {
		return r, err
	}
	if err := h.waitFinished(ctx, ids, 10*time.Minute); err != nil {
		return r, err
	}
	if _, err := checkExactlyOnce(ctx, emu, channelTokens, n/bots); err != nil {
		return r, err
	}
	r.Params["replies_while_campaigns_ran"] = duringLoad
	r.Metrics["p50_ms"] = percentile(loaded, 0.50)
	r.Metrics["p99_ms"] = percentile(loaded, 0.99)
	r.Metrics["max_ms"] = percentile(loaded, 1)
	r.Metrics["idle_p50_ms"] = percentile(idle, 0.50)
	r.target("p99_ms", "<=", 100)
	return r, nil
}

// menuProbe times the owner's /menu: from the user's send to the bot's reply.
type menuProbe struct {
	emu         *emulator
	token, user string
}

func (p menuProbe) next() string {
	return p.user + "/next?timeout=10s&token=" + url.QueryEscape(p.token)
}

// start sends /start and waits for its answer.
func (p menuProbe) start(ctx context.Context) error {
	if err := p.emu.call(ctx, "POST", p.user+"/start", map[string]string{"token": p.token}, nil); err != nil {
		return err
	}
	if err := p.emu.call(ctx, "GET", p.next(), nil, nil); err != nil {
		return fmt.Errorf("reply to /start: %w", err)
	}
	return nil
}

func (p menuProbe) menu(ctx context.Context) (time.Duration, error) {
	t0 := time.Now()
	if err := p.emu.call(ctx, "POST", p.user+"/command", map[string]string{"token": p.token, "command": "/menu"}, nil); err != nil {
		return 0, err
	}
	if err := p.emu.call(ctx, "GET", p.next(), nil, nil); err != nil {
		return 0, fmt.Errorf("reply to /menu: %w", err)
	}
	return time.Since(t0), nil
}

// sample times n menus, one every interval; after each, observe (if any) runs.
func (p menuProbe) sample(ctx context.Context, n int, every time.Duration, observe func()) ([]time.Duration, error) {
	out := make([]time.Duration, 0, n)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for range n {
		<-tick.C
		d, err := p.menu(ctx)
		if err != nil {
			return out, err
		}
		out = append(out, d)
		if observe != nil {
			observe()
		}
	}
	return out, nil
}

// confirmPerBot starts one campaign per channel bot, each to its own perBot users.
func confirmPerBot(ctx context.Context, h *herald, emu *emulator, tokens []string, perBot int) ([]int64, error) {
	tpl, err := h.template(ctx)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for i, tok := range tokens {
		channel, err := h.channel(ctx, tok, 1000)
		if err != nil {
			return nil, err
		}
		batch, err := h.batch(ctx, emu.firstUser+int64(i*perBot), perBot)
		if err != nil {
			return nil, err
		}
		id, err := h.confirm(ctx, tpl, batch, channel)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// percentile is the q-quantile of ds (nearest rank) in milliseconds.
func percentile(ds []time.Duration, q float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s)) + 0.5)
	i = min(max(i-1, 0), len(s)-1)
	return float64(s[i].Microseconds()) / 1000
}

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
	user := "/emu/users/" + strconv.FormatInt(owner, 10)
	next := user + "/next?timeout=10s&token=" + url.QueryEscape(mgmtToken)
	menu := func() (time.Duration, error) {
		t0 := time.Now()
		if err := emu.call(ctx, "POST", user+"/command", map[string]string{"token": mgmtToken, "command": "/menu"}, nil); err != nil {
			return 0, err
		}
		if err := emu.call(ctx, "GET", next, nil, nil); err != nil {
			return 0, fmt.Errorf("reply to /menu: %w", err)
		}
		return time.Since(t0), nil
	}
	// The owner starts the bot and sees the menu once before the load begins.
	if err := emu.call(ctx, "POST", user+"/start", map[string]string{"token": mgmtToken}, nil); err != nil {
		return r, err
	}
	if err := emu.call(ctx, "GET", next, nil, nil); err != nil {
		return r, fmt.Errorf("reply to /start: %w", err)
	}
	idle := make([]time.Duration, 0, 20)
	for range 20 {
		d, err := menu()
		if err != nil {
			return r, err
		}
		idle = append(idle, d)
		time.Sleep(20 * time.Millisecond)
	}

	tpl, err := h.template(ctx)
	if err != nil {
		return r, err
	}
	var ids []int64
	for i, tok := range channelTokens {
		channel, err := h.channel(ctx, tok, 1000)
		if err != nil {
			return r, err
		}
		batch, err := h.batch(ctx, emu.firstUser+int64(i*n/bots), n/bots)
		if err != nil {
			return r, err
		}
		id, err := h.confirm(ctx, tpl, batch, channel)
		if err != nil {
			return r, err
		}
		ids = append(ids, id)
	}
	loaded := make([]time.Duration, 0, messages)
	var duringLoad int
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for range messages {
		<-tick.C
		d, err := menu()
		if err != nil {
			return r, err
		}
		loaded = append(loaded, d)
		if open, err := h.store.CampaignsOpenCount(ctx, ids); err == nil && open > 0 {
			duringLoad++
		}
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

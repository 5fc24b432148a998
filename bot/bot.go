// Package bot is the management bot's Telegram side: it takes updates (long polling,
// or a webhook on Herald's HTTP server), serialises them per chat, checks who is
// talking, hands them to the dialog engine (flows) and sends the replies. Every
// command and callback prefix it answers is listed in routes.go.
package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mymmrac/telego"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"herald/backoff"
	"herald/flows"
	"herald/i18n"
	"herald/store"
)

// Config is what the bot needs; Token, Store and Catalog are required.
type Config struct {
	Token      string
	APIURL     string // Bot API server (default https://api.telegram.org); the emulator in tests
	WebhookURL string // public URL of the webhook; empty means long polling
	// WebhookSecret is checked in X-Telegram-Bot-Api-Secret-Token. Empty: one derived
	// from the token, so replicas agree without configuration — but then whoever holds
	// the token can also forge updates, so operators should set it.
	WebhookSecret string
	Store         *store.Store
	Catalog       *i18n.Catalog
	Logger        zerolog.Logger
	DialogTTL     time.Duration
	// PollTimeout is the long-polling timeout (default 25 s).
	PollTimeout time.Duration
	// LockRetry is how often a standby process tries to become the poller (default 2 s).
	LockRetry time.Duration
	// RefusalWindow: a non-admin gets one refusal per window (default 10 min).
	RefusalWindow time.Duration
	// CallbackBudget: a press not answered by its handler within it is answered
	// empty (default 700 ms).
	CallbackBudget time.Duration
	// CommandsRetry is the first pause before setMyCommands is tried again for a
	// language that failed; it doubles up to 64× (default 30 s).
	CommandsRetry time.Duration
	Now           func() time.Time
	// Services are handed to the dialogs (see flows.Services).
	Services flows.Services
	// Client is the management bot's Bot API client from NewClient, built first and
	// shared with the delivery engine (queue.Config.ManagementBot); nil: New builds one.
	Client *telego.Bot
	// UpdateTimeout and UploadTimeout bound the handling of one update (defaults
	// flows.DefaultTimeout and flows.DefaultUploadTimeout).
	UpdateTimeout, UploadTimeout time.Duration
	// Observer is told how long updates waited and took (metrics.Metrics; nil: nobody).
	Observer Observer
}

// Observer receives the timing of every handled update.
type Observer interface {
	UpdateHandled(kind string, wait, took time.Duration)
}

type nopObserver struct{}

func (nopObserver) UpdateHandled(string, time.Duration, time.Duration) {}

// Intake states, reported by Status.
const (
	StateStarting = "starting"
	StateOK       = "ok"
	StateStandby  = "standby" // another process holds the polling lock
	StateDown     = "down"
)

// Bot is the management bot runtime. Start it once; Stop it once.
type Bot struct {
	cfg      Config
	log      zerolog.Logger
	tg       *telego.Bot
	download *http.Client // file downloads (getFile's URLs)
	engine   *flows.Engine
	routes   routes
	dispatch *dispatcher
	secret   string // webhook secret (configured, or derived from the token)
	hookPath string

	state   atomic.Value // string
	detail  atomic.Value // string
	botID   atomic.Int64
	webhook atomic.Bool // accepting webhook requests

	refusals       refusals
	strangers      chan telego.Update // the lane of updates from non-admins (refuse.go)
	admins         sync.Map           // user id → true: known admins skip the lane
	refusalReplies *rate.Limiter
	laneDone       sync.WaitGroup
	laneStop       context.CancelFunc

	intakeCancel context.CancelFunc // stops taking updates
	workCancel   context.CancelFunc // cancels handlers still running at the deadline
	workCtx      context.Context
	done         chan struct{} // closed when the intake goroutine has returned
	startOnce    sync.Once
}

// New builds the bot; nothing talks to Telegram before Start.
func New(cfg Config) (*Bot, error) {
	if cfg.Token == "" || cfg.Store == nil || cfg.Catalog == nil {
		return nil, errors.New("bot: Token, Store and Catalog are required")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = "https://api.telegram.org"
	}
	if cfg.PollTimeout <= 0 {
		cfg.PollTimeout = 25 * time.Second
	}
	if cfg.LockRetry <= 0 {
		cfg.LockRetry = 2 * time.Second
	}
	if cfg.RefusalWindow <= 0 {
		cfg.RefusalWindow = 10 * time.Minute
	}
	if cfg.CallbackBudget <= 0 {
		cfg.CallbackBudget = defaultCallbackBudget
	}
	if cfg.CommandsRetry <= 0 {
		cfg.CommandsRetry = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	tg := cfg.Client
	if tg == nil {
		var err error
		if tg, err = NewClient(cfg.Token, cfg.APIURL, cfg.PollTimeout); err != nil {
			return nil, err
		}
	}
	b := &Bot{cfg: cfg, log: cfg.Logger.With().Str("component", "bot").Logger(), tg: tg,
		download: &http.Client{Timeout: 2 * time.Minute}}
	// The dialogs' Telegram services are the bot's own unless the caller replaced them.
	if cfg.Services.Chat == nil {
		cfg.Services.Chat = b
	}
	if cfg.Services.Files == nil {
		cfg.Services.Files = b
	}
	if cfg.Services.Uploads == nil {
		cfg.Services.Uploads = b
	}
	if cfg.Services.Channels == nil {
		cfg.Services.Channels = &channelBots{apiURL: cfg.APIURL, files: cfg.Services.Files, hookBase: cfg.WebhookURL}
	}
	if cfg.Services.ManagementBotID == nil {
		cfg.Services.ManagementBotID = b.selfID
	}
	b.cfg = cfg
	b.routes = newRoutes()
	var err error
	b.engine, err = flows.NewEngine(flows.Config{
		Store: cfg.Store, TTL: cfg.DialogTTL, Roles: b.routes.roles, Commands: b.routes.commandTargets(),
		Services: cfg.Services, Timeout: cfg.UpdateTimeout, UploadTimeout: cfg.UploadTimeout,
	})
	if err != nil {
		return nil, fmt.Errorf("bot routes: %w", err)
	}
	b.secret = cfg.WebhookSecret
	if b.secret == "" {
		sum := sha256.Sum256([]byte("herald-webhook-secret:" + cfg.Token))
		b.secret = hex.EncodeToString(sum[:])
	}
	if cfg.WebhookURL != "" {
		u, err := url.Parse(cfg.WebhookURL)
		if err != nil {
			return nil, fmt.Errorf("webhook URL: %w", err)
		}
		b.hookPath = u.Path
		if b.hookPath == "" {
			b.hookPath = "/"
		}
	}
	b.state.Store(StateStarting)
	b.detail.Store("")
	b.dispatch = newDispatcher(b.handleUpdate)
	b.refusals.users = map[int64]*refusalWindow{}
	b.strangers = make(chan telego.Update, strangerLane)
	b.refusalReplies = rate.NewLimiter(strangerRate, strangerRate)
	return b, nil
}

// Client is the management bot's Bot API client, shared with the delivery engine for
// progress messages, reports and media downloads.
func (b *Bot) Client() *telego.Bot { return b.tg }

// WebhookPath is the path of Herald's HTTP server where Telegram posts updates ("" in
// long-polling mode).
func (b *Bot) WebhookPath() string { return b.hookPath }

// Status is the intake's state for /readyz, with a short detail without secrets.
func (b *Bot) Status() (state, detail string) {
	return b.state.Load().(string), b.detail.Load().(string)
}

func (b *Bot) setState(state, detail string) {
	b.state.Store(state)
	b.detail.Store(detail)
}

// Start begins taking updates in the background: it identifies the bot (getMe,
// retried while Telegram is unreachable), registers the commands in English and
// Russian, and then either sets the webhook or long-polls while holding the polling
// lock. ctx bounds nothing but start-up calls; Stop ends the intake.
func (b *Bot) Start(ctx context.Context) {
	b.startOnce.Do(func() {
		intakeCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		b.intakeCancel = cancel
		b.workCtx, b.workCancel = context.WithCancel(context.WithoutCancel(ctx))
		b.done = make(chan struct{})
		var laneCtx context.Context
		laneCtx, b.laneStop = context.WithCancel(b.workCtx)
		for range laneWorkers {
			b.laneDone.Add(1)
			go func() { // owned by the Bot: Stop cancels laneCtx and waits on laneDone
				defer b.laneDone.Done()
				b.runLane(laneCtx)
			}()
		}
		go func() { // owned by the Bot: Stop cancels intakeCtx and waits on done
			defer close(b.done)
			b.runIntake(intakeCtx)
		}()
	})
}

// Stop stops taking updates first, lets the updates already running finish until
// ctx ends (after which their contexts are cancelled) and leaves the ones queued
// behind them unhandled and unconfirmed, for the next start. It returns when every
// goroutine of the bot has ended.
func (b *Bot) Stop(ctx context.Context) {
	if b.done == nil {
		return
	}
	b.webhook.Store(false)
	b.dispatch.stop()
	b.intakeCancel()
	drained := make(chan struct{})
	go func() { // owned here: we wait on drained below in every case
		b.dispatch.wait()
		close(drained)
	}()
	select {
	case <-drained:
	case <-ctx.Done():
		b.log.Warn().Msg("updates still running at the shutdown deadline; cancelling them")
		b.workCancel()
		<-drained
	}
	// The poller confirms the handled updates once the dispatcher has drained.
	<-b.done
	b.laneStop()
	b.laneDone.Wait()
	flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	b.refusals.flush(flushCtx, b)
	cancel()
	b.workCancel()
}

func (b *Bot) runIntake(ctx context.Context) {
	for attempt := 0; ; attempt++ {
		err := b.identify(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		b.setState(StateDown, "Telegram does not answer getMe")
		b.log.Warn().Err(err).Msg("management bot: getMe failed; retrying")
		if !backoff.Sleep(ctx, attempt) {
			return
		}
	}
	b.loadAdmins(ctx)
	commands := make(chan struct{})
	go func() { // owned here: we wait on commands before returning
		defer close(commands)
		b.registerCommands(ctx)
	}()
	defer func() { <-commands }()
	if b.cfg.WebhookURL != "" {
		b.runWebhook(ctx)
		return
	}
	b.runPolling(ctx)
}

func (b *Bot) identify(ctx context.Context) error {
	callCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	me, err := b.tg.GetMe(callCtx)
	if err != nil {
		return fmt.Errorf("getMe: %w", err)
	}
	b.botID.Store(me.ID)
	return nil
}

// registerCommands sets the command menu for every language independently, and
// retries the ones that failed with a growing pause (CommandsRetry doubling, at most
// 64×) until they succeed or ctx ends: commands are a convenience of the client's
// menu, the bot works without them.
func (b *Bot) registerCommands(ctx context.Context) {
	retry := backoff.Policy{Base: b.cfg.CommandsRetry, Max: b.cfg.CommandsRetry << 6}
	pending := []string{"", "en", "ru"}
	for attempt := 0; ; attempt++ {
		var failed []string
		for _, lang := range pending {
			if err := b.setCommands(ctx, lang); err != nil {
				if ctx.Err() != nil {
					return
				}
				b.log.Warn().Err(err).Str("language", lang).Int("attempt", attempt+1).Msg("setMyCommands failed; will retry")
				failed = append(failed, lang)
			}
		}
		if len(failed) == 0 || !retry.Sleep(ctx, attempt) {
			return
		}
		pending = failed
	}
}

func (b *Bot) setCommands(ctx context.Context, lang string) error {
	l := b.cfg.Catalog.For(lang)
	if lang == "" {
		l = b.cfg.Catalog.For("en")
	}
	var cmds []telego.BotCommand
	for _, c := range b.routes.commands {
		if c.Listed {
			cmds = append(cmds, telego.BotCommand{Command: c.Name, Description: l.T(c.Description)})
		}
	}
	callCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := b.tg.SetMyCommands(callCtx, &telego.SetMyCommandsParams{Commands: cmds, LanguageCode: lang}); err != nil {
		return fmt.Errorf("set commands (%q): %w", lang, err)
	}
	return nil
}

// Services are the services the dialogs use, with the ones the bot fills in itself
// (Telegram calls), for the HTTP API, which must apply the same rules through them.
func (b *Bot) Services() flows.Services { return b.cfg.Services }

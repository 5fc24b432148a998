package channelbot

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/mymmrac/telego"
	ta "github.com/mymmrac/telego/telegoapi"
	"golang.org/x/time/rate"

	"herald/backoff"
	"herald/render"
)

// replier sends a bot's answers to /start and /stop, one at a time, at most at the
// bot's rate.
//
// Why its own limiter and not the delivery lane's pacer: the lane of a bot runs in
// whichever process holds the lane's lease, only while a campaign is running, and its
// pacer lives inside that job; the intake of the bot runs in the process holding the
// bot's advisory lock. The two meet only when both happen to be in one process, so
// sharing would be correct only by chance. While a campaign runs on a managed bot,
// the bot's sends are at most its rate from the lane plus its rate of replies here;
// Telegram's broadcast limit concerns unsolicited messages, and a reply to a user who
// has just written is the traffic it least restricts — a 429 is still obeyed for the
// whole replier (retry_after), and the lane obeys its own.
type replier struct {
	in      *Intake
	channel *channelPointer
	tg      *telego.Bot
	queue   chan reply
	lim     *rate.Limiter

	welcomeID int64 // the cached welcome template (0: built-in)
	welcome   *welcomeMessage
	welcomeAt time.Time
	answered  []time.Time // answer times of the last rate sends (waitWindow)
	dropped   atomic.Int64
	sent      atomic.Int64
}

// welcomeMessage is a parsed welcome template.
type welcomeMessage struct {
	tpl    *render.Template
	markup *telego.InlineKeyboardMarkup
}

// welcomeTTL: a template edited (or the choice changed) is picked up within this long.
const welcomeTTL = 10 * time.Second

func newReplier(in *Intake, ch *channelPointer, tg *telego.Bot) *replier {
	r := &replier{in: in, channel: ch, tg: tg, queue: make(chan reply, in.cfg.ReplyQueue)}
	r.lim = rate.NewLimiter(rate.Limit(r.rate()), 1)
	return r
}

func (r *replier) rate() int { return max(1, r.channel.Load().RatePerSecond) }

// offer queues a reply without waiting: with a full queue (a flood of starts far
// above the bot's rate) the reply is dropped and counted, never the update.
func (r *replier) offer(rep reply) {
	select {
	case r.queue <- rep:
	default:
		r.dropped.Add(1)
	}
}

// run sends queued replies until ctx ends.
func (r *replier) run(ctx context.Context) {
	for {
		var rep reply
		select {
		case rep = <-r.queue:
		case <-ctx.Done():
			return
		}
		if limit := rate.Limit(r.rate()); r.lim.Limit() != limit {
			r.lim.SetLimit(limit) // the admin changed the bot's rate; waitWindow follows it
		}
		if err := r.lim.Wait(ctx); err != nil {
			return
		}
		if !r.waitWindow(ctx) {
			return
		}
		r.send(ctx, rep)
		r.answered = append(r.answered, time.Now())
	}
}

// waitWindow makes the rate exact, as the delivery lane's send window does: a send
// starts only a second after the answer to the send rate places before it. Telegram
// counts a message somewhere between our request and its answer, so spacing by start
// times alone lets a late answer and an early start share a second.
func (r *replier) waitWindow(ctx context.Context) bool {
	n := r.rate()
	if len(r.answered) > n {
		r.answered = r.answered[len(r.answered)-n:]
	}
	if len(r.answered) < n {
		return true
	}
	return backoff.Wait(ctx, time.Until(r.answered[0].Add(time.Second)))
}

// send sends one reply, waiting out a 429 (at most three times); other failures (the
// user blocked the bot meanwhile) are logged at debug level and dropped.
func (r *replier) send(ctx context.Context, rep reply) {
	params := r.message(ctx, rep)
	for attempt := range 3 {
		callCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
		_, err := r.tg.SendMessage(callCtx, params)
		cancel()
		if err == nil {
			r.sent.Add(1)
			return
		}
		var apiErr *ta.Error
		if errors.As(err, &apiErr) && apiErr.ErrorCode == http.StatusTooManyRequests && apiErr.Parameters != nil {
			if !backoff.Wait(ctx, time.Duration(apiErr.Parameters.RetryAfter)*time.Second) {
				return
			}
			continue
		}
		if ctx.Err() == nil {
			r.in.log.Debug().Err(err).Int64("channel_id", r.channel.Load().ID).Int("attempt", attempt).Msg("reply not sent")
		}
		return
	}
}

// message is the text rep gets: the welcome template (or the built-in text) or the
// /stop confirmation, in the user's language.
func (r *replier) message(ctx context.Context, rep reply) *telego.SendMessageParams {
	// The replies are paced at the bot's rate, which for a bot with paid broadcasts
	// is above Telegram's free limit: they need the flag as the campaigns do, or
	// Telegram answers 429 to a flood of starts.
	p := &telego.SendMessageParams{ChatID: telego.ChatID{ID: rep.chatID}, AllowPaidBroadcast: r.channel.Load().PaidBroadcast}
	l := r.in.cfg.Catalog.For(userLang(rep.lang))
	if rep.kind == replyStopped {
		p.Text = l.T("intake.stopped")
		return p
	}
	if w := r.welcomeTemplate(ctx); w != nil {
		p.Text, p.Entities = w.tpl.Render(rep.vars())
		p.ReplyMarkup = w.markup
		if p.Text != "" {
			return p
		}
	}
	p.Text = l.T("intake.welcome")
	return p
}

// userLang: Russian for a user whose Telegram is in Russian, English otherwise.
func userLang(code string) string {
	if code == "ru" || len(code) > 2 && code[:3] == "ru-" {
		return "ru"
	}
	return "en"
}

// welcomeTemplate returns the channel's welcome template, parsed, cached for
// welcomeTTL; nil for the built-in text (none chosen, or it cannot be read).
func (r *replier) welcomeTemplate(ctx context.Context) *welcomeMessage {
	var id int64
	if p := r.channel.Load().WelcomeTemplateID; p != nil {
		id = *p
	}
	if id == r.welcomeID && time.Since(r.welcomeAt) < welcomeTTL {
		return r.welcome
	}
	r.welcomeID, r.welcomeAt, r.welcome = id, time.Now(), nil
	if id == 0 {
		return nil
	}
	t, err := r.in.cfg.Store.TemplateGet(ctx, id)
	if err != nil {
		r.in.log.Warn().Err(err).Int64("template_id", id).Msg("welcome template; answering with the built-in text")
		return nil
	}
	var entities []telego.MessageEntity
	_ = json.Unmarshal(t.Entities, &entities)
	tpl, err := render.Parse(t.Body, entities)
	if err != nil {
		r.in.log.Warn().Err(err).Int64("template_id", id).Msg("welcome template does not parse")
		return nil
	}
	w := &welcomeMessage{tpl: tpl}
	var rows [][]telego.InlineKeyboardButton
	if json.Unmarshal(t.Buttons, &rows) == nil && len(rows) > 0 {
		w.markup = &telego.InlineKeyboardMarkup{InlineKeyboard: rows}
	}
	r.welcome = w
	return w
}

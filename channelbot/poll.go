package channelbot

import (
	"context"
	"time"

	"github.com/mymmrac/telego"
	"github.com/rs/zerolog"

	"herald/backoff"
	"herald/store"
)

// ClientFactory makes a bot's Telegram client for long polls of pollTimeout.
type ClientFactory func(token, apiURL string, pollTimeout time.Duration) (*telego.Bot, error)

// botRunner is one managed bot whose election this process won: its poll loop and its
// replier, both ended by stop; in webhook mode, the keeper of its webhook (no replier:
// the receivers answer).
type botRunner struct {
	in        *Intake
	channelID int64
	sealed    []byte // the token's ciphertext when started: another token restarts it
	channel   *channelPointer
	tg        *telego.Bot
	replier   *replier
	log       zerolog.Logger

	cancel context.CancelFunc
	done   chan struct{}
}

func (in *Intake) startBot(ctx context.Context, c store.Channel, token string) (*botRunner, error) {
	tg, err := in.cfg.NewClient(token, in.cfg.APIURL, in.cfg.PollTimeout)
	if err != nil {
		return nil, err
	}
	r := &botRunner{in: in, channelID: c.ID, sealed: c.TokenCiphertext, channel: &channelPointer{}, tg: tg,
		log: in.log.With().Int64("channel_id", c.ID).Logger(), done: make(chan struct{})}
	r.channel.Store(&c)
	runCtx, cancel := context.WithCancel(ctx)
	r.cancel = cancel
	if in.webhookMode() {
		go func() { // owned by the runner: stop cancels it and waits on done
			defer close(r.done)
			r.keepHook(runCtx)
		}()
		return r, nil
	}
	r.replier = newReplier(in, r.channel, tg)
	go func() { // owned by the runner: stop cancels it and waits on done
		defer close(r.done)
		replied := make(chan struct{})
		go func() { // owned here: ends with runCtx, waited for below
			defer close(replied)
			r.replier.run(runCtx)
		}()
		r.poll(runCtx)
		cancel()
		<-replied
	}()
	r.log.Info().Msg("managed bot: polling")
	return r, nil
}

func (r *botRunner) stop() {
	r.cancel()
	<-r.done
}

// pollFloor: after an empty answer that came sooner than the long poll asked for (a
// server that ignores timeout), wait before asking again, 100 ms doubling up to 1 s.
var pollFloor = backoff.Policy{Base: 100 * time.Millisecond, Max: time.Second}

// poll long-polls until ctx ends. Each answer is written before the next getUpdates
// confirms it; a failed write asks for the same updates again.
func (r *botRunner) poll(ctx context.Context) {
	offset, failures, empties := 0, 0, 0
	timeout := r.in.cfg.PollTimeout
	r.dropOwnHook(ctx) // the deployment was in webhook mode before
	for ctx.Err() == nil {
		asked := time.Now()
		updates, err := r.tg.GetUpdates(ctx, &telego.GetUpdatesParams{
			Offset: offset, Timeout: int(timeout / time.Second), Limit: 100, AllowedUpdates: allowedUpdates,
		})
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			failures++
			// 409: a webhook set by another app, or a poller elsewhere that did not take
			// part in the election (an older Herald): logged, retried, never forced.
			r.log.Warn().Err(err).Int("failures", failures).Msg("managed bot: getUpdates")
			if !backoff.Sleep(ctx, failures-1) {
				break
			}
			continue
		}
		failures = 0
		if len(updates) == 0 {
			if time.Since(asked) < timeout/2 {
				if !pollFloor.Sleep(ctx, empties) {
					break
				}
				empties++
			}
			continue
		}
		empties = 0
		p := parseUpdates(r.channelID, updates)
		if err := r.in.w.write(ctx, p.batch); err != nil {
			if ctx.Err() != nil {
				break
			}
			r.log.Error().Err(err).Int("updates", len(updates)).Msg("managed bot: updates not recorded; asking again")
			if !backoff.Sleep(ctx, 0) {
				break
			}
			continue
		}
		offset = updates[len(updates)-1].UpdateID + 1
		r.in.refreshForWelcome(ctx, r.channelID, r.channel, p.replies)
		for _, rep := range p.replies {
			r.replier.offer(rep)
		}
	}
	r.confirm(ctx, offset)
}

// confirm tells Telegram that the updates before offset are recorded, so that the
// next poller (here after a restart, or in another process) does not take them again:
// a getUpdates with no long poll and limit 1 (the one update it may return stays
// unconfirmed).
func (r *botRunner) confirm(ctx context.Context, offset int) {
	if offset == 0 {
		return
	}
	callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	if _, err := r.tg.GetUpdates(callCtx, &telego.GetUpdatesParams{Offset: offset, Limit: 1, AllowedUpdates: allowedUpdates}); err != nil {
		r.log.Warn().Err(err).Msg("managed bot: confirm the last updates")
	}
}

// refreshForWelcome reads the bot's channel row again before replies that include a
// welcome are queued: a welcome picked on the card just before a user's /start is
// then the one the user gets (the NOTIFY that refreshes every intake may come a moment
// after the /start). One read per answer of getUpdates (or webhook update) with a
// /start in it; on failure the row from the last look stays.
func (in *Intake) refreshForWelcome(ctx context.Context, channelID int64, ptr *channelPointer, replies []reply) {
	for _, rep := range replies {
		if rep.kind != replyWelcome {
			continue
		}
		callCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if c, err := in.cfg.Store.ChannelGet(callCtx, channelID); err == nil {
			ptr.Store(&c)
		}
		return
	}
}

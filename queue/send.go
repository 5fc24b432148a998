package queue

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"herald/backoff"
	"herald/render"
	"herald/store"
)

// sendOne makes one request and turns its answer into an outcome.
// startSend sends t unless its campaign stopped being sendable (or the lease margin ran
// out) while t waited for a free sender. The dispatcher checks before it hands a task
// over, but the hand-over waits for an idle sender, and meanwhile a poll may apply a
// pause and the next poll acknowledge it: Pause has returned then, so the send must
// not start. What is left is the request's way from here to Telegram, which began
// before the acknowledgement unless this goroutine stalls a whole ControlPoll.
func (l *lane) startSend(ctx context.Context, t sendTask) store.DeliveryOutcome {
	if !l.mayStart() || !l.isSendable(t.d.CampaignID) {
		t.slot.finish()
		return unsend(t.d)
	}
	return l.sendOne(ctx, t)
}

func (l *lane) sendOne(ctx context.Context, t sendTask) store.DeliveryOutcome {
	defer t.slot.finish()
	d := t.d
	out := store.DeliveryOutcome{CampaignID: d.CampaignID, ChatID: d.ChatID}
	vars, err := decodeVars(d.Vars)
	if err != nil {
		out.Status, out.Error, out.CountAttempt = store.DeliveryFailed, "recipient variables: "+err.Error(), true
		return out
	}
	reqCtx, cancel := context.WithTimeout(ctx, l.e.cfg.RequestTimeout)
	msgID, err := l.send(reqCtx, t, vars)
	cancel()
	out.At = time.Now() // the answer's second, for the chart's counters
	if err == nil {
		out.Status, out.MessageID, out.CountAttempt = store.DeliverySent, msgID, true
		return out
	}
	f := classifySendError(err)
	switch f.class {
	case classRateLimited:
		l.rateLimited(ctx, f.retryAfter)
		out.Status, out.NotBefore, out.RetryAfter = store.DeliveryPending, time.Now().Add(f.retryAfter), f.retryAfter
	case classBlocked:
		out.Status, out.Error, out.Suppress, out.CountAttempt = store.DeliveryBlocked, f.reason, f.suppress, true
	case classUnreachable:
		out.Status, out.Error, out.CountAttempt = store.DeliveryFailed, f.reason, true
	case classTooLong:
		if t.msg.tooLongAlone() {
			out.Status = store.DeliveryPending
			l.halt(ctx, d.CampaignID, f.reason)
			break
		}
		out.Status, out.Error, out.CountAttempt = store.DeliveryFailed, ReasonTooLongForRecipient, true
	case classTemplate:
		out.Status = store.DeliveryPending
		l.halt(ctx, d.CampaignID, f.reason)
	case classRetry:
		l.retryLater(ctx, d, f, &out)
	default:
		l.log.Warn().Err(err).Int64("campaign_id", d.CampaignID).Int64("chat_id", d.ChatID).Str("cause", f.reason).Msg("delivery uncertain")
		out.Status, out.Error, out.CountAttempt = store.DeliveryUncertain, f.reason, true
	}
	return out
}

// ReasonTooLongForRecipient is the error of a delivery whose message, with this
// recipient's values, is over Telegram's length limit while the template alone is not.
const ReasonTooLongForRecipient = "message too long for this recipient"

func (l *lane) rateLimited(ctx context.Context, retryAfter time.Duration) {
	l.e.obs.RateLimited(l.ch.ID, retryAfter)
	until := time.Now().Add(retryAfter)
	if l.pacer.pause(until) {
		l.log.Warn().Dur("retry_after", retryAfter).Msg("429 from Telegram; lane waits")
		if err := l.e.store.ChannelSetRetryAfter(context.WithoutCancel(ctx), l.ch.ID, until); err != nil {
			l.log.Warn().Err(err).Msg("record retry_after")
		}
	}
}

// retryLater puts back a delivery whose request provably did not reach Telegram, with
// backoff, or fails it after MaxAttempts.
func (l *lane) retryLater(ctx context.Context, d store.ClaimedDelivery, f sendFailure, out *store.DeliveryOutcome) {
	if ctx.Err() != nil {
		out.Status = store.DeliveryPending // stopped before the request left
		return
	}
	attempts := int(d.Attempts) + 1
	if attempts >= l.e.cfg.MaxAttempts {
		out.Status, out.Error, out.CountAttempt = store.DeliveryFailed, f.reason, true
		return
	}
	retry := backoff.Policy{Base: l.e.cfg.RetryBackoff, Max: time.Minute}
	out.Status, out.Error, out.CountAttempt, out.NotBefore = store.DeliveryPending, f.reason, true, time.Now().Add(retry.Delay(attempts-1))
}

// tooLongAlone reports whether the template is over Telegram's limit with every
// variable at its default: then no recipient can get it and the campaign pauses.
func (m *campaignMessage) tooLongAlone() bool {
	limit := render.MaxTextLength
	if m.mediaKind != "" {
		limit = render.MaxCaptionLength
	}
	return m.tpl.LongestLen(nil) > limit
}

// decodeVars reads a recipient's variables; values that are not strings are written
// as JSON has them.
func decodeVars(raw []byte) (map[string]string, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var vars map[string]string
	if err := json.Unmarshal(raw, &vars); err == nil {
		return vars, nil
	}
	var loose map[string]json.RawMessage
	if err := json.Unmarshal(raw, &loose); err != nil {
		return nil, err
	}
	vars = make(map[string]string, len(loose))
	for k, v := range loose {
		var s string
		if json.Unmarshal(v, &s) == nil {
			vars[k] = s
		} else if !bytes.Equal(v, []byte("null")) {
			vars[k] = string(v)
		}
	}
	return vars, nil
}

// settleLoop writes outcomes in batches: when 256 are waiting or every 25 ms.
func (l *lane) settleLoop(results <-chan store.DeliveryOutcome) error {
	const batchMax = 256
	batch := make([]store.DeliveryOutcome, 0, batchMax)
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	var firstErr error
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := l.settle(batch); err != nil && firstErr == nil {
			firstErr = err
		}
		l.outstanding.Add(-int64(len(batch)))
		batch = batch[:0]
		select {
		case l.settled <- struct{}{}:
		default:
		}
	}
	for {
		select {
		case o, ok := <-results:
			if !ok {
				flush()
				return firstErr
			}
			batch = append(batch, o)
			if len(batch) >= batchMax {
				flush()
			}
		case <-tick.C:
			flush()
		}
	}
}

// settle writes one batch. A database restart or failover takes seconds, and giving up
// sooner would turn sends Telegram confirmed into uncertain ones that an admin may then
// resend, so it retries with backoff for up to half the delivery lease (meanwhile the
// lane stalls, which is right: it could not claim work either). Outcomes still unwritten
// then stay in flight and become uncertain when their lease runs out, which is the truth
// as far as the database can know. Its context is not the lane's: outcomes of sends
// that left must be written even while the lane is stopping, so its only bound is that
// deadline.
func (l *lane) settle(batch []store.DeliveryOutcome) error {
	ctx, cancel := context.WithTimeout(context.Background(), l.e.cfg.DeliveryLease/2)
	defer cancel()
	for attempt := 0; ; attempt++ {
		callCtx, cancelCall := context.WithTimeout(ctx, 10*time.Second)
		_, err := l.e.store.DeliverySettle(callCtx, l.ch.ID, batch)
		cancelCall()
		if err == nil {
			observeSettled(l.e.obs, l.ch.ID, batch)
			return nil
		}
		if deadline, _ := ctx.Deadline(); time.Now().Add(settleRetry.Delay(attempt)).After(deadline) ||
			!settleRetry.Sleep(ctx, attempt) {
			return fmt.Errorf("write %d delivery outcomes: %w", len(batch), err)
		}
	}
}

// settleRetry spaces the attempts to write outcomes while the database is away.
var settleRetry = backoff.Policy{Base: 200 * time.Millisecond, Max: 2 * time.Second}

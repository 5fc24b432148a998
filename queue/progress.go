package queue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/mymmrac/telego"
	ta "github.com/mymmrac/telego/telegoapi"
	tu "github.com/mymmrac/telego/telegoutil"
	"github.com/riverqueue/river"

	"herald/store"
)

// ProgressArgs is the progress reporter of one campaign: it keeps the campaign's
// control message up to date and, once the campaign is over, turns it into the final
// report with a CSV of the recipients who did not get the message.
//
// Like a lane, a reporter runs only while it holds its lease (progress_reporters,
// renewed every tick), in slices that end with a River snooze. Epoch 0 is the job a
// start or a control enqueues; when a reporter's process dies, the maintenance every
// process runs (WatchLanes) moves the reporter to a new epoch and enqueues a job for
// it — new args, so River's uniqueness does not refuse it while the dead job still
// looks "running" — and the control message keeps moving within seconds.
type ProgressArgs struct {
	CampaignID int64 `json:"campaign_id"`
	Epoch      int64 `json:"epoch,omitempty"`
}

// Kind implements river.JobArgs.
func (ProgressArgs) Kind() string { return "campaign_progress" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (ProgressArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 100, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueWhileOpen}}
}

type progressWorker struct {
	river.WorkerDefaults[ProgressArgs]
	e *engine

	mu    sync.Mutex
	rates map[int64]*rateWindow // recent progress per campaign, for the current rate
}

func (w *progressWorker) Timeout(*river.Job[ProgressArgs]) time.Duration {
	return w.e.cfg.Slice + 30*time.Second
}

// reporterGrace is how long a reporter may sit without a live lease before the
// maintenance gives it a new job: a reporter's own next slice takes the lease again
// at once, so a second suffices and takeover stays well within ten seconds.
const reporterGrace = time.Second

func (w *progressWorker) Work(ctx context.Context, job *river.Job[ProgressArgs]) error {
	e := w.e
	id := job.Args.CampaignID
	if _, err := e.store.CampaignGet(ctx, id); errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	// The job id makes two reporter jobs in one process distinct owners.
	owner := e.owner + "/progress/" + strconv.FormatInt(job.ID, 10)
	lease, err := e.store.ReporterAcquire(ctx, id, job.Args.Epoch, owner, e.cfg.LaneLease)
	if err != nil {
		return err
	}
	if !lease.Acquired {
		// Obsolete, or another live reporter runs; if that one dies, the maintenance
		// enqueues a new job.
		return nil
	}
	defer func() {
		if err := e.store.ReporterRelease(context.WithoutCancel(ctx), id, owner); err != nil {
			e.logger.Warn().Err(err).Int64("campaign_id", id).Msg("release progress reporter; it frees itself when the lease runs out")
		}
	}()
	return w.run(ctx, id, owner)
}

// run reports one slice of the campaign's progress while holding the reporter lease.
func (w *progressWorker) run(ctx context.Context, id int64, owner string) error {
	e := w.e
	until := time.Now().Add(e.cfg.Slice)
	tick := min(e.cfg.ProgressEvery/3, time.Second)
	var lastEdit, lastAdopt time.Time
	for {
		c, err := e.store.CampaignGet(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		counts, err := e.store.DeliveryCounts(ctx, id)
		if err != nil {
			return err
		}
		finished := c.Status == store.CampaignCompleted || c.Status == store.CampaignFailed ||
			(c.Status == store.CampaignCancelled && counts.Inflight == 0)
		e.announce(ctx, c, counts, finished)
		if finished {
			w.forget(id)
			if c.ReportedAt != nil {
				return nil
			}
			return w.report(ctx, c, counts)
		}
		if c.Status == store.CampaignRunning && time.Since(lastAdopt) >= e.cfg.MaintenanceEvery {
			lastAdopt = time.Now()
			if client, err := river.ClientFromContextSafely[pgx.Tx](ctx); err == nil {
				if err := e.adoptOrphanLanes(ctx, client); err != nil {
					return err
				}
			}
		}
		rate := w.sample(id, time.Now(), counts, c.Status == store.CampaignRunning)
		if e.mgmt != nil && time.Since(lastEdit) >= e.cfg.ProgressEvery {
			edited, err := w.show(ctx, c, counts, rate)
			if err != nil {
				return err
			}
			if edited {
				lastEdit = time.Now()
			}
		}
		if held, err := e.store.ReporterRenew(ctx, id, owner, e.cfg.LaneLease); err != nil {
			return err
		} else if !held {
			return nil // another reporter took over after our lease ran out
		}
		if time.Now().Add(tick).After(until) {
			return river.JobSnooze(0)
		}
		select {
		case <-ctx.Done():
			return river.JobSnooze(0)
		case <-e.stopping:
			return river.JobSnooze(0)
		case <-time.After(tick):
		}
	}
}

// rateSpan is how much recent sending the shown rate (and the ETA) averages over.
const rateSpan = 10 * time.Second

type rateSample struct {
	at   time.Time
	done int64
}

// rateWindow is the rate of actual sending over the last rateSpan. Paused time never
// counts: samples are kept only while the campaign runs, and after a (re)start the
// window begins at the last sample before deliveries progressed, so the lane's
// start-up after a Resume does not count either. Without it, the rate right after
// Resume averaged the pause in ("0.8 msg/s · ETA 46m" while 30/s went out).
type rateWindow struct {
	samples []rateSample
	started bool // deliveries progressed since the window was (re)set
}

// add records done (settled deliveries) at now and returns the current rate in
// deliveries per second, or -1 while unknown.
func (r *rateWindow) add(now time.Time, done int64, running bool) float64 {
	if !running {
		r.samples, r.started = nil, false
		return -1
	}
	s := append(r.samples, rateSample{at: now, done: done})
	if !r.started {
		if s[0].done == done {
			s = s[len(s)-1:] // nothing sent yet: the window starts at the latest sample
		} else {
			r.started = true
		}
	}
	for len(s) > 2 && now.Sub(s[1].at) >= rateSpan {
		s = s[1:]
	}
	r.samples = s
	if len(s) < 2 || now.Sub(s[0].at) < time.Second {
		return -1
	}
	return float64(done-s[0].done) / now.Sub(s[0].at).Seconds()
}

// sample records progress and returns the rate (-1: unknown).
func (w *progressWorker) sample(id int64, now time.Time, c store.DeliveryCounts, running bool) float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.rates == nil {
		w.rates = map[int64]*rateWindow{}
	}
	r := w.rates[id]
	if r == nil {
		r = &rateWindow{}
		w.rates[id] = r
	}
	return r.add(now, c.Sent+c.Failed+c.Blocked+c.Uncertain, running)
}

func (w *progressWorker) forget(id int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.rates, id)
}

func (w *progressWorker) lang(ctx context.Context, id int64) string {
	lang, err := w.e.store.CampaignLanguage(ctx, id)
	if err != nil {
		return ""
	}
	return lang
}

// show puts the progress into the control message if it changed; it reports whether
// it sent or edited anything.
func (w *progressWorker) show(ctx context.Context, c store.Campaign, counts store.DeliveryCounts, rate float64) (bool, error) {
	lang := w.lang(ctx, c.ID)
	reasons, err := w.e.uncertainReasons(ctx, c.ID, counts)
	if err != nil {
		return false, err
	}
	bots, err := w.e.store.DeliveryCountsByChannel(ctx, c.ID) // a few rows, like counts
	if err != nil {
		return false, err
	}
	text := w.e.progressText(lang, c, counts, rate, reasons, bots)
	markup := w.e.controlKeyboard(lang, c, counts)
	return w.e.putControl(ctx, c, text, markup)
}

// controlKeyboard holds the buttons that apply to the campaign's status.
func (e *engine) controlKeyboard(lang string, c store.Campaign, counts store.DeliveryCounts) *telego.InlineKeyboardMarkup {
	button := func(a ControlAction, text string) telego.InlineKeyboardButton {
		return telego.InlineKeyboardButton{Text: text, CallbackData: ControlCallbackData(a, c.ID)}
	}
	var row []telego.InlineKeyboardButton
	switch c.Status {
	case store.CampaignRunning:
		row = append(row, button(ActionPause, e.texts.t(lang, "delivery.button.pause", nil)),
			button(ActionCancel, e.texts.t(lang, "delivery.button.cancel", nil)))
	case store.CampaignPaused:
		row = append(row, button(ActionResume, e.texts.t(lang, "delivery.button.resume", nil)),
			button(ActionCancel, e.texts.t(lang, "delivery.button.cancel", nil)))
	case store.CampaignScheduled:
		row = append(row, button(ActionCancel, e.texts.t(lang, "delivery.button.cancel", nil)))
	}
	rows := [][]telego.InlineKeyboardButton{}
	if len(row) > 0 {
		rows = append(rows, row)
	}
	if counts.Uncertain > 0 && counts.Open() == 0 && (c.Status == store.CampaignCompleted || c.Status == store.CampaignPaused) {
		rows = append(rows, []telego.InlineKeyboardButton{
			button(ActionResend, e.texts.t(lang, "delivery.button.resend", nil, int(counts.Uncertain))),
		})
	}
	return &telego.InlineKeyboardMarkup{InlineKeyboard: rows}
}

// putControl shows text and markup in the campaign's control message: edits it, or
// sends it when there is none yet (or it was deleted). Nothing is sent when the
// message already shows exactly this, so Telegram never answers "message is not
// modified".
func (e *engine) putControl(ctx context.Context, c store.Campaign, text string, markup *telego.InlineKeyboardMarkup) (bool, error) {
	key := controlKey(text, markup)
	if c.ControlText != nil && *c.ControlText == key && c.ControlMessageID != nil {
		return false, nil
	}
	chat := telego.ChatID{ID: c.ControlChatID}
	if c.ControlMessageID != nil {
		_, err := e.mgmt.EditMessageText(ctx, &telego.EditMessageTextParams{
			ChatID: chat, MessageID: int(*c.ControlMessageID), Text: text, ReplyMarkup: markup,
		})
		var apiErr *ta.Error
		switch {
		case err == nil:
			return true, e.store.CampaignSetControlText(ctx, c.ID, key)
		case errors.As(err, &apiErr) && strings.Contains(apiErr.Description, "not modified"):
			// Shown already (the stored key was lost); remember it.
			return false, e.store.CampaignSetControlText(ctx, c.ID, key)
		case errors.As(err, &apiErr) && apiErr.ErrorCode == 400:
			// Deleted or too old to edit: send a new control message below.
		default:
			return false, fmt.Errorf("edit control message of campaign %d: %w", c.ID, err)
		}
	}
	msg, err := e.mgmt.SendMessage(ctx, &telego.SendMessageParams{ChatID: chat, Text: text, ReplyMarkup: markup})
	if err != nil {
		return false, fmt.Errorf("send control message of campaign %d: %w", c.ID, err)
	}
	if err := e.store.CampaignSetControlMessage(ctx, c.ID, int64(msg.MessageID)); err != nil {
		return true, err
	}
	return true, e.store.CampaignSetControlText(ctx, c.ID, key)
}

// controlKey is a digest of what a control message shows (text and buttons).
func controlKey(text string, markup *telego.InlineKeyboardMarkup) string {
	h := sha256.New()
	h.Write([]byte(text))
	for _, row := range markup.InlineKeyboard {
		h.Write([]byte{0})
		for _, btn := range row {
			h.Write([]byte(btn.Text))
			h.Write([]byte{1})
			h.Write([]byte(btn.CallbackData))
			h.Write([]byte{2})
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// report turns the control message into the final report and sends the CSV of the
// recipients who did not get the message. Without a management bot the campaign is
// only marked reported.
func (w *progressWorker) report(ctx context.Context, c store.Campaign, counts store.DeliveryCounts) error {
	e := w.e
	if e.mgmt != nil {
		lang := w.lang(ctx, c.ID)
		reasons, err := e.uncertainReasons(ctx, c.ID, counts)
		if err != nil {
			return err
		}
		bots, err := e.store.DeliveryCountsByChannel(ctx, c.ID)
		if err != nil {
			return err
		}
		text := e.reportText(lang, c, counts, reasons, bots)
		markup := e.controlKeyboard(lang, c, counts)
		if err := e.addReportButtons(ctx, lang, c, counts, markup); err != nil {
			return err
		}
		if _, err := e.putControl(ctx, c, text, markup); err != nil {
			return err
		}
		if unsent := counts.Total() - counts.Sent; unsent > 0 {
			data, err := e.unsentCSV(ctx, c.ID, lang)
			if err != nil {
				return err
			}
			_, err = e.mgmt.SendDocument(ctx, &telego.SendDocumentParams{
				ChatID:   telego.ChatID{ID: c.ControlChatID},
				Document: tu.FileFromBytes(data, fmt.Sprintf("campaign-%d-not-sent.csv", c.ID)),
				Caption:  e.texts.t(lang, "delivery.report.csv", nil),
			})
			if err != nil {
				return fmt.Errorf("send report CSV of campaign %d: %w", c.ID, err)
			}
		}
	}
	if _, err := e.store.CampaignMarkReported(ctx, c.ID); err != nil {
		return err
	}
	e.enqueueChart(ctx, c.ID)
	e.logger.Info().Int64("campaign_id", c.ID).Str("status", c.Status).Int64("sent", counts.Sent).
		Int64("failed", counts.Failed).Int64("blocked", counts.Blocked).Int64("uncertain", counts.Uncertain).
		Int64("cancelled", counts.Cancelled).Msg("campaign finished")
	return nil
}

// uncertainReasons counts the campaign's uncertain deliveries by reason code; nil
// without asking the database when there are none.
func (e *engine) uncertainReasons(ctx context.Context, id int64, counts store.DeliveryCounts) (map[string]int64, error) {
	if counts.Uncertain == 0 {
		return nil, nil
	}
	return e.store.UncertainReasons(ctx, id)
}

// alertPaused tells the campaign's chat that the engine paused it (textID says why).
func (e *engine) alertPaused(ctx context.Context, c store.Campaign, textID, reason string) {
	if e.mgmt == nil {
		return
	}
	lang, _ := e.store.CampaignLanguage(ctx, c.ID)
	_, err := e.mgmt.SendMessage(ctx, &telego.SendMessageParams{
		ChatID: telego.ChatID{ID: c.ControlChatID},
		Text:   e.texts.t(lang, textID, map[string]any{"ID": c.ID, "Reason": reason}),
	})
	if err != nil {
		e.logger.Warn().Err(err).Int64("campaign_id", c.ID).Msg("tell admin the campaign paused")
	}
}

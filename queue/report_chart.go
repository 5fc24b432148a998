package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/mymmrac/telego"
	tu "github.com/mymmrac/telego/telegoutil"
	"github.com/riverqueue/river"

	"herald/chart"
	"herald/store"
)

// ChartArgs sends a campaign's delivery chart (issue 17.1): to its control chat after
// the final report, or to the chat of an admin who pressed "📈 Chart" (ChatID, Lang).
// It is a job of its own rather than a step of the report or of the button's update:
// drawing takes a fraction of a second of CPU, but on a busy machine it can take
// many, and neither the progress reporter's slice nor an update's deadline should
// wait for a picture. Unique while open, so a report that runs twice, or a button
// pressed twice, sends one chart.
type ChartArgs struct {
	CampaignID int64  `json:"campaign_id"`
	ChatID     int64  `json:"chat_id,omitempty"` // 0: the campaign's control chat
	Lang       string `json:"lang,omitempty"`    // "": the campaign's admin's language
}

// Kind implements river.JobArgs.
func (ChartArgs) Kind() string { return "campaign_chart" }

// InsertOpts implements river.JobArgsWithInsertOpts: a chart is worth a few tries,
// not a hundred.
func (ChartArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueWhileOpen}}
}

type chartWorker struct {
	river.WorkerDefaults[ChartArgs]
	e *engine
}

// Timeout stays under River's rescue of stuck jobs (a minute at least).
func (w *chartWorker) Timeout(*river.Job[ChartArgs]) time.Duration { return 50 * time.Second }

func (w *chartWorker) Work(ctx context.Context, job *river.Job[ChartArgs]) error {
	e := w.e
	if e.mgmt == nil {
		return nil
	}
	c, err := e.store.CampaignGet(ctx, job.Args.CampaignID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	chat, lang := job.Args.ChatID, job.Args.Lang
	if chat == 0 {
		chat = c.ControlChatID
	}
	if lang == "" {
		lang = w.lang(ctx, c.ID)
	}
	lang = e.texts.catalog.Lang(lang)
	png, err := e.chartPNG(ctx, c.ID, lang)
	if err != nil {
		return err
	}
	// Network I/O, after the reads and outside any transaction.
	_, err = e.mgmt.SendPhoto(ctx, &telego.SendPhotoParams{
		ChatID:  telego.ChatID{ID: chat},
		Photo:   tu.FileFromBytes(png, fmt.Sprintf("campaign-%d-chart.png", c.ID)),
		Caption: e.texts.t(lang, "chart.caption", map[string]any{"ID": c.ID}),
	})
	if err != nil {
		return fmt.Errorf("send chart of campaign %d: %w", c.ID, err)
	}
	return nil
}

func (w *chartWorker) lang(ctx context.Context, id int64) string {
	lang, err := w.e.store.CampaignLanguage(ctx, id)
	if err != nil {
		return ""
	}
	return lang
}

// enqueueChart asks for the finished campaign's chart; a failure costs the picture,
// not the report, so it is logged.
func (e *engine) enqueueChart(ctx context.Context, id int64) {
	if e.mgmt == nil {
		return
	}
	client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return // not run by River (tests of the reporter alone)
	}
	if _, err := client.Insert(ctx, ChartArgs{CampaignID: id}, nil); err != nil {
		e.logger.Warn().Err(err).Int64("campaign_id", id).Msg("enqueue the campaign's chart; the report goes without it")
	}
}

// chartPNG reads campaign id's chart data (one query over its per-second counters)
// and draws it in lang.
func (e *engine) chartPNG(ctx context.Context, id int64, lang string) ([]byte, error) {
	d, err := e.store.CampaignChartGet(ctx, id, chart.MaxBuckets)
	if err != nil {
		return nil, err
	}
	return chart.Render(d, e.texts.catalog.For(lang), time.Now())
}

// Charts asks for a campaign's chart on behalf of an admin (flows.ChartRequester):
// the chart job draws and sends it to their chat.
type Charts struct {
	client *river.Client[pgx.Tx]
}

// NewCharts builds the chart requester on River's client.
func NewCharts(client *river.Client[pgx.Tx]) *Charts { return &Charts{client: client} }

// RequestChart enqueues the chart of campaignID for chatID in lang.
func (c *Charts) RequestChart(ctx context.Context, campaignID, chatID int64, lang string) error {
	if _, err := c.client.Insert(ctx, ChartArgs{CampaignID: campaignID, ChatID: chatID, Lang: lang}, nil); err != nil {
		return fmt.Errorf("request chart of campaign %d: %w", campaignID, err)
	}
	return nil
}

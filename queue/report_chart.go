package queue

import (
	"context"
	"fmt"
	"time"

	"github.com/mymmrac/telego"
	tu "github.com/mymmrac/telego/telegoutil"

	"herald/chart"
	"herald/store"
)

// sendChart sends the campaign's delivery chart (issue 17.1) to its control chat,
// with the final report. The data is read and drawn first; the upload, network I/O,
// runs after, outside any transaction. A chart that cannot be drawn or sent is
// logged and skipped: the report and its CSV matter more than the picture.
func (e *engine) sendChart(ctx context.Context, c store.Campaign, lang string) {
	log := e.logger.With().Int64("campaign_id", c.ID).Logger()
	png, err := e.chartPNG(ctx, c.ID, lang)
	if err != nil {
		log.Warn().Err(err).Msg("draw the campaign's chart; the report goes without it")
		return
	}
	_, err = e.mgmt.SendPhoto(ctx, &telego.SendPhotoParams{
		ChatID:  telego.ChatID{ID: c.ControlChatID},
		Photo:   tu.FileFromBytes(png, fmt.Sprintf("campaign-%d-chart.png", c.ID)),
		Caption: e.texts.t(lang, "chart.caption", map[string]any{"ID": c.ID}),
	})
	if err != nil {
		log.Warn().Err(err).Msg("send the campaign's chart; the report goes without it")
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

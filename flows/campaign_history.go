package flows

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"herald/i18n"
	"herald/store"
)

// After the send (issue 17): the delivery chart of a campaign at any time, the export
// of every recipient's outcome, and a comparison of the last finished campaigns.
// The chart and the export are made and uploaded in the screens' Prepare phase,
// outside the update's transaction: the upload is network I/O.
const (
	// ActCampaignChart sends the campaign's chart as a photo. arg: campaign id.
	ActCampaignChart = "kpng"
	// ActCampaignExport sends every recipient's outcome as a CSV. arg: campaign id.
	ActCampaignExport = "kcsv"
	// ActCampaignHistory compares the last finished campaigns.
	ActCampaignHistory = "khist"
)

// historySize is how many finished campaigns the comparison shows.
const historySize = 10

// exportTimeout bounds writing and uploading an export: a million rows take a while
// to write and to upload, longer than an update may take.
const exportTimeout = 3 * time.Minute

type historyStore interface {
	CampaignHistory(ctx context.Context, limit int) ([]store.CampaignHistoryItem, error)
	AdminTimeZone(ctx context.Context, userID int64) (string, error)
}

func history(t *Turn) historyStore { return t.st }

func campaignArg(arg string) (int64, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || id <= 0 {
		return 0, NotFound("cmp.gone")
	}
	return id, nil
}

// requestChart is the Prepare of "📈 Chart": it asks the chart job to draw the
// campaign's chart from its per-second counters and send it here; the picture
// follows the answer within seconds.
func requestChart(ctx context.Context, t *Turn, arg string) (any, error) {
	id, err := campaignArg(arg)
	if err != nil {
		return nil, err
	}
	charts := t.Services().Charts
	if charts == nil {
		return nil, errors.New("charts are not configured")
	}
	if _, err := campaigns(t).CampaignItemGet(ctx, id); errors.Is(err, store.ErrNotFound) {
		return nil, NotFound("cmp.gone")
	} else if err != nil {
		return nil, err
	}
	return id, charts.RequestChart(ctx, id, t.ChatID, t.L.Lang)
}

// chartRequested answers the press and notes the request in the audit log (it added
// a job).
func chartRequested(ctx context.Context, t *Turn, _ string) error {
	id, _ := t.prepared.(int64)
	t.Notice(t.L.T("chart.done"))
	return t.Audit(ctx, "campaign.chart", "campaign:"+itoa(id), nil)
}

// sendExport is the Prepare of "⬇️ Outcomes CSV": the rows go from the database to a
// temporary file one by one (never the whole campaign in memory, and no query open
// while Telegram receives the file), then the file is uploaded.
func sendExport(ctx context.Context, t *Turn, arg string) (any, error) {
	id, err := campaignArg(arg)
	if err != nil {
		return nil, err
	}
	up, exports := t.Services().Uploads, t.Services().Exports
	if up == nil || exports == nil {
		return nil, errors.New("campaign exports are not configured")
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), exportTimeout)
	defer cancel()
	f, err := os.CreateTemp("", "herald-export-*.csv")
	if err != nil {
		return nil, fmt.Errorf("export campaign %d: %w", id, err)
	}
	defer func() {
		_ = f.Close()
		_ = os.Remove(f.Name())
	}()
	err = exports.CampaignCSV(ctx, id, t.L.Lang, f)
	if errors.Is(err, store.ErrNotFound) {
		return nil, NotFound("cmp.gone")
	}
	if err != nil {
		return nil, fmt.Errorf("export campaign %d: %w", id, err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		return nil, fmt.Errorf("export campaign %d: %w", id, err)
	}
	return nil, up.SendFile(ctx, t.ChatID, OutgoingFile{Name: fmt.Sprintf("campaign-%d-outcomes.csv", id),
		Caption: t.L.T("export.caption", i18n.Data{"ID": id}), Body: f})
}

// noticeSent answers the press once the file is in the chat.
func noticeSent(key string) func(context.Context, *Turn, string) error {
	return func(_ context.Context, t *Turn, _ string) error {
		t.Notice(t.L.T(key))
		return nil
	}
}

// showHistory compares the last finished campaigns, newest first: recipients, the
// share reached and blocked, how long each ran and its average rate, a few short
// lines per campaign so that it reads on a phone.
func showHistory(ctx context.Context, t *Turn, _ string) error {
	list, err := history(t).CampaignHistory(ctx, historySize)
	if err != nil {
		return err
	}
	tz, err := history(t).AdminTimeZone(ctx, t.Actor.UserID)
	if err != nil {
		return err
	}
	zone := loadZone(tz)
	text := t.L.T("hist.empty")
	if len(list) > 0 {
		parts := []string{t.L.N("hist.header", len(list)), t.L.T("hist.legend")}
		for _, h := range list {
			parts = append(parts, historyItem(t, h, zone))
		}
		text = strings.Join(parts, "\n\n")
	}
	t.Reply(Reply{Text: text, HTML: true, Edit: true, Keyboard: [][]Button{
		{{Text: t.L.T("button.to_list"), Data: ScreenCallback(ActCampaigns, "0")}},
	}})
	return nil
}

func historyItem(t *Turn, h store.CampaignHistoryItem, zone *time.Location) string {
	n := h.Counts
	total := n.Total()
	percent := func(part int64) string {
		if total == 0 {
			return "—"
		}
		return t.L.T("hist.percent", i18n.Data{"Value": t.L.Decimal(float64(part) * 100 / float64(total))})
	}
	date, rate := "—", "—"
	if h.FinishedAt != nil {
		date = t.L.Date(h.FinishedAt.In(zone))
	}
	if d := h.Duration(); d > 0 {
		answered := n.Sent + n.Blocked + n.Failed + n.Uncertain
		rate = t.L.Decimal(float64(answered) / d.Seconds())
	}
	return t.L.T("hist.item", i18n.Data{"Icon": statusIcon(h.Status), "ID": h.ID, "Template": esc(h.TemplateName),
		"Date": date, "Recipients": t.L.Number(total), "Reached": percent(n.Sent), "Blocked": percent(n.Blocked),
		"Duration": t.L.Duration(h.Duration()), "Rate": rate})
}

// afterSendButtons are the card's "📈 Chart" (from the start on, while it runs too)
// and, for those who may see recipients' data, the export of every outcome.
func afterSendButtons(t *Turn, id int64, status string) []Button {
	if status == store.CampaignScheduled {
		return nil
	}
	row := []Button{{Text: t.L.T("button.chart"), Data: ScreenCallback(ActCampaignChart, itoa(id))}}
	if t.Actor.CanChange() {
		row = append(row, Button{Text: t.L.T("button.export"), Data: ScreenCallback(ActCampaignExport, itoa(id))})
	}
	return row
}

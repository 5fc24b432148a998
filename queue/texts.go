package queue

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"herald/i18n"
	"herald/store"
)

// texts renders the engine's own texts (progress, report, alerts, ids "delivery.…")
// from the catalog the bot uses.
type texts struct {
	catalog *i18n.Catalog
}

func newTexts(defaultLang string) (*texts, error) {
	catalog, err := i18n.New(defaultLang)
	if err != nil {
		return nil, fmt.Errorf("delivery texts: %w", err)
	}
	return &texts{catalog: catalog}, nil
}

// t renders text id in lang ("" or unsupported: the default language); count, when
// given, selects the plural form and is available as {{.Count}}.
func (t *texts) t(lang, id string, data map[string]any, count ...int) string {
	l := t.catalog.For(lang)
	if len(count) > 0 {
		return l.N(id, count[0], data)
	}
	return l.T(id, data)
}

// Reason codes of uncertain deliveries, stored in deliveries.error: why a message may
// or may not have arrived. The send path records answer_lost and gateway; the lease
// sweep records stopped.
const (
	UncertainStopped    = "uncertain:stopped"     // the lease ran out: the sending process stopped (crash, kill)
	UncertainAnswerLost = "uncertain:answer_lost" // the request left; timeout or connection lost before the answer
	UncertainGateway    = "uncertain:gateway"     // a gateway answered 502/504: Telegram may have acted
)

// uncertainCodes are the codes in the order the texts list them.
var uncertainCodes = []string{UncertainStopped, UncertainAnswerLost, UncertainGateway}

// reasonText is the plain-language explanation of an uncertain reason code, or the
// stored reason itself when it is not one of the codes (older rows, other outcomes).
func (t *texts) reasonText(lang, reason string) string {
	if code, ok := strings.CutPrefix(reason, "uncertain:"); ok && slices.Contains(uncertainCodes, reason) {
		return t.t(lang, "delivery.reason."+code, nil)
	}
	return reason
}

// uncertainText explains a campaign's uncertain deliveries by cause, one line per
// cause with its count ("" when there are none).
func (t *texts) uncertainText(lang string, reasons map[string]int64) string {
	var lines []string
	line := func(n int64, reason string) {
		lines = append(lines, t.t(lang, "delivery.uncertain.line", map[string]any{"Count": t.catalog.For(lang).Number(n), "Reason": reason}))
	}
	var other int64
	for reason, n := range reasons {
		if !slices.Contains(uncertainCodes, reason) {
			other += n
		}
	}
	for _, code := range uncertainCodes {
		if n := reasons[code]; n > 0 {
			line(n, t.reasonText(lang, code))
		}
	}
	if other > 0 {
		line(other, t.t(lang, "delivery.reason.unrecorded", nil))
	}
	if len(lines) == 0 {
		return ""
	}
	return t.t(lang, "delivery.report.uncertain", nil) + "\n" + strings.Join(lines, "\n")
}

func (e *engine) progressText(lang string, c store.Campaign, counts store.DeliveryCounts, rate float64, reasons map[string]int64, bots []store.ChannelCounts) string {
	total := counts.Total()
	done := total - counts.Open()
	percent := 100
	if total > 0 {
		percent = int(done * 100 / total)
	}
	const width = 20
	filled := width * percent / 100
	bar := strings.Repeat("█", filled) + strings.Repeat("░", width-filled)
	l := e.texts.catalog.For(lang)
	rateText, eta := e.texts.t(lang, "delivery.progress.unknown", nil), e.texts.t(lang, "delivery.progress.unknown", nil)
	if rate >= 0 && c.Status == store.CampaignRunning {
		// The rate is of actual sending since the last Resume (see rateWindow); while
		// paused there is none to show.
		rateText = l.Decimal(rate)
		if rate > 0 {
			eta = l.Duration(time.Duration(float64(counts.Open()) / rate * float64(time.Second)))
		}
	}
	text := e.texts.t(lang, "delivery.progress", map[string]any{
		"ID": c.ID, "Status": e.texts.t(lang, "delivery.status."+c.Status, nil),
		"Bar": bar, "Percent": percent, "Sent": l.Number(counts.Sent), "Failed": l.Number(counts.Failed),
		"Blocked": l.Number(counts.Blocked), "Uncertain": l.Number(counts.Uncertain), "Remaining": l.Number(counts.Open()),
		"Rate": rateText, "ETA": eta,
	})
	if b := e.texts.botsText(lang, "delivery.bot.progress", bots); b != "" {
		text += "\n\n" + b
	}
	if c.Status == store.CampaignPaused && c.PauseReason != nil && *c.PauseReason != "" {
		text += "\n\n" + e.texts.t(lang, "delivery.progress.reason", map[string]any{"Reason": *c.PauseReason})
	}
	if u := e.texts.uncertainText(lang, reasons); u != "" {
		text += "\n\n" + u
	}
	return text
}

func (e *engine) reportText(lang string, c store.Campaign, counts store.DeliveryCounts, reasons map[string]int64, bots []store.ChannelCounts) string {
	var dur time.Duration
	if c.StartedAt != nil && c.FinishedAt != nil {
		dur = c.FinishedAt.Sub(*c.StartedAt)
	}
	rate := 0.0
	if dur > 0 {
		rate = float64(counts.Sent+counts.Failed+counts.Blocked+counts.Uncertain) / dur.Seconds()
	}
	l := e.texts.catalog.For(lang)
	text := e.texts.t(lang, "delivery.report", map[string]any{
		"ID": c.ID, "Status": e.texts.t(lang, "delivery.status."+c.Status, nil), "Total": l.Number(counts.Total()),
		"Sent": l.Number(counts.Sent), "Failed": l.Number(counts.Failed), "Blocked": l.Number(counts.Blocked),
		"Uncertain": l.Number(counts.Uncertain), "Cancelled": l.Number(counts.Cancelled),
		"Duration": l.Duration(dur), "Rate": l.Decimal(rate),
	})
	if b := e.texts.botsText(lang, "delivery.bot.report", bots); b != "" {
		text += "\n\n" + b
	}
	if c.Status == store.CampaignFailed && c.PauseReason != nil {
		text += "\n\n" + *c.PauseReason
	}
	if u := e.texts.uncertainText(lang, reasons); u != "" {
		text += "\n\n" + u
	}
	return text
}

// botsText says per bot how a campaign sent through several bots is doing (""
// for a campaign with one bot: the totals say it all). key is the line's text:
// delivery.bot.progress or delivery.bot.report.
func (t *texts) botsText(lang, key string, bots []store.ChannelCounts) string {
	if len(bots) < 2 {
		return ""
	}
	l := t.catalog.For(lang)
	lines := []string{t.t(lang, "delivery.bots", nil)}
	for _, b := range bots {
		lines = append(lines, t.t(lang, key, map[string]any{
			"Name": b.Name, "Username": b.Username, "Total": l.Number(b.Total()), "Sent": l.Number(b.Sent),
			"Failed": l.Number(b.Failed + b.Uncertain), "Blocked": l.Number(b.Blocked), "Remaining": l.Number(b.Open()),
		}))
	}
	return strings.Join(lines, "\n")
}

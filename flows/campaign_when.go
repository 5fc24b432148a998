package flows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"herald/i18n"
)

// The wizard's time steps: when (buttons for the common choices, or a typed date),
// zone (asked once, then remembered) and when_sure (a date far ahead, or moved to
// next year, confirmed explicitly).

// quickWhen are the when step's buttons: action → the words they stand for, read
// by ReadWhen like typed text.
var quickWhen = []struct{ action, key, text string }{
	{"q:1h", "button.when_in_hour", "in 1 hour"},
	{"q:tom", "button.when_tomorrow", "tomorrow 10:00"},
	{"q:mon", "button.when_monday", "monday 10:00"},
}

// zoneButtons are the zones offered as buttons, labelled by city in the admin's language.
var zoneButtons = []struct{ zone, key string }{
	{"Europe/Moscow", "zone.moscow"}, {"Europe/Kyiv", "zone.kyiv"}, {"Europe/Minsk", "zone.minsk"},
	{"Asia/Almaty", "zone.almaty"}, {"Asia/Tashkent", "zone.tashkent"}, {"Asia/Tbilisi", "zone.tbilisi"},
	{"Asia/Yerevan", "zone.yerevan"}, {"Asia/Baku", "zone.baku"}, {"Europe/Berlin", "zone.berlin"},
	{"Europe/London", "zone.london"}, {"America/New_York", "zone.new_york"}, {"UTC", "zone.utc"},
}

// confirmAhead: a date further ahead than this is confirmed before the summary.
const confirmAhead = 30 * 24 * time.Hour

func promptCampaignWhen(ctx context.Context, t *Turn, s *Session) error {
	tz, err := campaigns(t).AdminTimeZone(ctx, t.Actor.UserID)
	if err != nil {
		return err
	}
	zone := t.L.T("cmp.zone_unknown")
	if tz != "" {
		zone = t.L.T("cmp.zone_known", i18n.Data{"Zone": esc(tz)})
	}
	example := t.Now.In(loadZone(tz)).Add(24*time.Hour).Format("2006-01-02") + " 18:30"
	kb := [][]Button{{s.Button(t.L.T("button.send_now"), "now")}}
	row := []Button{}
	for _, q := range quickWhen {
		row = append(row, s.Button(t.L.T(q.key), q.action))
	}
	kb = append(kb, row, []Button{s.Button(t.L.T("button.change_zone"), "zone")})
	t.Reply(Reply{Text: t.L.T("cmp.ask_when", i18n.Data{"Zone": zone, "Example": example}), HTML: true, Keyboard: kb})
	return nil
}

func handleCampaignWhen(ctx context.Context, t *Turn, s *Session, in Input) (string, error) {
	d, err := loadCampaignDraft(s)
	if err != nil {
		return "", err
	}
	text := in.Text
	switch in.Action {
	case "now":
		d.At, d.Pending, d.Unsure, d.Prev = time.Time{}, "", time.Time{}, "when"
		return "timed", s.Save(d)
	case "zone":
		d.Pending = ""
		return "need_zone", s.Save(d)
	case "":
	default:
		if text = quickWhenText(in.Action); text == "" {
			return "", Outdated()
		}
	}
	tz, err := campaigns(t).AdminTimeZone(ctx, t.Actor.UserID)
	if err != nil {
		return "", err
	}
	w, ok := ReadWhen(text, time.UTC, t.Now)
	if !ok {
		return "", Invalid("cmp.when_invalid", nil)
	}
	if tz == "" && !w.Relative { // asked once, then remembered
		d.Pending = text
		return "need_zone", s.Save(d)
	}
	w, err = futureTime(t, text, tz)
	if err != nil {
		return "", err
	}
	return scheduleAt(t, s, d, w)
}

func quickWhenText(action string) string {
	for _, q := range quickWhen {
		if q.action == action {
			return q.text
		}
	}
	return ""
}

// scheduleAt keeps w in the draft: straight to the summary, or first to when_sure
// when it lies far ahead or was moved to next year.
func scheduleAt(t *Turn, s *Session, d campaignDraft, w When) (string, error) {
	d.Pending = ""
	if w.NextYear || w.At.Sub(t.Now) > confirmAhead {
		d.Unsure = w.At
		return "unsure", s.Save(d)
	}
	d.At, d.Unsure = w.At, time.Time{}
	return "timed", s.Save(d)
}

// futureTime parses a date typed in zone tz and checks that it lies ahead (within a year).
func futureTime(t *Turn, text, tz string) (When, error) {
	loc := loadZone(tz)
	w, ok := ReadWhen(text, loc, t.Now)
	if !ok {
		return When{}, Invalid("cmp.when_invalid", nil)
	}
	if err := CheckScheduledAt(w.At, t.Now, loc); err != nil {
		var fe *Error
		if errors.As(err, &fe) && fe.Key == "cmp.when_past" { // now, as the admin reads dates
			fe.Data = i18n.Data{"Now": t.L.DateTime(t.Now, loc)}
		}
		return When{}, err
	}
	return w, nil
}

func promptCampaignZone(_ context.Context, t *Turn, s *Session) error {
	var kb [][]Button
	for i, z := range zoneButtons {
		if i%3 == 0 {
			kb = append(kb, nil)
		}
		kb[len(kb)-1] = append(kb[len(kb)-1], s.Button(t.L.T(z.key), "tz:"+z.zone))
	}
	t.Reply(Reply{Text: t.L.T("cmp.ask_zone"), HTML: true, Keyboard: kb})
	return nil
}

func handleCampaignZone(ctx context.Context, t *Turn, s *Session, in Input) (string, error) {
	d, err := loadCampaignDraft(s)
	if err != nil {
		return "", err
	}
	text := in.Text
	if in.Action != "" {
		zone, ok := strings.CutPrefix(in.Action, "tz:")
		if !ok {
			return "", Outdated()
		}
		text = zone
	}
	_, name, ok := ParseTimeZone(text)
	if !ok {
		return "", Invalid("cmp.zone_invalid", nil)
	}
	if err := campaigns(t).AdminSetTimeZone(ctx, t.Actor.UserID, name); err != nil {
		return "", err
	}
	if err := t.Audit(ctx, "admin.time_zone_set", fmt.Sprintf("user:%d", t.Actor.UserID), map[string]any{"time_zone": name}); err != nil {
		return "", err
	}
	if d.Pending != "" {
		if w, err := futureTime(t, d.Pending, name); err == nil {
			return scheduleAt(t, s, d, w)
		}
	}
	d.Pending = ""
	return "zoned", s.Save(d)
}

// promptCampaignWhenSure names the date in full, with how far ahead it is.
func promptCampaignWhenSure(ctx context.Context, t *Turn, s *Session) error {
	d, err := loadCampaignDraft(s)
	if err != nil {
		return err
	}
	tz, err := campaigns(t).AdminTimeZone(ctx, t.Actor.UserID)
	if err != nil {
		return err
	}
	days := int(d.Unsure.Sub(t.Now).Hours() / 24)
	t.Reply(Reply{Text: t.L.N("cmp.when_sure", days, i18n.Data{"At": t.L.DateTime(d.Unsure, loadZone(tz))}),
		HTML: true, Keyboard: [][]Button{{s.Button(t.L.T("button.when_yes", i18n.Data{"At": t.L.Day(d.Unsure, loadZone(tz))}), "yes")}}})
	return nil
}

// handleCampaignWhenSure takes Yes, or another date typed instead (read as at the
// when step).
func handleCampaignWhenSure(ctx context.Context, t *Turn, s *Session, in Input) (string, error) {
	d, err := loadCampaignDraft(s)
	if err != nil {
		return "", err
	}
	if in.Action == "" {
		return handleCampaignWhen(ctx, t, s, in)
	}
	if in.Action != "yes" || d.Unsure.IsZero() {
		return "", Outdated()
	}
	d.At, d.Unsure = d.Unsure, time.Time{}
	return "timed", s.Save(d)
}

package i18n

import (
	"fmt"
	"strings"
	"time"
)

// Dates an admin reads (issue 18.8): «1 декабря 2027, 18:30 МСК», "1 December 2027,
// 18:30 MSK", in the admin's time zone, instead of «2027-12-01 18:30 (+03:00)». The
// zone is named the way people say it: its abbreviation where the time-zone database
// has one (MSK, CET, EEST…; Moscow's in Cyrillic for Russian), otherwise the offset
// (UTC+5, UTC+5:30). Used by the dialogs and the delivery engine's messages alike.

// zonesRU are abbreviations Russian writes in its own letters.
var zonesRU = map[string]string{"MSK": "МСК"}

// Location is the zone named zone (an IANA name); UTC for "" or a name the system
// does not know (the shown name then says UTC, so a time is never mislabelled).
func Location(zone string) *time.Location {
	if zone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return time.UTC
	}
	return loc
}

func orUTC(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}

// ZoneName is the short name of loc at t: "MSK", "МСК", "CET", "UTC+5" (nil: UTC).
func (l *Localizer) ZoneName(t time.Time, loc *time.Location) string {
	abbr, offset := t.In(orUTC(loc)).Zone()
	// Numeric names ("+05", "UTC+03:00" from a typed offset) are written one way.
	if abbr == "" || strings.ContainsAny(abbr[:1], "+-0123456789") || len(abbr) > 3 && strings.ContainsAny(abbr[3:4], "+-") {
		abbr = offsetName(offset)
	}
	if l.Lang == "ru" {
		if ru, ok := zonesRU[abbr]; ok {
			return ru
		}
	}
	return abbr
}

func offsetName(seconds int) string {
	if seconds == 0 {
		return "UTC"
	}
	sign := "+"
	if seconds < 0 {
		sign, seconds = "-", -seconds
	}
	h, m := seconds/3600, seconds%3600/60
	if m == 0 {
		return fmt.Sprintf("UTC%s%d", sign, h)
	}
	return fmt.Sprintf("UTC%s%d:%02d", sign, h, m)
}

// DateTime writes t in loc with the zone's name: "1 December 2027, 18:30 MSK".
func (l *Localizer) DateTime(t time.Time, loc *time.Location) string {
	return l.Date(t.In(orUTC(loc))) + " " + l.ZoneName(t, loc)
}

// Day writes the day of t in loc: "1 December 2027", «1 декабря 2027».
func (l *Localizer) Day(t time.Time, loc *time.Location) string {
	t = t.In(orUTC(loc))
	months := monthsEN
	if l.Lang == "ru" {
		months = monthsRU
	}
	return fmt.Sprintf("%d %s %d", t.Day(), months[t.Month()-1], t.Year())
}

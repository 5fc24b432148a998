package flows

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // admins name IANA zones; the host may have no zoneinfo
)

// offsetRE matches a fixed offset: "+03:00", "-0530", "UTC+3", "GMT-4".
var offsetRE = regexp.MustCompile(`^(?i:utc|gmt)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$`)

// ParseTimeZone accepts an IANA name ("Europe/Moscow"), a city or abbreviation it
// knows ("Москва", "МСК", "Kyiv", "EST") or a fixed offset ("+03:00", "UTC+3") and returns the location and its canonical spelling, the one stored in
// admins.time_zone.
func ParseTimeZone(s string) (*time.Location, string, bool) {
	s = strings.TrimSpace(s)
	switch strings.ToUpper(s) {
	case "UTC", "GMT", "Z":
		return time.UTC, "UTC", true
	}
	if m := offsetRE.FindStringSubmatch(s); m != nil {
		h, _ := strconv.Atoi(m[2])
		mins := 0
		if m[3] != "" {
			mins, _ = strconv.Atoi(m[3])
		}
		if h > 14 || mins > 59 {
			return nil, "", false
		}
		name := fmt.Sprintf("%s%02d:%02d", m[1], h, mins)
		secs := h*3600 + mins*60
		if m[1] == "-" {
			secs = -secs
		}
		return time.FixedZone("UTC"+name, secs), name, true
	}
	if name, ok := zoneAlias(s); ok {
		s = name
	}
	if !strings.Contains(s, "/") { // LoadLocation also takes "Local" and abbreviations
		return nil, "", false
	}
	loc, err := time.LoadLocation(s)
	if err != nil {
		return nil, "", false
	}
	return loc, loc.String(), true
}

// dateLayouts are the date-and-time forms the wizard accepts, with whether the
// year is given.
var dateLayouts = []struct {
	layout   string
	withYear bool
}{
	{"2006-01-02 15:04", true},
	{"2006-01-02T15:04", true},
	{"02.01.2006 15:04", true},
	{"02.01.06 15:04", true},
	{"02.01 15:04", false},
	{"2.1 15:04", false},
}

// When is a date the admin typed, and how it was read.
type When struct {
	At time.Time
	// Relative is set for a span from now ("in 1 hour"): it means the same moment in
	// every time zone, so no zone need be asked for it.
	Relative bool
	// NextYear is set when a date without a year had passed this year and was moved to
	// the next: the admin confirms that rather than finding out in a year.
	NextYear bool
}

// ParseWhen reads a date and time in loc; see ReadWhen. ok is false when s is no such date.
func ParseWhen(s string, loc *time.Location, now time.Time) (time.Time, bool) {
	w, ok := ReadWhen(s, loc, now)
	return w.At, ok
}

// ReadWhen reads a date and time in loc: "2026-12-01 18:30", "01.12 18:30" (without a
// year, the next such date from now), "завтра в 10", "monday 10:00", "через 2 часа",
// "in 30 minutes".
func ReadWhen(s string, loc *time.Location, now time.Time) (When, bool) {
	s = strings.ToLower(strings.Join(strings.Fields(s), " "))
	if at, ok := parseDuration(s, now); ok {
		return When{At: at, Relative: true}, true
	}
	if at, ok := parseDayWord(s, loc, now); ok {
		return When{At: at}, true
	}
	for _, l := range dateLayouts {
		at, err := time.ParseInLocation(l.layout, strings.ToUpper(s), loc)
		if err != nil {
			continue
		}
		w := When{At: at}
		if !l.withYear {
			year := now.In(loc).Year()
			w.At = time.Date(year, at.Month(), at.Day(), at.Hour(), at.Minute(), 0, 0, loc)
			if w.At.Before(now) {
				w.At, w.NextYear = w.At.AddDate(1, 0, 0), true
			}
		}
		return w, true
	}
	return When{}, false
}

// loadZone is ParseTimeZone for a stored name ("" or unknown: UTC).
func loadZone(name string) *time.Location {
	if loc, _, ok := ParseTimeZone(name); ok {
		return loc
	}
	return time.UTC
}

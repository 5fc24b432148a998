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

// ParseTimeZone accepts an IANA name ("Europe/Moscow") or a fixed offset ("+03:00",
// "UTC+3") and returns the location and its canonical spelling, the one stored in
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

// ParseWhen reads a date and time in loc ("2026-12-01 18:30", "01.12 18:30"; without
// a year, the next such date from now). ok is false when s is no such date.
func ParseWhen(s string, loc *time.Location, now time.Time) (time.Time, bool) {
	s = strings.Join(strings.Fields(s), " ")
	for _, l := range dateLayouts {
		at, err := time.ParseInLocation(l.layout, s, loc)
		if err != nil {
			continue
		}
		if !l.withYear {
			year := now.In(loc).Year()
			at = time.Date(year, at.Month(), at.Day(), at.Hour(), at.Minute(), 0, 0, loc)
			if at.Before(now) {
				at = at.AddDate(1, 0, 0)
			}
		}
		return at, true
	}
	return time.Time{}, false
}

// loadZone is ParseTimeZone for a stored name ("" or unknown: UTC).
func loadZone(name string) *time.Location {
	if loc, _, ok := ParseTimeZone(name); ok {
		return loc
	}
	return time.UTC
}

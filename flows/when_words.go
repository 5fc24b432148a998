package flows

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The words admins really type for a time ("через час", "завтра в 10", "tomorrow at
// 10", "in 30 minutes") and for a zone ("Москва", "МСК", "Kyiv"). Both languages are
// accepted whatever the admin's language: a Russian admin pastes English too.

// zoneAliases maps a city, country or abbreviation (lower case) to its IANA zone.
// Abbreviations that name more than one zone keep the reading admins of this bot
// mean (CST is left out: China or Central America).
var zoneAliases = map[string]string{
	"москва": "Europe/Moscow", "мск": "Europe/Moscow", "moscow": "Europe/Moscow", "msk": "Europe/Moscow",
	"санкт-петербург": "Europe/Moscow", "питер": "Europe/Moscow", "спб": "Europe/Moscow", "saint petersburg": "Europe/Moscow",
	"киев": "Europe/Kyiv", "київ": "Europe/Kyiv", "kyiv": "Europe/Kyiv", "kiev": "Europe/Kyiv",
	"минск": "Europe/Minsk", "minsk": "Europe/Minsk",
	"алматы": "Asia/Almaty", "алма-ата": "Asia/Almaty", "almaty": "Asia/Almaty",
	"астана": "Asia/Almaty", "astana": "Asia/Almaty",
	"ташкент": "Asia/Tashkent", "tashkent": "Asia/Tashkent",
	"тбилиси": "Asia/Tbilisi", "tbilisi": "Asia/Tbilisi",
	"ереван": "Asia/Yerevan", "yerevan": "Asia/Yerevan",
	"баку": "Asia/Baku", "baku": "Asia/Baku",
	"бишкек": "Asia/Bishkek", "bishkek": "Asia/Bishkek",
	"кишинёв": "Europe/Chisinau", "кишинев": "Europe/Chisinau", "chisinau": "Europe/Chisinau",
	"рига": "Europe/Riga", "riga": "Europe/Riga", "вильнюс": "Europe/Vilnius", "vilnius": "Europe/Vilnius",
	"таллин": "Europe/Tallinn", "tallinn": "Europe/Tallinn",
	"калининград": "Europe/Kaliningrad", "kaliningrad": "Europe/Kaliningrad",
	"самара": "Europe/Samara", "samara": "Europe/Samara",
	"екатеринбург": "Asia/Yekaterinburg", "екб": "Asia/Yekaterinburg", "yekaterinburg": "Asia/Yekaterinburg",
	"новосибирск": "Asia/Novosibirsk", "novosibirsk": "Asia/Novosibirsk",
	"красноярск": "Asia/Krasnoyarsk", "иркутск": "Asia/Irkutsk", "владивосток": "Asia/Vladivostok",
	"стамбул": "Europe/Istanbul", "istanbul": "Europe/Istanbul", "турция": "Europe/Istanbul",
	"дубай": "Asia/Dubai", "dubai": "Asia/Dubai",
	"берлин": "Europe/Berlin", "berlin": "Europe/Berlin", "cet": "Europe/Berlin", "cest": "Europe/Berlin",
	"париж": "Europe/Paris", "paris": "Europe/Paris", "варшава": "Europe/Warsaw", "warsaw": "Europe/Warsaw",
	"прага": "Europe/Prague", "prague": "Europe/Prague",
	"лондон": "Europe/London", "london": "Europe/London", "bst": "Europe/London",
	"нью-йорк": "America/New_York", "new york": "America/New_York", "nyc": "America/New_York",
	"est": "America/New_York", "edt": "America/New_York", "et": "America/New_York",
	"лос-анджелес": "America/Los_Angeles", "los angeles": "America/Los_Angeles",
	"pst": "America/Los_Angeles", "pdt": "America/Los_Angeles", "pt": "America/Los_Angeles",
	"чикаго": "America/Chicago", "chicago": "America/Chicago",
	"eet": "Europe/Kyiv", "eest": "Europe/Kyiv",
}

// zoneAlias looks s up in zoneAliases, ignoring case, dots and a leading "г.".
func zoneAlias(s string) (string, bool) {
	k := strings.ToLower(strings.Join(strings.Fields(s), " "))
	k = strings.TrimPrefix(k, "г. ")
	k = strings.Trim(k, ".!")
	name, ok := zoneAliases[k]
	return name, ok
}

// durationRE: "через час", "через 2 часа", "через полчаса", "in 30 minutes", "in an hour".
var durationRE = regexp.MustCompile(`^(?:через|in)\s+(?:(\d{1,4}|an?|one|один|одну)\s*)?` +
	`(час|часа|часов|ч|hours?|hrs?|h|минуту|минуты|минут|мин|m|minutes?|mins?|день|дня|дней|days?|полчаса|half an hour)$`)

// dayRE: "завтра в 10", "сегодня в 18:30", "tomorrow at 10", "в понедельник 10:00",
// "monday 10am".
var dayRE = regexp.MustCompile(`^(?:(?:on|в|во)\s+)?([\p{L}]+)[,]?\s+(?:(?:at|в)\s+)?(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)?$`)

// relativeDays are the words for a day counted from today.
var relativeDays = map[string]int{"сегодня": 0, "today": 0, "завтра": 1, "tomorrow": 1, "послезавтра": 2}

// weekdayPrefixes start the names of the weekdays in every case form admins type
// ("среду", "пятницу", "mon", "Monday"); weekdayAbbrevs are taken only whole.
var (
	weekdayPrefixes = map[string]time.Weekday{
		"понед": time.Monday, "вторн": time.Tuesday, "сред": time.Wednesday, "четв": time.Thursday,
		"пятн": time.Friday, "субб": time.Saturday, "воскр": time.Sunday,
		"mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday,
		"fri": time.Friday, "sat": time.Saturday, "sun": time.Sunday,
	}
	weekdayAbbrevs = map[string]time.Weekday{
		"пн": time.Monday, "вт": time.Tuesday, "ср": time.Wednesday, "чт": time.Thursday,
		"пт": time.Friday, "сб": time.Saturday, "вс": time.Sunday,
	}
)

// parseDuration reads "через 2 часа" / "in 30 minutes" as a moment from now.
func parseDuration(s string, now time.Time) (time.Time, bool) {
	m := durationRE.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, false
	}
	n := 1
	if d, err := strconv.Atoi(m[1]); err == nil {
		n = d
	}
	unit := m[2]
	switch {
	case unit == "полчаса" || unit == "half an hour":
		return now.Add(30 * time.Minute), m[1] == ""
	case unit == "m" || strings.HasPrefix(unit, "мин") || strings.HasPrefix(unit, "min"):
		return now.Add(time.Duration(n) * time.Minute), n > 0
	case strings.HasPrefix(unit, "д") || strings.HasPrefix(unit, "day"):
		return now.AddDate(0, 0, n), n > 0
	default:
		return now.Add(time.Duration(n) * time.Hour), n > 0
	}
}

// parseDayWord reads "завтра в 10", "monday 10:00" in loc: the day from today (or
// the next such weekday, today included), at the given hour.
func parseDayWord(s string, loc *time.Location, now time.Time) (time.Time, bool) {
	m := dayRE.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, false
	}
	hour, _ := strconv.Atoi(m[2])
	minute := 0
	if m[3] != "" {
		minute, _ = strconv.Atoi(m[3])
	}
	switch m[4] {
	case "am":
		if hour == 12 {
			hour = 0
		}
	case "pm":
		if hour < 12 {
			hour += 12
		}
	}
	if hour > 23 || minute > 59 {
		return time.Time{}, false
	}
	local := now.In(loc)
	days, ok := relativeDays[m[1]]
	if !ok {
		wd, ok := weekday(m[1])
		if !ok {
			return time.Time{}, false
		}
		days = (int(wd) - int(local.Weekday()) + 7) % 7
		if days == 0 && !time.Date(local.Year(), local.Month(), local.Day(), hour, minute, 0, 0, loc).After(now) {
			days = 7
		}
	}
	return time.Date(local.Year(), local.Month(), local.Day()+days, hour, minute, 0, 0, loc), true
}

func weekday(word string) (time.Weekday, bool) {
	if d, ok := weekdayAbbrevs[word]; ok {
		return d, true
	}
	for prefix, d := range weekdayPrefixes {
		if strings.HasPrefix(word, prefix) {
			return d, true
		}
	}
	return 0, false
}

package i18n

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Numbers, durations and dates written the way the admin's language writes them
// (issue 18.1): «12 345», «2,5», «2 мин 5 с», «1 декабря 2027, 18:30» in Russian;
// "12,345", "2.5", "2 min 5 s", "1 December 2027, 18:30" in English.

// thinSpace groups thousands in Russian (U+202F, which never breaks a line).
const thinSpace = "\u202f"

// Number writes n with grouped thousands.
func (l *Localizer) Number(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	sep := ","
	if l.Lang == "ru" {
		sep = thinSpace
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Decimal writes f with one digit after the decimal separator.
func (l *Localizer) Decimal(f float64) string {
	s := strconv.FormatFloat(f, 'f', 1, 64)
	if l.Lang == "ru" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// Duration writes d in at most two units: "1 h 5 min", "2 min 5 s", "4.5 s".
func (l *Localizer) Duration(d time.Duration) string {
	h, m, s := "h", "min", "s"
	if l.Lang == "ru" {
		h, m, s = "ч", "мин", "с"
	}
	pair := func(a int64, ua string, b int64, ub string) string {
		if b == 0 {
			return fmt.Sprintf("%d %s", a, ua)
		}
		return fmt.Sprintf("%d %s %d %s", a, ua, b, ub)
	}
	switch {
	case d >= time.Hour:
		d = d.Round(time.Minute)
		return pair(int64(d/time.Hour), h, int64(d%time.Hour/time.Minute), m)
	case d >= time.Minute:
		d = d.Round(time.Second)
		return pair(int64(d/time.Minute), m, int64(d%time.Minute/time.Second), s)
	case d >= 10*time.Second:
		return fmt.Sprintf("%d %s", int64(d.Round(time.Second)/time.Second), s)
	default:
		return l.Decimal(d.Round(100*time.Millisecond).Seconds()) + " " + s
	}
}

var (
	monthsEN = []string{"January", "February", "March", "April", "May", "June", "July", "August",
		"September", "October", "November", "December"}
	monthsRU = []string{"января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
		"сентября", "октября", "ноября", "декабря"}
)

// Date writes t (already in the admin's zone) as "1 December 2027, 18:30".
func (l *Localizer) Date(t time.Time) string {
	months := monthsEN
	if l.Lang == "ru" {
		months = monthsRU
	}
	return fmt.Sprintf("%d %s %d, %02d:%02d", t.Day(), months[t.Month()-1], t.Year(), t.Hour(), t.Minute())
}

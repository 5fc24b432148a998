package flows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"herald/flows"
)

func TestParseTimeZone(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in     string
		name   string
		offset int // seconds east of UTC at `at`
	}{
		{"Europe/Moscow", "Europe/Moscow", 3 * 3600},
		{"America/New_York", "America/New_York", -4 * 3600},
		{"+03:00", "+03:00", 3 * 3600},
		{"UTC+3", "+03:00", 3 * 3600},
		{"gmt-4", "-04:00", -4 * 3600},
		{"+0530", "+05:30", 5*3600 + 1800},
		{"UTC", "UTC", 0},
		{"Москва", "Europe/Moscow", 3 * 3600},
		{"МСК", "Europe/Moscow", 3 * 3600},
		{"мск", "Europe/Moscow", 3 * 3600},
		{"Moscow", "Europe/Moscow", 3 * 3600},
		{"Киев", "Europe/Kyiv", 3 * 3600},
		{"Kyiv", "Europe/Kyiv", 3 * 3600},
		{"г. Алматы", "Asia/Almaty", 5 * 3600},
		{"New York", "America/New_York", -4 * 3600},
		{"EST", "America/New_York", -4 * 3600},
	} {
		loc, name, ok := flows.ParseTimeZone(tc.in)
		require.True(t, ok, tc.in)
		require.Equal(t, tc.name, name, tc.in)
		_, off := at.In(loc).Zone()
		require.Equal(t, tc.offset, off, tc.in)
	}
	for _, bad := range []string{"", "Мосва", "Mars/Olympus", "+25:00", "UTC+3:99", "Local", "CST"} {
		_, _, ok := flows.ParseTimeZone(bad)
		require.False(t, ok, bad)
	}
}

func TestParseWhen(t *testing.T) {
	t.Parallel()
	msk := time.FixedZone("MSK", 3*3600)
	now := time.Date(2026, 11, 28, 15, 0, 0, 0, time.UTC) // 18:00 in Moscow
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"2026-12-01 18:30", time.Date(2026, 12, 1, 18, 30, 0, 0, msk)},
		{"2026-12-01T18:30", time.Date(2026, 12, 1, 18, 30, 0, 0, msk)},
		{"01.12.2026 18:30", time.Date(2026, 12, 1, 18, 30, 0, 0, msk)},
		{"01.12 18:30", time.Date(2026, 12, 1, 18, 30, 0, 0, msk)},
		{"  1.12   9:05 ", time.Date(2026, 12, 1, 9, 5, 0, 0, msk)},
		{"28.11 17:00", time.Date(2027, 11, 28, 17, 0, 0, 0, msk)}, // passed this year: next year
		{"28.11 19:00", time.Date(2026, 11, 28, 19, 0, 0, 0, msk)},
	} {
		got, ok := flows.ParseWhen(tc.in, msk, now)
		if tc.want.IsZero() {
			require.False(t, ok, tc.in)
			continue
		}
		require.True(t, ok, tc.in)
		require.True(t, tc.want.Equal(got), "%s: got %s, want %s", tc.in, got, tc.want)
	}
	for _, bad := range []string{"", "tomorrow", "2026-13-01 10:00", "32.01 10:00", "18:30"} {
		_, ok := flows.ParseWhen(bad, msk, now)
		require.False(t, ok, bad)
	}
}

func TestReadWhenWords(t *testing.T) {
	t.Parallel()
	msk := time.FixedZone("MSK", 3*3600)
	now := time.Date(2026, 12, 2, 9, 15, 0, 0, time.UTC) // Wednesday, 12:15 in Moscow
	day := func(d, h, m int) time.Time { return time.Date(2026, 12, d, h, m, 0, 0, msk) }
	for _, tc := range []struct {
		in       string
		want     time.Time
		relative bool
		nextYear bool
	}{
		{in: "через час", want: now.Add(time.Hour), relative: true},
		{in: "Через 2 часа", want: now.Add(2 * time.Hour), relative: true},
		{in: "через 30 минут", want: now.Add(30 * time.Minute), relative: true},
		{in: "через полчаса", want: now.Add(30 * time.Minute), relative: true},
		{in: "in an hour", want: now.Add(time.Hour), relative: true},
		{in: "in 30 minutes", want: now.Add(30 * time.Minute), relative: true},
		{in: "in 3 days", want: now.AddDate(0, 0, 3), relative: true},
		{in: "завтра в 10", want: day(3, 10, 0)},
		{in: "завтра 10:30", want: day(3, 10, 30)},
		{in: "сегодня в 18:30", want: day(2, 18, 30)},
		{in: "послезавтра в 9", want: day(4, 9, 0)},
		{in: "tomorrow at 10", want: day(3, 10, 0)},
		{in: "tomorrow 10pm", want: day(3, 22, 0)},
		{in: "в понедельник в 10", want: day(7, 10, 0)},
		{in: "Monday 10:00", want: day(7, 10, 0)},
		{in: "в среду в 10", want: day(9, 10, 0)}, // today's 10:00 has passed: next week
		{in: "в среду в 15", want: day(2, 15, 0)},
		{in: "пт 9:00", want: day(4, 9, 0)},
		{in: "01.12 18:30", want: time.Date(2027, 12, 1, 18, 30, 0, 0, msk), nextYear: true},
		{in: "03.12 18:30", want: day(3, 18, 30)},
	} {
		w, ok := flows.ReadWhen(tc.in, msk, now)
		require.True(t, ok, tc.in)
		require.True(t, tc.want.Equal(w.At), "%s: got %s, want %s", tc.in, w.At, tc.want)
		require.Equal(t, tc.relative, w.Relative, tc.in)
		require.Equal(t, tc.nextYear, w.NextYear, tc.in)
	}
	for _, bad := range []string{"через", "через 0 часов", "завтра", "завтра в 25", "someday 10:00", "in 2 weeks", "tomorrow at 10:75"} {
		_, ok := flows.ReadWhen(bad, msk, now)
		require.False(t, ok, bad)
	}
}

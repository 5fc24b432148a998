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
	} {
		loc, name, ok := flows.ParseTimeZone(tc.in)
		require.True(t, ok, tc.in)
		require.Equal(t, tc.name, name, tc.in)
		_, off := at.In(loc).Zone()
		require.Equal(t, tc.offset, off, tc.in)
	}
	for _, bad := range []string{"", "Moscow", "Mars/Olympus", "+25:00", "UTC+3:99", "Local", "EST"} {
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

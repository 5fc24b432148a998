package queue

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"herald/store"
)

// Issue 12.5: right after Resume the rate is of actual sending, not averaged with the
// pause ("0.8 msg/s · ETA 46m" while 30/s went out).
func TestRateWindowExcludesPausedTime(t *testing.T) {
	t.Parallel()
	var r rateWindow
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	done := int64(0)
	var rate float64
	for s := 0; s <= 20; s++ { // 30/s for 20 s
		rate = r.add(at(float64(s)), done, true)
		done += 30
	}
	require.InDelta(t, 30, rate, 0.5)
	done -= 30
	for s := 21; s <= 600; s++ { // paused for ten minutes
		require.Equal(t, -1.0, r.add(at(float64(s)), done, false), "no rate while paused")
	}
	// Resumed at 601; the lane needs a moment before the first settle, then 30/s.
	require.Equal(t, -1.0, r.add(at(601), done, true))
	require.Equal(t, -1.0, r.add(at(602), done, true), "nothing sent yet: unknown, not 0")
	for s := 603; s <= 606; s++ {
		done += 30
		rate = r.add(at(float64(s)), done, true)
	}
	require.InDelta(t, 30, rate, 0.5, "the rate right after Resume")
	// A stall while running shows as a falling rate, not as unknown.
	rate = r.add(at(616), done, true)
	require.InDelta(t, 0, rate, 0.5)
}

func testEngine(t *testing.T) *engine {
	t.Helper()
	tx, err := newTexts("en")
	require.NoError(t, err)
	return &engine{texts: tx}
}

// Issue 12.5: the uncertain ones are explained by cause, in both languages, in the
// progress message and in the final report.
func TestTextsNameTheUncertainCause(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	started := time.Now().Add(-time.Minute)
	finished := time.Now()
	c := store.Campaign{ID: 7, Status: store.CampaignCompleted, StartedAt: &started, FinishedAt: &finished}
	counts := store.DeliveryCounts{Sent: 90, Uncertain: 10}
	reasons := map[string]int64{UncertainStopped: 5, UncertainAnswerLost: 3, UncertainGateway: 1, "an older free text": 1}
	en := e.reportText("en", c, counts, reasons, nil)
	for _, want := range []string{
		"• 5: Herald stopped (crash or restart)",
		"• 3: the request left, but its answer was lost",
		"• 1: a gateway between Herald and Telegram answered with an error (502/504)",
		"• 1: no outcome was recorded",
	} {
		require.Contains(t, en, want)
	}
	require.NotContains(t, en, "uncertain:")
	ru := e.reportText("ru", c, counts, reasons, nil)
	for _, want := range []string{"• 5: Herald остановился", "• 3: запрос ушёл, но ответ на него потерян", "• 1: шлюз между Herald и Telegram", "• 1: исход не записан"} {
		require.Contains(t, ru, want)
	}
	// Only the causes that occurred are listed; none at all without uncertain ones.
	running := store.Campaign{ID: 7, Status: store.CampaignRunning}
	text := e.progressText("en", running, store.DeliveryCounts{Pending: 5, Sent: 4, Uncertain: 1}, 30, map[string]int64{UncertainAnswerLost: 1}, nil)
	require.Contains(t, text, "• 1: the request left")
	require.NotContains(t, text, "stopped")
	require.NotContains(t, e.reportText("en", c, store.DeliveryCounts{Sent: 10}, nil, nil), "Uncertain messages may")
	require.Equal(t, "Herald stopped (crash or restart) after their requests had left", e.texts.reasonText("en", UncertainStopped))
	require.Equal(t, "Bad Request: chat not found", e.texts.reasonText("en", "Bad Request: chat not found"))
}

// The rate and ETA show only while the campaign runs.
func TestProgressTextRateAndETA(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	counts := store.DeliveryCounts{Pending: 1800, Sent: 200}
	running := e.progressText("en", store.Campaign{ID: 1, Status: store.CampaignRunning}, counts, 30, nil, nil)
	require.Contains(t, running, "Rate: 30.0 msg/s · ETA: 1 min")
	require.Contains(t, running, "Remaining: 1,800")
	ru := e.progressText("ru", store.Campaign{ID: 1, Status: store.CampaignRunning}, counts, 30, nil, nil)
	require.Contains(t, ru, "Скорость: 30,0 сообщ./с · Осталось времени: 1 мин")
	require.Contains(t, ru, "Осталось: 1\u202f800")
	paused := e.progressText("en", store.Campaign{ID: 1, Status: store.CampaignPaused}, counts, 30, nil, nil)
	require.True(t, strings.Contains(paused, "Rate: — msg/s · ETA: —"), paused)
}

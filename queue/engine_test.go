package queue_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"

	"herald/i18n"
	"herald/queue"
	"herald/store"
	"herald/tgemu"
)

// Acceptance: 10,000 recipients on a channel rated 1,000/s, emulator enforcing 1,000/s.
func TestTenThousandAtPaidRate(t *testing.T) {
	if testing.Short() {
		t.Skip("10 s")
	}
	t.Parallel()
	b := setup(t, setupOpts{})
	client := b.newClient(t, clientOpts{id: "p1"})
	channel, bot := b.channel(t, 1000)
	users := b.users(t, bot, 10_000)
	cpuBefore := cpuTime(t)
	id := b.startCampaign(t, client, b.template(t, "Hi {{first_name}}"), b.batch(t, ids(users)), channel)

	c := b.waitStatus(t, id, store.CampaignCompleted, 60*time.Second)
	cpu := cpuTime(t) - cpuBefore
	require.Equal(t, store.DeliveryCounts{Sent: 10_000}, b.counts(t, id))
	st := b.emu.Stats(bot.Token)
	require.EqualValues(t, 10_000, st.Sent)
	require.Len(t, st.PerChat, 10_000)
	require.Empty(t, st.Duplicates())
	require.Zero(t, st.TooManyRequests)
	require.LessOrEqual(t, st.MaxPerSecond, 1000)
	first, last := st.Series[0], st.Series[len(st.Series)-1]
	t.Logf("10k: %.0f msg/s between first and last send, max %d in a 1-s window, campaign %s start to finish, %.3f CPU-s per 1000 (test process, emulator included)",
		float64(len(st.Series)-1)/last.Sub(first).Seconds(), st.MaxPerSecond, c.FinishedAt.Sub(*c.StartedAt).Round(time.Millisecond), cpu.Seconds()/10)
}

// Acceptance: blocked users, unknown chats, 5xx and latency; the report's counts equal
// the emulator's truth, blocked users are suppressed and a second campaign skips them.
func TestFaultsMatchEmulatorTruth(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	client := b.newClient(t, clientOpts{id: "p1", withMgmt: true, delivery: queue.DeliveryConfig{RetryBackoff: 50 * time.Millisecond, ProgressEvery: 500 * time.Millisecond}})
	channel, bot := b.channel(t, 500)
	const n = 2000
	users := b.users(t, bot, n)
	recipients := ids(users)
	blocked := map[int64]bool{}
	for i := 0; i < n; i += 20 { // 5%
		users[i].Block(bot.Token)
		blocked[users[i].ID] = true
	}
	unknown := map[int64]bool{}
	for i := range n / 100 { // 1%: ids no user has
		id := int64(900_000_000 + i)
		unknown[id] = true
		recipients = append(recipients, id)
	}
	b.emu.SetFaults(bot.Token, tgemu.Faults{Latency: 30 * time.Millisecond, Jitter: 40 * time.Millisecond, ServerErrorRate: 0.02})
	batch := b.batch(t, recipients)
	tpl := b.template(t, "Hello {{first_name}}")
	id := b.startCampaign(t, client, tpl, batch, channel)

	b.waitStatus(t, id, store.CampaignCompleted, 60*time.Second)
	st := b.emu.Stats(bot.Token)
	require.Empty(t, st.Duplicates())
	want := store.DeliveryCounts{Sent: st.Sent, Blocked: int64(len(blocked)), Failed: int64(len(unknown))}
	require.Equal(t, want, b.counts(t, id))
	require.EqualValues(t, n-len(blocked), st.Sent)
	for _, u := range users {
		require.Equal(t, !blocked[u.ID], st.PerChat[u.ID] == 1, "user %d", u.ID)
	}
	require.LessOrEqual(t, st.MaxPerSecond, 500)

	// The final report in the admin's chat says the same, and its CSV lists exactly
	// the recipients not sent.
	report := b.waitReport(t, id)
	require.Contains(t, report, "Sent: "+enNumber(st.Sent))
	require.Contains(t, report, "Blocked: "+enNumber(int64(len(blocked))))
	require.Contains(t, report, "Failed: "+enNumber(int64(len(unknown))))
	rows := b.reportCSV(t)
	require.Len(t, rows, len(blocked)+len(unknown))
	for _, r := range rows {
		var chat int64
		_, err := fmt.Sscan(r[0], &chat)
		require.NoError(t, err)
		switch {
		case blocked[chat]:
			require.Equal(t, "blocked", r[1])
			require.Contains(t, r[2], "blocked")
		case unknown[chat]:
			require.Equal(t, "failed", r[1])
			require.Contains(t, r[2], "chat not found")
		default:
			t.Fatalf("CSV lists chat %d which got the message", chat)
		}
	}

	// Blocked users are suppressed: a second campaign to the same batch skips them.
	n2, err := b.store.SuppressionCount(context.Background(), channel)
	require.NoError(t, err)
	require.EqualValues(t, len(blocked), n2)
	b.emu.SetFaults(bot.Token, tgemu.Faults{})
	id2 := b.startCampaign(t, client, tpl, batch, channel)
	b.waitStatus(t, id2, store.CampaignCompleted, 60*time.Second)
	counts2 := b.counts(t, id2)
	require.EqualValues(t, n-len(blocked)+len(unknown), counts2.Total())
	require.EqualValues(t, n-len(blocked), counts2.Sent)
	st2 := b.emu.Stats(bot.Token)
	for u := range blocked {
		require.Zero(t, st2.PerChat[u])
	}
}

// waitReport waits for the campaign's control message to become the final report and
// returns its text.
func (b *testBundle) waitReport(t *testing.T, id int64) string {
	t.Helper()
	deadline := time.Now().Add(patient(20 * time.Second))
	for {
		c, err := b.store.CampaignGet(context.Background(), id)
		require.NoError(t, err)
		if c.ReportedAt != nil && c.ControlMessageID != nil {
			for _, e := range b.emu.Transcript(b.mgmt.Token, b.admin) {
				if int64(e.Message.MessageID) == *c.ControlMessageID {
					return e.Message.Text
				}
			}
			t.Fatalf("control message %d not in the admin's chat", *c.ControlMessageID)
		}
		if time.Now().After(deadline) {
			t.Fatalf("campaign %d was not reported", id)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// reportCSV downloads the last CSV document in the admin's chat (an en admin's) and
// returns its rows as chat_id, status, reason, without the header.
func (b *testBundle) reportCSV(t *testing.T) [][]string {
	t.Helper()
	header, rows := b.reportFile(t, ',')
	require.Equal(t, []string{"chat_id", "status", "reason"}, []string{header[0], header[len(header)-2], header[len(header)-1]})
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = []string{r[0], r[len(r)-2], r[len(r)-1]}
	}
	return out
}

// reportFile downloads the last document in the admin's chat and parses it as a CSV
// with sep after a UTF-8 BOM, which it requires.
func (b *testBundle) reportFile(t *testing.T, sep rune) (header []string, rows [][]string) {
	t.Helper()
	var doc *telego.Document
	for _, e := range b.emu.Transcript(b.mgmt.Token, b.admin) {
		if e.Message.Document != nil {
			doc = e.Message.Document
		}
	}
	require.NotNil(t, doc, "no CSV in the admin's chat")
	bot, err := telego.NewBot(b.mgmt.Token, telego.WithAPIServer(b.emu.URL()), telego.WithDiscardLogger())
	require.NoError(t, err)
	f, err := bot.GetFile(context.Background(), &telego.GetFileParams{FileID: doc.FileID})
	require.NoError(t, err)
	resp, err := http.Get(bot.FileDownloadURL(f.FilePath))
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	text, ok := strings.CutPrefix(string(data), "\uFEFF")
	require.True(t, ok, "the CSV has no UTF-8 BOM")
	r := csv.NewReader(strings.NewReader(text))
	r.Comma = sep
	all, err := r.ReadAll()
	require.NoError(t, err)
	require.NotEmpty(t, all)
	return all[0], all[1:]
}

// cpuTime is the CPU time this test process has used so far.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Throughput of four lanes at once (run with HERALD_BENCH=1): each channel bot at the
// highest rate a channel may have.
func TestFourLanesThroughput(t *testing.T) {
	if os.Getenv("HERALD_BENCH") == "" {
		t.Skip("set HERALD_BENCH=1")
	}
	b := setup(t, setupOpts{})
	client := b.newClient(t, clientOpts{id: "p1", delivery: queue.DeliveryConfig{MaxInFlight: 512}})
	tpl := b.template(t, "Hi {{first_name}}")
	const perBot = 10_000
	var bots []*tgemu.Bot
	var campaigns []int64
	cpuBefore := cpuTime(t)
	start := time.Now()
	for range 4 {
		channel, bot := b.channel(t, 1000)
		bots = append(bots, bot)
		campaigns = append(campaigns, b.startCampaign(t, client, tpl, b.batch(t, ids(b.users(t, bot, perBot))), channel))
	}
	for _, id := range campaigns {
		b.waitStatus(t, id, store.CampaignCompleted, 2*time.Minute)
	}
	elapsed, cpu := time.Since(start), cpuTime(t)-cpuBefore
	var first, last time.Time
	for _, bot := range bots {
		st := b.emu.Stats(bot.Token)
		require.EqualValues(t, perBot, st.Sent)
		require.Zero(t, st.TooManyRequests)
		require.LessOrEqual(t, st.MaxPerSecond, 1000)
		if first.IsZero() || st.Series[0].Before(first) {
			first = st.Series[0]
		}
		if l := st.Series[len(st.Series)-1]; l.After(last) {
			last = l
		}
	}
	t.Logf("4 lanes: %.0f msg/s first to last send, %s including set-up, %.3f CPU-s per 1000 (emulator included)",
		float64(4*perBot)/last.Sub(first).Seconds(), elapsed.Round(time.Millisecond), cpu.Seconds()/(4*perBot/1000))
}

// enNumber writes n as the en report does ("1,900").
func enNumber(n int64) string {
	c, err := i18n.New("en")
	if err != nil {
		panic(err)
	}
	return c.For("en").Number(n)
}

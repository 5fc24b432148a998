package queue_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"image"
	"image/png"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"herald/chart"
	"herald/queue"
	"herald/store"
)

// Acceptance (issue 17.1): a 5,000-recipient campaign ends with its chart in the
// admin's chat: a PNG that decodes, 1080×1350, and the per-second counters behind it
// add up to what the emulator received (read from the counters, not the pixels).
func TestFinalReportHasChartOfCounters(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	client := b.newClient(t, clientOpts{id: "p1", withMgmt: true, delivery: queue.DeliveryConfig{ProgressEvery: 500 * time.Millisecond}})
	channel, bot := b.channel(t, 1000)
	const n = 5000
	users := b.users(t, bot, n)
	blocked := map[int64]bool{}
	for i := 0; i < n; i += 50 {
		users[i].Block(bot.Token)
		blocked[users[i].ID] = true
	}
	id := b.startCampaign(t, client, b.template(t, "Hi {{first_name}}"), b.batch(t, ids(users)), channel)
	b.waitStatus(t, id, store.CampaignCompleted, 60*time.Second)
	b.waitReport(t, id)
	st := b.emu.Stats(bot.Token)
	require.EqualValues(t, n-len(blocked), st.Sent)

	// The counters: every settled delivery counted once, in the second its answer came.
	ctx := context.Background()
	var sent, blockedN, seconds int64
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT coalesce(sum(sent), 0), coalesce(sum(blocked), 0), count(*)
		FROM campaign_seconds WHERE campaign_id = $1 AND channel_id = $2`, id, channel).Scan(&sent, &blockedN, &seconds))
	require.Equal(t, st.Sent, sent)
	require.EqualValues(t, len(blocked), blockedN)
	require.Less(t, seconds, int64(n/10), "rows per second, not per delivery")
	d, err := b.store.CampaignChartGet(ctx, id, chart.MaxBuckets)
	require.NoError(t, err)
	var fromBuckets int64
	for _, bk := range d.Buckets {
		fromBuckets += bk.Sent
	}
	require.Equal(t, st.Sent, fromBuckets)

	// The chart arrived after the report, as a photo of the promised size.
	png := b.chartPhoto(t)
	img, err := decodePNG(png)
	require.NoError(t, err)
	require.Equal(t, image.Rect(0, 0, chart.Width, chart.Height), img.Bounds())
}

// chartPhoto downloads the last photo in the admin's chat.
func (b *testBundle) chartPhoto(t *testing.T) []byte {
	t.Helper()
	var fileID, caption string
	deadline := time.Now().Add(patient(30 * time.Second))
	for fileID == "" && time.Now().Before(deadline) {
		for _, e := range b.emu.Transcript(b.mgmt.Token, b.admin) {
			if p := e.Message.Photo; len(p) > 0 {
				fileID, caption = p[len(p)-1].FileID, e.Message.Caption
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.NotEmpty(t, fileID, "no chart in the admin's chat")
	require.Contains(t, caption, "📈")
	f, ok := b.emu.File(fileID)
	require.True(t, ok)
	return f.Data
}

func decodePNG(data []byte) (image.Image, error) { return png.Decode(bytes.NewReader(data)) }

// Acceptance (issue 17.5): the export lists every recipient with the outcome the
// deliveries table has, in the report's format (ru: ';', BOM, plain words), while
// the campaign runs and after.
func TestExportMatchesDeliveries(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	client := b.newClient(t, clientOpts{id: "p1"})
	channel, bot := b.channel(t, 500)
	users := b.users(t, bot, 300)
	users[3].Block(bot.Token)
	recipients := append(ids(users), 900_000_001) // nobody: chat not found
	id := b.startCampaign(t, client, b.template(t, "Hi {{first_name}}"), b.batch(t, recipients), channel)
	b.waitStatus(t, id, store.CampaignCompleted, 30*time.Second)

	exports, err := queue.NewExports(b.store, "en")
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, exports.CampaignCSV(context.Background(), id, "ru", &buf))
	text, ok := strings.CutPrefix(buf.String(), "\uFEFF")
	require.True(t, ok, "no BOM")
	r := csv.NewReader(strings.NewReader(text))
	r.Comma = ';'
	rows, err := r.ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"chat_id", "first_name", "статус", "причина"}, rows[0])
	rows = rows[1:]

	truth := map[string]string{}
	dbRows, err := b.pool.Query(context.Background(), `SELECT chat_id, status FROM deliveries WHERE campaign_id = $1`, id)
	require.NoError(t, err)
	for dbRows.Next() {
		var chat int64
		var status string
		require.NoError(t, dbRows.Scan(&chat, &status))
		truth[strconv.FormatInt(chat, 10)] = status
	}
	require.NoError(t, dbRows.Err())
	require.Len(t, rows, len(truth))
	words := map[string]string{"sent": "отправлено", "blocked": "заблокировал бота", "failed": "ошибка"}
	for _, row := range rows {
		status, ok := truth[row[0]]
		require.True(t, ok, "chat %s is not a delivery", row[0])
		require.Equal(t, words[status], row[2], row[0])
		if status == store.DeliverySent {
			require.Empty(t, row[3])
			require.Equal(t, "User "+row[0], row[1])
		}
	}
	byChat := map[string][]string{}
	for _, row := range rows {
		byChat[row[0]] = row
	}
	require.Equal(t, "заблокировал бота-отправителя", byChat[itoa(users[3].ID)][3])
	require.Equal(t, "чат не найден", byChat["900000001"][3])
	require.Error(t, exports.CampaignCSV(context.Background(), id+1000, "en", &buf))
}

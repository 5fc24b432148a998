package bot_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"

	"herald/chart"
	"herald/importer"
	"herald/queue"
	"herald/secrets"
	"herald/store"
	"herald/tgemu"
)

// withExports adds the export service on top of withRunningQueue.
func (b *testBundle) withExports(t *testing.T) {
	t.Helper()
	var err error
	b.cfg.Services.Exports, err = queue.NewExports(b.st, "en")
	require.NoError(t, err)
}

// runCampaign sends template body to n new emulator users through a new channel bot
// at rate, started as the wizard does; it returns the campaign and the sender bot.
func (b *testBundle) runCampaign(t *testing.T, box *secrets.Box, name string, n, rate int) (int64, *tgemu.Bot) {
	t.Helper()
	sender := b.srv.CreateBot("")
	users := b.srv.CreateUsers(n, tgemu.UserSpec{})
	b.srv.SetStarted(sender.Token, users...)
	var file strings.Builder
	file.WriteString("chat_id,first_name\n")
	for _, u := range users {
		fmt.Fprintf(&file, "%d,%s\n", u.ID, u.FirstName)
	}
	rd, err := importer.OpenCSV(strings.NewReader(file.String()))
	require.NoError(t, err)
	batch, err := b.st.BatchImport(b.ctx, store.BatchImportParams{Name: name, CreatedBy: b.owner.ID, Source: rd})
	require.NoError(t, err)
	tpl, err := b.st.TemplateCreate(b.ctx, store.Template{Name: name, Body: "Hi {{first_name}}",
		Entities: json.RawMessage(`[]`), Buttons: json.RawMessage(`[]`), CreatedBy: b.owner.ID})
	require.NoError(t, err)
	ch, err := b.st.ChannelCreate(b.ctx, box, store.ChannelCreateParams{BotUserID: sender.ID, Username: sender.Username,
		Name: name, Token: sender.Token, RatePerSecond: rate, PaidBroadcast: rate > 30, CreatedBy: b.owner.ID})
	require.NoError(t, err)
	var id int64
	err = b.st.InTx(b.ctx, func(tx *store.Store) error {
		id, err = b.cfg.Services.Campaigns.CreateCampaign(b.ctx, tx, store.NewCampaign{TemplateID: tpl, BatchID: batch.ID, ChannelID: ch.ID,
			ControlChatID: b.owner.ID, CreatedBy: b.owner.ID, RequestKey: name})
		return err
	})
	require.NoError(t, err)
	return id, sender
}

// lastPhoto waits for a photo from the management bot in the owner's chat and
// downloads the newest.
func (b *testBundle) lastPhoto(t *testing.T) (telego.Message, []byte) {
	t.Helper()
	var m telego.Message
	deadline := time.Now().Add(patient(30 * time.Second))
	for len(m.Photo) == 0 && time.Now().Before(deadline) {
		for _, e := range b.srv.Transcript(b.token, b.owner.ID) {
			if e.FromBot && len(e.Message.Photo) > 0 {
				m = e.Message
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.NotEmpty(t, m.Photo, "no photo in the owner's chat")
	f, ok := b.srv.File(m.Photo[len(m.Photo)-1].FileID)
	require.True(t, ok)
	return m, f.Data
}

// Acceptance (issue 17.1): "📈 Chart" on the card of a running campaign sends the
// chart of what has been sent so far; its counters are the deliveries settled so far.
func TestChartButtonMidRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	box := b.withSecrets(t)
	b.withRunningQueue(t, box)
	b.withExports(t)
	b.start(t)
	id, sender := b.runCampaign(t, box, "Slow", 400, 20) // 20 s at 20/s

	eventually(t, func() bool { return b.srv.Stats(sender.Token).Sent >= 40 })
	b.command(t, b.owner, "/campaigns")
	list := b.nextContaining(t, b.owner, "newest first")
	b.press(t, b.owner, list, fmt.Sprintf("#%d", id))
	card := b.current(t, b.owner, list.MessageID)
	require.Contains(t, card.Text, "running")
	answer := b.press(t, b.owner, card, "📈 Chart")
	require.Contains(t, answer.Text, "Drawing the chart")
	// What the chart job reads: the deliveries settled so far, mid-run.
	d, err := b.st.CampaignChartGet(b.ctx, id, chart.MaxBuckets)
	require.NoError(t, err)
	require.Equal(t, store.CampaignRunning, d.Campaign.Status, "the campaign ended before the press: the test is not mid-run")
	var settled int64
	for _, bk := range d.Buckets {
		settled += bk.Sent
	}
	require.Positive(t, settled)
	require.Less(t, settled, int64(400))
	require.LessOrEqual(t, settled, b.srv.Stats(sender.Token).Sent)

	m, data := b.lastPhoto(t)
	require.Contains(t, m.Caption, fmt.Sprintf("Campaign #%d", id))
	img, err := png.Decode(bytes.NewReader(data))
	require.NoError(t, err)
	require.Equal(t, image.Rect(0, 0, chart.Width, chart.Height), img.Bounds())

	// The export works mid-run too: every recipient, sent or not yet.
	answer = b.press(t, b.owner, card, "Outcomes CSV")
	require.Contains(t, answer.Text, "CSV sent")
	header, rows := b.lastCSV(t, b.owner, ',')
	require.Len(t, rows, 400)
	require.Equal(t, []string{"chat_id", "first_name", "status", "reason"}, header)
	var sentRows int
	for _, r := range rows {
		if r[2] == "sent" {
			sentRows++
		}
	}
	require.Positive(t, sentRows)
}

// Acceptance (issue 17.5): /campaigns → "Compare the last 10" lists the ten most
// recently finished campaigns, newest first, with their recipients, reached and
// blocked shares, duration and average rate, in the admin's language.
func TestHistoryComparesLastTen(t *testing.T) {
	t.Parallel()
	b := setup(t)
	box := b.withSecrets(t)
	b.withQueue(t)
	b.start(t)
	f := b.campaignFixture(t, box)
	var tpl, batch int64
	require.NoError(t, b.st.Pool().QueryRow(b.ctx, `SELECT (SELECT min(id) FROM templates), (SELECT min(id) FROM batches)`).Scan(&tpl, &batch))
	// Twelve finished campaigns (the oldest two must not show) and one running.
	base := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	var ids []int64
	for i := range 13 {
		status := store.CampaignCompleted
		if i == 12 {
			status = store.CampaignRunning
		}
		started := base.Add(time.Duration(i) * time.Hour)
		var id int64
		require.NoError(t, b.st.Pool().QueryRow(b.ctx, `
			INSERT INTO campaigns (template_id, batch_id, channel_id, status, started_at, finished_at, control_chat_id, created_by)
			VALUES ($1, $2, $3, $4, $5::timestamptz, CASE WHEN $4 = 'running' THEN NULL ELSE $5::timestamptz + make_interval(secs => $6::int) END, $7, $7)
			RETURNING id`, tpl, batch, f.channel.ID, status, started, 100+i, b.owner.ID).Scan(&id))
		// 1000 recipients: 900 sent, 10·i blocked, the rest failed.
		_, err := b.st.Pool().Exec(b.ctx, `INSERT INTO campaign_counters (campaign_id, status, n)
			VALUES ($1, 'sent', 900), ($1, 'blocked', $2), ($1, 'failed', 100 - $2)`, id, 10*(i%10))
		require.NoError(t, err)
		ids = append(ids, id)
	}
	_, err := b.st.Pool().Exec(b.ctx, `UPDATE admins SET language = 'ru', language_chosen = true WHERE user_id = $1`, b.owner.ID)
	require.NoError(t, err)

	b.command(t, b.owner, "/campaigns")
	list := b.nextContaining(t, b.owner, "рассыл")
	b.press(t, b.owner, list, "Сравнить последние 10")
	text := b.current(t, b.owner, list.MessageID).Text
	require.Contains(t, text, "Последние 10 завершённых рассылок")
	for i, id := range ids {
		shown := strings.Contains(text, fmt.Sprintf("№ %d ", id))
		require.Equal(t, i >= 2 && i < 12, shown, "campaign %d (%d) in %q", i, id, text)
	}
	// Newest first; campaign 11 ran 111 s: 1000 recipients, 90 % reached, 1 %
	// blocked, 1000/111 = 9,0 a second.
	require.Less(t, strings.Index(text, fmt.Sprintf("№ %d ", ids[11])), strings.Index(text, fmt.Sprintf("№ %d ", ids[2])))
	item := text[strings.Index(text, fmt.Sprintf("№ %d ", ids[11])):]
	item = item[:strings.Index(item, "\n\n")]
	require.Contains(t, item, "👥 1\u202f000 · ✅ 90,0 % · 🚫 1,0 %")
	require.Contains(t, item, "⏱ 1 мин 51 с · ⚡ 9,0/с")
}

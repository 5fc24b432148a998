package bot_test

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mymmrac/telego"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"herald/queue"
	"herald/secrets"
	"herald/store"
	"herald/tgemu"
)

// withDelivery runs the delivery engine for real: campaigns start, send through the
// emulator and report to the admin's chat through the management bot.
func (b *testBundle) withDelivery(t *testing.T, box *secrets.Box) {
	t.Helper()
	mgmt, err := telego.NewBot(b.token, telego.WithAPIServer(b.srv.URL()), telego.WithDiscardLogger())
	require.NoError(t, err)
	client, err := queue.NewClient(b.st.Pool(), queue.Config{Logger: zerolog.Nop(), Store: b.st, ManagementBot: mgmt,
		TelegramAPIURL: b.srv.URL(), Delivery: queue.DeliveryConfig{ProgressEvery: 200 * time.Millisecond},
		OpenToken: func(c []byte) (string, error) {
			p, err := box.Open(c)
			return string(p), err
		}})
	require.NoError(t, err)
	require.NoError(t, client.Start(b.ctx))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.Stop(ctx)
	})
	b.cfg.Services.Campaigns = queue.NewStarter(client)
	b.cfg.Services.Controls = queue.NewControls(b.st, client, queue.DeliveryConfig{})
}

// Acceptance (issue 18.1, 18.7): a ru admin runs a campaign to completion. Every text
// Herald sends them — wizard, progress turned report, its buttons, the CSV caption
// and the CSV's header — is Russian, and the CSV opens as columns (BOM, ';').
func TestRussianAdminCampaignIsRussianThroughout(t *testing.T) {
	t.Parallel()
	b := setup(t)
	box := b.withSecrets(t)
	b.withDelivery(t, box)
	b.start(t)
	fx := b.campaignFixture(t, box)
	b.srv.SetStarted(fx.sender.Token, b.owner)
	ivan := b.user(t, "Ivan", "ru")
	b.addAdmin(t, ivan, store.RoleAdmin)

	b.command(t, ivan, "/newcampaign")
	// The list and the bot are the only ones: chosen by themselves.
	b.press(t, ivan, b.nextContaining(t, ivan, "шаг 1"), "Welcome")
	b.next(t, ivan) // the rendered message itself: the template's words, not Herald's
	summary := b.nextContaining(t, ivan, "проверьте и подтвердите")
	b.press(t, ivan, summary, "Отправить сейчас")
	b.nextContaining(t, ivan, "подтверждена")
	var id int64
	require.NoError(t, b.st.Pool().QueryRow(b.ctx, `SELECT id FROM campaigns`).Scan(&id))
	eventually2(t, 30*time.Second, func() bool {
		return b.count(t, `SELECT count(*) FROM campaigns WHERE id = $1 AND reported_at IS NOT NULL`, id) == 1
	})

	latin := regexp.MustCompile(`[A-Za-z]{3,}`)
	data := map[string]bool{"Herald": true, "Telegram": true, "Welcome": true, "Coupon": true, "Clients": true, "Main": true,
		"acme_sender_bot": true, "acme": true, "sender": true, "bot": true, "Ivan": true}
	var report, caption string
	for _, e := range b.srv.Transcript(b.token, ivan.ID) {
		if !e.FromBot || strings.HasPrefix(e.Message.Text, "Hello, Olga") {
			continue
		}
		texts := []string{e.Message.Text, e.Message.Caption}
		if e.Message.ReplyMarkup != nil {
			for _, row := range e.Message.ReplyMarkup.InlineKeyboard {
				for _, btn := range row {
					texts = append(texts, btn.Text)
				}
			}
		}
		for _, s := range texts {
			for _, w := range latin.FindAllString(s, -1) {
				require.True(t, data[w], "English word %q in a ru admin's message %q", w, s)
			}
		}
		if strings.HasPrefix(e.Message.Text, "🏁") {
			report = e.Message.Text
		}
		if e.Message.Document != nil {
			caption = e.Message.Caption
		}
	}
	require.Contains(t, report, "Рассылка №\u00a0")
	require.Contains(t, report, "Отправлено: 1")
	require.NotEmpty(t, caption)

	header, rows := b.lastCSV(t, ivan, ';')
	require.Equal(t, []string{"chat_id", "first_name", "статус", "причина"}, header)
	require.Len(t, rows, 1)
	// Ivan (owner+1) is in the list but never started the sender bot.
	require.Equal(t, []string{strconv.FormatInt(b.owner.ID+1, 10), "Petr", "ошибка", "не запускал бота-отправителя"}, rows[0])
}

// lastCSV downloads the last document in u's chat and parses it as a CSV with sep
// after the UTF-8 BOM it must start with.
func (b *testBundle) lastCSV(t *testing.T, u *tgemu.User, sep rune) ([]string, [][]string) {
	t.Helper()
	var doc *telego.Document
	for _, e := range b.srv.Transcript(b.token, u.ID) {
		if e.Message.Document != nil {
			doc = e.Message.Document
		}
	}
	require.NotNil(t, doc, "no document in the chat")
	tg, err := telego.NewBot(b.token, telego.WithAPIServer(b.srv.URL()), telego.WithDiscardLogger())
	require.NoError(t, err)
	f, err := tg.GetFile(b.ctx, &telego.GetFileParams{FileID: doc.FileID})
	require.NoError(t, err)
	resp, err := http.Get(tg.FileDownloadURL(f.FilePath))
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	text, ok := strings.CutPrefix(string(raw), "\uFEFF")
	require.True(t, ok, "no UTF-8 BOM")
	r := csv.NewReader(strings.NewReader(text))
	r.Comma = sep
	all, err := r.ReadAll()
	require.NoError(t, err)
	require.NotEmpty(t, all)
	return all[0], all[1:]
}

func eventually2(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

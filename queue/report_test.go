package queue_test

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"herald/i18n"
	"herald/queue"
	"herald/store"
)

// A ru admin's campaign runs to completion: the report, its buttons, the CSV caption
// and the CSV header are Russian, and the CSV opens as columns in a ru-locale
// spreadsheet (BOM, ';'), with the batch's first_name and plain-word reasons.
func TestRussianAdminGetsRussianReport(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	_, err := b.pool.Exec(context.Background(), `UPDATE admins SET language = 'ru' WHERE user_id = $1`, b.admin)
	require.NoError(t, err)
	client := b.newClient(t, clientOpts{id: "p1", withMgmt: true, delivery: queue.DeliveryConfig{ProgressEvery: 200 * time.Millisecond}})
	channel, bot := b.channel(t, 100)
	users := b.users(t, bot, 20)
	users[0].Block(bot.Token)
	recipients := append(ids(users), 900_000_001) // nobody: "chat not found"
	id := b.startCampaign(t, client, b.template(t, "Hi {{first_name}}"), b.batch(t, recipients), channel)
	b.waitStatus(t, id, store.CampaignCompleted, 30*time.Second)
	report := b.waitReport(t, id)
	require.Contains(t, report, "Рассылка №\u00a0")

	catalog, err := i18n.New("en")
	require.NoError(t, err)
	en := catalog.For("en")
	latin := regexp.MustCompile(`[A-Za-z]{3,}`)
	allowed := map[string]bool{"Herald": true, "Telegram": true}
	var seen int
	for _, e := range b.emu.Transcript(b.mgmt.Token, b.admin) {
		texts := []string{e.Message.Text, e.Message.Caption}
		if e.Message.ReplyMarkup != nil {
			for _, row := range e.Message.ReplyMarkup.InlineKeyboard {
				for _, btn := range row {
					texts = append(texts, btn.Text)
				}
			}
		}
		for _, s := range texts {
			if s == "" {
				continue
			}
			seen++
			for _, w := range latin.FindAllString(s, -1) {
				require.True(t, allowed[w], "English word %q in %q", w, s)
			}
			for _, key := range []string{"delivery.report.csv", "delivery.button.resend", "delivery.button.cancel"} {
				require.NotEqual(t, en.T(key), s)
			}
		}
	}
	require.GreaterOrEqual(t, seen, 2) // the report and the CSV caption at least

	header, rows := b.reportFile(t, ';')
	require.Equal(t, []string{"chat_id", "first_name", "статус", "причина"}, header)
	require.Len(t, rows, 2)
	byChat := map[string][]string{}
	for _, r := range rows {
		require.Len(t, r, 4)
		byChat[r[0]] = r
	}
	blocked := byChat[itoa(users[0].ID)]
	require.Equal(t, "User "+itoa(users[0].ID), blocked[1])
	require.Equal(t, "заблокировал бота", blocked[2])
	require.Equal(t, "заблокировал бота-отправителя", blocked[3])
	require.Equal(t, "чат не найден", byChat["900000001"][3])
}

package queue_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"herald/queue"
	"herald/store"
)

// TestExportSubscribersProfileAndBot: the outcomes CSV of a campaign to subscribers
// through two bots has, per row, the profile the sending bot knows (as Telegram sent
// it) and that bot, with localized headers (ru: ';' and a BOM); a list campaign
// through one bot has neither column.
func TestExportSubscribersProfileAndBot(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	client := b.newClient(t, clientOpts{id: "p1"})
	chA, botA := b.channel(t, 100)
	chB, botB := b.channel(t, 100)
	viaA, viaB := b.users(t, botA, 5), b.users(t, botB, 5)
	b.subscribe(t, chA, viaA, "", "active", time.Now().Add(-time.Hour))
	b.subscribe(t, chB, viaB, "", "active", time.Now().Add(-time.Hour))
	_, err := b.pool.Exec(context.Background(), `
		UPDATE subscribers SET last_name = 'L' || chat_id, username = 'u' || chat_id, language_code = 'ru'`)
	require.NoError(t, err)
	id := b.startAudience(t, client, b.template(t, "Hi {{first_name}}"), store.Audience{Kind: store.AudienceSubscribers}, chA, chB)
	b.waitStatus(t, id, store.CampaignCompleted, 30*time.Second)

	exports, err := queue.NewExports(b.store, "en")
	require.NoError(t, err)
	read := func(id int64, lang string) [][]string {
		var buf bytes.Buffer
		require.NoError(t, exports.CampaignCSV(context.Background(), id, lang, &buf))
		text, ok := strings.CutPrefix(buf.String(), "\uFEFF")
		require.True(t, ok, "no BOM")
		r := csv.NewReader(strings.NewReader(text))
		r.Comma = queue.CSVSeparator(lang)
		rows, err := r.ReadAll()
		require.NoError(t, err)
		return rows
	}
	rows := read(id, "ru")
	require.Equal(t, []string{"chat_id", "имя", "фамилия", "имя пользователя", "язык", "бот-отправитель", "статус", "причина"}, rows[0])
	require.Len(t, rows, 11)
	bot := map[string]string{}
	for _, u := range viaA {
		bot[strconv.FormatInt(u.ID, 10)] = "@" + botA.Username
	}
	for _, u := range viaB {
		bot[strconv.FormatInt(u.ID, 10)] = "@" + botB.Username
	}
	for _, row := range rows[1:] {
		chat := row[0]
		require.Equal(t, []string{"User " + chat, "L" + chat, "u" + chat, "ru", bot[chat], "отправлено", ""}, row[1:], chat)
	}
	require.Equal(t, []string{"chat_id", "first name", "last name", "username", "language", "sender bot", "status", "reason"}, read(id, "en")[0])

	list := b.startCampaign(t, client, b.template(t, "Hi {{first_name}}"), b.batch(t, ids(viaA)), chA)
	b.waitStatus(t, list, store.CampaignCompleted, 30*time.Second)
	require.Equal(t, []string{"chat_id", "first_name", "status", "reason"}, read(list, "en")[0])
}

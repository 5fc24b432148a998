package bot_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Issue 18.10: a list whose id column has a name Herald does not know is answered with
// the columns that hold only ids as buttons; pressing one imports the file.
func TestUnknownIDColumnOffersColumns(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)
	owner := b.owner
	file := "Номер;Имя;Возраст\n123456789;Анна;30\n987654321;Пётр;41\n"
	b.command(t, owner, "/newbatch")
	b.next(t, owner) // the name question
	b.send(t, owner, "Clients")
	b.next(t, owner) // the file question
	_, err := owner.SendDocument(b.token, "clients.csv", "text/csv", []byte(file), "")
	require.NoError(t, err)
	m := b.waitButton(t, owner, ":id:0")
	require.Contains(t, m.Text, "Which column holds the chat ids?")
	require.NotContains(t, m.Text, "telegram_id", "no list of accepted names")
	var labels []string
	for _, row := range m.ReplyMarkup.InlineKeyboard {
		for _, btn := range row {
			labels = append(labels, btn.Text)
		}
	}
	require.Contains(t, labels, "🆔 Номер")
	require.NotContains(t, labels, "🆔 Возраст")
	b.press(t, owner, m, "Номер")
	require.Contains(t, b.nextContaining(t, owner, "Clients").Text, "2 recipients")
	require.Equal(t, 2, b.count(t, `SELECT count(*) FROM recipients`))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM recipients WHERE chat_id = 987654321 AND vars->>'возраст' = '41'`))
}

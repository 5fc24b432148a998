package bot_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"

	"herald/store"
	"herald/tgemu"
)

// draftAt is the start time the campaign wizard's draft holds (zero: "now").
func (b *testBundle) draftAt(t *testing.T, u *tgemu.User) time.Time {
	t.Helper()
	var at *time.Time
	require.NoError(t, b.st.Pool().QueryRow(b.ctx,
		`SELECT (draft->>'at')::timestamptz FROM dialog_sessions WHERE chat_id = $1`, u.ID).Scan(&at))
	require.NotNil(t, at, "the draft has no start time")
	return *at
}

func (b *testBundle) adminZone(t *testing.T, u *tgemu.User) string {
	t.Helper()
	tz, err := b.st.AdminTimeZone(b.ctx, u.ID)
	require.NoError(t, err)
	return tz
}

// TestCampaignWhenWords plays a Russian admin on 2 December (the clock moved there):
// relative words, city names and abbreviations for the zone, and a date that has
// passed this year, which is confirmed rather than silently moved to next year.
func TestCampaignWhenWords(t *testing.T) {
	t.Parallel()
	b := setup(t)
	box := b.withSecrets(t)
	b.start(t)
	b.campaignFixture(t, box)
	ru := b.user(t, "Ольга", "ru")
	b.addAdmin(t, ru, store.RoleAdmin)
	// 2 December a year ahead, 09:00 UTC (12:00 in Moscow): ahead of the database's
	// clock, so that sessions do not expire.
	year := time.Now().Year() + 1
	b.clock.advance(time.Until(time.Date(year, 12, 2, 9, 0, 0, 0, time.UTC)))
	msk := time.FixedZone("MSK", 3*3600)

	b.command(t, ru, "/newcampaign")
	b.press(t, ru, b.nextContaining(t, ru, "шаг 1"), "Welcome") // the list and the bot: the only ones
	b.press(t, ru, b.nextContaining(t, ru, "Шаг 2: проверьте"), "Запланировать")
	b.nextContaining(t, ru, "Когда начать?")
	back := func(summary telego.Message) telego.Message {
		b.press(t, ru, summary, "Назад")
		return b.nextContaining(t, ru, "Когда начать?")
	}

	// «через час» needs no time zone: straight to the summary.
	b.send(t, ru, "через час")
	summary := b.nextContaining(t, ru, "Шаг 2: проверьте")
	require.WithinDuration(t, b.clock.now().Add(time.Hour), b.draftAt(t, ru), time.Minute)
	require.Empty(t, b.adminZone(t, ru))

	// «завтра в 10» asks the zone once; «мск» is Moscow.
	back(summary)
	b.send(t, ru, "завтра в 10")
	require.Contains(t, b.next(t, ru).Text, "В каком вы часовом поясе")
	b.send(t, ru, "мск")
	summary = b.nextContaining(t, ru, "Шаг 2: проверьте")
	require.Equal(t, "Europe/Moscow", b.adminZone(t, ru))
	require.True(t, time.Date(year, 12, 3, 10, 0, 0, 0, msk).Equal(b.draftAt(t, ru)), "got %s", b.draftAt(t, ru))

	// The zone buttons and city names: Ереван by button, then «Москва» typed.
	step4 := back(summary)
	b.press(t, ru, step4, "Сменить часовой пояс")
	b.press(t, ru, b.nextContaining(t, ru, "В каком вы часовом поясе"), "Ереван")
	require.Equal(t, "Asia/Yerevan", b.adminZone(t, ru))
	step4 = b.nextContaining(t, ru, "Когда начать?")
	b.press(t, ru, step4, "Сменить часовой пояс")
	b.nextContaining(t, ru, "В каком вы часовом поясе")
	b.send(t, ru, "Москва")
	b.nextContaining(t, ru, "Когда начать?")
	require.Equal(t, "Europe/Moscow", b.adminZone(t, ru))

	// «01.12 18:30» has passed this year: the next year is named and confirmed.
	b.send(t, ru, "01.12 18:30")
	sure := b.next(t, ru)
	require.Contains(t, sure.Text, "Это 1 декабря "+strconv.Itoa(year+1)+", 18:30 МСК,")
	require.Contains(t, fmt.Sprint(sure.ReplyMarkup), "Да, 1 декабря "+strconv.Itoa(year+1))
	b.press(t, ru, sure, "Да")
	summary = b.nextContaining(t, ru, "Шаг 2: проверьте")
	require.Contains(t, summary.Text, "1 декабря "+strconv.Itoa(year+1)+", 18:30 МСК")
	require.True(t, time.Date(year+1, 12, 1, 18, 30, 0, 0, msk).Equal(b.draftAt(t, ru)), "got %s", b.draftAt(t, ru))

	// The quick button «Завтра 10:00» is read like the typed words.
	b.press(t, ru, back(summary), "Завтра 10:00")
	b.nextContaining(t, ru, "Шаг 2: проверьте")
	require.True(t, time.Date(year, 12, 3, 10, 0, 0, 0, msk).Equal(b.draftAt(t, ru)), "got %s", b.draftAt(t, ru))
}

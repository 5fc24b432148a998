package bot_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"herald/store"
)

// The admin's language follows Telegram's until they choose one in /settings; the
// choice is stored (queue reads it for progress and reports) and outlives updates.
func TestSettingsLanguage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)
	u := b.user(t, "Ivan", "ru")
	b.addAdmin(t, u, store.RoleAdmin)

	b.command(t, u, "/settings")
	screen := b.next(t, u)
	require.Contains(t, screen.Text, "Настройки")
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM admins WHERE user_id = $1 AND language = 'ru' AND NOT language_chosen`, u.ID))

	b.press(t, u, screen, "English")
	b.waitEdited(t, u, screen.MessageID, "Settings")
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM admins WHERE user_id = $1 AND language = 'en' AND language_chosen`, u.ID))

	// The next update still says ru: the choice stays.
	b.command(t, u, "/menu")
	require.Contains(t, b.next(t, u).Text, "What shall we do?")
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM admins WHERE user_id = $1 AND language = 'en'`, u.ID))
}

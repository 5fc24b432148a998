package i18n_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// catalogTexts is every rendered-to-be text of a catalog by key (plural forms as key#form).
func catalogTexts(t *testing.T, lang string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("locales", lang+".json"))
	require.NoError(t, err)
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(data, &raw))
	out := map[string]string{}
	for k, v := range raw {
		var s string
		if json.Unmarshal(v, &s) == nil {
			out[k] = s
			continue
		}
		var forms map[string]string
		require.NoError(t, json.Unmarshal(v, &forms), k)
		for f, s := range forms {
			out[k+"#"+f] = s
		}
	}
	return out
}

// TestRussianGlossary keeps one word per thing in the ru catalog (issue 18.8): no
// English slips, the sender bot is never a «канал», the uncertain status has one name.
func TestRussianGlossary(t *testing.T) {
	t.Parallel()
	deny := []*regexp.Regexp{
		regexp.MustCompile(`(?i)\bbatch`), regexp.MustCompile(`(?i)channel bot`), regexp.MustCompile(`Recipients:`),
		regexp.MustCompile(`\d/s\b`), regexp.MustCompile(`#\d`), // «№ 1», not «#1»
		regexp.MustCompile(`Каналы`), regexp.MustCompile(`(?i)бот[аоуе]?[мв]?и? канала`), regexp.MustCompile(`ботов-каналы`),
		regexp.MustCompile(`(?i)неясн`), regexp.MustCompile(`Неизвестно`), regexp.MustCompile(`неизвестным исходом`),
		regexp.MustCompile(`Получателей: <b>1`),
	}
	// Template actions read as a number, so «#{{.ID}}» is caught as «#1».
	action := regexp.MustCompile(`\{\{[^}]*\}\}`)
	command := regexp.MustCompile(`(^|[\s(])/[a-z_]+`) // /newbatch is a command's name

	for key, raw := range catalogTexts(t, "ru") {
		text := command.ReplaceAllString(action.ReplaceAllString(raw, "1"), "$1")
		for _, re := range deny {
			require.False(t, re.MatchString(text), "ru %s: %q matches %s", key, text, re)
		}
	}
}

// TestEnglishGlossary: the menu and the flows call the sender bot the same.
func TestEnglishGlossary(t *testing.T) {
	t.Parallel()
	for key, text := range catalogTexts(t, "en") {
		require.NotContains(t, text, "📡 Channels", key)
		require.False(t, strings.Contains(text, "Recipients: <b>{{.Recipients"), key)
	}
}

// TestCatalogTextsNotEmpty: no text renders as nothing in either language.
func TestCatalogTextsNotEmpty(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"en", "ru"} {
		for key, text := range catalogTexts(t, lang) {
			require.NotEmpty(t, strings.TrimSpace(text), "%s %s", lang, key)
		}
	}
}

// TestRussianHasNoEnglishWords: every Latin word in a ru text is a name, a file
// format, an example or a term of Telegram's own interface; anything else is an
// untranslated slip ("How shall we call this batch?").
func TestRussianHasNoEnglishWords(t *testing.T) {
	t.Parallel()
	allowed := map[string]bool{}
	for _, w := range strings.Fields(`Telegram Herald CSV XLSX xlsx xls first_name https http com shop example GIF chat_id
		user_id telegram_id city Excel LibreOffice UTF Europe Moscow anna_ivanova HERALD_OWNER_IDS HERALD_SECRET_KEY
		hex base AAE AAEhBP API Token paid broadcast UTC NUL English URL Congratulations Done BotFather bot JSON POST HMAC SHA sha`) {
		allowed[w] = true
	}
	strip := []*regexp.Regexp{
		// Code samples, event names (campaign.started) and header names are
		// identifiers, not words to translate.
		regexp.MustCompile(`<code>[^<]*</code>`), regexp.MustCompile(`\b[a-z_]+\.[a-z_]+\b`),
		regexp.MustCompile(`\bX-[A-Za-z-]+`), regexp.MustCompile(`"[a-z_]+"`), // and JSON keys
		regexp.MustCompile(`\{\{[^}]*\}\}`), regexp.MustCompile(`<[^>]+>`),
		regexp.MustCompile(`(^|[\s(])/[a-z_]+`), regexp.MustCompile(`@\w+`),
	}
	word := regexp.MustCompile(`[A-Za-z][A-Za-z_]{2,}`)
	for key, text := range catalogTexts(t, "ru") {
		for _, re := range strip {
			text = re.ReplaceAllString(text, " ")
		}
		for _, w := range word.FindAllString(text, -1) {
			require.True(t, allowed[w], "ru %s: English word %q", key, w)
		}
	}
}

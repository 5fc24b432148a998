package bot_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"

	"herald/bot"
	"herald/store"
)

func TestLanguages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)
	ru := b.user(t, "Ирина", "ru")
	b.addAdmin(t, ru, store.RoleAdmin)
	for i := range 5 {
		b.createTemplate(t, "T"+string(rune('a'+i)))
	}

	b.command(t, ru, "/menu")
	menu := b.next(t, ru)
	require.Equal(t, "👋 Herald к вашим услугам, Ирина.\nЧем займёмся?", menu.Text)
	require.Equal(t, "🚀 Новая рассылка", menu.ReplyMarkup.InlineKeyboard[0][0].Text) // the guided campaign first
	require.Equal(t, "📝 Шаблоны", menu.ReplyMarkup.InlineKeyboard[1][0].Text)
	b.press(t, ru, menu, "Шаблоны")
	b.waitEdited(t, ru, menu.MessageID, "5 шаблонов")
	b.command(t, ru, "/newtemplate")
	b.next(t, ru)
	b.send(t, ru, strings.Repeat("я", 70))
	require.Equal(t, "⚠️ В названии 70 символов, а можно не больше 64. Сократите, пожалуйста.", b.next(t, ru).Text)

	en := b.owner
	b.command(t, en, "/menu")
	menu = b.next(t, en)
	require.Equal(t, "👋 Herald, at your service, Olga.\nWhat shall we do?", menu.Text)
	require.Equal(t, "📝 Templates", menu.ReplyMarkup.InlineKeyboard[1][0].Text)
	b.press(t, en, menu, "Templates")
	b.waitEdited(t, en, menu.MessageID, "5 templates")
	b.command(t, en, "/newtemplate")
	b.next(t, en)
	b.send(t, en, strings.Repeat("y", 70))
	require.Equal(t, "⚠️ The name has 70 characters; the limit is 64. Please shorten it.", b.next(t, en).Text)

	// Commands are registered in both languages.
	require.Contains(t, b.srv.Commands(b.token), telegoCommand("newtemplate", "Build a new template"))
	tg, err := telego.NewBot(b.token, telego.WithAPIServer(b.srv.URL()), telego.WithDiscardLogger())
	require.NoError(t, err)
	ruCommands, err := tg.GetMyCommands(b.ctx, &telego.GetMyCommandsParams{LanguageCode: "ru"})
	require.NoError(t, err)
	require.Contains(t, ruCommands, telegoCommand("newtemplate", "Создать шаблон"))
}

func TestPaginationAndTemplateCard(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)
	for i := range 19 {
		b.createTemplate(t, "Template "+string(rune('A'+i)))
	}
	b.command(t, b.owner, "/templates")
	list := b.next(t, b.owner)
	require.Contains(t, list.Text, "19 templates")
	require.Contains(t, buttonData(t, list, "1 / 3"), "tl:0")
	b.press(t, b.owner, list, "▶️")
	page2 := b.waitEdited(t, b.owner, list.MessageID, "19 templates")
	eventually(t, func() bool {
		page2 = b.current(t, b.owner, list.MessageID)
		return strings.Contains(buttonData(t, page2, "2 / 3"), "tl:1")
	})
	b.press(t, b.owner, page2, "Template K")
	card := b.waitEdited(t, b.owner, list.MessageID, "Type: text")
	b.press(t, b.owner, card, "Duplicate")
	copyCard := b.waitEdited(t, b.owner, list.MessageID, "Template K (2)")
	// Preview sends the template rendered; Rename asks for the new name.
	b.press(t, b.owner, copyCard, "Preview")
	require.Equal(t, "Hi", b.next(t, b.owner).Text)
	require.Contains(t, b.next(t, b.owner).Text, "Preview of Template K (2)")
	b.press(t, b.owner, copyCard, "Rename")
	require.Contains(t, b.next(t, b.owner).Text, "New name for Template K (2)")
	b.send(t, b.owner, "Template A")
	require.Contains(t, b.next(t, b.owner).Text, "already exists")
	b.send(t, b.owner, "Kopie")
	require.Contains(t, b.next(t, b.owner).Text, "Renamed to Kopie")
	copyCard = b.current(t, b.owner, list.MessageID)
	b.press(t, b.owner, copyCard, "Delete")
	confirm := b.waitEdited(t, b.owner, list.MessageID, "cannot be undone")
	b.press(t, b.owner, confirm, "Yes, delete")
	b.waitEdited(t, b.owner, list.MessageID, "19 templates")
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM audit_log WHERE action = 'template.duplicated'`))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM audit_log WHERE action = 'template.deleted' AND details->>'name' = 'Kopie'`))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM audit_log WHERE action = 'template.renamed'`))
}

func TestWebhook(t *testing.T) {
	t.Parallel()
	b := setup(t)
	mux := http.NewServeMux()
	hook := httptest.NewServer(mux)
	t.Cleanup(hook.Close)
	b.cfg.WebhookURL = hook.URL + "/telegram/herald"
	rt, err := bot.New(b.cfg)
	require.NoError(t, err)
	require.Equal(t, "/telegram/herald", rt.WebhookPath())
	mux.Handle("POST "+rt.WebhookPath(), rt)

	// Before Start the handler accepts nothing (Telegram retries).
	req := func(secret string) int {
		r, err := http.NewRequest(http.MethodPost, hook.URL+"/telegram/herald", strings.NewReader(`{"update_id":1}`))
		require.NoError(t, err)
		if secret != "" {
			r.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
		}
		resp, err := http.DefaultClient.Do(r)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusServiceUnavailable, req(rt.WebhookSecret()))
	rt.Start(b.ctx)
	t.Cleanup(func() { rt.Stop(b.ctx) })
	eventually(t, func() bool { state, _ := rt.Status(); return state == bot.StateOK })

	b.command(t, b.owner, "/menu")
	require.Contains(t, b.next(t, b.owner).Text, "What shall we do?")
	require.False(t, b.srv.Polling(b.token))

	require.Equal(t, http.StatusUnauthorized, req(""))
	require.Equal(t, http.StatusUnauthorized, req("wrong-secret"))
	require.Equal(t, http.StatusUnauthorized, req(rt.WebhookSecret()+"x"))
	require.Equal(t, http.StatusOK, req(rt.WebhookSecret()))
}

func TestSinglePollerTakesOver(t *testing.T) {
	t.Parallel()
	b := setup(t)
	first, err := bot.New(b.cfg)
	require.NoError(t, err)
	first.Start(b.ctx)
	eventually(t, func() bool { s, _ := first.Status(); return s == bot.StateOK })
	second, err := bot.New(b.cfg)
	require.NoError(t, err)
	second.Start(b.ctx)
	t.Cleanup(func() { second.Stop(b.ctx) })
	eventually(t, func() bool { s, _ := second.Status(); return s == bot.StateStandby })

	b.command(t, b.owner, "/help")
	require.Contains(t, b.next(t, b.owner).Text, "What Herald does")
	first.Stop(b.ctx) // the poller goes away; the standby takes over
	eventually(t, func() bool { s, _ := second.Status(); return s == bot.StateOK })
	b.command(t, b.owner, "/help")
	require.Contains(t, b.next(t, b.owner).Text, "What Herald does")

	// Each update was answered exactly once.
	helps := 0
	for _, e := range b.srv.Transcript(b.token, b.owner.ID) {
		if e.FromBot && strings.Contains(e.Message.Text, "What Herald does") {
			helps++
		}
	}
	require.Equal(t, 2, helps)
}

func TestDialogExpiredNotice(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rt, err := bot.New(b.cfg)
	require.NoError(t, err)
	require.NoError(t, rt.DialogExpired(b.ctx, store.ExpiredDialog{ChatID: b.owner.ID, UserID: b.owner.ID, Flow: "tpl_new", Language: "ru"}))
	require.Equal(t, "⌛ Диалог «создание шаблона» закрыт: долго не было ответа, черновик удалён. Начните заново из /menu.", b.next(t, b.owner).Text)
}

func TestWebhookUsesConfiguredSecret(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.cfg.WebhookURL = "http://127.0.0.1:1/telegram/herald"
	derived, err := bot.New(b.cfg)
	require.NoError(t, err)
	b.cfg.WebhookSecret = "operator-chosen_secret-0123456789"
	configured, err := bot.New(b.cfg)
	require.NoError(t, err)
	require.Equal(t, "operator-chosen_secret-0123456789", configured.WebhookSecret())
	require.NotEqual(t, derived.WebhookSecret(), configured.WebhookSecret())
}

package bot_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"

	"herald/store"
)

// plant sends, as the management bot, a message with buttons carrying arbitrary
// callback data, so that a user can press forged data.
func (b *testBundle) plant(t *testing.T, chatID int64, data ...string) telego.Message {
	t.Helper()
	tg, err := telego.NewBot(b.token, telego.WithAPIServer(b.srv.URL()), telego.WithDiscardLogger())
	require.NoError(t, err)
	var rows [][]telego.InlineKeyboardButton
	for i, d := range data {
		rows = append(rows, []telego.InlineKeyboardButton{{Text: fmt.Sprintf("b%d", i), CallbackData: d}})
	}
	m, err := tg.SendMessage(b.ctx, &telego.SendMessageParams{ChatID: telego.ChatID{ID: chatID}, Text: "planted",
		ReplyMarkup: &telego.InlineKeyboardMarkup{InlineKeyboard: rows}})
	require.NoError(t, err)
	return *m
}

func (b *testBundle) createTemplate(t *testing.T, name string) int64 {
	t.Helper()
	id, err := b.st.TemplateCreate(b.ctx, store.Template{Name: name, Body: "Hi", CreatedBy: b.owner.ID})
	require.NoError(t, err)
	return id
}

func TestNonAdminIsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)
	tplID := b.createTemplate(t, "Keep me")
	stranger := b.user(t, "Mallory", "en")

	for _, cmd := range []string{"/start", "/menu", "/templates", "/newtemplate", "/admins", "/audit", "/help", "/cancel", "/nonsense"} {
		b.command(t, stranger, cmd)
	}
	b.send(t, stranger, "let me in")
	_, err := stranger.SendContact(b.token, telego.Contact{PhoneNumber: "+100", FirstName: "Me", UserID: stranger.ID})
	require.NoError(t, err)
	id := fmt.Sprint(tplID)
	owner := fmt.Sprint(b.owner.ID)
	forged := []string{"ty:" + id, "tx:" + id, "tv:" + id, "tn:", "ay:" + owner, "aa:", "menu:", "f:zz:save", "f:1:cancel", "garbage", strings.Repeat("x", 64)}
	planted := b.plant(t, stranger.ID, forged...)
	for _, data := range forged {
		answer := b.pressData(t, stranger, planted.MessageID, data)
		require.Contains(t, answer.Text, "for Herald admins only", data)
	}
	// Every update above is handled (the last press was answered, updates are in order).
	var botTexts []string
	for _, e := range b.srv.Transcript(b.token, stranger.ID) {
		if e.FromBot {
			botTexts = append(botTexts, e.Message.Text)
		}
	}
	require.ElementsMatch(t, []string{"Sorry, this bot is for Herald admins only.", "planted"}, botTexts, "one refusal, not one per message")
	require.Empty(t, b.srv.UnansweredCallbacks(b.token))

	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM templates WHERE id = $1`, tplID))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM admins`))
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM dialog_sessions`))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM audit_log`))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM audit_log WHERE action = 'access.refused' AND actor_id = $1`, stranger.ID))
}

func TestViewerChangesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	stop := b.start(t)
	tplID := b.createTemplate(t, "Visible")
	viewer := b.user(t, "Vera", "en")
	b.addAdmin(t, viewer, store.RoleViewer)

	b.command(t, viewer, "/templates")
	list := b.next(t, viewer)
	require.Contains(t, list.Text, "1 template")
	require.NotContains(t, fmt.Sprint(list.ReplyMarkup), "New template")
	b.press(t, viewer, list, "Visible")
	card := b.waitEdited(t, viewer, list.MessageID, "Type: text")
	require.NotContains(t, fmt.Sprint(card.ReplyMarkup), "Delete")

	b.command(t, viewer, "/newtemplate")
	require.Contains(t, b.next(t, viewer).Text, "does not allow changes")
	b.command(t, viewer, "/audit") // changes nothing: the refusal says who it is for
	audit := b.next(t, viewer).Text
	require.Contains(t, audit, "for owners only")
	require.NotContains(t, audit, "does not allow changes")

	id := fmt.Sprint(tplID)
	planted := b.plant(t, viewer.ID, "ty:"+id, "tr:"+id, "td:"+id, "tn:", "aa:", "ay:"+fmt.Sprint(b.owner.ID))
	for _, data := range []string{"ty:" + id, "tr:" + id, "td:" + id, "tn:", "aa:", "ay:" + fmt.Sprint(b.owner.ID)} {
		answer := b.pressData(t, viewer, planted.MessageID, data)
		require.True(t, answer.ShowAlert, data)
		want := "does not allow changes"
		if strings.HasPrefix(data, "a") { // adding and removing admins is for owners
			want = "for owners only"
		}
		require.Contains(t, answer.Text, want, data)
	}
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM templates`))
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM dialog_sessions`))
	require.Equal(t, 2, b.count(t, `SELECT count(*) FROM admins`))
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM audit_log WHERE action <> 'access.refused'`))
	// Refusals are aggregated: one row per user and window, counting the attempts
	// (the count is written at the latest when the bot stops).
	stop()
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM audit_log WHERE action = 'access.refused' AND actor_id = $1`, viewer.ID))
	require.Equal(t, 8, b.count(t, `SELECT (details->>'count')::int FROM audit_log WHERE action = 'access.refused' AND actor_id = $1`, viewer.ID))
}

func TestOwnerManagesAdmins(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)
	owner := b.owner
	newcomer := b.user(t, "Nina", "ru")
	other := b.user(t, "Oleg", "en")

	b.command(t, owner, "/admins")
	list := b.next(t, owner)
	require.Contains(t, list.Text, "1 person")
	b.press(t, owner, list, "Add an admin")
	who := b.next(t, owner)
	require.Contains(t, who.Text, "forward me a message")
	b.send(t, owner, "not a number")
	require.Contains(t, b.next(t, owner).Text, "not a Telegram user ID")
	_, err := owner.ForwardFrom(b.token, newcomer, "hi from Nina")
	require.NoError(t, err)
	role := b.next(t, owner)
	require.Contains(t, role.Text, "Nina")
	b.press(t, owner, role, "admin")
	require.Contains(t, b.next(t, owner).Text, "is now admin")

	// By contact, as a viewer.
	b.command(t, owner, "/admins")
	b.press(t, owner, b.next(t, owner), "Add an admin")
	b.next(t, owner)
	_, err = owner.SendContact(b.token, telego.Contact{PhoneNumber: "+7000", FirstName: "Oleg", UserID: other.ID})
	require.NoError(t, err)
	b.press(t, owner, b.next(t, owner), "viewer")
	require.Contains(t, b.next(t, owner).Text, "is now viewer")

	// Nina can use the bot now, in Russian.
	b.command(t, newcomer, "/menu")
	require.Contains(t, b.next(t, newcomer).Text, "Чем займёмся?")

	// Remove Oleg.
	b.command(t, owner, "/admins")
	list = b.next(t, owner)
	require.Contains(t, list.Text, "3 people")
	b.press(t, owner, list, "Remove Oleg")
	confirm := b.waitEdited(t, owner, list.MessageID, "lose access")
	answer := b.press(t, owner, confirm, "Yes, remove")
	require.Contains(t, answer.Text, "Removed Oleg")
	_, err = b.st.AdminGet(b.ctx, other.ID)
	require.ErrorIs(t, err, store.ErrNotFound)

	b.command(t, owner, "/audit")
	audit := b.next(t, owner)
	for _, action := range []string{"admin.added", "admin.removed"} {
		require.Contains(t, audit.Text, action)
	}
	require.Equal(t, 2, b.count(t, `SELECT count(*) FROM audit_log WHERE action = 'admin.added'`))
}

func TestTemplateInUseIsNotDeleted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)
	tplID := b.createTemplate(t, "Running")
	var batchID, channelID int64
	pool := b.st.Pool()
	require.NoError(t, pool.QueryRow(b.ctx, `INSERT INTO batches (name, status, created_by) VALUES ('b', 'ready', 1) RETURNING id`).Scan(&batchID))
	require.NoError(t, pool.QueryRow(b.ctx, `INSERT INTO channels (bot_user_id, username, name, token_ciphertext, created_by)
		VALUES (9, 'c', 'c', '\x00', 1) RETURNING id`).Scan(&channelID))
	_, err := pool.Exec(b.ctx, `INSERT INTO campaigns (template_id, batch_id, channel_id, status, control_chat_id, created_by)
		VALUES ($1, $2, $3, 'running', 1, 1)`, tplID, batchID, channelID)
	require.NoError(t, err)

	b.command(t, b.owner, "/templates")
	list := b.next(t, b.owner)
	b.press(t, b.owner, list, "Running")
	card := b.waitEdited(t, b.owner, list.MessageID, "Type: text")
	b.press(t, b.owner, card, "Delete")
	confirm := b.waitEdited(t, b.owner, list.MessageID, "cannot be undone")
	answer := b.press(t, b.owner, confirm, "Yes, delete")
	require.True(t, answer.ShowAlert)
	require.Contains(t, answer.Text, "Running is used by a campaign")
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM templates WHERE id = $1`, tplID))
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM audit_log WHERE action = 'template.deleted'`))
}

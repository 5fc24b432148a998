package bot_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"

	"herald/importer"
	"herald/store"
)

// idx is the UTF-16 offset of sub in s.
func idx(s, sub string) int { return u16(s[:strings.Index(s, sub)]) }

func TestTemplateBuilderFormattedText(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)
	owner := b.owner

	b.command(t, owner, "/newtemplate")
	require.Contains(t, b.next(t, owner).Text, "step 1 of 4")
	b.send(t, owner, "Sale RU")
	require.Contains(t, b.next(t, owner).Text, "Step 2 of 4")

	text := "Привет, {{first_name|друг}}! 🎉 Скидка 20% для {{city}} — жми по ссылке"
	entities := []telego.MessageEntity{
		{Type: "bold", Offset: 0, Length: u16("Привет, {{first_name|друг}}!")},
		{Type: "italic", Offset: idx(text, "🎉"), Length: u16("🎉 Скидка 20%")},
		{Type: "text_link", Offset: idx(text, "по ссылке"), Length: u16("по ссылке"), URL: "https://example.com/sale"},
	}
	b.send(t, owner, text, entities...)
	require.Contains(t, b.next(t, owner).Text, "Step 3 of 4")
	b.send(t, owner, "Сайт - https://example.com\nКанал - https://t.me/example")

	preview := b.next(t, owner)
	require.Equal(t, "Привет, Anna! 🎉 Скидка 20% для London — жми по ссылке", preview.Text)
	require.Len(t, preview.Entities, 3)
	got := map[string]string{}
	for _, e := range preview.Entities {
		got[e.Type] = entityText(preview.Text, e)
		if e.Type == "text_link" {
			require.Equal(t, "https://example.com/sale", e.URL)
		}
	}
	require.Equal(t, map[string]string{"bold": "Привет, Anna!", "italic": "🎉 Скидка 20%", "text_link": "по ссылке"}, got)
	require.Equal(t, [][]telego.InlineKeyboardButton{
		{{Text: "Сайт", URL: "https://example.com"}}, {{Text: "Канал", URL: "https://t.me/example"}},
	}, preview.ReplyMarkup.InlineKeyboard)

	question := b.next(t, owner)
	require.Contains(t, question.Text, "Step 4 of 4")
	require.Contains(t, question.Text, "{{first_name}} → Anna")
	b.press(t, owner, question, "Save")
	require.Contains(t, b.next(t, owner).Text, "Template Sale RU is saved")

	var body string
	var storedEntities, buttons []byte
	require.NoError(t, b.st.Pool().QueryRow(b.ctx, `SELECT body, entities, buttons FROM templates WHERE name = 'Sale RU'`).
		Scan(&body, &storedEntities, &buttons))
	require.Equal(t, text, body)
	var se []telego.MessageEntity
	require.NoError(t, json.Unmarshal(storedEntities, &se))
	require.Equal(t, entities, se)
	require.JSONEq(t, `[[{"text":"Сайт","url":"https://example.com"}],[{"text":"Канал","url":"https://t.me/example"}]]`, string(buttons))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM audit_log WHERE action = 'template.created' AND actor_id = $1`, owner.ID))
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM dialog_sessions`))
	require.Empty(t, b.srv.UnansweredCallbacks(b.token))
}

func TestTemplatePhotoAndLimits(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)
	owner := b.owner

	b.command(t, owner, "/newtemplate")
	b.next(t, owner)
	b.send(t, owner, "Photo promo")
	b.next(t, owner)
	_, err := owner.SendPhoto(b.token, []byte("\x89PNG fake"), "Hi {{first_name}}, look!")
	require.NoError(t, err)
	buttons := b.next(t, owner)
	require.Contains(t, buttons.Text, "Step 3 of 4")
	b.press(t, owner, buttons, "Without buttons")
	preview := b.next(t, owner)
	require.NotEmpty(t, preview.Photo)
	require.Equal(t, "Hi Anna, look!", preview.Caption)
	b.press(t, owner, b.next(t, owner), "Save")
	require.Contains(t, b.next(t, owner).Text, "is saved")
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM templates WHERE media_kind = 'photo' AND media_file_id <> '' AND body = 'Hi {{first_name}}, look!'`))

	// A caption is limited to 1024, counted with the longest value of each variable.
	b.command(t, owner, "/newtemplate")
	b.next(t, owner)
	b.send(t, owner, "Long caption")
	b.next(t, owner)
	_, err = owner.SendPhoto(b.token, []byte("\x89PNG fake"), strings.Repeat("п", 1000)+"{{first_name}}")
	require.NoError(t, err)
	refusal := b.next(t, owner)
	require.Contains(t, refusal.Text, "The caption is 1064 characters long")
	require.Contains(t, refusal.Text, "shorten it by 40")
	b.command(t, owner, "/cancel")
	b.nextContaining(t, owner, "Cancelled")

	// A 5000-character text is refused with its length; the dialog stays at step 2.
	b.command(t, owner, "/newtemplate")
	b.next(t, owner)
	b.send(t, owner, "Long one")
	b.next(t, owner)
	b.send(t, owner, strings.Repeat("ж", 5000))
	refusal = b.next(t, owner)
	require.Contains(t, refusal.Text, "The text is 5000 characters long")
	require.Contains(t, refusal.Text, "4096")
	require.Contains(t, refusal.Text, "shorten it by 904")
	require.Contains(t, buttonData(t, refusal, "Back"), "f:") // the step's buttons, fresh

	// With a variable, the longest value counts: 4000 + 64 - len("{{first_name}}") fits, 4050 does not.
	b.send(t, owner, strings.Repeat("a", 4050)+"{{first_name}}")
	require.Contains(t, b.next(t, owner).Text, "The text is 4114 characters long")
	b.send(t, owner, "Hello {{first_name|friend}}")
	require.Contains(t, b.next(t, owner).Text, "Step 3 of 4")

	// A bad button line is refused with its number.
	b.send(t, owner, "Shop - https://example.com\nSupport at https://t.me/x")
	bad := b.next(t, owner)
	require.Contains(t, bad.Text, "Line 2")
	require.Contains(t, bad.Text, "Support at https://t.me/x")
	require.Contains(t, fmt.Sprint(bad.ReplyMarkup), "Without buttons")
	b.send(t, owner, "Shop - ftp://example.com")
	require.Contains(t, b.next(t, owner).Text, "Line 1")
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM templates`))
}

// TestTemplateBuilderUnknownVariable: a variable no list has is flagged in the
// preview with the closest known name, and the fix button rewrites the template,
// keeping its default and its formatting in place.
func TestTemplateBuilderUnknownVariable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)
	owner := b.owner
	rd, err := importer.OpenCSV(strings.NewReader("chat_id,first_name,promo_code\n1001,Olga,X1\n"))
	require.NoError(t, err)
	_, err = b.st.BatchImport(b.ctx, store.BatchImportParams{Name: "Clients", CreatedBy: owner.ID, Source: rd})
	require.NoError(t, err)

	b.command(t, owner, "/newtemplate")
	b.next(t, owner)
	b.send(t, owner, "Promo")
	b.next(t, owner)
	text := "Hi {{first_nmae}}! Your code: {{ promo_cod | none }}. See you in {{city}}, bye"
	entities := []telego.MessageEntity{
		{Type: "bold", Offset: 0, Length: u16("Hi {{first_nmae}}!")},
		{Type: "italic", Offset: idx(text, "Your code"), Length: u16("Your code: {{ promo_cod | none }}")},
		{Type: "underline", Offset: idx(text, "bye"), Length: u16("bye")},
	}
	b.send(t, owner, text, entities...)
	b.press(t, owner, b.nextContaining(t, owner, "Step 3 of 4"), "Without buttons")

	b.next(t, owner) // the preview
	question := b.next(t, owner)
	require.Contains(t, question.Text, "No list has the variable {{first_nmae}}. Did you mean {{first_name}}?")
	require.Contains(t, question.Text, "No list has the variable {{promo_cod}}. Did you mean {{promo_code}}?")
	require.Contains(t, question.Text, "No list has the variable {{city}} yet")
	for _, row := range question.ReplyMarkup.InlineKeyboard { // no fix without a suggestion
		for _, btn := range row {
			require.NotContains(t, btn.Text, "{{city}}")
		}
	}
	b.press(t, owner, question, "{{first_nmae}} → {{first_name}}")
	preview := b.next(t, owner)
	require.Contains(t, preview.Text, "Hi Anna!")
	question = b.next(t, owner)
	require.NotContains(t, question.Text, "first_nmae")
	b.press(t, owner, question, "{{promo_cod}} → {{promo_code}}")
	b.next(t, owner)
	question = b.next(t, owner)
	require.NotContains(t, question.Text, "{{promo_cod}}")
	b.press(t, owner, question, "Save")
	require.Contains(t, b.next(t, owner).Text, "Template Promo is saved")

	var body string
	var stored []byte
	require.NoError(t, b.st.Pool().QueryRow(b.ctx, `SELECT body, entities FROM templates WHERE name = 'Promo'`).Scan(&body, &stored))
	fixed := "Hi {{first_name}}! Your code: {{ promo_code | none }}. See you in {{city}}, bye"
	require.Equal(t, fixed, body)
	var se []telego.MessageEntity
	require.NoError(t, json.Unmarshal(stored, &se))
	got := map[string]string{}
	for _, e := range se {
		got[e.Type] = entityText(body, e)
	}
	require.Equal(t, map[string]string{"bold": "Hi {{first_name}}!", "italic": "Your code: {{ promo_code | none }}", "underline": "bye"}, got)
}

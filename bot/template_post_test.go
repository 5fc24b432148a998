package bot_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"

	"herald/tgemu"
)

// TestTemplateFromForwardedPost: a formatted channel post with a photo and a URL button,
// forwarded with no dialog open, becomes a template that renders identically: the
// preview carries the same caption, entities, a photo and the URL button; the callback
// button is dropped with a note; the saved row holds the same body, entities and buttons.
func TestTemplateFromForwardedPost(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)
	owner := b.owner

	caption := "Big sale 🎉\nOnly today: -20% on everything"
	entities := []telego.MessageEntity{
		{Type: "bold", Offset: 0, Length: u16("Big sale 🎉")},
		{Type: "italic", Offset: idx(caption, "Only"), Length: u16("Only today")},
		{Type: "text_link", Offset: idx(caption, "everything"), Length: u16("everything"), URL: "https://shop.example.com/all"},
	}
	buttons := [][]telego.InlineKeyboardButton{{{Text: "Shop", URL: "https://shop.example.com"}}, {{Text: "👍", CallbackData: "like"}}}
	_, err := owner.ForwardPost(b.token, tgemu.Post{ChatID: -100123, ChatTitle: "Shop news", Username: "shopnews", MessageID: 42,
		Text: caption, Entities: entities, Photo: []byte("\x89PNG fake"), Markup: &telego.InlineKeyboardMarkup{InlineKeyboard: buttons}})
	require.NoError(t, err)

	note := b.next(t, owner)
	require.Contains(t, note.Text, "Taken from Shop news: photo with caption, formatting kept, URL buttons: 1.")
	require.Contains(t, note.Text, "1 button was not a link")
	ask := b.next(t, owner)
	require.Contains(t, ask.Text, "New template from the forwarded post")
	require.Contains(t, ask.Text, "Big sale 🎉") // the name offered: the first line
	b.press(t, owner, ask, "Keep it")

	preview := b.next(t, owner)
	require.NotEmpty(t, preview.Photo)
	require.Equal(t, caption, preview.Caption)
	require.Equal(t, entities, preview.CaptionEntities)
	require.Equal(t, buttons[:1], preview.ReplyMarkup.InlineKeyboard)
	question := b.next(t, owner)
	require.Contains(t, question.Text, "Big sale 🎉")
	b.press(t, owner, question, "Save")
	require.Contains(t, b.next(t, owner).Text, "is saved")

	var body, kind string
	var storedEntities, storedButtons []byte
	require.NoError(t, b.st.Pool().QueryRow(b.ctx, `SELECT body, entities, buttons, media_kind FROM templates WHERE name = 'Big sale 🎉'`).
		Scan(&body, &storedEntities, &storedButtons, &kind))
	require.Equal(t, caption, body)
	require.Equal(t, "photo", kind)
	var se []telego.MessageEntity
	require.NoError(t, json.Unmarshal(storedEntities, &se))
	require.Equal(t, entities, se)
	require.JSONEq(t, `[[{"text":"Shop","url":"https://shop.example.com"}]]`, string(storedButtons))
	require.Empty(t, b.srv.UnansweredCallbacks(b.token))
}

// TestTemplateFromForwardedAlbumAtContentStep: an album forwarded at the builder's
// content step gives its first photo and the caption; the admin is told, the other
// items are ignored (no reply, no change) and the dialog goes straight to the preview.
func TestTemplateFromForwardedAlbumAtContentStep(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)
	owner := b.owner

	b.command(t, owner, "/newtemplate")
	b.next(t, owner)
	b.send(t, owner, "Album promo")
	require.Contains(t, b.next(t, owner).Text, "Step 2 of 4")
	_, err := owner.ForwardAlbum(b.token, tgemu.Post{ChatID: -100555, ChatTitle: "Gallery", MessageID: 9, Text: "Three views"},
		[]byte("\x89PNG a"), []byte("\x89PNG b"), []byte("\x89PNG c"))
	require.NoError(t, err)
	note := b.next(t, owner)
	require.Contains(t, note.Text, "Taken from Gallery")
	require.Contains(t, note.Text, "The post is an album")
	preview := b.next(t, owner)
	require.NotEmpty(t, preview.Photo)
	require.Equal(t, "Three views", preview.Caption)
	question := b.next(t, owner)
	require.Contains(t, question.Text, "Album promo") // the typed name stays
	b.waitIdle(t)
	_, err = owner.WaitBotMessage(b.token, 300*time.Millisecond)
	require.Error(t, err, "the album's other items got an answer")
	b.press(t, owner, question, "Save")
	require.Contains(t, b.next(t, owner).Text, "is saved")
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM templates WHERE name = 'Album promo' AND media_kind = 'photo' AND body = 'Three views'`))
}

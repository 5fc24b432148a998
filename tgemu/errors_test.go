package tgemu_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/mymmrac/telego"
	tu "github.com/mymmrac/telego/telegoutil"
	"github.com/stretchr/testify/require"

	"herald/tgemu"
)

func TestUnauthorizedAndNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tgemu.Config{})
	stranger := client(t, e.srv, "123456:"+strings.Repeat("a", 35))
	_, err := stranger.GetMe(e.ctx)
	requireAPIError(t, err, 401, "Unauthorized")

	// telego cannot call an unknown method, so go raw: also checks the body.
	resp, err := http.Post(e.srv.URL()+"/bot"+e.bot.Token+"/sendTelepathy", "application/json", strings.NewReader("{}"))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 404, resp.StatusCode)
	body, _ := io.ReadAll(resp.Body)
	require.JSONEq(t, `{"ok":false,"error_code":404,"description":"Not Found"}`, string(body))

	// Method names are case-insensitive and form bodies work too.
	resp, err = http.Post(e.srv.URL()+"/bot"+e.bot.Token+"/GETME", "application/x-www-form-urlencoded", strings.NewReader(""))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
}

func TestChatErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tgemu.Config{PerChatDisabled: true})
	_, err := send(e, 999, "hi")
	requireAPIError(t, err, 400, "Bad Request: chat not found")
	_, err = send(e, -999, "hi")
	requireAPIError(t, err, 400, "Bad Request: chat not found")

	never := e.srv.CreateUser(tgemu.UserSpec{FirstName: "Never"})
	_, err = send(e, never.ID, "hi")
	requireAPIError(t, err, 403, "Forbidden: bot can't initiate conversation with a user")

	u := e.startedUser(t)
	_, err = send(e, u.ID, "hi")
	require.NoError(t, err)
	u.Block(e.bot.Token)
	_, err = send(e, u.ID, "hi")
	requireAPIError(t, err, 403, "Forbidden: bot was blocked by the user")
	u.Unblock(e.bot.Token)
	_, err = send(e, u.ID, "hi again")
	require.NoError(t, err)

	u.Deactivate()
	_, err = send(e, u.ID, "hi")
	requireAPIError(t, err, 403, "Forbidden: user is deactivated")
	gone := e.srv.CreateUser(tgemu.UserSpec{FirstName: "Gone", Deactivated: true})
	_, err = send(e, gone.ID, "hi")
	requireAPIError(t, err, 403, "Forbidden: user is deactivated")

	g := e.srv.CreateGroup("Not mine")
	_, err = send(e, g.ID, "hi")
	requireAPIError(t, err, 403, "Forbidden: bot is not a member of the group chat")

	// block and unblock produced my_chat_member updates: member->kicked->member
	var statuses []string
	for _, up := range poll(t, e, 0, 0) {
		if up.MyChatMember != nil && up.MyChatMember.Chat.ID == u.ID {
			statuses = append(statuses, up.MyChatMember.OldChatMember.MemberStatus()+">"+up.MyChatMember.NewChatMember.MemberStatus())
		}
	}
	require.Equal(t, []string{"left>member", "member>kicked", "kicked>member"}, statuses)
}

func TestTextErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tgemu.Config{PerChatDisabled: true})
	u := e.startedUser(t)
	chat := telego.ChatID{ID: u.ID}

	_, err := send(e, u.ID, "")
	requireAPIError(t, err, 400, "Bad Request: message text is empty")
	_, err = send(e, u.ID, strings.Repeat("я", 4097))
	requireAPIError(t, err, 400, "Bad Request: message is too long")
	_, err = send(e, u.ID, strings.Repeat("я", 4096))
	require.NoError(t, err)
	// An emoji outside the BMP is two UTF-16 units: 2048 of them fill 4096.
	_, err = send(e, u.ID, strings.Repeat("😀", 2049))
	requireAPIError(t, err, 400, "Bad Request: message is too long")
	// Markup does not count: the limit applies to the parsed text.
	_, err = e.tg.SendMessage(e.ctx, &telego.SendMessageParams{ChatID: chat, ParseMode: telego.ModeHTML, Text: "<b>" + strings.Repeat("x", 4096) + "</b>"})
	require.NoError(t, err)

	_, err = e.tg.SendMessage(e.ctx, &telego.SendMessageParams{ChatID: chat, ParseMode: telego.ModeHTML, Text: "<b>bold"})
	requireAPIError(t, err, 400, `Bad Request: can't parse entities: Can't find end tag corresponding to start tag "b"`)
	_, err = e.tg.SendMessage(e.ctx, &telego.SendMessageParams{ChatID: chat, ParseMode: telego.ModeHTML, Text: "a <blink>b</blink>"})
	requireAPIError(t, err, 400, `Bad Request: can't parse entities: Unsupported start tag "blink" at byte offset 2`)
	_, err = e.tg.SendMessage(e.ctx, &telego.SendMessageParams{ChatID: chat, ParseMode: telego.ModeMarkdownV2, Text: "*bold"})
	requireAPIError(t, err, 400, "Bad Request: can't parse entities: Can't find end of Bold entity at byte offset 0")
	_, err = e.tg.SendMessage(e.ctx, &telego.SendMessageParams{ChatID: chat, ParseMode: telego.ModeMarkdownV2, Text: "Price 1.5"})
	requireAPIError(t, err, 400, `Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\'`)
	_, err = e.tg.SendMessage(e.ctx, &telego.SendMessageParams{ChatID: chat, Text: "short", Entities: []telego.MessageEntity{{Type: "bold", Offset: 3, Length: 5}}})
	requireAPIError(t, err, 400, "Bad Request: can't parse entities: entity beyond the end of text")
	_, err = e.tg.SendMessage(e.ctx, &telego.SendMessageParams{ChatID: chat, ParseMode: telego.ModeHTML, Text: "<b></b>"})
	requireAPIError(t, err, 400, "Bad Request: message text is empty")

	long := strings.Repeat("a", 65)
	_, err = e.tg.SendMessage(e.ctx, &telego.SendMessageParams{ChatID: chat, Text: "pick",
		ReplyMarkup: tu.InlineKeyboard(tu.InlineKeyboardRow(tu.InlineKeyboardButton("x").WithCallbackData(long)))})
	requireAPIError(t, err, 400, "Bad Request: BUTTON_DATA_INVALID")

	_, err = e.tg.SendPhoto(e.ctx, &telego.SendPhotoParams{ChatID: chat, Photo: tu.FileFromBytes([]byte("img"), "a.png"), Caption: strings.Repeat("c", 1025)})
	requireAPIError(t, err, 400, "Bad Request: message caption is too long")
}

func TestEditDeleteCallbackErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tgemu.Config{PerChatDisabled: true})
	u := e.startedUser(t)
	chat := telego.ChatID{ID: u.ID}
	m, err := send(e, u.ID, "same")
	require.NoError(t, err)

	_, err = e.tg.EditMessageText(e.ctx, &telego.EditMessageTextParams{ChatID: chat, MessageID: m.MessageID, Text: "same"})
	requireAPIError(t, err, 400, "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
	_, err = e.tg.EditMessageText(e.ctx, &telego.EditMessageTextParams{ChatID: chat, MessageID: 4242, Text: "new"})
	requireAPIError(t, err, 400, "Bad Request: message to edit not found")
	err = e.tg.DeleteMessage(e.ctx, &telego.DeleteMessageParams{ChatID: chat, MessageID: 4242})
	requireAPIError(t, err, 400, "Bad Request: message to delete not found")
	err = e.tg.AnswerCallbackQuery(e.ctx, &telego.AnswerCallbackQueryParams{CallbackQueryID: "nope"})
	requireAPIError(t, err, 400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
}

func TestFileErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tgemu.Config{PerChatDisabled: true})
	u := e.startedUser(t)
	chat := telego.ChatID{ID: u.ID}
	m, err := e.tg.SendDocument(e.ctx, &telego.SendDocumentParams{ChatID: chat, Document: tu.FileFromBytes([]byte("report"), "r.txt")})
	require.NoError(t, err)

	// file_ids are per bot.
	other := e.srv.CreateBot("other_bot")
	_, err = u.Start(other.Token)
	require.NoError(t, err)
	otg := client(t, e.srv, other.Token)
	_, err = otg.SendDocument(e.ctx, &telego.SendDocumentParams{ChatID: chat, Document: tu.FileFromID(m.Document.FileID)})
	requireAPIError(t, err, 400, "Bad Request: wrong file identifier/HTTP URL specified")
	_, err = otg.GetFile(e.ctx, &telego.GetFileParams{FileID: m.Document.FileID})
	requireAPIError(t, err, 400, "Bad Request: wrong file identifier/HTTP URL specified")

	// getFile refuses files over 20 MB.
	big, err := u.SendDocument(e.bot.Token, "big.bin", "application/octet-stream", make([]byte, 20<<20+1), "")
	require.NoError(t, err)
	_, err = e.tg.GetFile(e.ctx, &telego.GetFileParams{FileID: big.Document.FileID})
	requireAPIError(t, err, 400, "Bad Request: file is too big")
}

// The error body is exactly Telegram's, including parameters.
func TestTooManyRequestsBody(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tgemu.Config{DefaultRate: 1, PerChatDisabled: true})
	u := e.startedUser(t)
	body := `{"chat_id":` + jsonInt(u.ID) + `,"text":"x"}`
	for i, want := range []int{200, 429} {
		resp, err := http.Post(e.srv.URL()+"/bot"+e.bot.Token+"/sendMessage", "application/json", strings.NewReader(body))
		require.NoError(t, err)
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, want, resp.StatusCode, i)
		if want == 429 {
			require.JSONEq(t, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}`, string(got))
		}
	}
}

func jsonInt(v int64) string { b, _ := json.Marshal(v); return string(b) }

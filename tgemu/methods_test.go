package tgemu_test

import (
	"bytes"
	"image"
	"image/png"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/mymmrac/telego"
	tu "github.com/mymmrac/telego/telegoutil"
	"github.com/stretchr/testify/require"

	"herald/tgemu"
)

func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, w, h))))
	return buf.Bytes()
}

func TestMediaFilesAndDownload(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tgemu.Config{PerChatDisabled: true})
	u := e.startedUser(t)
	chat := telego.ChatID{ID: u.ID}
	img := pngBytes(t, 3, 2)

	ph, err := e.tg.SendPhoto(e.ctx, &telego.SendPhotoParams{ChatID: chat, Photo: tu.FileFromBytes(img, "p.png"),
		Caption: "<i>look</i>", ParseMode: telego.ModeHTML})
	require.NoError(t, err)
	require.Len(t, ph.Photo, 1)
	require.Equal(t, 3, ph.Photo[0].Width)
	require.Equal(t, 2, ph.Photo[0].Height)
	require.Equal(t, "look", ph.Caption)
	require.Equal(t, []telego.MessageEntity{{Type: "italic", Offset: 0, Length: 4}}, ph.CaptionEntities)

	// Re-send by file_id: same file.
	again, err := e.tg.SendPhoto(e.ctx, tu.Photo(chat, tu.FileFromID(ph.Photo[0].FileID)))
	require.NoError(t, err)
	require.Equal(t, ph.Photo[0].FileUniqueID, again.Photo[0].FileUniqueID)

	doc, err := e.tg.SendDocument(e.ctx, tu.Document(chat, tu.FileFromBytes([]byte("a,b\n1,2\n"), "report.csv")))
	require.NoError(t, err)
	require.Equal(t, "report.csv", doc.Document.FileName)
	require.Equal(t, int64(8), doc.Document.FileSize)

	vid, err := e.tg.SendVideo(e.ctx, &telego.SendVideoParams{ChatID: chat, Video: tu.FileFromBytes([]byte("mp4"), "v.mp4"), Duration: 7})
	require.NoError(t, err)
	require.Equal(t, 7, vid.Video.Duration)
	anim, err := e.tg.SendAnimation(e.ctx, tu.Animation(chat, tu.FileFromBytes([]byte("gif"), "a.gif")))
	require.NoError(t, err)
	require.NotNil(t, anim.Animation)
	require.NotNil(t, anim.Document)

	f, err := e.tg.GetFile(e.ctx, &telego.GetFileParams{FileID: doc.Document.FileID})
	require.NoError(t, err)
	require.Equal(t, int64(8), f.FileSize)
	data, err := tu.DownloadFile(e.tg.FileDownloadURL(f.FilePath))
	require.NoError(t, err)
	require.Equal(t, "a,b\n1,2\n", string(data))
	resp, err := http.Get(e.srv.URL() + "/file/bot" + e.bot.Token + "/documents/nope")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 404, resp.StatusCode)

	// A file the user sends gets a file_id the bot can fetch.
	um, err := u.SendDocument(e.bot.Token, "cv.pdf", "application/pdf", []byte("%PDF"), "my cv")
	require.NoError(t, err)
	f, err = e.tg.GetFile(e.ctx, &telego.GetFileParams{FileID: um.Document.FileID})
	require.NoError(t, err)
	data, err = tu.DownloadFile(e.tg.FileDownloadURL(f.FilePath))
	require.NoError(t, err)
	require.Equal(t, "%PDF", string(data))
	up, err := u.SendPhoto(e.bot.Token, img, "")
	require.NoError(t, err)
	_, err = e.tg.SendPhoto(e.ctx, tu.Photo(chat, tu.FileFromID(up.Photo[0].FileID)))
	require.NoError(t, err, "a file the user sent can be re-sent by the bot")
}

func TestCopyEditDeletePin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tgemu.Config{PerChatDisabled: true})
	u := e.startedUser(t)
	admin := e.startedUser(t)
	chat := telego.ChatID{ID: u.ID}
	kb := tu.InlineKeyboard(tu.InlineKeyboardRow(tu.InlineKeyboardButton("Yes").WithCallbackData("yes")))

	m, err := e.tg.SendMessage(e.ctx, &telego.SendMessageParams{ChatID: chat, Text: "v1", ReplyMarkup: kb})
	require.NoError(t, err)
	require.Equal(t, kb, m.ReplyMarkup)

	edited, err := e.tg.EditMessageText(e.ctx, &telego.EditMessageTextParams{ChatID: chat, MessageID: m.MessageID, Text: "*v2*", ParseMode: telego.ModeMarkdownV2, ReplyMarkup: kb})
	require.NoError(t, err)
	require.Equal(t, "v2", edited.Text)
	require.NotZero(t, edited.EditDate)
	_, err = e.tg.EditMessageReplyMarkup(e.ctx, &telego.EditMessageReplyMarkupParams{ChatID: chat, MessageID: m.MessageID})
	require.NoError(t, err)

	ph, err := e.tg.SendPhoto(e.ctx, &telego.SendPhotoParams{ChatID: chat, Photo: tu.FileFromBytes([]byte("x"), "x.jpg"), Caption: "old"})
	require.NoError(t, err)
	capd, err := e.tg.EditMessageCaption(e.ctx, &telego.EditMessageCaptionParams{ChatID: chat, MessageID: ph.MessageID, Caption: "new"})
	require.NoError(t, err)
	require.Equal(t, "new", capd.Caption)

	cp, err := e.tg.CopyMessage(e.ctx, &telego.CopyMessageParams{ChatID: telego.ChatID{ID: admin.ID}, FromChatID: chat, MessageID: ph.MessageID})
	require.NoError(t, err)
	tr := e.srv.Transcript(e.bot.Token, admin.ID)
	copied := tr[len(tr)-1].Message
	require.Equal(t, cp.MessageID, copied.MessageID)
	require.Equal(t, "new", copied.Caption)
	require.Equal(t, ph.Photo[0].FileID, copied.Photo[0].FileID)
	_, err = e.tg.CopyMessage(e.ctx, &telego.CopyMessageParams{ChatID: telego.ChatID{ID: admin.ID}, FromChatID: chat, MessageID: 999})
	requireAPIError(t, err, 400, "Bad Request: message to copy not found")

	require.NoError(t, e.tg.PinChatMessage(e.ctx, &telego.PinChatMessageParams{ChatID: chat, MessageID: m.MessageID}))
	info, err := e.tg.GetChat(e.ctx, &telego.GetChatParams{ChatID: chat})
	require.NoError(t, err)
	require.Equal(t, "private", info.Type)
	require.Equal(t, "Ann", info.FirstName)
	require.Equal(t, m.MessageID, info.PinnedMessage.MessageID)

	require.NoError(t, e.tg.DeleteMessage(e.ctx, &telego.DeleteMessageParams{ChatID: chat, MessageID: ph.MessageID}))

	tr = e.srv.Transcript(e.bot.Token, u.ID)
	require.Len(t, tr, 3) // /start, text, photo
	require.False(t, tr[0].FromBot)
	txt := tr[1]
	require.Equal(t, "v2", txt.Message.Text)
	require.Nil(t, txt.Message.ReplyMarkup)
	require.Len(t, txt.History, 2)
	require.Equal(t, "v1", txt.History[0].Text)
	require.Equal(t, kb, txt.History[0].ReplyMarkup)
	require.True(t, tr[2].Deleted)
	require.Equal(t, "old", tr[2].History[0].Text)
}

func TestCallbacks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tgemu.Config{})
	u := e.startedUser(t)
	m, err := e.tg.SendMessage(e.ctx, &telego.SendMessageParams{ChatID: telego.ChatID{ID: u.ID}, Text: "Approve?",
		ReplyMarkup: tu.InlineKeyboard(tu.InlineKeyboardRow(
			tu.InlineKeyboardButton("Yes").WithCallbackData("approve:1"),
			tu.InlineKeyboardButton("No").WithCallbackData("reject:1")))})
	require.NoError(t, err)

	_, err = u.Press(e.bot.Token, m.MessageID, "delete-everything")
	require.ErrorIs(t, err, tgemu.ErrNoButton)
	_, err = u.Press(e.bot.Token, m.MessageID+10, "approve:1")
	require.ErrorIs(t, err, tgemu.ErrNoMessage)
	id, err := u.Press(e.bot.Token, m.MessageID, "approve:1")
	require.NoError(t, err)
	require.Equal(t, []string{id}, e.srv.UnansweredCallbacks(e.bot.Token))

	ups := poll(t, e, 0, 0)
	cq := ups[len(ups)-1].CallbackQuery
	require.NotNil(t, cq)
	require.Equal(t, id, cq.ID)
	require.Equal(t, "approve:1", cq.Data)
	require.Equal(t, u.ID, cq.From.ID)
	require.NotEmpty(t, cq.ChatInstance)
	require.Equal(t, m.MessageID, cq.Message.GetMessageID())

	require.NoError(t, e.tg.AnswerCallbackQuery(e.ctx, &telego.AnswerCallbackQueryParams{CallbackQueryID: id, Text: "Approved"}))
	require.Empty(t, e.srv.UnansweredCallbacks(e.bot.Token))
	ans, ok := e.srv.CallbackAnswerFor(e.bot.Token, id)
	require.True(t, ok)
	require.Equal(t, "Approved", ans.Text)
	err = e.tg.AnswerCallbackQuery(e.ctx, &telego.AnswerCallbackQueryParams{CallbackQueryID: id})
	requireAPIError(t, err, 400, "Bad Request: query is too old and response timeout expired or query ID is invalid")

	// After the keyboard is removed the button can no longer be pressed.
	_, err = e.tg.EditMessageReplyMarkup(e.ctx, &telego.EditMessageReplyMarkupParams{ChatID: telego.ChatID{ID: u.ID}, MessageID: m.MessageID})
	require.NoError(t, err)
	_, err = u.Press(e.bot.Token, m.MessageID, "approve:1")
	require.ErrorIs(t, err, tgemu.ErrNoButton)
}

func TestUserActionsAndCommands(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tgemu.Config{})
	u := e.srv.CreateUser(tgemu.UserSpec{FirstName: "Bob", LanguageCode: "de"})
	_, err := u.SendText(e.bot.Token, "hello?")
	require.ErrorIs(t, err, tgemu.ErrNotStarted)
	_, err = u.Start(e.bot.Token)
	require.NoError(t, err)
	_, err = u.SendCommand(e.bot.Token, "stats today")
	require.NoError(t, err)
	_, err = u.SendText(e.bot.Token, "see @herald", telego.MessageEntity{Type: "mention", Offset: 4, Length: 7})
	require.NoError(t, err)
	_, err = u.SendContact(e.bot.Token, telego.Contact{PhoneNumber: "+100", FirstName: "Carl"})
	require.NoError(t, err)
	orig := e.srv.CreateUser(tgemu.UserSpec{FirstName: "Orig"})
	_, err = u.ForwardFrom(e.bot.Token, orig, "fwd text")
	require.NoError(t, err)
	u.Block(e.bot.Token)
	_, err = u.SendText(e.bot.Token, "x")
	require.ErrorIs(t, err, tgemu.ErrBlocked)

	ups := poll(t, e, 0, 0)
	require.Len(t, ups, 7)
	cmd := ups[2].Message
	require.Equal(t, "/stats today", cmd.Text)
	require.Equal(t, []telego.MessageEntity{{Type: "bot_command", Offset: 0, Length: 6}}, cmd.Entities)
	require.Equal(t, "de", cmd.From.LanguageCode)
	require.Equal(t, "mention", ups[3].Message.Entities[0].Type)
	require.Equal(t, "+100", ups[4].Message.Contact.PhoneNumber)
	origin, ok := ups[5].Message.ForwardOrigin.(*telego.MessageOriginUser)
	require.True(t, ok)
	require.Equal(t, orig.ID, origin.SenderUser.ID)
	require.Equal(t, "kicked", ups[6].MyChatMember.NewChatMember.MemberStatus())

	cmds := []telego.BotCommand{{Command: "stats", Description: "Show stats"}}
	require.NoError(t, e.tg.SetMyCommands(e.ctx, &telego.SetMyCommandsParams{Commands: cmds}))
	require.Equal(t, cmds, e.srv.Commands(e.bot.Token))
	got, err := e.tg.GetMyCommands(e.ctx, nil)
	require.NoError(t, err)
	require.Equal(t, cmds, got)
	err = e.tg.SetMyCommands(e.ctx, &telego.SetMyCommandsParams{Commands: []telego.BotCommand{{Command: "Bad Cmd", Description: "x"}}})
	requireAPIError(t, err, 400, "Bad Request: BOT_COMMAND_INVALID")
}

func TestGroups(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tgemu.Config{})
	u := e.startedUser(t)
	g := e.srv.CreateGroup("Ops", u)
	sg := e.srv.CreateSupergroup("News", "herald_news", u)
	g.AddBot(e.bot.Token, u)
	sg.AddBot(e.bot.Token, u)
	require.Negative(t, g.ID)
	require.Less(t, sg.ID, int64(-1000000000000))

	_, err := g.SendText(u, "hi bots")
	require.NoError(t, err)
	m, err := send(e, g.ID, "hi group")
	require.NoError(t, err)
	require.Equal(t, "group", m.Chat.Type)
	require.Equal(t, "Ops", m.Chat.Title)
	require.Equal(t, 2, m.MessageID)
	m, err = e.tg.SendMessage(e.ctx, &telego.SendMessageParams{ChatID: telego.ChatID{Username: "@herald_news"}, Text: "by username"})
	require.NoError(t, err)
	require.Equal(t, "supergroup", m.Chat.Type)
	info, err := e.tg.GetChat(e.ctx, &telego.GetChatParams{ChatID: telego.ChatID{ID: sg.ID}})
	require.NoError(t, err)
	require.Equal(t, "herald_news", info.Username)

	var sawGroupMsg bool
	for _, up := range poll(t, e, 0, 0) {
		if up.Message != nil && up.Message.Chat.ID == g.ID {
			sawGroupMsg = up.Message.Text == "hi bots"
		}
	}
	require.True(t, sawGroupMsg)
	require.Len(t, e.srv.Transcript(e.bot.Token, g.ID), 2)
}

func TestWaitBotMessageTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tgemu.Config{})
	u := e.startedUser(t)
	start := time.Now()
	_, err := u.WaitBotMessage(e.bot.Token, 30*time.Millisecond)
	require.Error(t, err)
	require.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)
	go func() {
		time.Sleep(10 * time.Millisecond)
		_, _ = send(e, u.ID, "late")
	}()
	m, err := u.WaitBotMessage(e.bot.Token, 5*time.Second)
	require.NoError(t, err)
	require.Equal(t, "late", m.Text)
}

var _ = io.EOF

package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mymmrac/telego"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"herald/tgemu"
)

type testBundle struct {
	emu    *tgemu.Server
	srv    *httptest.Server
	bot    *telego.Bot // the management bot's side, as Herald would be
	mgmt   tgemu.Bot
	admin  *tgemu.User
	people []*tgemu.User
	news   tgemu.Bot
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	emu, err := tgemu.Start(tgemu.Config{})
	require.NoError(t, err)
	t.Cleanup(emu.Close)
	b := &testBundle{emu: emu, mgmt: *emu.CreateBot("mgmt_bot"), news: *emu.CreateBot("news_bot")}
	b.admin = emu.CreateUser(tgemu.UserSpec{FirstName: "Alex", LanguageCode: "en"})
	emu.SetStarted(b.mgmt.Token, b.admin)
	b.people = emu.CreateUsers(3, tgemu.UserSpec{FirstName: "Ann"})
	emu.SetStarted(b.news.Token, b.people...)
	b.bot, err = telego.NewBot(b.mgmt.Token, telego.WithAPIServer(emu.URL()), telego.WithDiscardLogger())
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h := New(ctx, Config{
		Emulator: emu, Management: b.mgmt, Admins: map[string]*tgemu.User{"en": b.admin},
		Channels:   []Channel{{Bot: b.news, Name: "News", Rate: 30}},
		Recipients: b.people, Logger: zerolog.Nop(),
	})
	b.srv = httptest.NewServer(h)
	t.Cleanup(b.srv.Close)
	return b
}

// events reads a server-sent event stream.
type events struct {
	t    *testing.T
	r    *bufio.Reader
	body io.Closer
}

func (b *testBundle) stream(t *testing.T, path string) *events {
	t.Helper()
	resp, err := http.Get(b.srv.URL + path)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	t.Cleanup(func() { resp.Body.Close() })
	return &events{t: t, r: bufio.NewReader(resp.Body), body: resp.Body}
}

// next returns the next event's name and data (comments skipped).
func (e *events) next() (string, string) {
	e.t.Helper()
	var name, data string
	for {
		line, err := e.r.ReadString('\n')
		require.NoError(e.t, err)
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "" && name != "":
			return name, data
		case strings.HasPrefix(line, "event: "):
			name = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			data = line[len("data: "):]
		}
	}
}

func (e *events) messages() []messageView {
	e.t.Helper()
	name, data := e.next()
	require.Equal(e.t, "messages", name)
	var out []messageView
	require.NoError(e.t, json.Unmarshal([]byte(data), &out))
	return out
}

func (b *testBundle) post(t *testing.T, path, contentType string, body io.Reader) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(b.srv.URL+path, contentType, body)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

// TestChatStreamFollowsTheBot: what the bot sends, edits and deletes reaches the page
// live, rendered; what the page sends reaches the bot with its entities.
func TestChatStreamFollowsTheBot(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	chat := b.stream(t, "/sandbox/api/chat/events")
	name, _ := chat.next()
	require.Equal(t, "reset", name)

	code, _ := b.post(t, "/sandbox/api/chat/send", "application/json",
		strings.NewReader(`{"text":"Hi <b> 👋 there","entities":[{"type":"bold","offset":10,"length":5},{"type":"evil","offset":0,"length":2}]}`))
	require.Equal(t, http.StatusOK, code)
	mine := chat.messages()
	require.Len(t, mine, 1)
	require.True(t, mine[0].Out)
	require.Equal(t, `<div class="text">Hi &lt;b&gt; 👋 <b>there</b></div>`, mine[0].HTML)
	ups, err := b.bot.GetUpdates(ctx, &telego.GetUpdatesParams{Timeout: 1})
	require.NoError(t, err)
	require.Len(t, ups, 1)
	require.Equal(t, []telego.MessageEntity{{Type: "bold", Offset: 10, Length: 5}}, ups[0].Message.Entities, "unknown types dropped")

	sent, err := b.bot.SendMessage(ctx, &telego.SendMessageParams{
		ChatID: telego.ChatID{ID: b.admin.ID}, Text: "📣 Campaign #1 — running",
		Entities:    []telego.MessageEntity{{Type: "bold", Offset: 3, Length: 11}},
		ReplyMarkup: &telego.InlineKeyboardMarkup{InlineKeyboard: [][]telego.InlineKeyboardButton{{{Text: "Pause", CallbackData: "c:1:pause"}}}},
	})
	require.NoError(t, err)
	got := chat.messages()
	require.Len(t, got, 1)
	require.Equal(t, "message", got[0].Kind)
	require.False(t, got[0].Out)
	require.Contains(t, got[0].HTML, `📣 <b>Campaign #1</b> — running`)
	require.Contains(t, got[0].HTML, `data-cb="c:1:pause"`)

	// Pressing the button is a callback query; the bot's answer comes back as a toast.
	pressed := make(chan map[string]any, 1)
	go func() { // owned: the test reads pressed below
		_, out := b.post(t, "/sandbox/api/chat/press", "application/json", strings.NewReader(`{"message_id":`+itoa(sent.MessageID)+`,"data":"c:1:pause"}`))
		pressed <- out
	}()
	var query *telego.CallbackQuery
	require.Eventually(t, func() bool {
		ups, err := b.bot.GetUpdates(ctx, &telego.GetUpdatesParams{Offset: 2, Timeout: 1})
		if err == nil && len(ups) > 0 {
			query = ups[0].CallbackQuery
		}
		return query != nil
	}, 5*time.Second, 10*time.Millisecond)
	require.Equal(t, "c:1:pause", query.Data)
	require.NoError(t, b.bot.AnswerCallbackQuery(ctx, &telego.AnswerCallbackQueryParams{CallbackQueryID: query.ID, Text: "Paused"}))
	require.Equal(t, "Paused", (<-pressed)["text"])

	_, err = b.bot.EditMessageText(ctx, &telego.EditMessageTextParams{ChatID: telego.ChatID{ID: b.admin.ID}, MessageID: sent.MessageID, Text: "🏁 Campaign #1 — completed"})
	require.NoError(t, err)
	edit := chat.messages()
	require.Equal(t, "edit", edit[0].Kind)
	require.True(t, edit[0].Edited)
	require.Equal(t, `<div class="text">🏁 Campaign #1 — completed</div>`, edit[0].HTML)

	require.NoError(t, b.bot.DeleteMessage(ctx, &telego.DeleteMessageParams{ChatID: telego.ChatID{ID: b.admin.ID}, MessageID: sent.MessageID}))
	gone := chat.messages()
	require.Equal(t, "delete", gone[0].Kind)
	require.Equal(t, sent.MessageID, gone[0].ID)

	// A stale button (the keyboard is gone) is refused, not sent.
	code, out := b.post(t, "/sandbox/api/chat/press", "application/json", strings.NewReader(`{"message_id":`+itoa(sent.MessageID)+`,"data":"c:1:pause"}`))
	require.Equal(t, http.StatusGone, code, "%v", out)
}

func TestUploadAndDownload(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", "people.csv")
	require.NoError(t, err)
	_, _ = fw.Write([]byte("chat_id\n1\n"))
	require.NoError(t, mw.WriteField("caption", "batch"))
	require.NoError(t, mw.Close())
	code, out := b.post(t, "/sandbox/api/chat/upload", mw.FormDataContentType(), &body)
	require.Equal(t, http.StatusOK, code, "%v", out)

	ups, err := b.bot.GetUpdates(context.Background(), &telego.GetUpdatesParams{Timeout: 1})
	require.NoError(t, err)
	require.Len(t, ups, 1)
	doc := ups[0].Message.Document
	require.NotNil(t, doc, "a CSV arrives as a document")
	require.Equal(t, "people.csv", doc.FileName)
	require.Equal(t, "batch", ups[0].Message.Caption)

	chat := b.stream(t, "/sandbox/api/chat/events")
	chat.next() // reset
	views := chat.messages()
	require.Contains(t, views[0].HTML, `href="/sandbox/file/`+doc.FileID+`"`)
	resp, err := http.Get(b.srv.URL + "/sandbox/file/" + doc.FileID)
	require.NoError(t, err)
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "chat_id\n1\n", string(data))
	require.Contains(t, resp.Header.Get("Content-Disposition"), `filename=people.csv`)

	resp, err = http.Get(b.srv.URL + "/sandbox/file/nope")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

// TestInboxAndCounters: a recipient's phone shows what a channel bot sent them, with the
// bot's display name, and the counters follow the sends.
func TestInboxAndCounters(t *testing.T) {
	t.Parallel()
	b := setup(t)
	news, err := telego.NewBot(b.news.Token, telego.WithAPIServer(b.emu.URL()), telego.WithDiscardLogger())
	require.NoError(t, err)
	stats := b.stream(t, "/sandbox/api/stats/events")
	name, data := stats.next()
	require.Equal(t, "channels", name)
	require.Contains(t, data, `"sent":0`)

	inbox := b.stream(t, "/sandbox/api/inbox/"+itoa(int(b.people[1].ID))+"/events")
	inbox.next() // reset
	_, err = news.SendMessage(context.Background(), &telego.SendMessageParams{ChatID: telego.ChatID{ID: b.people[1].ID}, Text: "Hello, Ann!",
		Entities: []telego.MessageEntity{{Type: "bold", Offset: 7, Length: 3}}})
	require.NoError(t, err)
	got := inbox.messages()
	require.Equal(t, `<div class="text">Hello, <b>Ann</b>!</div>`, got[0].HTML)
	require.Equal(t, "News", got[0].BotName)
	_, data = stats.next()
	require.Contains(t, data, `"sent":1`)

	resp, err := http.Get(b.srv.URL + "/sandbox/api/inbox/42/events")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "only the simulated people are shown")
}

func TestPageLanguage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	get := func(path, acceptLanguage string) string {
		req, _ := http.NewRequest(http.MethodGet, b.srv.URL+path, nil)
		req.Header.Set("Accept-Language", acceptLanguage)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Contains(t, resp.Header.Get("Content-Security-Policy"), "script-src 'self'")
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	require.Contains(t, get("/", "ru-RU,ru;q=0.9,en;q=0.8"), `<html lang="ru">`)
	require.Contains(t, get("/", "de-DE,en;q=0.5"), `<html lang="en">`)
	require.Contains(t, get("/?lang=ru", "en"), "Песочница Herald")
	for lang, words := range uiStrings {
		for key := range uiStrings["en"] {
			require.NotEmpty(t, words[key], "%s lacks %s", lang, key)
		}
		require.Len(t, words, len(uiStrings["en"]), lang)
	}
	resp, err := http.Get(b.srv.URL + "/sandbox/static/app.js")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestOtherSitesAreRefused: a page of another site cannot post as the owner, and a
// rebinding DNS name does not reach the sandbox.
func TestOtherSitesAreRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	req, _ := http.NewRequest(http.MethodPost, b.srv.URL+"/sandbox/api/chat/send", strings.NewReader(`{"text":"/newchannel"}`))
	req.Header.Set("Origin", "https://evil.example")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)

	req, _ = http.NewRequest(http.MethodGet, b.srv.URL+"/", nil)
	req.Host = "rebound.example:8080"
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)

	req, _ = http.NewRequest(http.MethodPost, b.srv.URL+"/sandbox/api/chat/send", strings.NewReader(`{"text":"hi"}`))
	req.Header.Set("Origin", b.srv.URL)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the page itself may")
}

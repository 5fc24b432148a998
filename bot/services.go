package bot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/mymmrac/telego"
	ta "github.com/mymmrac/telego/telegoapi"

	"herald/channelbot"
	"herald/flows"
	"herald/i18n"
	"herald/store"
)

// The services the bot gives the dialogs (flows.Services): immediate actions in an
// admin's chat, downloads of uploaded files, and calls as a channel bot. None of them
// lets a token reach an error message: Bot API URLs carry the token, and Go's HTTP
// errors quote the URL.

// callTimeout bounds one Bot API call made for a dialog.
const callTimeout = 15 * time.Second

// NewClient builds the management bot's Bot API client (apiURL "": Telegram's), whose
// HTTP timeout leaves room for a long poll of pollTimeout (0: the default 25 s). It
// is built first, before River and the Bot, which both use it.
func NewClient(token, apiURL string, pollTimeout time.Duration) (*telego.Bot, error) {
	if apiURL == "" {
		apiURL = "https://api.telegram.org"
	}
	if pollTimeout <= 0 {
		pollTimeout = 25 * time.Second
	}
	tg, err := newClient(token, apiURL, pollTimeout+20*time.Second)
	if err != nil {
		return nil, fmt.Errorf("bot client: %w", err)
	}
	return tg, nil
}

// ExpiryNotifier tells a chat that its dialog expired (queue.DialogNotifier). It needs
// only the management bot's client and the catalog, so River can have it before the
// Bot exists.
type ExpiryNotifier struct {
	tg      *telego.Bot
	catalog *i18n.Catalog
}

// NewExpiryNotifier returns a notifier sending through tg.
func NewExpiryNotifier(tg *telego.Bot, catalog *i18n.Catalog) *ExpiryNotifier {
	return &ExpiryNotifier{tg: tg, catalog: catalog}
}

// DialogExpired sends the "dialog expired" text in the dialog's language.
func (n *ExpiryNotifier) DialogExpired(ctx context.Context, d store.ExpiredDialog) error {
	l := n.catalog.For(d.Language)
	text := l.T("dialog.expired", i18n.Data{"Flow": l.T(flows.FlowTitleKey(d.Flow))})
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	return withRetry(ctx, func() error {
		_, err := n.tg.SendMessage(ctx, &telego.SendMessageParams{ChatID: telego.ChatID{ID: d.ChatID}, Text: text,
			ParseMode: telego.ModeHTML})
		return err
	})
}

// selfID is the management bot's own user id (flows.Services.ManagementBotID): the
// one getMe returned at start, or until then the id every bot token begins with.
func (b *Bot) selfID() int64 {
	if id := b.botID.Load(); id != 0 {
		return id
	}
	prefix, _, _ := strings.Cut(b.cfg.Token, ":")
	id, _ := strconv.ParseInt(prefix, 10, 64)
	return id
}

// DeleteMessage deletes a message in a chat of the management bot (flows.ChatOps).
func (b *Bot) DeleteMessage(ctx context.Context, chatID int64, messageID int) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	err := b.tg.DeleteMessage(ctx, &telego.DeleteMessageParams{ChatID: telego.ChatID{ID: chatID}, MessageID: messageID})
	if err != nil {
		return fmt.Errorf("delete message %d: %w", messageID, redact(err, b.cfg.Token))
	}
	return nil
}

// SendProgress sends a progress message and returns its id (flows.ChatOps).
func (b *Bot) SendProgress(ctx context.Context, chatID int64, html string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var m *telego.Message
	err := withRetry(ctx, func() (err error) {
		m, err = b.tg.SendMessage(ctx, &telego.SendMessageParams{ChatID: telego.ChatID{ID: chatID}, Text: html, ParseMode: telego.ModeHTML})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("send progress: %w", redact(err, b.cfg.Token))
	}
	return m.MessageID, nil
}

// EditProgress replaces a progress message's text (flows.ChatOps). Progress comes
// faster than a chat's flood control allows edits: a 429 is waited out (the caller
// keeps only the latest figures meanwhile), so the last edit, "finished", is not lost.
func (b *Bot) EditProgress(ctx context.Context, chatID int64, messageID int, html string) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	err := withRetry(ctx, func() error {
		_, err := b.tg.EditMessageText(ctx, &telego.EditMessageTextParams{ChatID: telego.ChatID{ID: chatID}, MessageID: messageID,
			Text: html, ParseMode: telego.ModeHTML})
		return err
	})
	if err != nil {
		return fmt.Errorf("edit progress: %w", redact(err, b.cfg.Token))
	}
	return nil
}

// Fetch downloads a file sent to the management bot (flows.FileFetcher).
func (b *Bot) Fetch(ctx context.Context, fileID string, maxBytes int64) (io.ReadCloser, error) {
	return fetchFile(ctx, b.tg, b.cfg.APIURL, b.cfg.Token, b.download, fileID, maxBytes)
}

// fetchFile is getFile, then a GET of <api>/file/bot<token>/<file_path> (telego has
// no downloader), reading at most maxBytes+1 bytes so that the importer's own limit
// sees an oversized file.
func fetchFile(ctx context.Context, tg *telego.Bot, apiURL, token string, client *http.Client, fileID string, maxBytes int64) (io.ReadCloser, error) {
	callCtx, cancel := context.WithTimeout(ctx, callTimeout)
	f, err := tg.GetFile(callCtx, &telego.GetFileParams{FileID: fileID})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("getFile: %w", redact(err, token))
	}
	if f.FilePath == "" {
		return nil, errors.New("getFile: no file path")
	}
	u := strings.TrimRight(apiURL, "/") + "/file/bot" + token + "/" + path.Clean(f.FilePath)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("download file: %w", redact(err, token))
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download file: %w", redact(err, token))
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("download file: HTTP %d", resp.StatusCode)
	}
	return fetched{Reader: io.LimitReader(resp.Body, maxBytes+1), Closer: resp.Body, name: path.Base(f.FilePath)}, nil
}

// fetched is a download with the base of its file path ("file_3.pdf": Telegram keeps
// the extension of the uploaded name), for uploading it again under that name.
type fetched struct {
	io.Reader
	io.Closer
	name string
}

func (f fetched) Name() string { return f.name }

// uploadName is the name a re-uploaded medium keeps: the downloaded file's, when it
// has an extension (clients open a document by it), else one for its kind.
func uploadName(body io.Reader, kind string) string {
	if n, ok := body.(interface{ Name() string }); ok && path.Ext(n.Name()) != "" {
		return n.Name()
	}
	switch kind {
	case "photo":
		return "photo.jpg"
	case "video", "animation":
		return kind + ".mp4"
	}
	return kind
}

// channelBots implements flows.ChannelBots with a short-lived telego client per call,
// pointed at the configured Bot API server.
type channelBots struct {
	apiURL   string
	files    flows.FileFetcher // the management bot's downloads, for test sends with media
	hookBase string            // HERALD_WEBHOOK_URL: the managed bots' webhooks are ours
}

func (c *channelBots) client(token string) (*telego.Bot, error) {
	tg, err := newClient(token, c.apiURL, callTimeout)
	if err != nil {
		return nil, flows.ErrTokenRejected // telego checks the token's shape
	}
	return tg, nil
}

// Identify calls getMe with token.
func (c *channelBots) Identify(ctx context.Context, token string) (flows.BotIdentity, error) {
	tg, err := c.client(token)
	if err != nil {
		return flows.BotIdentity{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	me, err := tg.GetMe(ctx)
	var apiErr *ta.Error
	if errors.As(err, &apiErr) && (apiErr.ErrorCode == http.StatusUnauthorized || apiErr.ErrorCode == http.StatusNotFound) {
		return flows.BotIdentity{}, flows.ErrTokenRejected
	}
	if err != nil {
		return flows.BotIdentity{}, fmt.Errorf("getMe: %w", redact(err, token))
	}
	return flows.BotIdentity{ID: me.ID, Username: me.Username, FirstName: me.FirstName}, nil
}

// SendTest sends r to chatID as the channel bot, uploading its media afresh (a
// file_id belongs to the bot that received the file).
func (c *channelBots) SendTest(ctx context.Context, token string, chatID int64, r flows.Reply) error {
	tg, err := c.client(token)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*callTimeout)
	defer cancel()
	chat := telego.ChatID{ID: chatID}
	markup := keyboard(r.Keyboard)
	if r.Media != nil {
		body, err := c.files.Fetch(ctx, r.Media.FileID, 50<<20)
		if err != nil {
			return fmt.Errorf("test send: %w", err)
		}
		data, err := io.ReadAll(body)
		body.Close()
		if err != nil {
			return fmt.Errorf("test send: read media: %w", err)
		}
		file := telego.InputFile{File: namedReader{Reader: bytes.NewReader(data), name: uploadName(body, r.Media.Kind)}}
		switch r.Media.Kind {
		case "photo":
			_, err = tg.SendPhoto(ctx, &telego.SendPhotoParams{ChatID: chat, Photo: file, Caption: r.Text, CaptionEntities: r.Entities, ReplyMarkup: markup})
		case "video":
			_, err = tg.SendVideo(ctx, &telego.SendVideoParams{ChatID: chat, Video: file, Caption: r.Text, CaptionEntities: r.Entities, ReplyMarkup: markup})
		case "animation":
			_, err = tg.SendAnimation(ctx, &telego.SendAnimationParams{ChatID: chat, Animation: file, Caption: r.Text, CaptionEntities: r.Entities, ReplyMarkup: markup})
		default:
			_, err = tg.SendDocument(ctx, &telego.SendDocumentParams{ChatID: chat, Document: file, Caption: r.Text, CaptionEntities: r.Entities, ReplyMarkup: markup})
		}
		return testSendErr(err, token)
	}
	_, err = tg.SendMessage(ctx, &telego.SendMessageParams{ChatID: chat, Text: r.Text, Entities: r.Entities, ReplyMarkup: markup})
	return testSendErr(err, token)
}

// WebhookURL calls getWebhookInfo with token.
func (c *channelBots) WebhookURL(ctx context.Context, token string) (string, error) {
	tg, err := c.client(token)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	info, err := tg.GetWebhookInfo(ctx)
	if err != nil {
		return "", fmt.Errorf("getWebhookInfo: %w", redact(err, token))
	}
	if channelbot.OwnHook(c.hookBase, info.URL) {
		return "", nil // our own managed-bot webhook is nothing to take over
	}
	return info.URL, nil
}

// DropWebhook calls deleteWebhook with token, keeping the pending updates.
func (c *channelBots) DropWebhook(ctx context.Context, token string) error {
	tg, err := c.client(token)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if err := tg.DeleteWebhook(ctx, &telego.DeleteWebhookParams{}); err != nil {
		return fmt.Errorf("deleteWebhook: %w", redact(err, token))
	}
	return nil
}

func testSendErr(err error, token string) error {
	var apiErr *ta.Error
	if errors.As(err, &apiErr) && apiErr.ErrorCode == http.StatusForbidden {
		return flows.ErrNotStarted
	}
	if err != nil {
		return fmt.Errorf("test send: %w", redact(err, token))
	}
	return nil
}

type namedReader struct {
	io.Reader
	name string
}

func (n namedReader) Name() string { return n.name }

package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/mymmrac/telego"
	tu "github.com/mymmrac/telego/telegoutil"
	"github.com/rs/zerolog"

	"herald/jsonstr"
	"herald/render"
	"herald/store"
)

// campaignMessage is a campaign's template prepared once per lane slice: parsed, with
// its keyboard built, and with the channel bot's own file_id of its medium.
type campaignMessage struct {
	campaignID    int64
	controlChatID int64
	createdBy     int64
	tpl           *render.Template
	// static is set when the template has no variables: the text is rendered once.
	static        bool
	text          string
	entities      []telego.MessageEntity
	markup        *telego.InlineKeyboardMarkup
	entitiesJSON  []byte // static text messages: the entities, encoded once
	markupJSON    []byte // the keyboard, encoded once (nil: none)
	mediaKind     string // "" for a text message
	mediaUniqueID string
	mediaFileID   atomic.Pointer[string] // the channel bot's file_id once known
	uploadMu      sync.Mutex             // one upload at a time; the rest wait for its file_id
	mediaData     []byte                 // the medium's bytes, until the first upload succeeds
	mediaName     string
	paidBroadcast bool
	channelID     int64
	saveFileID    func(ctx context.Context, fileID string) error
	logger        zerolog.Logger
}

// errTemplateBroken marks a campaign whose template cannot be rendered at all.
var errTemplateBroken = errors.New("template cannot be used")

// prepareMessage builds the campaign's message for channel ch. Media without a cached
// file_id for this channel bot are downloaded once from the management bot; the first
// send uploads them and caches the channel bot's file_id.
func prepareMessage(ctx context.Context, st *store.Store, mgmt *telego.Bot, ch store.Channel, cm store.CampaignMessage, logger zerolog.Logger) (*campaignMessage, error) {
	var entities []telego.MessageEntity
	if len(cm.Entities) > 0 {
		if err := json.Unmarshal(cm.Entities, &entities); err != nil {
			return nil, fmt.Errorf("%w: entities: %v", errTemplateBroken, err)
		}
	}
	tpl, err := render.Parse(cm.Body, entities)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errTemplateBroken, err)
	}
	m := &campaignMessage{
		campaignID:    cm.CampaignID,
		controlChatID: cm.ControlChatID,
		createdBy:     cm.CreatedBy,
		tpl:           tpl,
		paidBroadcast: ch.PaidBroadcast,
		channelID:     ch.ID,
		logger:        logger,
	}
	if len(tpl.Vars()) == 0 {
		m.static = true
		m.text, m.entities = tpl.Render(nil)
	}
	var rows [][]telego.InlineKeyboardButton
	if len(cm.Buttons) > 0 {
		if err := json.Unmarshal(cm.Buttons, &rows); err != nil {
			return nil, fmt.Errorf("%w: buttons: %v", errTemplateBroken, err)
		}
	}
	if len(rows) > 0 {
		m.markup = &telego.InlineKeyboardMarkup{InlineKeyboard: rows}
		if m.markupJSON, err = json.Marshal(m.markup); err != nil {
			return nil, fmt.Errorf("%w: buttons: %v", errTemplateBroken, err)
		}
	}
	if m.static && len(m.entities) > 0 {
		if m.entitiesJSON, err = json.Marshal(m.entities); err != nil {
			return nil, fmt.Errorf("%w: entities: %v", errTemplateBroken, err)
		}
	}
	if cm.MediaKind == nil || cm.MediaFileID == nil {
		return m, nil
	}
	m.mediaKind = *cm.MediaKind
	if cm.MediaUniqueID != nil {
		m.mediaUniqueID = *cm.MediaUniqueID
	} else {
		m.mediaUniqueID = *cm.MediaFileID
	}
	m.saveFileID = func(ctx context.Context, fileID string) error {
		return st.ChannelMediaPut(ctx, ch.ID, m.mediaUniqueID, fileID)
	}
	fileID, err := st.ChannelMediaGet(ctx, ch.ID, m.mediaUniqueID)
	switch {
	case err == nil:
		m.mediaFileID.Store(&fileID)
		return m, nil
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	if mgmt == nil {
		return nil, fmt.Errorf("%w: media must be downloaded from the management bot, which is not configured", errTemplateBroken)
	}
	m.mediaData, m.mediaName, err = downloadMedia(ctx, mgmt, *cm.MediaFileID, m.mediaKind)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// maxDownload is getFile's limit.
const maxDownload = 20 << 20

// downloadMedia fetches a file of the management bot. Errors never carry the download
// URL, which contains the bot's token.
func downloadMedia(ctx context.Context, mgmt *telego.Bot, fileID, kind string) ([]byte, string, error) {
	f, err := mgmt.GetFile(ctx, &telego.GetFileParams{FileID: fileID})
	if err != nil {
		return nil, "", fmt.Errorf("get template medium: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, mgmt.FileDownloadURL(f.FilePath), nil)
	if err != nil {
		return nil, "", errors.New("download template medium: bad file path")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, "", fmt.Errorf("download template medium: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("download template medium: HTTP %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxDownload+1))
	if err != nil {
		return nil, "", fmt.Errorf("download template medium: %w", err)
	}
	if len(data) > maxDownload {
		return nil, "", errors.New("download template medium: larger than 20 MB")
	}
	// Upload it again under the name of the downloaded file ("file_3.pdf": Telegram
	// keeps the extension of the name it was sent with), or one for its kind.
	name := path.Base(f.FilePath)
	if path.Ext(name) == "" {
		switch kind {
		case "photo":
			name = "photo.jpg"
		case "video", "animation":
			name = kind + ".mp4"
		default:
			name = kind
		}
	}
	return data, name, nil
}

// send delivers the message to chatID through bot and returns Telegram's message id.
func (m *campaignMessage) send(ctx context.Context, bot *channelClient, chatID int64, vars map[string]string) (int64, error) {
	text, entities := m.text, m.entities
	if !m.static {
		text, entities = m.tpl.Render(vars)
	}
	chat := telego.ChatID{ID: chatID}
	if m.mediaKind == "" {
		entitiesJSON := m.entitiesJSON
		if !m.static && len(entities) > 0 {
			var err error
			if entitiesJSON, err = json.Marshal(entities); err != nil {
				return 0, &notSentError{fmt.Errorf("encode entities: %w", err)}
			}
		}
		buf := bodyPool.Get().(*[]byte)
		defer bodyPool.Put(buf)
		*buf = appendSendMessage((*buf)[:0], chatID, text, entitiesJSON, m.markupJSON, m.paidBroadcast)
		return bot.sendText(ctx, *buf)
	}
	if id := m.mediaFileID.Load(); id != nil {
		msg, err := m.sendMedia(ctx, bot, chat, text, entities, tu.FileFromID(*id))
		if err != nil {
			return 0, err
		}
		return int64(msg.MessageID), nil
	}
	// First send through this channel bot: upload the bytes, keep the bot's file_id.
	m.uploadMu.Lock()
	defer m.uploadMu.Unlock()
	if id := m.mediaFileID.Load(); id != nil {
		msg, err := m.sendMedia(ctx, bot, chat, text, entities, tu.FileFromID(*id))
		if err != nil {
			return 0, err
		}
		return int64(msg.MessageID), nil
	}
	msg, err := m.sendMedia(ctx, bot, chat, text, entities, tu.FileFromBytes(m.mediaData, m.mediaName))
	if err != nil {
		return 0, err
	}
	if id := mediaFileID(msg, m.mediaKind); id != "" {
		m.mediaFileID.Store(&id)
		m.mediaData = nil
		if err := m.saveFileID(context.WithoutCancel(ctx), id); err != nil {
			// The message was sent; the cache only saves the next slice an upload.
			m.logger.Warn().Err(err).Int64("campaign_id", m.campaignID).Msg("cache channel media file_id")
		}
	}
	return int64(msg.MessageID), nil
}

func (m *campaignMessage) sendMedia(ctx context.Context, bot *channelClient, chat telego.ChatID, caption string, entities []telego.MessageEntity, file telego.InputFile) (*telego.Message, error) {
	switch m.mediaKind {
	case "photo":
		return bot.SendPhoto(ctx, &telego.SendPhotoParams{ChatID: chat, Photo: file, Caption: caption,
			CaptionEntities: entities, ReplyMarkup: m.markup, AllowPaidBroadcast: m.paidBroadcast})
	case "video":
		return bot.SendVideo(ctx, &telego.SendVideoParams{ChatID: chat, Video: file, Caption: caption,
			CaptionEntities: entities, ReplyMarkup: m.markup, AllowPaidBroadcast: m.paidBroadcast})
	case "animation":
		return bot.SendAnimation(ctx, &telego.SendAnimationParams{ChatID: chat, Animation: file, Caption: caption,
			CaptionEntities: entities, ReplyMarkup: m.markup, AllowPaidBroadcast: m.paidBroadcast})
	default:
		return bot.SendDocument(ctx, &telego.SendDocumentParams{ChatID: chat, Document: file, Caption: caption,
			CaptionEntities: entities, ReplyMarkup: m.markup, AllowPaidBroadcast: m.paidBroadcast})
	}
}

func mediaFileID(msg *telego.Message, kind string) string {
	switch {
	case kind == "photo" && len(msg.Photo) > 0:
		return msg.Photo[len(msg.Photo)-1].FileID
	case kind == "video" && msg.Video != nil:
		return msg.Video.FileID
	case kind == "animation" && msg.Animation != nil:
		return msg.Animation.FileID
	case msg.Document != nil:
		return msg.Document.FileID
	}
	return ""
}

// bodyPool recycles sendMessage request bodies (fasthttp copies the body it sends).
var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// appendSendMessage writes a sendMessage request body. entities and markup are JSON
// already (nil: none).
func appendSendMessage(buf []byte, chatID int64, text string, entities, markup []byte, paid bool) []byte {
	buf = append(buf, `{"chat_id":`...)
	buf = strconv.AppendInt(buf, chatID, 10)
	buf = append(buf, `,"text":`...)
	buf = jsonstr.Append(buf, text, jsonstr.EscapeNUL)
	if len(entities) > 0 {
		buf = append(buf, `,"entities":`...)
		buf = append(buf, entities...)
	}
	if len(markup) > 0 {
		buf = append(buf, `,"reply_markup":`...)
		buf = append(buf, markup...)
	}
	if paid {
		buf = append(buf, `,"allow_paid_broadcast":true`...)
	}
	return append(buf, '}')
}

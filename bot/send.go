package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mymmrac/telego"
	ta "github.com/mymmrac/telego/telegoapi"

	"herald/backoff"
	"herald/flows"
)

// sendTimeout bounds one Bot API call, retries included.
const sendTimeout = 30 * time.Second

func (b *Bot) send(ctx context.Context, u *update, r flows.Reply) {
	if err := b.sendTo(ctx, u.chatID, r); err != nil {
		b.log.Warn().Err(err).Int64("chat_id", u.chatID).Msg("send reply")
	}
}

// sendTo sends one reply, waiting out a 429 (the management bot talks to few chats,
// so its replies are rarely limited, but 20 fast messages from one admin can be).
func (b *Bot) sendTo(ctx context.Context, chatID int64, r flows.Reply) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sendTimeout)
	defer cancel()
	return withRetry(ctx, func() error { return b.sendOnce(ctx, chatID, r) })
}

func (b *Bot) sendOnce(ctx context.Context, chatID int64, r flows.Reply) error {
	chat := telego.ChatID{ID: chatID}
	markup := keyboard(r.Keyboard)
	parseMode := ""
	entities := r.Entities
	if r.HTML {
		parseMode, entities = telego.ModeHTML, nil
	}
	if r.Media != nil {
		file := telego.InputFile{FileID: r.Media.FileID}
		var err error
		switch r.Media.Kind {
		case "photo":
			_, err = b.tg.SendPhoto(ctx, &telego.SendPhotoParams{ChatID: chat, Photo: file, Caption: r.Text,
				CaptionEntities: entities, ParseMode: parseMode, ReplyMarkup: markup})
		case "video":
			_, err = b.tg.SendVideo(ctx, &telego.SendVideoParams{ChatID: chat, Video: file, Caption: r.Text,
				CaptionEntities: entities, ParseMode: parseMode, ReplyMarkup: markup})
		case "animation":
			_, err = b.tg.SendAnimation(ctx, &telego.SendAnimationParams{ChatID: chat, Animation: file, Caption: r.Text,
				CaptionEntities: entities, ParseMode: parseMode, ReplyMarkup: markup})
		default:
			_, err = b.tg.SendDocument(ctx, &telego.SendDocumentParams{ChatID: chat, Document: file, Caption: r.Text,
				CaptionEntities: entities, ParseMode: parseMode, ReplyMarkup: markup})
		}
		if err != nil {
			return fmt.Errorf("send %s: %w", r.Media.Kind, err)
		}
		return nil
	}
	params := &telego.SendMessageParams{ChatID: chat, Text: r.Text, Entities: entities, ParseMode: parseMode, ReplyMarkup: markup}
	if r.HTML { // our own prompts: a link in an example should not unfold into a preview
		params.LinkPreviewOptions = &telego.LinkPreviewOptions{IsDisabled: true}
	}
	if _, err := b.tg.SendMessage(ctx, params); err != nil {
		return fmt.Errorf("send message: %w", err)
	}
	return nil
}

// edit replaces the text message whose button was pressed; it reports false when the
// reply must be sent as a new message instead (no such message, or it has media).
func (b *Bot) edit(ctx context.Context, u *update, r flows.Reply) bool {
	if u.CallbackQuery == nil || u.CallbackQuery.Message == nil || r.Media != nil {
		return false
	}
	m := u.CallbackQuery.Message.Message()
	if m == nil || m.Text == "" {
		return false
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sendTimeout)
	defer cancel()
	params := &telego.EditMessageTextParams{ChatID: telego.ChatID{ID: u.chatID}, MessageID: m.MessageID,
		Text: r.Text, ReplyMarkup: keyboard(r.Keyboard)}
	if r.HTML {
		params.ParseMode = telego.ModeHTML
		params.LinkPreviewOptions = &telego.LinkPreviewOptions{IsDisabled: true}
	} else {
		params.Entities = r.Entities
	}
	err := withRetry(ctx, func() error {
		_, err := b.tg.EditMessageText(ctx, params)
		return err
	})
	var apiErr *ta.Error
	if errors.As(err, &apiErr) && strings.Contains(apiErr.Description, "message is not modified") {
		return true // pressing the button of the page already shown
	}
	if err != nil {
		b.log.Debug().Err(err).Int64("chat_id", u.chatID).Msg("edit failed; sending a new message")
		return false
	}
	return true
}

func keyboard(rows [][]flows.Button) *telego.InlineKeyboardMarkup {
	if len(rows) == 0 {
		return nil
	}
	out := make([][]telego.InlineKeyboardButton, 0, len(rows))
	for _, row := range rows {
		var r []telego.InlineKeyboardButton
		for _, btn := range row {
			b := telego.InlineKeyboardButton{Text: btn.Text, CallbackData: btn.Data, URL: btn.URL}
			if btn.CopyText != "" {
				b.CopyText = &telego.CopyTextButton{Text: btn.CopyText}
			}
			r = append(r, b)
		}
		out = append(out, r)
	}
	return &telego.InlineKeyboardMarkup{InlineKeyboard: out}
}

// withRetry calls fn again after a 429, waiting the retry_after Telegram asks for
// (at most 3 attempts, within ctx).
func withRetry(ctx context.Context, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		var apiErr *ta.Error
		if attempt == 3 || !errors.As(err, &apiErr) || apiErr.ErrorCode != 429 {
			return err
		}
		wait := time.Second
		if apiErr.Parameters != nil && apiErr.Parameters.RetryAfter > 0 {
			wait = time.Duration(apiErr.Parameters.RetryAfter) * time.Second
		}
		if !backoff.Wait(ctx, wait) {
			return err
		}
	}
}

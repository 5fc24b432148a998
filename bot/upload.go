package bot

import (
	"context"
	"fmt"
	"time"

	"github.com/mymmrac/telego"

	"herald/flows"
)

// uploadTimeout bounds one upload to an admin's chat (flows.FileSender): an export of
// a large campaign is tens of megabytes.
const uploadTimeout = 2 * time.Minute

// SendFile uploads f to chatID as a photo or a document (flows.FileSender). The body
// is streamed to Telegram as it is read; it is sent once, not retried: a reader
// cannot be read twice, and a failed upload is reported to the admin, who presses
// the button again.
func (b *Bot) SendFile(ctx context.Context, chatID int64, f flows.OutgoingFile) error {
	ctx, cancel := context.WithTimeout(ctx, uploadTimeout)
	defer cancel()
	chat := telego.ChatID{ID: chatID}
	file := telego.InputFile{File: namedReader{Reader: f.Body, name: f.Name}}
	var err error
	if f.Photo {
		_, err = b.tg.SendPhoto(ctx, &telego.SendPhotoParams{ChatID: chat, Photo: file, Caption: f.Caption, ParseMode: telego.ModeHTML})
	} else {
		_, err = b.tg.SendDocument(ctx, &telego.SendDocumentParams{ChatID: chat, Document: file, Caption: f.Caption, ParseMode: telego.ModeHTML})
	}
	if err != nil {
		return fmt.Errorf("upload %s: %w", f.Name, err)
	}
	return nil
}

package tgemu

import (
	"fmt"

	"github.com/mymmrac/telego"
)

// Post is a channel or group post that a user forwards to a bot. Telegram delivers
// such a forward with forward_origin naming the chat (MessageOriginChannel for a
// channel, MessageOriginChat for a group's anonymous admin), the post's own text or
// caption entities, its medium and its inline keyboard in reply_markup (login_url
// buttons show as url buttons).
type Post struct {
	ChatID    int64  // the channel or group, e.g. -1001234567890
	ChatTitle string // its title
	Username  string // its public username, if any
	MessageID int    // the post's id in that chat
	Group     bool   // from a group (MessageOriginChat) rather than a channel

	Text     string // text, or the caption when there is a medium
	Entities []telego.MessageEntity
	// At most one medium: Photo (any bytes; PNG/JPEG/GIF dimensions are read), or a
	// Video, Animation or Document with its file name.
	Photo     []byte
	Video     []byte
	Animation []byte
	Document  []byte
	FileName  string
	Markup    *telego.InlineKeyboardMarkup
}

// ForwardPost forwards p to the bot as the user would from the channel or group.
func (u *User) ForwardPost(token string, p Post) (telego.Message, error) {
	return u.post(token, u.forwardMsg(p, ""))
}

// ForwardAlbum forwards an album (a media group): Telegram delivers one message
// per item, each with the same media_group_id; only the item that carries the
// caption has text. Every item is a photo.
func (u *User) ForwardAlbum(token string, p Post, photos ...[]byte) ([]telego.Message, error) {
	groupID := fmt.Sprintf("%d", u.srv.nextSeq.Add(1)+13000000000000000)
	var out []telego.Message
	for i, ph := range photos {
		item := p
		item.Photo, item.Video, item.Animation, item.Document = ph, nil, nil, nil
		item.MessageID = p.MessageID + i
		if i > 0 {
			item.Text, item.Entities, item.Markup = "", nil, nil
		}
		m, err := u.post(token, u.forwardMsg(item, groupID))
		if err != nil {
			return out, err
		}
		out = append(out, m)
	}
	return out, nil
}

func (u *User) forwardMsg(p Post, groupID string) *msg {
	chat := telego.Chat{ID: p.ChatID, Type: telego.ChatTypeChannel, Title: p.ChatTitle, Username: p.Username}
	date := u.srv.unixNow() - 60
	var origin telego.MessageOrigin = &telego.MessageOriginChannel{Type: telego.OriginTypeChannel, Date: date,
		Chat: chat, MessageID: p.MessageID}
	if p.Group {
		chat.Type = telego.ChatTypeSupergroup
		origin = &telego.MessageOriginChat{Type: telego.OriginTypeChat, Date: date, SenderChat: chat}
	}
	m := &msg{text: p.Text, entities: p.Entities, origin: origin, groupID: groupID}
	if p.Markup != nil {
		mk := *p.Markup
		m.markup = &mk
	}
	switch {
	case p.Photo != nil:
		m.media = &media{f: u.srv.newFile(nil, kindPhoto, "", "", p.Photo)}
	case p.Video != nil:
		m.media = &media{f: u.srv.newFile(nil, kindVideo, p.FileName, "video/mp4", p.Video)}
	case p.Animation != nil:
		m.media = &media{f: u.srv.newFile(nil, kindAnimation, p.FileName, "video/mp4", p.Animation)}
	case p.Document != nil:
		m.media = &media{f: u.srv.newFile(nil, kindDocument, p.FileName, "application/octet-stream", p.Document)}
	}
	return m
}

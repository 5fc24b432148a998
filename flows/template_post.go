package flows

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/mymmrac/telego"

	"herald/i18n"
)

// A post forwarded from a channel or group is the quickest start of a template: its
// text or caption with the formatting, its medium and its URL buttons become the
// draft, which goes straight to the preview once it has a name. Forwarded with no
// dialog open, the builder starts with the post and a name taken from its first line;
// forwarded at the builder's name or content step, the post fills the draft.
//
// Telegram delivers the post's inline keyboard in reply_markup (login_url buttons as
// url buttons); only URL buttons can be sent again by another bot, so the others
// (callback, switch-inline, game, pay…) are dropped and the admin is told how many.
// An album comes as one message per item sharing a media_group_id: the first item
// (with the caption) is taken, the admin is told, and the other items are ignored.

// ForwardedPost is what a forward from a channel or group adds to its Input.
type ForwardedPost struct {
	Title   string                          // the channel's or group's title
	Buttons [][]telego.InlineKeyboardButton // the post's inline keyboard, as forwarded
}

// postEvent goes from the name or content step straight to the preview.
const postEvent = "posted"

// postButtons keeps the URL buttons of a forwarded keyboard and counts the rest.
func postButtons(rows [][]telego.InlineKeyboardButton) (kept [][]telego.InlineKeyboardButton, dropped int) {
	for _, row := range rows {
		var out []telego.InlineKeyboardButton
		for _, b := range row {
			if b.URL == "" || !postURL(b.URL) || strings.TrimSpace(b.Text) == "" {
				dropped++
				continue
			}
			out = append(out, telego.InlineKeyboardButton{Text: b.Text, URL: b.URL})
		}
		if len(out) > 0 {
			kept = append(kept, out)
		}
	}
	return kept, dropped
}

// postURL accepts the links a URL button of ours may carry.
func postURL(link string) bool {
	u, err := url.Parse(link)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "http", "https":
		return u.Host != ""
	case "tg":
		return true
	}
	return false
}

// takePost fills d from a forwarded post and queues a note of what was taken.
func takePost(ctx context.Context, t *Turn, d *templateDraft, in Input) error {
	if err := CheckTemplateContent(in.Text, in.Entities, in.Media); err != nil {
		return err
	}
	buttons, dropped := postButtons(in.Post.Buttons)
	d.Body, d.Entities, d.Media, d.Buttons = in.Text, in.Entities, in.Media, buttons
	d.Album, d.FromPost = in.MediaGroupID, true
	if d.Name == "" {
		name, err := postName(ctx, t, in)
		if err != nil {
			return err
		}
		d.Name = name
	}
	lines := []string{t.L.T("tpl.post_taken", i18n.Data{"From": esc(in.Post.Title), "Kind": t.L.T("tpl.post_kind." + mediaKind(in.Media)),
		"Buttons": len(buttons), "Entities": len(in.Entities)})}
	if dropped > 0 {
		lines = append(lines, t.L.N("tpl.post_buttons_dropped", dropped))
	}
	if in.MediaGroupID != "" {
		lines = append(lines, t.L.T("tpl.post_album"))
	}
	t.Reply(Reply{Text: strings.Join(lines, "\n"), HTML: true})
	return nil
}

// postName is a free template name from the post's first line (or the channel's
// title): "Sale", else "Sale (2)", … .
func postName(ctx context.Context, t *Turn, in Input) (string, error) {
	base := ""
	for _, line := range strings.Split(in.Text, "\n") {
		if line = strings.Join(strings.Fields(line), " "); line != "" {
			base = line
			break
		}
	}
	if _, err := CheckName(base); err != nil || base == "" {
		base = strings.Join(strings.Fields(in.Post.Title), " ")
	}
	if _, err := CheckName(base); err != nil || base == "" {
		base = t.L.T("tpl.post_default_name")
	}
	base = strings.TrimSpace(clipRunes(base, maxNameLength-4)) // room for " (9)"
	for i := 1; i <= 9; i++ {
		name := base
		if i > 1 {
			name = fmt.Sprintf("%s (%d)", base, i)
		}
		taken, err := templates(t).TemplateNameTaken(ctx, name, 0)
		if err != nil {
			return "", err
		}
		if !taken {
			return name, nil
		}
	}
	return base, nil // the name step then asks for another
}

// startTemplateFromPost opens the builder at the name step with the post taken.
func startTemplateFromPost(ctx context.Context, t *Turn, in Input) error {
	var d templateDraft
	if err := takePost(ctx, t, &d, in); err != nil {
		return err
	}
	t.Start(FlowTemplateNew, d)
	return nil
}

// handlePostInDialog takes a post forwarded at the name or content step; ok is
// false when in is not such a post.
func handlePostInDialog(ctx context.Context, t *Turn, s *Session, in Input) (event string, ok bool, err error) {
	if in.Post == nil {
		return "", false, nil
	}
	var d templateDraft
	if err := s.Load(&d); err != nil {
		return "", true, err
	}
	if err := takePost(ctx, t, &d, in); err != nil {
		return "", true, err
	}
	return postEvent, true, s.Save(d)
}

// albumItem reports whether in is a further item of the album the draft took its
// medium from: such items are ignored (an Outdated answer to a message shows
// nothing and changes nothing).
func albumItem(d templateDraft, in Input) bool {
	return in.MediaGroupID != "" && in.MediaGroupID == d.Album
}

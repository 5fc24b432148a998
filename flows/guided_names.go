package flows

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"herald/i18n"
	"herald/store"
)

// What a sub-dialog opened by the campaign wizard does not ask: a template is named
// after the first line of its text, a recipient list after its file, a sender bot
// after the bot, and the bot gets the free rate. All can be renamed (or the rate
// changed, paid broadcasts included) later from their cards.

// sameNameTries bounds the " (2)", " (3)"… suffixes tried for a free name.
const sameNameTries = 50

// freeName is base, or base with the first free " (n)" suffix, shortened so that the
// whole stays within maxNameLength; taken says whether a name is in use.
func freeName(base string, taken func(string) (bool, error)) (string, error) {
	for n := 1; n <= sameNameTries; n++ {
		suffix := ""
		if n > 1 {
			suffix = " (" + strconv.Itoa(n) + ")"
		}
		name := cutRunes(base, maxNameLength-utf8.RuneCountInString(suffix)) + suffix
		used, err := taken(name)
		if err != nil {
			return "", err
		}
		if !used {
			return name, nil
		}
	}
	return "", Invalid("guide.no_free_name", i18n.Data{"Name": esc(base)})
}

// cutRunes shortens s to at most n characters, trimming the space left at the cut.
func cutRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n]))
}

// firstLine is the first line of text that has words, braces of variables dropped
// ("Hello, {{first_name}}!" gives "Hello, first_name!").
func firstLine(text string) string {
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.NewReplacer("{{", "", "}}", "").Replace(line)
		if line = strings.Join(strings.Fields(line), " "); line != "" {
			return line
		}
	}
	return ""
}

// nameForCaller names the template of the builder opened for the campaign wizard,
// which skips the name step, after its text (kept in the draft, so the preview and
// the save agree); any other draft keeps its name.
func nameForCaller(ctx context.Context, t *Turn, s *Session, d *templateDraft) error {
	if d.Name != "" || !s.Nested() {
		return nil
	}
	name, err := defaultTemplateName(ctx, t, d.Body)
	if err != nil {
		return err
	}
	d.Name = name
	return s.Save(*d)
}

// defaultTemplateName names a template after its text's first line.
func defaultTemplateName(ctx context.Context, t *Turn, text string) (string, error) {
	base := firstLine(text)
	if base == "" {
		base = t.L.T("guide.untitled_template")
	}
	return freeName(base, func(name string) (bool, error) { return templates(t).TemplateNameTaken(ctx, name, 0) })
}

// defaultBatchName names a list after its file (pasted ids: a dated name).
func defaultBatchName(ctx context.Context, t *Turn, fileName string) (string, error) {
	base := nameFromFile(fileName)
	if base == "" {
		base = t.L.T("guide.untitled_batch", i18n.Data{"Date": t.Now.Format("2006-01-02")})
	}
	return freeName(base, func(name string) (bool, error) { return batches(t).BatchNameTaken(ctx, name) })
}

// registerQuick registers the sender bot whose token the token step verified, named
// after the bot, at the free rate: the wizard's sub-dialog ends here.
func registerQuick(ctx context.Context, t *Turn, s *Session, d channelDraft) (string, error) {
	box := t.Services().Box
	if box == nil {
		return "", Invalid("chan.no_secret_key", nil)
	}
	token, err := box.Open(d.Sealed)
	if err != nil {
		return "", errors.New("channel registration: the sealed token does not open (key changed?)")
	}
	name, err := CheckName(d.Name)
	if err != nil {
		name = d.Username
	}
	c, err := channels(t).ChannelCreate(ctx, box, store.ChannelCreateParams{
		BotUserID: d.BotID, Username: d.Username, Name: name, Token: string(token),
		RatePerSecond: store.ChannelMaxRate, CreatedBy: t.Actor.UserID, VerifiedAt: t.Now,
	})
	var exists *store.ChannelExistsError
	switch {
	case errors.As(err, &exists):
		return "", Invalid("chan.exists", i18n.Data{"Name": esc(exists.Name), "Username": esc(d.Username)})
	case err != nil:
		return "", err
	}
	if err := t.Audit(ctx, "channel.registered", channelTarget(c.ID), map[string]any{
		"name": c.Name, "username": c.Username, "bot_user_id": c.BotUserID, "rate": c.RatePerSecond, "paid_broadcast": false,
	}); err != nil {
		return "", err
	}
	s.Return(c.ID)
	t.Say("guide.channel_registered", i18n.Data{"Name": esc(c.Name), "Username": esc(c.Username),
		"Rate": rateText(t, c.RatePerSecond, false)})
	return Done, nil
}

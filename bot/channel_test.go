package bot_test

import (
	"strings"
	"testing"

	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"

	"herald/tgemu"
)

func TestChannelRegistrationKeepsTheTokenSecret(t *testing.T) {
	t.Parallel()
	b := setup(t)
	logs := b.captureLogs()
	box := b.withSecrets(t)
	b.start(t)
	owner := b.owner
	sender := b.srv.CreateBot("acme_sender_bot")
	_, secret, _ := strings.Cut(sender.Token, ":")

	// A token Telegram does not know: deleted all the same, and refused clearly.
	b.command(t, owner, "/newchannel")
	require.Contains(t, b.next(t, owner).Text, "Send the bot's token")
	wrong := "987654321:" + strings.Repeat("Z", 35)
	wrongMsg, err := owner.SendText(b.token, wrong)
	require.NoError(t, err)
	require.Contains(t, b.next(t, owner).Text, "Telegram does not accept this token")
	require.True(t, b.deleted(t, owner, wrongMsg.MessageID), "the message with a wrong token stays")

	// Not a token at all.
	b.send(t, owner, "hello")
	require.Contains(t, b.next(t, owner).Text, "That is not a bot token")

	// The real one.
	tokenMsg, err := owner.SendText(b.token, sender.Token)
	require.NoError(t, err)
	named := b.next(t, owner)
	require.Contains(t, named.Text, "Token verified: @acme_sender_bot")
	require.True(t, b.deleted(t, owner, tokenMsg.MessageID), "the token message was not deleted")
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM dialog_sessions WHERE strpos(draft::text, $1) > 0`, secret))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM dialog_sessions WHERE draft ? 'sealed'`))
	b.press(t, owner, named, "Send-only")
	require.Contains(t, b.next(t, owner).Text, "how should Herald call")

	b.send(t, owner, "Main sender")
	rate := b.next(t, owner)
	require.Contains(t, rate.Text, "0.1 Stars")
	b.send(t, owner, "5000")
	require.Contains(t, b.next(t, owner).Text, "whole number from 1 to 1000")
	b.send(t, owner, "250")
	done := b.next(t, owner)
	require.Contains(t, done.Text, "Main sender (@acme_sender_bot) is registered: 250 messages/s with paid broadcasts")

	var sealed []byte
	var rateStored int
	var paid bool
	require.NoError(t, b.st.Pool().QueryRow(b.ctx, `SELECT token_ciphertext, rate_per_second, paid_broadcast FROM channels WHERE username = 'acme_sender_bot'`).
		Scan(&sealed, &rateStored, &paid))
	require.Equal(t, 250, rateStored)
	require.True(t, paid)
	require.NotContains(t, string(sealed), secret)
	opened, err := box.Open(sealed)
	require.NoError(t, err)
	require.Equal(t, sender.Token, string(opened))
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM channels c WHERE strpos(c::text, $1) > 0`, secret))
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM audit_log a WHERE strpos(a::text, $1) > 0`, secret))
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM dialog_sessions d WHERE strpos(d::text, $1) > 0`, secret))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM audit_log WHERE action = 'channel.registered'`))

	// Registering the same bot again is refused, naming the channel.
	b.command(t, owner, "/newchannel")
	b.next(t, owner)
	again, err := owner.SendText(b.token, sender.Token)
	require.NoError(t, err)
	require.Contains(t, b.next(t, owner).Text, "@acme_sender_bot is already registered as Main sender")
	require.True(t, b.deleted(t, owner, again.MessageID))
	b.command(t, owner, "/cancel")
	b.next(t, owner)

	// The card: rename, rate, disable, re-verify, remove.
	b.command(t, owner, "/channels")
	list := b.next(t, owner)
	require.Contains(t, list.Text, "1 channel bot")
	b.press(t, owner, list, "Main sender")
	card := b.waitEdited(t, owner, list.MessageID, "Last verified")
	b.press(t, owner, card, "Rename")
	require.Contains(t, b.next(t, owner).Text, "New name for the channel bot")
	b.send(t, owner, "Backup sender")
	require.Contains(t, b.next(t, owner).Text, "now called Backup sender")

	b.press(t, owner, card, "Rate")
	b.next(t, owner)
	b.send(t, owner, "20")
	require.Contains(t, b.next(t, owner).Text, "Rate set: 20 messages/s (free)")

	b.press(t, owner, card, "Disable")
	card = b.waitEdited(t, owner, card.MessageID, "disabled")
	answer := b.press(t, owner, card, "Re-verify")
	require.Contains(t, answer.Text, "the token works")

	b.press(t, owner, card, "Remove")
	ask := b.waitEdited(t, owner, card.MessageID, "Remove the channel bot")
	b.press(t, owner, ask, "Yes, remove")
	b.waitEdited(t, owner, card.MessageID, "No channel bots yet")
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM channels`))
	for _, action := range []string{"channel.renamed", "channel.rate_changed", "channel.disabled", "channel.verified", "channel.removed"} {
		require.Equal(t, 1, b.count(t, `SELECT count(*) FROM audit_log WHERE action = $1`, action), action)
	}
	require.Empty(t, b.srv.UnansweredCallbacks(b.token))

	// Nothing the bot logged during the whole test holds the token.
	require.NotContains(t, logs.String(), secret)
}

func TestChannelRegistrationWithoutSecretKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)
	b.command(t, b.owner, "/newchannel")
	require.Contains(t, b.next(t, b.owner).Text, "the operator has not set HERALD_SECRET_KEY")
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM dialog_sessions`))
}

// deleted reports whether message id in u's chat with the management bot is deleted.
func (b *testBundle) deleted(t *testing.T, u *tgemu.User, id int) bool {
	t.Helper()
	for _, e := range b.srv.Transcript(b.token, u.ID) {
		if e.Message.MessageID == id {
			return e.Deleted
		}
	}
	t.Fatalf("no message %d in the chat", id)
	return false
}

// TestChannelTokenFromBotFatherMessage: BotFather's whole message is pasted as it
// comes; the token is found in it (and the message deleted), a token broken by line
// breaks is joined, and Back from the name step keeps the verified token.
func TestChannelTokenFromBotFatherMessage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.withSecrets(t)
	b.start(t)
	owner := b.owner
	sender := b.srv.CreateBot("acme_sender_bot")
	id, secret, _ := strings.Cut(sender.Token, ":")

	b.command(t, owner, "/newchannel")
	ask := b.next(t, owner)
	require.Equal(t, "https://t.me/BotFather", buttonURL(t, ask, "Open @BotFather"))
	b.press(t, owner, ask, "How do I get a token?")
	require.Contains(t, b.next(t, owner).Text, "/newbot")
	b.next(t, owner) // the question again

	// A copy wrapped by a phone: spaces and a line break inside.
	wrapped, err := owner.SendText(b.token, " "+id+":"+secret[:10]+"\n"+secret[10:20]+" "+secret[20:]+"\n")
	require.NoError(t, err)
	named := b.next(t, owner)
	require.Contains(t, named.Text, "Token verified: @acme_sender_bot")
	require.True(t, b.deleted(t, owner, wrapped.MessageID), "the token message was not deleted")

	// Back keeps the token: one press continues with it.
	b.press(t, owner, named, "Back")
	back := b.nextContaining(t, owner, "Send the bot's token")
	b.press(t, owner, back, "Keep @acme_sender_bot")
	require.Contains(t, b.next(t, owner).Text, "Token verified: @acme_sender_bot")
	b.command(t, owner, "/cancel")
	b.next(t, owner)

	// BotFather's whole message.
	b.command(t, owner, "/newchannel")
	b.next(t, owner)
	whole := "Done! Congratulations on your new bot. You will find it at t.me/acme_sender_bot. " +
		"You can now add a description, about section and profile picture for your bot, see /help for a list of commands.\n\n" +
		"Use this token to access the HTTP API:\n" + sender.Token + "\nKeep your token secure and store it safely, " +
		"it can be used by anyone to control your bot.\n\nFor a description of the Bot API, see this page: https://core.telegram.org/bots/api"
	msg, err := owner.SendText(b.token, whole)
	require.NoError(t, err)
	verifiedMsg := b.next(t, owner)
	require.Contains(t, verifiedMsg.Text, "Token verified: @acme_sender_bot")
	require.True(t, b.deleted(t, owner, msg.MessageID), "BotFather's message with the token was not deleted")
	b.press(t, owner, verifiedMsg, "Send-only")
	b.next(t, owner)
	b.send(t, owner, "Main")
	b.next(t, owner)
	b.send(t, owner, "30")
	require.Contains(t, b.next(t, owner).Text, "is registered")
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM channels WHERE username = 'acme_sender_bot'`))
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM dialog_sessions d WHERE strpos(d::text, $1) > 0`, secret))
}

func buttonURL(t *testing.T, m telego.Message, label string) string {
	t.Helper()
	require.NotNil(t, m.ReplyMarkup, "message %q has no keyboard", m.Text)
	for _, row := range m.ReplyMarkup.InlineKeyboard {
		for _, btn := range row {
			if strings.Contains(btn.Text, label) {
				return btn.URL
			}
		}
	}
	t.Fatalf("no button %q in %q", label, m.Text)
	return ""
}

package bot_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mymmrac/telego"

	"github.com/stretchr/testify/require"

	"herald/importer"
	"herald/store"
	"herald/tgemu"
)

// TestCampaignWizardAudiences: for a bot with subscribers, the wizard's third step
// offers its audiences on one screen; the summary says who is reached and who is left
// out (suppressed, unsubscribed, never started the bot) before Confirm; a campaign to
// every subscriber reaches the active ones only, with their profile's first name.
func TestCampaignWizardAudiences(t *testing.T) {
	t.Parallel()
	b := setup(t)
	box := b.withSecrets(t)
	b.withDelivery(t, box)
	b.start(t)
	owner := b.owner
	fx := b.campaignFixture(t, box)

	// The owner and Xenia started the sender (Xenia via a promo link); Yan blocked
	// it, Zoe sent /stop. The batch "Mixed" is the owner, Zoe and an id nobody knows.
	xenia := b.srv.CreateUser(tgemu.UserSpec{FirstName: "Xenia"})
	yan := b.srv.CreateUser(tgemu.UserSpec{FirstName: "Yan"})
	zoe := b.srv.CreateUser(tgemu.UserSpec{FirstName: "Zoe"})
	b.srv.SetStarted(fx.sender.Token, owner, xenia, yan, zoe)
	for _, s := range []struct {
		u      *tgemu.User
		name   string
		source string
		status string
	}{{owner, "Olga", "", "active"}, {xenia, "Xenia", "promo", "active"}, {yan, "Yan", "", "blocked"}, {zoe, "Zoe", "promo", "stopped"}} {
		_, err := b.st.Pool().Exec(b.ctx, `
			INSERT INTO subscribers (channel_id, chat_id, first_name, source, status, joined_at)
			VALUES ($1, $2, $3, $4, $5, now() - interval '3 days')`, fx.channel.ID, s.u.ID, s.name, s.source, s.status)
		require.NoError(t, err)
	}
	rd, err := importer.OpenCSV(strings.NewReader(fmt.Sprintf("chat_id\n%d\n%d\n777000777\n", owner.ID, zoe.ID)))
	require.NoError(t, err)
	_, err = b.st.BatchImport(b.ctx, store.BatchImportParams{Name: "Mixed", CreatedBy: owner.ID, Source: rd})
	require.NoError(t, err)

	b.command(t, owner, "/newcampaign")
	b.pick(t, owner, "Welcome") // the only bot is chosen by itself: no step of its own
	screen := b.nextContaining(t, owner, "Step 2\nTo whom?")
	require.Contains(t, screen.Text, "To whom?")
	for _, label := range []string{"Everyone who started the bot · 2", "Came via «promo» · 1", "Started the bot since a date",
		"👥 Clients · 2", "👥 Mixed · 3", "only those who started the bot"} {
		buttonData(t, screen, label)
	}

	// A batch intersected with the subscribers: the id nobody knows is left out.
	b.pressData(t, owner, screen.MessageID, intersect(t, screen, "Mixed"))
	require.Equal(t, "Hello, Olga! See you in town.", b.next(t, owner).Text)
	summary := b.next(t, owner)
	require.Contains(t, summary.Text, "Audience: Mixed, only those who started the bot")
	require.Contains(t, summary.Text, "Sending to: 1 recipient (suppressed: 0)")
	require.Contains(t, summary.Text, "Left out: unsubscribed (/stop) 1 · never started the bot 1")

	// Since a date: a date it cannot read is refused; "last 7 days" is one press.
	b.press(t, owner, summary, "Edit")
	b.pick(t, owner, "Welcome", "Started the bot since a date")
	b.nextContaining(t, owner, "Since when?")
	b.send(t, owner, "someday")
	refused := b.next(t, owner)
	require.Contains(t, refused.Text, "could not read that date")
	b.press(t, owner, refused, "last 7 days")
	b.next(t, owner) // the preview
	summary = b.next(t, owner)
	require.Contains(t, summary.Text, "subscribers who started the bot since")
	require.Contains(t, summary.Text, "Sending to: 2 recipients (suppressed: 1)")
	require.Contains(t, summary.Text, "Left out: unsubscribed (/stop) 1 · never started the bot 0")

	// Everyone who started the bot: confirmed and sent to the two active ones.
	b.press(t, owner, summary, "Edit")
	b.pick(t, owner, "Welcome", "Everyone who started the bot")
	b.next(t, owner) // the preview
	summary = b.next(t, owner)
	require.Contains(t, summary.Text, "Audience: everyone who started the bot")
	b.press(t, owner, summary, "Send now")
	b.nextContaining(t, owner, "is confirmed and starts now")
	var audience string
	require.NoError(t, b.st.Pool().QueryRow(b.ctx, `SELECT audience FROM campaigns`).Scan(&audience))
	require.Equal(t, store.AudienceSubscribers, audience)
	eventually(t, func() bool {
		return b.count(t, `SELECT count(*) FROM campaigns WHERE status = 'completed'`) == 1
	})
	got := func(u *tgemu.User) []string {
		var texts []string
		for _, e := range b.srv.Transcript(fx.sender.Token, u.ID) {
			if e.FromBot {
				texts = append(texts, e.Message.Text)
			}
		}
		return texts
	}
	require.Equal(t, []string{"Hello, Olga! See you in town."}, got(owner))
	require.Equal(t, []string{"Hello, Xenia! See you in town."}, got(xenia))
	require.Empty(t, got(yan))
	require.Empty(t, got(zoe))
}

// TestCampaignWizardSeveralBots: with two enabled bots the channel step offers both at
// once; the summary names both and the campaign is created with both.
func TestCampaignWizardSeveralBots(t *testing.T) {
	t.Parallel()
	b := setup(t)
	box := b.withSecrets(t)
	b.withQueue(t)
	b.start(t)
	owner := b.owner
	b.campaignFixture(t, box)
	second := b.srv.CreateBot("acme_second_bot")
	_, err := b.st.ChannelCreate(b.ctx, box, store.ChannelCreateParams{BotUserID: second.ID, Username: second.Username,
		Name: "Second", Token: second.Token, RatePerSecond: 1, CreatedBy: owner.ID})
	require.NoError(t, err)

	b.command(t, owner, "/newcampaign")
	b.pick(t, owner, "Welcome", "All 2 bots")
	b.next(t, owner) // the preview
	summary := b.next(t, owner)
	require.Contains(t, summary.Text, "Channel bot: Main (@acme_sender_bot), 1 messages/s (free); Second (@acme_second_bot), 1 messages/s (free)")
	require.Contains(t, summary.Text, "Estimated duration: about 1 s")
	b.press(t, owner, summary, "Send now")
	b.nextContaining(t, owner, "is confirmed")
	require.Equal(t, 2, b.count(t, `SELECT count(*) FROM campaign_channels`))
}

// intersect is the data of the "only those who started the bot" button in batch's row.
func intersect(t *testing.T, m telego.Message, batch string) string {
	t.Helper()
	for _, row := range m.ReplyMarkup.InlineKeyboard {
		if len(row) == 2 && strings.Contains(row[0].Text, batch) {
			return row[1].CallbackData
		}
	}
	t.Fatalf("no intersection button for %s in %q", batch, m.Text)
	return ""
}

package bot_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"

	"herald/importer"
	"herald/queue"
	"herald/secrets"
	"herald/store"
	"herald/tgemu"
)

// campaignFixture is a channel bot, two templates and a batch whose first recipient
// is the owner.
type campaignFixture struct {
	sender  *tgemu.Bot
	channel store.Channel
}

func (b *testBundle) campaignFixture(t *testing.T, box *secrets.Box) campaignFixture {
	t.Helper()
	for _, tp := range []store.Template{
		{Name: "Coupon", Body: "Hi {{first_name}}, your code is {{code}}"},
		{Name: "Welcome", Body: "Hello, {{first_name}}! See you in {{city|town}}."},
	} {
		tp.Entities, tp.Buttons, tp.CreatedBy = json.RawMessage(`[]`), json.RawMessage(`[]`), b.owner.ID
		_, err := b.st.TemplateCreate(b.ctx, tp)
		require.NoError(t, err)
	}
	rd, err := importer.OpenCSV(strings.NewReader(fmt.Sprintf("chat_id,first_name\n%d,Olga\n%d,Petr\n", b.owner.ID, b.owner.ID+1)))
	require.NoError(t, err)
	_, err = b.st.BatchImport(b.ctx, store.BatchImportParams{Name: "Clients", CreatedBy: b.owner.ID, Source: rd})
	require.NoError(t, err)
	sender := b.srv.CreateBot("acme_sender_bot")
	c, err := b.st.ChannelCreate(b.ctx, box, store.ChannelCreateParams{BotUserID: sender.ID, Username: sender.Username,
		Name: "Main", Token: sender.Token, RatePerSecond: 1, CreatedBy: b.owner.ID})
	require.NoError(t, err)
	return campaignFixture{sender: sender, channel: c}
}

// pick walks the wizard's template, batch, channel steps by button labels, up to the
// summary; a piece that is the only one of its kind is chosen by itself, unasked.
func (b *testBundle) pick(t *testing.T, u *tgemu.User, labels ...string) {
	t.Helper()
	for _, label := range labels {
		m := b.nextContaining(t, u, "tep ") // "step 1", "Step 2"…
		b.press(t, u, m, label)
	}
}

func TestCampaignWizard(t *testing.T) {
	t.Parallel()
	b := setup(t)
	box := b.withSecrets(t)
	b.withQueue(t)
	b.start(t)
	owner := b.owner
	fx := b.campaignFixture(t, box)

	// A template variable the batch lacks, without a default, blocks the campaign.
	b.command(t, owner, "/newcampaign")
	b.pick(t, owner, "Coupon")
	rendered := b.next(t, owner)
	require.Equal(t, "Hi Olga, your code is ", rendered.Text)
	summary := b.next(t, owner)
	require.Contains(t, summary.Text, "This campaign cannot start")
	require.Contains(t, summary.Text, "the template uses {{code}}")
	for _, row := range summary.ReplyMarkup.InlineKeyboard {
		for _, btn := range row {
			require.NotContains(t, btn.Text, "Send now")
		}
	}

	// Edit: another template. The summary shows recipients and the estimate.
	b.press(t, owner, summary, "Edit")
	b.pick(t, owner, "Welcome")
	rendered = b.next(t, owner)
	require.Equal(t, "Hello, Olga! See you in town.", rendered.Text)
	summary = b.next(t, owner)
	require.Contains(t, summary.Text, "Sending to: 2 recipients (suppressed: 0)")
	require.Contains(t, summary.Text, "Estimated duration: about 2 s")
	require.Contains(t, summary.Text, "Start: now")

	// The test goes through the channel bot, which the owner has not started yet.
	b.press(t, owner, summary, "Send test to me")
	refused := b.next(t, owner)
	require.Contains(t, refused.Text, "@acme_sender_bot can only write to people who have started it")
	b.srv.SetStarted(fx.sender.Token, owner)
	b.press(t, owner, refused, "Send test to me")
	sent := b.next(t, owner)
	require.Contains(t, sent.Text, "Test sent to you through @acme_sender_bot")
	transcript := b.srv.Transcript(fx.sender.Token, owner.ID)
	require.NotEmpty(t, transcript)
	require.Equal(t, "Hello, Olga! See you in town.", transcript[len(transcript)-1].Message.Text)
	require.True(t, transcript[len(transcript)-1].FromBot)

	// Confirm pressed twice quickly: one campaign, one start job.
	data := buttonData(t, sent, "Send now")
	first, err := owner.Press(b.token, sent.MessageID, data)
	require.NoError(t, err)
	second, err := owner.Press(b.token, sent.MessageID, data)
	require.NoError(t, err)
	eventually(t, func() bool {
		_, ok1 := b.srv.CallbackAnswerFor(b.token, first)
		_, ok2 := b.srv.CallbackAnswerFor(b.token, second)
		return ok1 && ok2
	})
	confirmed := b.nextContaining(t, owner, "is confirmed and starts now")
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM campaigns`))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM river_job WHERE kind = 'campaign_start'`))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM audit_log WHERE action = 'campaign.confirmed'`))
	var key string
	require.NoError(t, b.st.Pool().QueryRow(b.ctx, `SELECT request_key FROM campaigns`).Scan(&key))
	require.True(t, strings.HasPrefix(key, fmt.Sprintf("wizard:%d:", owner.ID)), key)

	// The campaign card, and the channel cannot be removed under it.
	b.press(t, owner, confirmed, "Open")
	card := b.waitEdited(t, owner, confirmed.MessageID, "Deliveries")
	require.Contains(t, card.Text, "scheduled")
	b.command(t, owner, "/channels")
	channels := b.next(t, owner)
	b.press(t, owner, channels, "Main")
	b.press(t, owner, b.waitEdited(t, owner, channels.MessageID, "Last verified"), "Remove")
	answer := b.press(t, owner, b.waitEdited(t, owner, channels.MessageID, "Remove the channel bot"), "Yes, remove")
	require.Contains(t, answer.Text, "used by unfinished campaigns #")
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM channels`))

	// A viewer sees the card but cannot press its buttons.
	viewer := b.user(t, "Vic", "en")
	b.addAdmin(t, viewer, store.RoleViewer)
	b.command(t, viewer, "/campaigns")
	vlist := b.next(t, viewer)
	b.press(t, viewer, vlist, "#")
	vcard := b.waitEdited(t, viewer, vlist.MessageID, "Deliveries")
	require.Contains(t, b.press(t, viewer, vcard, "Cancel campaign").Text, "your role does not allow changes")

	// Cancel from the card asks first, saying what is lost; the first press changes
	// nothing. Then the engine's pause button says why it cannot.
	before := b.snapshot(t)
	b.press(t, owner, card, "Cancel campaign")
	question := b.waitEdited(t, owner, card.MessageID, "This cannot be undone")
	require.Contains(t, question.Text, "It has not started: none of its messages will be sent")
	require.Equal(t, before, b.snapshot(t), "the first press of Cancel changed the database")
	b.press(t, owner, question, "Yes, cancel")
	b.waitEdited(t, owner, card.MessageID, "cancelled")
	var id int64
	require.NoError(t, b.st.Pool().QueryRow(b.ctx, `SELECT id FROM campaigns`).Scan(&id))
	// The delivery engine's progress message carries queue's control buttons.
	tg, err := telego.NewBot(b.token, telego.WithAPIServer(b.srv.URL()), telego.WithDiscardLogger())
	require.NoError(t, err)
	progress, err := tg.SendMessage(b.ctx, &telego.SendMessageParams{ChatID: telego.ChatID{ID: owner.ID}, Text: "progress",
		ReplyMarkup: &telego.InlineKeyboardMarkup{InlineKeyboard: [][]telego.InlineKeyboardButton{{
			{Text: "Pause", CallbackData: queue.ControlCallbackData(queue.ActionPause, id)}}}}})
	require.NoError(t, err)
	pause := b.press(t, owner, *progress, "Pause")
	require.Equal(t, fmt.Sprintf("Cannot pause campaign #%d: it is cancelled.", id), pause.Text)
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM audit_log WHERE action = 'campaign.cancel'`))
	require.Empty(t, b.srv.UnansweredCallbacks(b.token))
}

func TestCampaignScheduledInAdminTimeZone(t *testing.T) {
	t.Parallel()
	b := setup(t)
	box := b.withSecrets(t)
	b.withQueue(t)
	b.start(t)
	owner := b.owner
	b.campaignFixture(t, box)

	zone := time.FixedZone("UTC+3", 3*3600)
	at := time.Now().In(zone).AddDate(0, 0, 2)
	at = time.Date(at.Year(), at.Month(), at.Day(), 18, 30, 0, 0, zone)

	b.command(t, owner, "/newcampaign")
	b.pick(t, owner, "Welcome")
	b.press(t, owner, b.nextContaining(t, owner, "check and confirm"), "Schedule")
	b.nextContaining(t, owner, "When shall it start?")
	b.send(t, owner, "someday")
	require.Contains(t, b.next(t, owner).Text, "could not read that date")
	b.send(t, owner, at.Format("02.01 15:04"))
	require.Contains(t, b.next(t, owner).Text, "Which time zone")
	b.send(t, owner, "Mars/Olympus")
	require.Contains(t, b.next(t, owner).Text, "do not know this time zone")
	b.send(t, owner, "UTC+3")
	b.next(t, owner) // the rendered message
	summary := b.next(t, owner)
	// Dates as the admin reads them: "4 December 2027, 18:30 UTC+3".
	date := fmt.Sprintf("%d %s %d, 18:30 UTC+3", at.Day(), at.Month(), at.Year())
	require.Contains(t, summary.Text, "Start: "+date)
	b.press(t, owner, summary, "Confirm")
	require.Contains(t, b.next(t, owner).Text, "is scheduled for "+date)

	var scheduled, jobAt time.Time
	require.NoError(t, b.st.Pool().QueryRow(b.ctx, `SELECT scheduled_at FROM campaigns`).Scan(&scheduled))
	require.True(t, at.Equal(scheduled), "campaign at %s, want %s", scheduled, at)
	require.NoError(t, b.st.Pool().QueryRow(b.ctx, `
		SELECT j.scheduled_at FROM river_job j JOIN campaigns c ON (j.args->>'campaign_id')::bigint = c.id
		WHERE j.kind = 'campaign_start' AND j.state = 'scheduled'`).Scan(&jobAt))
	// The job is made available a few seconds early and waits for the exact time itself.
	require.WithinDuration(t, at, jobAt, 10*time.Second)
	require.False(t, jobAt.After(at))
	tz, err := b.st.AdminTimeZone(b.ctx, owner.ID)
	require.NoError(t, err)
	require.Equal(t, "+03:00", tz)

	// The zone is remembered: the next wizard does not ask again.
	b.command(t, owner, "/newcampaign")
	b.pick(t, owner, "Welcome")
	b.press(t, owner, b.nextContaining(t, owner, "check and confirm"), "Schedule")
	require.Contains(t, b.nextContaining(t, owner, "When shall it start?").Text, "Your time zone: +03:00")
}

// TestCampaignTestSendWithPhoto: the test send of a photo template downloads the photo
// from the management bot and uploads it through the channel bot (a file_id belongs to
// one bot).
func TestCampaignTestSendWithPhoto(t *testing.T) {
	t.Parallel()
	b := setup(t)
	box := b.withSecrets(t)
	b.withQueue(t)
	b.start(t)
	owner := b.owner
	fx := b.campaignFixture(t, box)
	b.srv.SetStarted(fx.sender.Token, owner)

	photo, err := owner.SendPhoto(b.token, []byte("\x89PNG photo bytes"), "")
	require.NoError(t, err)
	b.next(t, owner) // "open the menu" hint
	require.NotEmpty(t, photo.Photo)
	p := photo.Photo[len(photo.Photo)-1]
	_, err = b.st.TemplateCreate(b.ctx, store.Template{Name: "Photo", Body: "Look, {{first_name}}!",
		Entities: json.RawMessage(`[]`), Buttons: json.RawMessage(`[[{"text":"Shop","url":"https://example.com"}]]`),
		MediaKind: "photo", MediaFileID: p.FileID, MediaUniqueID: p.FileUniqueID, CreatedBy: owner.ID})
	require.NoError(t, err)

	b.command(t, owner, "/newcampaign")
	b.pick(t, owner, "Photo")
	preview := b.next(t, owner)
	require.Equal(t, "Look, Olga!", preview.Caption)
	summary := b.next(t, owner)
	b.press(t, owner, summary, "Send test to me")
	require.Contains(t, b.next(t, owner).Text, "Test sent")

	transcript := b.srv.Transcript(fx.sender.Token, owner.ID)
	require.NotEmpty(t, transcript)
	got := transcript[len(transcript)-1].Message
	require.Equal(t, "Look, Olga!", got.Caption)
	require.NotEmpty(t, got.Photo)
	require.NotEqual(t, p.FileID, got.Photo[len(got.Photo)-1].FileID, "uploaded afresh, not the management bot's file_id")
	require.Equal(t, "https://example.com", got.ReplyMarkup.InlineKeyboard[0][0].URL)
}

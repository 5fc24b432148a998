package channelbot_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"herald/tgemu"
)

// TestPaidBotRepliesAboveTheFreeLimit: a bot with paid broadcasts answers a burst of
// starts at its own rate, above Telegram's free 30/s, so its replies carry
// allow_paid_broadcast as its campaigns do; without it Telegram answers 429.
func TestPaidBotRepliesAboveTheFreeLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, tgemu.Config{PerChatDisabled: true})
	ch, eb := b.managedBot(t, "paid_bot")
	require.NoError(t, b.st.ChannelSetRate(b.ctx, ch.ID, 100, true))
	b.srv.SetPaidRate(eb.Token, 100) // the free limit stays the emulator's 30/s
	b.startIntake(t, nil)
	users := b.srv.CreateUsers(150, tgemu.UserSpec{LanguageCode: "en"})
	for _, u := range users {
		_, err := u.Start(eb.Token)
		require.NoError(t, err)
	}
	for _, u := range users {
		_, err := u.WaitBotMessage(eb.Token, patience())
		require.NoError(t, err)
	}
	st := b.srv.Stats(eb.Token)
	require.EqualValues(t, len(users), st.Sent)
	require.Zero(t, st.TooManyRequests)
	require.LessOrEqual(t, st.MaxPerSecond, 100)
	require.Greater(t, st.MaxPerSecond, 30, "above the free limit")
}

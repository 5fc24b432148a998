package channelbot_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"herald/channelbot"
	"herald/store"
	"herald/tgemu"
)

func TestStartRecordsSubscriberWithFirstSource(t *testing.T) {
	t.Parallel()
	bothModes(t, func(t *testing.T, webhook bool) {
		b := setup(t, tgemu.Config{})
		b.webhook = webhook
		ch, eb := b.managedBot(t, "shop_bot")
		b.startIntake(t, nil)
		ann := b.srv.CreateUser(tgemu.UserSpec{FirstName: "Анна", LastName: "Иванова", Username: "anna_ivanova", LanguageCode: "ru"})

		_, err := ann.StartWithPayload(eb.Token, "promo_nov")
		require.NoError(t, err)
		welcome, err := ann.WaitBotMessage(eb.Token, patience())
		require.NoError(t, err)
		require.Contains(t, welcome.Text, "Вы подписаны", "the built-in welcome in the user's language")
		s, ok := b.subscriber(t, ch.ID, ann.ID)
		require.True(t, ok, "the reply comes after the write")
		require.Equal(t, store.Subscriber{ChannelID: ch.ID, ChatID: ann.ID, FirstName: "Анна", LastName: "Иванова",
			Username: "anna_ivanova", LanguageCode: "ru", Source: "promo_nov", Status: store.SubscriberActive,
			JoinedAt: s.JoinedAt, LastSeenAt: s.LastSeenAt, StatusChangedAt: s.StatusChangedAt}, s)

		// A second start from another link keeps the first source; a plain message is seen.
		_, err = ann.StartWithPayload(eb.Token, "summer_sale")
		require.NoError(t, err)
		_, err = ann.WaitBotMessage(eb.Token, patience())
		require.NoError(t, err)
		again, _ := b.subscriber(t, ch.ID, ann.ID)
		require.Equal(t, "promo_nov", again.Source)
		require.Equal(t, s.JoinedAt, again.JoinedAt)

		// A payload Telegram would not carry is not a source; an English user gets English.
		bob := b.srv.CreateUser(tgemu.UserSpec{FirstName: "Bob", LanguageCode: "en"})
		_, err = bob.StartWithPayload(eb.Token, "not a payload!")
		require.NoError(t, err)
		hello, err := bob.WaitBotMessage(eb.Token, patience())
		require.NoError(t, err)
		require.Contains(t, hello.Text, "You are subscribed")
		bs, _ := b.subscriber(t, ch.ID, bob.ID)
		require.Equal(t, "", bs.Source)
	})
}

func TestBlockSuppressesAndUnblockRestores(t *testing.T) {
	t.Parallel()
	bothModes(t, func(t *testing.T, webhook bool) {
		b := setup(t, tgemu.Config{})
		b.webhook = webhook
		ch, eb := b.managedBot(t, "shop_bot")
		b.startIntake(t, nil)
		u := b.srv.CreateUser(tgemu.UserSpec{FirstName: "Carl"})
		_, err := u.Start(eb.Token)
		require.NoError(t, err)
		_, err = u.WaitBotMessage(eb.Token, patience())
		require.NoError(t, err)

		u.Block(eb.Token)
		eventually(t, "blocked", func() bool { s, _ := b.subscriber(t, ch.ID, u.ID); return s.Status == store.SubscriberBlocked })
		suppressed, err := b.st.SuppressionHas(b.ctx, ch.ID, u.ID)
		require.NoError(t, err)
		require.True(t, suppressed)

		u.Unblock(eb.Token)
		eventually(t, "active again", func() bool { s, _ := b.subscriber(t, ch.ID, u.ID); return s.Status == store.SubscriberActive })
		suppressed, err = b.st.SuppressionHas(b.ctx, ch.ID, u.ID)
		require.NoError(t, err)
		require.False(t, suppressed)

		// A suppression an admin added by hand is not lifted by a start.
		require.NoError(t, b.st.SuppressionAdd(b.ctx, ch.ID, u.ID, store.SuppressManual))
		_, err = u.Start(eb.Token)
		require.NoError(t, err)
		_, err = u.WaitBotMessage(eb.Token, patience())
		require.NoError(t, err)
		suppressed, err = b.st.SuppressionHas(b.ctx, ch.ID, u.ID)
		require.NoError(t, err)
		require.True(t, suppressed)
	})
}

func TestStopInRussianAndEnglish(t *testing.T) {
	t.Parallel()
	bothModes(t, func(t *testing.T, webhook bool) {
		b := setup(t, tgemu.Config{})
		b.webhook = webhook
		ch, eb := b.managedBot(t, "shop_bot")
		b.startIntake(t, nil)
		for _, c := range []struct{ lang, say, answer string }{
			{"en", "/stop", "You have unsubscribed"},
			{"ru", "/stop", "Вы отписались"},
			{"ru", "Стоп", "Вы отписались"},
			{"en", "unsubscribe", "You have unsubscribed"},
		} {
			u := b.srv.CreateUser(tgemu.UserSpec{LanguageCode: c.lang})
			_, err := u.Start(eb.Token)
			require.NoError(t, err)
			_, err = u.WaitBotMessage(eb.Token, patience())
			require.NoError(t, err)
			_, err = u.SendText(eb.Token, c.say)
			require.NoError(t, err)
			m, err := u.WaitBotMessage(eb.Token, patience())
			require.NoError(t, err)
			require.Contains(t, m.Text, c.answer, c)
			s, _ := b.subscriber(t, ch.ID, u.ID)
			require.Equal(t, store.SubscriberStopped, s.Status, c)
		}
		// A sentence with the word is a message, not an unsubscription.
		u := b.srv.CreateUser(tgemu.UserSpec{LanguageCode: "en"})
		_, err := u.Start(eb.Token)
		require.NoError(t, err)
		_, err = u.WaitBotMessage(eb.Token, patience())
		require.NoError(t, err)
		_, err = u.SendText(eb.Token, "please stop the music")
		require.NoError(t, err)
		eventually(t, "seen", func() bool { return b.srv.PendingUpdates(eb.Token) == 0 })
		time.Sleep(100 * time.Millisecond)
		s, _ := b.subscriber(t, ch.ID, u.ID)
		require.Equal(t, store.SubscriberActive, s.Status)
	})
}

func TestWelcomeTemplateIsTheAnswer(t *testing.T) {
	t.Parallel()
	bothModes(t, func(t *testing.T, webhook bool) {
		b := setup(t, tgemu.Config{})
		b.webhook = webhook
		ch, eb := b.managedBot(t, "shop_bot")
		id, err := b.st.TemplateCreate(b.ctx, store.Template{Name: "Welcome", Body: "Hi {{first_name}}, welcome to the shop!", CreatedBy: 1})
		require.NoError(t, err)
		require.NoError(t, b.st.ChannelSetWelcome(b.ctx, ch.ID, &id))
		b.startIntake(t, nil)
		u := b.srv.CreateUser(tgemu.UserSpec{FirstName: "Dana", LanguageCode: "ru"})
		_, err = u.Start(eb.Token)
		require.NoError(t, err)
		m, err := u.WaitBotMessage(eb.Token, patience())
		require.NoError(t, err)
		require.Equal(t, "Hi Dana, welcome to the shop!", m.Text)
	})
}

func TestGroupsAndChannelsAreRecorded(t *testing.T) {
	t.Parallel()
	bothModes(t, func(t *testing.T, webhook bool) {
		b := setup(t, tgemu.Config{})
		b.webhook = webhook
		ch, eb := b.managedBot(t, "shop_bot")
		b.startIntake(t, nil)
		owner := b.srv.CreateUser(tgemu.UserSpec{FirstName: "Owner"})
		group := b.srv.CreateGroup("Shop chat", owner)
		super := b.srv.CreateSupergroup("Shop fans", "shop_fans", owner)
		news := b.srv.CreateChannel("Shop news", "shop_news")
		group.AddBot(eb.Token, owner)
		super.AddAdmin(eb.Token, owner, false)
		news.AddAdmin(eb.Token, owner, true)

		chats := func() map[int64]store.ChannelChat {
			list, err := b.st.ChannelChatList(b.ctx, ch.ID)
			require.NoError(t, err)
			out := map[int64]store.ChannelChat{}
			for _, c := range list {
				out[c.ChatID] = c
			}
			return out
		}
		eventually(t, "three chats", func() bool { return len(chats()) == 3 })
		got := chats()
		require.Equal(t, "member", got[group.ID].BotStatus)
		require.Equal(t, "group", got[group.ID].Type)
		require.Equal(t, "Shop chat", got[group.ID].Title)
		require.True(t, got[group.ID].Targetable)
		require.Equal(t, "administrator", got[super.ID].BotStatus)
		require.True(t, got[super.ID].CanPin)
		require.Equal(t, "channel", got[news.ID].Type)
		require.True(t, got[news.ID].CanPost)
		require.True(t, got[news.ID].Targetable)
		n, err := b.st.SubscriberCount(b.ctx, ch.ID)
		require.NoError(t, err)
		require.EqualValues(t, 3, n.Chats)

		// Removed from the group, banned from the channel: neither is targetable.
		group.RemoveBot(eb.Token, owner, false)
		news.RemoveBot(eb.Token, owner, true)
		eventually(t, "removed", func() bool { g := chats(); return g[group.ID].BotStatus == "left" && g[news.ID].BotStatus == "kicked" })
		got = chats()
		require.False(t, got[group.ID].Targetable)
		require.False(t, got[news.ID].Targetable)
		require.True(t, got[super.ID].Targetable)
		n, err = b.st.SubscriberCount(b.ctx, ch.ID)
		require.NoError(t, err)
		require.EqualValues(t, 1, n.Chats)
		require.Equal(t, 0, b.count(t, `SELECT count(*) FROM subscribers`), "groups are not subscribers")
	})
}

// TestOnePollerPerBotAcrossProcesses: two intakes on one database (two Herald
// processes) share the managed bots, each polled by exactly one; when one stops, the
// other takes its bots over and nothing sent meanwhile is lost.
func TestOnePollerPerBotAcrossProcesses(t *testing.T) {
	t.Parallel()
	b := setup(t, tgemu.Config{})
	var ids []int64
	var tokens []string
	for _, name := range []string{"a_bot", "b_bot", "c_bot", "d_bot"} {
		c, eb := b.managedBot(t, name)
		ids, tokens = append(ids, c.ID), append(tokens, eb.Token)
	}
	first, stopFirst := b.runIntake(t)
	second, _ := b.runIntake(t)
	eventually(t, "every bot polled", func() bool {
		return len(first.Polling())+len(second.Polling()) == len(ids)
	})
	union := append(first.Polling(), second.Polling()...)
	slices.Sort(union)
	require.Equal(t, ids, union, "each bot exactly once")
	time.Sleep(1500 * time.Millisecond) // more than a long poll: a second poller would have collided by now
	for _, tok := range tokens {
		require.Zero(t, b.srv.Conflicts(tok), "409: two processes polled one bot")
	}

	// The first stops; its bots move to the second; starts meanwhile are recorded.
	users := b.srv.CreateUsers(len(tokens), tgemu.UserSpec{})
	stopFirst()
	for i, tok := range tokens {
		_, err := users[i].Start(tok)
		require.NoError(t, err)
	}
	eventually(t, "the second polls every bot", func() bool { return len(second.Polling()) == len(ids) })
	eventually(t, "every start recorded", func() bool { return b.count(t, `SELECT count(*) FROM subscribers`) == len(tokens) })
}

func TestSendOnlyStopsPolling(t *testing.T) {
	t.Parallel()
	b := setup(t, tgemu.Config{})
	ch, eb := b.managedBot(t, "shop_bot")
	in := b.startIntake(t, nil)
	eventually(t, "polling", func() bool { return len(in.Polling()) == 1 && b.srv.Polling(eb.Token) })

	require.NoError(t, b.st.ChannelSetMode(b.ctx, ch.ID, store.ChannelSendOnly))
	eventually(t, "stopped", func() bool { return len(in.Polling()) == 0 })
	u := b.srv.CreateUser(tgemu.UserSpec{})
	_, err := u.Start(eb.Token)
	require.NoError(t, err)
	time.Sleep(300 * time.Millisecond) // several rescans: nothing takes the update
	require.Equal(t, 2, b.srv.PendingUpdates(eb.Token), "my_chat_member and /start wait for the other app")
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM subscribers`))

	// Managed again: the updates that waited are taken.
	require.NoError(t, b.st.ChannelSetMode(b.ctx, ch.ID, store.ChannelManaged))
	eventually(t, "recorded", func() bool { return b.count(t, `SELECT count(*) FROM subscribers`) == 1 })
}

// TestRepliesKeepTheBotsRate: a burst of starts is answered at the bot's rate, never
// above it (the emulator counts every sliding second and answers 429 above its limit).
func TestRepliesKeepTheBotsRate(t *testing.T) {
	t.Parallel()
	b := setup(t, tgemu.Config{PerChatDisabled: true})
	ch, eb := b.managedBot(t, "slow_bot")
	require.NoError(t, b.st.ChannelSetRate(b.ctx, ch.ID, 5, false))
	b.srv.SetBotRate(eb.Token, 5)
	b.startIntake(t, nil)
	users := b.srv.CreateUsers(20, tgemu.UserSpec{LanguageCode: "en"})
	for _, u := range users {
		_, err := u.Start(eb.Token)
		require.NoError(t, err)
	}
	for _, u := range users {
		_, err := u.WaitBotMessage(eb.Token, patience())
		require.NoError(t, err)
	}
	st := b.srv.Stats(eb.Token)
	require.EqualValues(t, 20, st.Sent)
	require.LessOrEqual(t, st.MaxPerSecond, 5)
	require.Zero(t, st.TooManyRequests)
}

// TestCardChangesApplyAtOnce: a welcome, a mode set on the channel card is applied
// at once (the store announces the commit), not at the next rescan (an hour here).
func TestCardChangesApplyAtOnce(t *testing.T) {
	t.Parallel()
	bothModes(t, func(t *testing.T, webhook bool) {
		b := setup(t, tgemu.Config{})
		b.webhook = webhook
		ch, eb := b.managedBot(t, "shop_bot")
		in := b.startIntake(t, func(c *channelbot.Config) { c.Rescan = time.Hour })
		eventually(t, "receiving", func() bool { return len(in.Polling()) == 1 })
		id, err := b.st.TemplateCreate(b.ctx, store.Template{Name: "Welcome", Body: "Hi {{first_name}}, new here!", CreatedBy: 1})
		require.NoError(t, err)
		require.NoError(t, b.st.ChannelSetWelcome(b.ctx, ch.ID, &id))
		// The change and a start race; a start answered before the change applied gets
		// the built-in text, so start new users until one gets the template.
		eventually(t, "the new welcome", func() bool {
			u := b.srv.CreateUser(tgemu.UserSpec{FirstName: "Gus", LanguageCode: "en"})
			_, err := u.Start(eb.Token)
			require.NoError(t, err)
			m, err := u.WaitBotMessage(eb.Token, patience())
			require.NoError(t, err)
			return m.Text == "Hi Gus, new here!"
		})
		require.NoError(t, b.st.ChannelSetMode(b.ctx, ch.ID, store.ChannelSendOnly))
		eventually(t, "released", func() bool { return len(in.Polling()) == 0 })
	})
}

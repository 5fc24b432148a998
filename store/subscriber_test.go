package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"herald/pgtest"
	"herald/store"
)

// TestIntakeWriteFoldsOneChatsEvents: a batch may carry several events of one chat
// (one upsert cannot touch a row twice): the last status wins, the first payload is
// the source, joined_at is the first event's, the profile the newest.
func TestIntakeWriteFoldsOneChatsEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := store.New(pgtest.NewPool(t))
	c := createChannel(t, st, newTestBox(t), 1001, testToken)
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	ev := func(status, source, first string, at int) store.SubscriberEvent {
		return store.SubscriberEvent{ChannelID: c.ID, ChatID: 42, FirstName: first, Status: status, Source: source,
			At: t0.Add(time.Duration(at) * time.Second)}
	}
	require.NoError(t, st.IntakeWrite(ctx, store.IntakeBatch{Subscribers: []store.SubscriberEvent{
		ev(store.SubscriberActive, "", "Ann", 0),        // my_chat_member: member
		ev(store.SubscriberActive, "promo", "Ann", 0),   // /start promo
		ev("", "", "Anna", 5),                           // a message, a new name
		ev(store.SubscriberBlocked, "", "Anna", 9),      // blocked
		ev(store.SubscriberActive, "other", "Anna", 20), // unblocked and started again
		ev(store.SubscriberBlocked, "", "Anna", 30),     // and blocked for good
	}}))
	s, err := st.SubscriberGet(ctx, c.ID, 42)
	require.NoError(t, err)
	require.Equal(t, store.SubscriberBlocked, s.Status)
	require.Equal(t, "promo", s.Source)
	require.Equal(t, "Anna", s.FirstName)
	require.True(t, s.JoinedAt.Equal(t0), s.JoinedAt)
	require.True(t, s.LastSeenAt.Equal(t0.Add(30*time.Second)), s.LastSeenAt)
	ok, err := st.SuppressionHas(ctx, c.ID, 42)
	require.NoError(t, err)
	require.True(t, ok)

	// A later batch: a plain message keeps the status; a start lifts the suppression
	// and keeps the first source.
	require.NoError(t, st.IntakeWrite(ctx, store.IntakeBatch{Subscribers: []store.SubscriberEvent{ev("", "", "Anna", 40)}}))
	s, _ = st.SubscriberGet(ctx, c.ID, 42)
	require.Equal(t, store.SubscriberBlocked, s.Status)
	require.NoError(t, st.IntakeWrite(ctx, store.IntakeBatch{Subscribers: []store.SubscriberEvent{ev(store.SubscriberActive, "late", "Anna", 50)}}))
	s, _ = st.SubscriberGet(ctx, c.ID, 42)
	require.Equal(t, store.SubscriberActive, s.Status)
	require.Equal(t, "promo", s.Source)
	require.True(t, s.StatusChangedAt.Equal(t0.Add(50*time.Second)), s.StatusChangedAt)
	ok, err = st.SuppressionHas(ctx, c.ID, 42)
	require.NoError(t, err)
	require.False(t, ok)

	// Events of a channel deleted meanwhile are dropped, not an error for the others.
	require.NoError(t, st.IntakeWrite(ctx, store.IntakeBatch{
		Subscribers: []store.SubscriberEvent{{ChannelID: c.ID + 99, ChatID: 7, Status: store.SubscriberActive, At: t0}},
		Chats: []store.ChannelChatEvent{{ChannelID: c.ID, ChatID: -100, Type: "group", Title: "G", BotStatus: "member", CanPost: true, At: t0},
			{ChannelID: c.ID, ChatID: -100, Type: "supergroup", Title: "G2", BotStatus: "administrator", CanPost: true, At: t0}},
	}))
	chats, err := st.ChannelChatList(ctx, c.ID)
	require.NoError(t, err)
	require.Len(t, chats, 1)
	require.Equal(t, "supergroup", chats[0].Type, "the group's upgrade: the last event wins")
}

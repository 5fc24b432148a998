package store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"herald/secrets"
	"herald/store"
)

// The store stores what secrets.Box seals and opens with it.
var (
	_ store.TokenSealer = (*secrets.Box)(nil)
	_ store.TokenOpener = (*secrets.Box)(nil)
)

// newTestBox is a secrets.Box under a fresh random key.
func newTestBox(t testing.TB) *secrets.Box {
	t.Helper()
	key := make([]byte, secrets.KeySize)
	_, _ = rand.Read(key)
	box, err := secrets.NewBox(key)
	require.NoError(t, err)
	return box
}

const testToken = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"

func createChannel(t *testing.T, st *store.Store, box store.TokenSealer, botID int64, token string) store.Channel {
	t.Helper()
	c, err := st.ChannelCreate(context.Background(), box, store.ChannelCreateParams{
		BotUserID: botID, Username: "promo_bot", Name: "Promo", Token: token, CreatedBy: 7})
	require.NoError(t, err)
	return c
}

func TestChannelTokenIsOnlyStoredEncrypted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tb := setup(t)
	box := newTestBox(t)
	c := createChannel(t, tb.store, box, 123456789, testToken)

	var sealed []byte
	require.NoError(t, tb.pool.QueryRow(ctx, `SELECT token_ciphertext FROM channels WHERE id = $1`, c.ID).Scan(&sealed))
	require.NotEmpty(t, sealed)
	require.Equal(t, sealed, c.TokenCiphertext, "Channel carries the ciphertext, never the token")
	for _, part := range []string{testToken, "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "AAHdqTcv"} {
		require.False(t, bytes.Contains(sealed, []byte(part)), "ciphertext contains %q", part)
		var hits int
		require.NoError(t, tb.pool.QueryRow(ctx, `
			SELECT count(*) FROM channels c
			WHERE c::text LIKE '%' || $1 || '%'
			   OR encode(token_ciphertext, 'escape') LIKE '%' || $1 || '%'
			   OR position(convert_to($1, 'UTF8') IN token_ciphertext) > 0`, part).Scan(&hits))
		require.Zero(t, hits, "the table holds %q in plain text", part)
	}

	token, err := tb.store.ChannelToken(ctx, box, c.ID)
	require.NoError(t, err)
	require.Equal(t, testToken, token)
	_, err = tb.store.ChannelToken(ctx, newTestBox(t), c.ID)
	require.ErrorIs(t, err, secrets.ErrOpen, "another key does not open it")
	require.NotContains(t, err.Error(), testToken)

	const newToken = "123456789:BBnewTokenAfterRevokeXXXXXXXXXXXXXXXX"
	require.NoError(t, tb.store.ChannelSetToken(ctx, box, c.ID, newToken))
	token, err = tb.store.ChannelToken(ctx, box, c.ID)
	require.NoError(t, err)
	require.Equal(t, newToken, token)
	var hits int
	require.NoError(t, tb.pool.QueryRow(ctx, `SELECT count(*) FROM channels c WHERE c::text LIKE '%BBnewToken%'`).Scan(&hits))
	require.Zero(t, hits)
}

func TestChannelCreateListGet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tb := setup(t)
	box := newTestBox(t)

	n, err := tb.store.ChannelCount(ctx)
	require.NoError(t, err)
	require.Zero(t, n)

	verified := time.Now().Truncate(time.Microsecond)
	a, err := tb.store.ChannelCreate(ctx, box, store.ChannelCreateParams{BotUserID: 11, Username: "a_bot", Name: "A",
		Token: "11:x", CreatedBy: 7, VerifiedAt: verified})
	require.NoError(t, err)
	require.Equal(t, store.ChannelMaxRate, a.RatePerSecond)
	require.True(t, a.Enabled)
	require.False(t, a.PaidBroadcast)
	require.True(t, a.VerifiedAt.Equal(verified))
	b, err := tb.store.ChannelCreate(ctx, box, store.ChannelCreateParams{BotUserID: 22, Username: "b_bot", Name: "B",
		Token: "22:y", CreatedBy: 7, RatePerSecond: 500, PaidBroadcast: true})
	require.NoError(t, err)
	require.Nil(t, b.VerifiedAt)

	_, err = tb.store.ChannelCreate(ctx, box, store.ChannelCreateParams{BotUserID: 11, Username: "a_bot", Name: "Again", Token: "11:z", CreatedBy: 7})
	require.ErrorIs(t, err, store.ErrChannelExists)
	var exists *store.ChannelExistsError
	require.ErrorAs(t, err, &exists)
	require.Equal(t, store.ChannelExistsError{ChannelID: a.ID, Name: "A"}, *exists)

	for _, p := range []store.ChannelCreateParams{
		{BotUserID: 33, Name: "", Token: "t"},
		{BotUserID: 33, Name: "n", Token: "t", RatePerSecond: 31},
		{BotUserID: 33, Name: "n", Token: "t", RatePerSecond: 1001, PaidBroadcast: true},
		{BotUserID: 33, Name: "n", Token: "t", RatePerSecond: -1},
	} {
		_, err := tb.store.ChannelCreate(ctx, box, p)
		require.True(t, errors.Is(err, store.ErrNameInvalid) || errors.Is(err, store.ErrRateInvalid), "%+v: %v", p, err)
	}

	list, err := tb.store.ChannelList(ctx)
	require.NoError(t, err)
	require.Equal(t, []store.Channel{a, b}, list)
	got, err := tb.store.ChannelGet(ctx, b.ID)
	require.NoError(t, err)
	require.Equal(t, b, got)
	_, err = tb.store.ChannelGet(ctx, 999)
	require.ErrorIs(t, err, store.ErrNotFound)
	n, err = tb.store.ChannelCount(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n)
}

func TestChannelUpdates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tb := setup(t)
	c := createChannel(t, tb.store, newTestBox(t), 42, "42:t")

	require.NoError(t, tb.store.ChannelRename(ctx, c.ID, "Новости"))
	require.ErrorIs(t, tb.store.ChannelRename(ctx, c.ID, ""), store.ErrNameInvalid)

	require.ErrorIs(t, tb.store.ChannelSetRate(ctx, c.ID, 31, false), store.ErrRateInvalid)
	require.ErrorIs(t, tb.store.ChannelSetRate(ctx, c.ID, 0, false), store.ErrRateInvalid)
	require.ErrorIs(t, tb.store.ChannelSetRate(ctx, c.ID, 1001, true), store.ErrRateInvalid)
	require.NoError(t, tb.store.ChannelSetRate(ctx, c.ID, 1000, true))
	got, err := tb.store.ChannelGet(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, 1000, got.RatePerSecond)
	require.True(t, got.PaidBroadcast)
	require.NoError(t, tb.store.ChannelSetRate(ctx, c.ID, 20, false))

	require.NoError(t, tb.store.ChannelSetEnabled(ctx, c.ID, false))
	at := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	require.NoError(t, tb.store.ChannelMarkVerified(ctx, c.ID, "renamed_bot", at))

	got, err = tb.store.ChannelGet(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, "Новости", got.Name)
	require.Equal(t, 20, got.RatePerSecond)
	require.False(t, got.PaidBroadcast)
	require.False(t, got.Enabled)
	require.Equal(t, "renamed_bot", got.Username)
	require.True(t, got.VerifiedAt.Equal(at))
	require.True(t, got.UpdatedAt.After(c.UpdatedAt) || got.UpdatedAt.Equal(c.UpdatedAt))

	const missing = 9999
	require.ErrorIs(t, tb.store.ChannelRename(ctx, missing, "x"), store.ErrNotFound)
	require.ErrorIs(t, tb.store.ChannelSetRate(ctx, missing, 5, false), store.ErrNotFound)
	require.ErrorIs(t, tb.store.ChannelSetEnabled(ctx, missing, true), store.ErrNotFound)
	require.ErrorIs(t, tb.store.ChannelMarkVerified(ctx, missing, "u", at), store.ErrNotFound)
	require.ErrorIs(t, tb.store.ChannelSetToken(ctx, newTestBox(t), missing, "t"), store.ErrNotFound)
}

func TestChannelDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tb := setup(t)
	box := newTestBox(t)

	unused := createChannel(t, tb.store, box, 1, "1:t")
	require.NoError(t, tb.store.ChannelDelete(ctx, unused.ID))
	require.ErrorIs(t, tb.store.ChannelDelete(ctx, unused.ID), store.ErrNotFound)

	c := createChannel(t, tb.store, box, 2, "2:secret-token")
	_, err := tb.pool.Exec(ctx, `INSERT INTO channel_media (channel_id, media_unique_id, file_id) VALUES ($1, 'u', 'f')`, c.ID)
	require.NoError(t, err)
	for _, status := range []string{"scheduled", "running", "paused"} {
		id := insertCampaign(t, tb.pool, 0, c.ID, status)
		err := tb.store.ChannelDelete(ctx, c.ID)
		var inUse *store.InUseError
		require.ErrorAs(t, err, &inUse, status)
		require.Equal(t, []int64{id}, inUse.CampaignIDs)
		_, err = tb.pool.Exec(ctx, `UPDATE campaigns SET status = 'completed', finished_at = now() WHERE id = $1`, id)
		require.NoError(t, err)
	}
	require.NoError(t, tb.store.ChannelDelete(ctx, c.ID))

	_, err = tb.store.ChannelGet(ctx, c.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = tb.store.ChannelToken(ctx, box, c.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	n, err := tb.store.ChannelCount(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	var sealedLen, media int
	require.NoError(t, tb.pool.QueryRow(ctx, `SELECT octet_length(token_ciphertext), (SELECT count(*) FROM channel_media)
		FROM channels WHERE id = $1`, c.ID).Scan(&sealedLen, &media))
	require.Zero(t, sealedLen, "a deleted channel keeps no token, not even encrypted")
	require.Zero(t, media)

	// The bot can be registered again, and the old row takes no new campaigns.
	again := createChannel(t, tb.store, box, 2, "2:new")
	require.NotEqual(t, c.ID, again.ID)
	_, err = tb.pool.Exec(ctx, `INSERT INTO campaigns (template_id, batch_id, channel_id, control_chat_id, created_by)
		SELECT template_id, batch_id, $1, 1, 1 FROM campaigns LIMIT 1`, c.ID)
	require.ErrorContains(t, err, "is deleted")
}

func TestChannelCreateInTx(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tb := setup(t)
	box := newTestBox(t)
	first := createChannel(t, tb.store, box, 77, "77:a")
	err := tb.store.InTx(ctx, func(tx *store.Store) error {
		_, err := tx.ChannelCreate(ctx, box, store.ChannelCreateParams{BotUserID: 77, Name: "dup", Token: "77:b", CreatedBy: 1})
		var exists *store.ChannelExistsError
		require.ErrorAs(t, err, &exists)
		require.Equal(t, first.ID, exists.ChannelID)
		// The transaction is still usable: the duplicate was found before inserting.
		_, err = tx.ChannelCreate(ctx, box, store.ChannelCreateParams{BotUserID: 78, Name: "other", Token: "78:c", CreatedBy: 1})
		return err
	})
	require.NoError(t, err)
	n, err := tb.store.ChannelCount(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n)
}

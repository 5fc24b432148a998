package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"herald/pgtest"
	"herald/store"
)

func TestAdminSyncOwnersAndProtection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := store.New(pgtest.NewPool(t))
	require.NoError(t, st.AdminSyncOwners(ctx, []int64{1, 2}))
	created, err := st.AdminPut(ctx, store.Admin{UserID: 3, Role: store.RoleAdmin, AddedBy: 1})
	require.NoError(t, err)
	require.True(t, created)
	created, err = st.AdminPut(ctx, store.Admin{UserID: 3, Role: store.RoleViewer, AddedBy: 1})
	require.NoError(t, err)
	require.False(t, created)
	_, err = st.AdminPut(ctx, store.Admin{UserID: 1, Role: store.RoleViewer})
	require.ErrorIs(t, err, store.ErrOwner)
	_, err = st.AdminDelete(ctx, 2)
	require.ErrorIs(t, err, store.ErrOwner)

	// Owner 2 is no longer listed; admin 3 becomes an owner.
	require.NoError(t, st.AdminSyncOwners(ctx, []int64{1, 3}))
	admins, err := st.AdminList(ctx)
	require.NoError(t, err)
	require.Len(t, admins, 2)
	require.Equal(t, int64(1), admins[0].UserID)
	require.Equal(t, store.RoleOwner, admins[1].Role)
	_, err = st.AdminGet(ctx, 2)
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestTemplateDeleteRefusedWhileUsed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := store.New(pgtest.NewPool(t))
	id, err := st.TemplateCreate(ctx, store.Template{Name: "Promo", Body: "Hi", CreatedBy: 1})
	require.NoError(t, err)
	_, err = st.TemplateCreate(ctx, store.Template{Name: "PROMO", Body: "Hi", CreatedBy: 1})
	require.ErrorIs(t, err, store.ErrTemplateNameTaken)
	pool := st.Pool()
	var batchID, channelID int64
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO batches (name, created_by) VALUES ('b', 1) RETURNING id`).Scan(&batchID))
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO channels (bot_user_id, username, name, token_ciphertext, created_by)
		VALUES (9, 'c', 'c', '\x00', 1) RETURNING id`).Scan(&channelID))
	_, err = pool.Exec(ctx, `INSERT INTO campaigns (template_id, batch_id, channel_id, status, control_chat_id, created_by)
		VALUES ($1, $2, $3, 'running', 1, 1)`, id, batchID, channelID)
	require.NoError(t, err)
	require.ErrorIs(t, st.TemplateDelete(ctx, id), store.ErrTemplateInUse)
	require.ErrorIs(t, st.TemplateDelete(ctx, id+100), store.ErrNotFound)
	require.ErrorIs(t, st.TemplateRename(ctx, id+100, "x"), store.ErrNotFound)

	// Once the campaign is finished the template can go: it leaves the lists and frees
	// its name, while the campaign keeps pointing at it.
	_, err = pool.Exec(ctx, `UPDATE campaigns SET status = 'completed', finished_at = now() WHERE template_id = $1`, id)
	require.NoError(t, err)
	require.NoError(t, st.TemplateDelete(ctx, id))
	_, err = st.TemplateGet(ctx, id)
	require.ErrorIs(t, err, store.ErrNotFound)
	list, total, err := st.TemplateList(ctx, 10, 0)
	require.NoError(t, err)
	require.Zero(t, total)
	require.Empty(t, list)
	var kept int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM templates WHERE id = $1 AND deleted_at IS NOT NULL`, id).Scan(&kept))
	require.Equal(t, 1, kept, "a template used by a finished campaign is kept, marked deleted")
	_, err = st.TemplateCreate(ctx, store.Template{Name: "Promo", Body: "Hi again", CreatedBy: 1})
	require.NoError(t, err, "the name is free again")
	_, err = pool.Exec(ctx, `INSERT INTO campaigns (template_id, batch_id, channel_id, status, control_chat_id, created_by)
		VALUES ($1, $2, $3, 'scheduled', 1, 1)`, id, batchID, channelID)
	require.ErrorContains(t, err, "is deleted", "no new campaign on a deleted template")
	require.ErrorIs(t, st.TemplateDelete(ctx, id), store.ErrNotFound)

	unused, err := st.TemplateCreate(ctx, store.Template{Name: "Unused", Body: "x", CreatedBy: 1})
	require.NoError(t, err)
	require.NoError(t, st.TemplateDelete(ctx, unused))
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM templates WHERE id = $1`, unused).Scan(&kept))
	require.Zero(t, kept, "an unused template is deleted outright")
}

func TestDialogSessionRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := store.New(pgtest.NewPool(t))
	expires := time.Now().Add(time.Hour).Truncate(time.Microsecond)
	require.NoError(t, st.InTx(ctx, func(tx *store.Store) error {
		require.NoError(t, tx.DialogLockChat(ctx, 5))
		_, err := tx.DialogGetForUpdate(ctx, 5)
		require.ErrorIs(t, err, store.ErrNotFound)
		return tx.DialogPut(ctx, store.DialogSession{ChatID: 5, UserID: 5, Flow: "f", State: "s", Draft: []byte(`{"a":1}`), Version: 3, Language: "ru", ExpiresAt: expires})
	}))
	require.NoError(t, st.InTx(ctx, func(tx *store.Store) error {
		d, err := tx.DialogGetForUpdate(ctx, 5)
		require.NoError(t, err)
		require.Equal(t, 3, d.Version)
		require.JSONEq(t, `{"a":1}`, string(d.Draft))
		require.True(t, d.ExpiresAt.Equal(expires))
		return nil
	}))
	expired, err := st.DialogSessionsExpire(ctx, expires.Add(time.Second), 10)
	require.NoError(t, err)
	require.Equal(t, []store.ExpiredDialog{{ChatID: 5, UserID: 5, Flow: "f", Language: "ru"}}, expired)
}

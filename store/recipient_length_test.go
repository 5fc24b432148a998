package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"herald/pgtest"
	"herald/store"
)

func TestRecipientLengths(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	st := store.New(pool)
	var batch int64
	require.NoError(t, pool.QueryRow(ctx, `
		INSERT INTO batches (name, status, created_by) VALUES ('b', 'ready', 1) RETURNING id`).Scan(&batch))
	_, err := pool.Exec(ctx, `
		INSERT INTO recipients (batch_id, chat_id, vars) VALUES
		($1, 1, '{"name": "Ann", "city": "Paris"}'),
		($1, 2, '{"name": "😀😀", "city": ""}'),
		($1, 3, jsonb_build_object('name', repeat('Ж', 5000))),
		($1, 4, '{}')`, batch)
	require.NoError(t, err)

	lens, err := st.RecipientVarMaxLengths(ctx, batch)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"name": 5000, "city": 5}, lens)

	// "Hello, {{name}} from {{city|nowhere}}": 12 literal units, name once, city once
	// with a 7-unit default.
	vars := []store.VarLength{{Name: "name", Count: 1}, {Name: "city", Count: 1, DefaultLen: 7}}
	ids, total, err := st.RecipientsTooLong(ctx, batch, 12, vars, 4096, 10)
	require.NoError(t, err)
	require.Equal(t, []int64{3}, ids)
	require.Equal(t, 1, total)
	ids, total, err = st.RecipientsTooLong(ctx, batch, 12, vars, 22, 1)
	require.NoError(t, err)
	require.Equal(t, 2, total, "counted past the limit on ids")
	require.Equal(t, []int64{2}, ids, "the lowest chat id first")
	ids, _, err = st.RecipientsTooLong(ctx, batch, 12, vars, 22, 10)
	require.NoError(t, err)
	require.Equal(t, []int64{2, 3}, ids, "Ann, Paris: 12+3+5 = 20; 😀😀 (4 units), empty city: 12+4+7 = 23; {}: 12+0+7 = 19")
}

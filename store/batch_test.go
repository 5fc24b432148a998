package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"herald/importer"
	"herald/pgtest"
	"herald/store"
)

type testBundle struct {
	pool  *pgxpool.Pool
	store *store.Store
}

func setup(t *testing.T) testBundle {
	t.Helper()
	pool := pgtest.NewPool(t)
	return testBundle{pool: pool, store: store.New(pool)}
}

func openCSV(t testing.TB, text string) *importer.Reader {
	t.Helper()
	rd, err := importer.Open(strings.NewReader(text), importer.Options{})
	require.NoError(t, err)
	return rd
}

func importCSV(t *testing.T, st *store.Store, name, text string) store.Batch {
	t.Helper()
	b, err := st.BatchImport(context.Background(), store.BatchImportParams{
		Name: name, SourceName: name + ".csv", CreatedBy: 1, Source: openCSV(t, text)})
	require.NoError(t, err)
	return b
}

// insertCampaign adds a campaign on batchID/channelID in status (creating a template and,
// when channelID is 0, a channel), returning its id.
func insertCampaign(t *testing.T, pool *pgxpool.Pool, batchID, channelID int64, status string) int64 {
	t.Helper()
	ctx := context.Background()
	var templateID int64
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO templates (name, body, created_by)
		VALUES ('t' || gen_random_uuid(), 'hi', 1) RETURNING id`).Scan(&templateID))
	if channelID == 0 {
		require.NoError(t, pool.QueryRow(ctx, `INSERT INTO channels (bot_user_id, username, name, token_ciphertext, created_by)
			VALUES ((random() * 1e12)::bigint, 'bot', 'c', '\x01', 1) RETURNING id`).Scan(&channelID))
	}
	if batchID == 0 {
		require.NoError(t, pool.QueryRow(ctx, `INSERT INTO batches (name, status, created_by)
			VALUES ('b' || gen_random_uuid(), 'ready', 1) RETURNING id`).Scan(&batchID))
	}
	finished := map[string]bool{"completed": true, "cancelled": true, "failed": true}[status]
	var id int64
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO campaigns (template_id, batch_id, channel_id, status, control_chat_id, created_by, finished_at)
		VALUES ($1, $2, $3, $4, 1, 1, CASE WHEN $5 THEN now() END) RETURNING id`,
		templateID, batchID, channelID, status, finished).Scan(&id))
	return id
}

func TestBatchImportAndRead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tb := setup(t)

	b := importCSV(t, tb.store, "Spring sale", "chat_id;Имя;city\n5;Анна;Msk\n3;Bob;\"a\nb\"\n5;dup;x\nzz;bad;y\n")
	require.Equal(t, "ready", b.Status)
	require.Equal(t, []string{"имя", "city"}, b.Columns)
	require.Equal(t, 2, b.RecipientCount)
	require.Equal(t, 1, b.DuplicateCount)
	require.Equal(t, 1, b.InvalidCount)
	require.Equal(t, "Spring sale.csv", b.SourceName)

	got, sample, err := tb.store.BatchGet(ctx, b.ID)
	require.NoError(t, err)
	require.Equal(t, b, got)
	require.Equal(t, &store.Recipient{ChatID: 3, Vars: map[string]string{"имя": "Bob", "city": "a\nb"}}, sample)

	all, err := tb.store.RecipientSample(ctx, b.ID, 10)
	require.NoError(t, err)
	require.Equal(t, []store.Recipient{
		{ChatID: 3, Vars: map[string]string{"имя": "Bob", "city": "a\nb"}},
		{ChatID: 5, Vars: map[string]string{"имя": "Анна", "city": "Msk"}}, // the first row of 5 won
	}, all)

	_, _, err = tb.store.BatchGet(ctx, b.ID+1000)
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestBatchImportIDList(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	rd, err := importer.OpenIDList("1 2 3\n2")
	require.NoError(t, err)
	b, err := tb.store.BatchImport(context.Background(), store.BatchImportParams{Name: "pasted", CreatedBy: 1, Source: rd})
	require.NoError(t, err)
	require.Equal(t, 3, b.RecipientCount)
	require.Equal(t, 1, b.DuplicateCount)
	require.Empty(t, b.Columns)
}

// A file that fails halfway leaves neither a batch nor recipients behind.
func TestBatchImportFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tb := setup(t)
	boom := errors.New("telegram download broke")
	var text strings.Builder
	text.WriteString("chat_id,name\n")
	for i := 1; i <= 20000; i++ {
		fmt.Fprintf(&text, "%d,n%d\n", i, i)
	}
	rd, err := importer.Open(io.MultiReader(strings.NewReader(text.String()), &failingReader{boom}), importer.Options{})
	require.NoError(t, err)
	_, err = tb.store.BatchImport(ctx, store.BatchImportParams{Name: "broken", CreatedBy: 1, Source: rd})
	require.ErrorIs(t, err, boom)

	// No valid row at all: the importer's typed error comes back as it is.
	_, err = tb.store.BatchImport(ctx, store.BatchImportParams{Name: "broken", CreatedBy: 1, Source: openCSV(t, "chat_id\nx\n0\n")})
	var ie *importer.Error
	require.ErrorAs(t, err, &ie)
	require.Equal(t, importer.CodeNoValidRows, ie.Code)

	var batches, recipients int
	require.NoError(t, tb.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM batches), (SELECT count(*) FROM recipients)`).Scan(&batches, &recipients))
	require.Zero(t, batches)
	require.Zero(t, recipients)

	// A cancelled context also leaves nothing.
	cctx, cancel := context.WithCancel(ctx)
	rd2 := openCSV(t, text.String())
	_, err = tb.store.BatchImport(cctx, store.BatchImportParams{Name: "cancelled", CreatedBy: 1, Source: rd2,
		ProgressInterval: time.Nanosecond, Progress: func(store.BatchImportProgress) { cancel() }})
	require.Error(t, err)
	require.NoError(t, tb.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM batches), (SELECT count(*) FROM recipients)`).Scan(&batches, &recipients))
	require.Zero(t, batches+recipients)
}

type failingReader struct{ err error }

func (f *failingReader) Read([]byte) (int, error) { return 0, f.err }

func TestBatchImportProgress(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	var text strings.Builder
	text.WriteString("chat_id\n")
	for i := 1; i <= 5000; i++ {
		fmt.Fprintf(&text, "%d\n", i)
	}
	var mu sync.Mutex // Progress runs on pgx's copy goroutine
	var reports []store.BatchImportProgress
	_, err := tb.store.BatchImport(context.Background(), store.BatchImportParams{
		Name: "progress", CreatedBy: 1, Source: openCSV(t, text.String()),
		ProgressInterval: time.Nanosecond, // every check is due: one report per 1024 rows
		Progress: func(p store.BatchImportProgress) {
			mu.Lock()
			defer mu.Unlock()
			reports = append(reports, p)
		}})
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, reports, 4)
	for i, r := range reports {
		require.Equal(t, (i+1)*1024, r.Imported)
		require.Equal(t, (i+1)*1024, r.Rows)
	}

	// An import quicker than the interval reports nothing. The interval is an hour, not
	// the default second: on a loaded machine this import may well take a second.
	reports = nil
	_, err = tb.store.BatchImport(context.Background(), store.BatchImportParams{
		Name: "quiet", CreatedBy: 1, Source: openCSV(t, text.String()), ProgressInterval: time.Hour,
		Progress: func(p store.BatchImportProgress) { reports = append(reports, p) }})
	require.NoError(t, err)
	require.Empty(t, reports)
}

func TestBatchNames(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tb := setup(t)
	a := importCSV(t, tb.store, "Clients", "id\n1\n")
	_, err := tb.store.BatchImport(ctx, store.BatchImportParams{Name: "clients", CreatedBy: 1, Source: openCSV(t, "id\n1\n")})
	require.ErrorIs(t, err, store.ErrNameTaken)
	_, err = tb.store.BatchImport(ctx, store.BatchImportParams{Name: "", CreatedBy: 1, Source: openCSV(t, "id\n1\n")})
	require.ErrorIs(t, err, store.ErrNameInvalid)
	_, err = tb.store.BatchImport(ctx, store.BatchImportParams{Name: strings.Repeat("я", 65), CreatedBy: 1, Source: openCSV(t, "id\n1\n")})
	require.ErrorIs(t, err, store.ErrNameInvalid)

	b := importCSV(t, tb.store, "Other", "id\n1\n")
	require.ErrorIs(t, tb.store.BatchRename(ctx, b.ID, "CLIENTS"), store.ErrNameTaken)
	require.NoError(t, tb.store.BatchRename(ctx, a.ID, "Клиенты"))
	require.NoError(t, tb.store.BatchRename(ctx, b.ID, "clients"))
	require.ErrorIs(t, tb.store.BatchRename(ctx, b.ID+100, "x"), store.ErrNotFound)
	got, _, err := tb.store.BatchGet(ctx, b.ID)
	require.NoError(t, err)
	require.Equal(t, "clients", got.Name)
}

func TestBatchList(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tb := setup(t)
	var ids []int64
	for i := range 5 {
		ids = append(ids, importCSV(t, tb.store, fmt.Sprintf("b%d", i), "id\n1\n").ID)
	}
	page, total, err := tb.store.BatchList(ctx, 0, 2)
	require.NoError(t, err)
	require.Equal(t, 5, total)
	require.Equal(t, []int64{ids[4], ids[3]}, []int64{page[0].ID, page[1].ID})
	page, _, err = tb.store.BatchList(ctx, 4, 2)
	require.NoError(t, err)
	require.Len(t, page, 1)
	require.Equal(t, ids[0], page[0].ID)
}

func TestBatchDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tb := setup(t)

	unused := importCSV(t, tb.store, "unused", "id\n1\n2\n")
	require.NoError(t, tb.store.BatchDelete(ctx, unused.ID))
	var n int
	require.NoError(t, tb.pool.QueryRow(ctx, `SELECT count(*) FROM batches WHERE id = $1`, unused.ID).Scan(&n))
	require.Zero(t, n, "a batch no campaign used is removed for good")
	require.NoError(t, tb.pool.QueryRow(ctx, `SELECT count(*) FROM recipients WHERE batch_id = $1`, unused.ID).Scan(&n))
	require.Zero(t, n, "its recipients go with it")
	require.ErrorIs(t, tb.store.BatchDelete(ctx, unused.ID), store.ErrNotFound)

	busy := importCSV(t, tb.store, "busy", "id\n1\n2\n")
	running := insertCampaign(t, tb.pool, busy.ID, 0, "running")
	paused := insertCampaign(t, tb.pool, busy.ID, 0, "paused")
	insertCampaign(t, tb.pool, busy.ID, 0, "completed")
	err := tb.store.BatchDelete(ctx, busy.ID)
	require.ErrorIs(t, err, store.ErrInUse)
	var inUse *store.InUseError
	require.ErrorAs(t, err, &inUse)
	require.Equal(t, []int64{running, paused}, inUse.CampaignIDs)

	_, err = tb.pool.Exec(ctx, `UPDATE campaigns SET status = 'cancelled', finished_at = now() WHERE batch_id = $1`, busy.ID)
	require.NoError(t, err)
	require.NoError(t, tb.store.BatchDelete(ctx, busy.ID))
	_, _, err = tb.store.BatchGet(ctx, busy.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, total, err := tb.store.BatchList(ctx, 0, 10)
	require.NoError(t, err)
	require.Zero(t, total)
	require.NoError(t, tb.pool.QueryRow(ctx, `SELECT count(*) FROM recipients WHERE batch_id = $1`, busy.ID).Scan(&n))
	require.Zero(t, n, "a deleted batch's recipients are gone")
	require.NoError(t, tb.pool.QueryRow(ctx, `SELECT count(*) FROM campaigns WHERE batch_id = $1`, busy.ID).Scan(&n))
	require.Equal(t, 3, n, "finished campaigns keep their batch")

	// The name is free again, and no new campaign can use the deleted batch.
	importCSV(t, tb.store, "busy", "id\n1\n")
	var templateID, channelID int64
	require.NoError(t, tb.pool.QueryRow(ctx, `SELECT template_id, channel_id FROM campaigns WHERE id = $1`, running).Scan(&templateID, &channelID))
	_, err = tb.pool.Exec(ctx, `INSERT INTO campaigns (template_id, batch_id, channel_id, control_chat_id, created_by)
		VALUES ($1, $2, $3, 1, 1)`, templateID, busy.ID, channelID)
	require.ErrorContains(t, err, "is deleted")
}

// recipients has a statement-level check instead of a per-row foreign key (see
// migration 00004); it must still refuse orphans and cascade deletes.
func TestRecipientsBatchIntegrity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tb := setup(t)
	b := importCSV(t, tb.store, "kept", "id\n1\n2\n")
	gone := importCSV(t, tb.store, "gone", "id\n1\n2\n3\n")

	_, err := tb.pool.Exec(ctx, `INSERT INTO recipients (batch_id, chat_id) VALUES ($1, 5), ($2, 6)`, b.ID, b.ID+1000)
	require.ErrorContains(t, err, "batch does not exist")
	_, err = tb.pool.Exec(ctx, `INSERT INTO recipients (batch_id, chat_id) VALUES ($1, 5)`, b.ID)
	require.NoError(t, err)

	_, err = tb.pool.Exec(ctx, `DELETE FROM batches WHERE id = $1`, gone.ID)
	require.NoError(t, err)
	var perBatch map[int64]int
	rows, err := tb.pool.Query(ctx, `SELECT batch_id, count(*)::int FROM recipients GROUP BY batch_id`)
	require.NoError(t, err)
	perBatch = map[int64]int{}
	for rows.Next() {
		var id int64
		var n int
		require.NoError(t, rows.Scan(&id, &n))
		perBatch[id] = n
	}
	require.NoError(t, rows.Err())
	require.Equal(t, map[int64]int{b.ID: 3}, perBatch)
}

// Inside InTx the import and the delete join the caller's transaction (as savepoints):
// the caller's rollback undoes them, and their own failure leaves the caller's work.
func TestBatchInTx(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tb := setup(t)
	errStop := errors.New("dialog step failed later")
	err := tb.store.InTx(ctx, func(tx *store.Store) error {
		_, err := tx.BatchImport(ctx, store.BatchImportParams{Name: "rolled back", CreatedBy: 1, Source: openCSV(t, "id\n1\n")})
		require.NoError(t, err)
		return errStop
	})
	require.ErrorIs(t, err, errStop)
	_, total, err := tb.store.BatchList(ctx, 0, 10)
	require.NoError(t, err)
	require.Zero(t, total)

	err = tb.store.InTx(ctx, func(tx *store.Store) error {
		kept, err := tx.BatchImport(ctx, store.BatchImportParams{Name: "kept", CreatedBy: 1, Source: openCSV(t, "id\n1\n")})
		require.NoError(t, err)
		_, err = tx.BatchImport(ctx, store.BatchImportParams{Name: "bad", CreatedBy: 1, Source: openCSV(t, "id\nx\n")})
		require.Error(t, err)
		_, _, err = tx.BatchGet(ctx, kept.ID)
		return err // the transaction is still usable after the failed import
	})
	require.NoError(t, err)
	page, total, err := tb.store.BatchList(ctx, 0, 10)
	require.NoError(t, err)
	require.Equal(t, 1, total)
	require.Equal(t, "kept", page[0].Name)
}

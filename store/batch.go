package store

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Errors of batch (and channel) methods, besides ErrNotFound.
var (
	// ErrNameTaken: another batch has this name (names are compared case-insensitively).
	ErrNameTaken = errors.New("name already taken")
	// ErrNameInvalid: a name must have 1 to 64 characters.
	ErrNameInvalid = errors.New("name must have 1 to 64 characters")
	// ErrInUse: a campaign that has not finished uses the batch or channel; the error is
	// an *InUseError naming the campaigns.
	ErrInUse = errors.New("in use by an unfinished campaign")
)

// InUseError refuses to delete a batch or channel that campaigns still need.
type InUseError struct {
	CampaignIDs []int64 // scheduled, running or paused campaigns using it, oldest first
}

func (e *InUseError) Error() string {
	return fmt.Sprintf("in use by unfinished campaigns %v", e.CampaignIDs)
}

func (e *InUseError) Unwrap() error { return ErrInUse }

// Batch is an imported recipient list and its import summary.
type Batch struct {
	ID             int64
	Name           string
	Status         string   // "ready" (an import in progress is invisible: it is one transaction)
	Columns        []string // variable names, in file order
	RecipientCount int
	DuplicateCount int
	InvalidCount   int
	SourceName     string // the uploaded file's name, or "" for pasted ids
	CreatedBy      int64
	CreatedAt      time.Time
}

const batchColumns = `id, name, status, columns, recipient_count, duplicate_count, invalid_count,
	source_name, created_by, created_at`

// BatchImportParams describe one import. The caller owns Source and closes it (an
// *importer.Reader left unfinished by a failed import may hold a temporary file).
type BatchImportParams struct {
	Name       string // 1–64 characters, unique (case-insensitively) among batches
	SourceName string
	CreatedBy  int64
	Source     RecipientSource
	// Progress, if set, is called while the recipients are copied, at most once per
	// ProgressInterval (default one second), from the goroutine pgx copies on. It should
	// only hand the figures over (say, to a channel the dialog edits its message from);
	// the copy waits while it runs.
	Progress         func(BatchImportProgress)
	ProgressInterval time.Duration
}

// BatchImportProgress is a progress report of BatchImport.
type BatchImportProgress struct {
	Rows     int // data rows read from the file so far
	Imported int // recipients copied so far
}

// BatchImport creates a batch and streams its recipients into it with COPY, all in one
// transaction: when anything fails (the file, the database, ctx) nothing is left
// behind. The source de-duplicates, so COPY goes straight into recipients with no
// staging table. A source error (an *importer.Error such as no_valid_rows) is returned
// as it is; ErrNameInvalid and ErrNameTaken refuse the name.
func (s *Store) BatchImport(ctx context.Context, p BatchImportParams) (Batch, error) {
	if err := checkName(p.Name); err != nil {
		return Batch{}, err
	}
	var b Batch
	err := s.InTx(ctx, func(st *Store) error {
		var err error
		b, err = st.batchImport(ctx, p)
		return err
	})
	if err != nil {
		return Batch{}, err
	}
	return b, nil
}

func (s *Store) batchImport(ctx context.Context, p BatchImportParams) (Batch, error) {
	tx, ok := s.Tx()
	if !ok {
		return Batch{}, errors.New("import batch: not inside a transaction")
	}
	columns := p.Source.Columns()
	if columns == nil {
		columns = []string{}
	}
	var id int64
	err := tx.QueryRow(ctx, `
		INSERT INTO batches (name, columns, source_name, created_by)
		VALUES ($1, $2, $3, $4)
		RETURNING id`, p.Name, columns, p.SourceName, p.CreatedBy).Scan(&id)
	if err != nil {
		return Batch{}, batchNameErr("import batch", err)
	}

	rows := &recipientRows{batchID: id, src: p.Source, progress: p.Progress, every: everyInterval(p.ProgressInterval)}
	n, err := copyRecipients(ctx, tx, rows)
	if err != nil {
		return Batch{}, err
	}
	b, err := scanBatch(tx.QueryRow(ctx, `
		UPDATE batches SET status = 'ready', recipient_count = $2, duplicate_count = $3, invalid_count = $4
		WHERE id = $1
		RETURNING `+batchColumns, id, n, p.Source.Duplicates(), p.Source.Invalid()))
	if err != nil {
		return Batch{}, fmt.Errorf("import batch: finish: %w", err)
	}
	return b, nil
}

func everyInterval(d time.Duration) func() bool {
	if d <= 0 {
		d = time.Second
	}
	last := time.Now()
	return func() bool {
		if now := time.Now(); now.Sub(last) >= d {
			last = now
			return true
		}
		return false
	}
}

// BatchList returns a page of batches, newest first, and how many there are in all.
func (s *Store) BatchList(ctx context.Context, offset, limit int) ([]Batch, int, error) {
	var total int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM batches WHERE deleted_at IS NULL`).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("list batches: %w", err)
	}
	rows, err := s.db.Query(ctx, `
		SELECT `+batchColumns+` FROM batches
		WHERE deleted_at IS NULL
		ORDER BY id DESC
		OFFSET $1 LIMIT $2`, offset, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("list batches: %w", err)
	}
	batches, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Batch, error) { return scanBatch(row) })
	if err != nil {
		return nil, 0, fmt.Errorf("list batches: %w", err)
	}
	return batches, total, nil
}

// BatchGet returns a batch and one of its recipients as a sample (nil if it has none),
// or ErrNotFound.
func (s *Store) BatchGet(ctx context.Context, id int64) (Batch, *Recipient, error) {
	b, err := scanBatch(s.db.QueryRow(ctx, `
		SELECT `+batchColumns+` FROM batches WHERE id = $1 AND deleted_at IS NULL`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Batch{}, nil, ErrNotFound
	}
	if err != nil {
		return Batch{}, nil, fmt.Errorf("get batch %d: %w", id, err)
	}
	sample, err := recipientSample(ctx, s.db, id, 1)
	if err != nil || len(sample) == 0 {
		return b, nil, err
	}
	return b, &sample[0], nil
}

// BatchRename renames a batch: ErrNotFound, ErrNameInvalid or ErrNameTaken.
func (s *Store) BatchRename(ctx context.Context, id int64, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	tag, err := s.db.Exec(ctx, `UPDATE batches SET name = $2 WHERE id = $1 AND deleted_at IS NULL`, id, name)
	if err != nil {
		return batchNameErr(fmt.Sprintf("rename batch %d", id), err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// BatchDelete deletes a batch and its recipients. It returns an *InUseError (ErrInUse)
// while a scheduled, running or paused campaign uses the batch, and ErrNotFound. A batch
// that only finished campaigns used loses its recipients but keeps its row, marked
// deleted, for those campaigns' history; it no longer appears anywhere else.
func (s *Store) BatchDelete(ctx context.Context, id int64) error {
	return s.InTx(ctx, func(st *Store) error { return st.batchDelete(ctx, id) })
}

func (s *Store) batchDelete(ctx context.Context, id int64) error {
	tx := s.db
	// FOR UPDATE makes a campaign being created on this batch wait for the outcome
	// (its foreign key check locks the row FOR KEY SHARE).
	var referenced bool
	err := tx.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM campaigns WHERE batch_id = b.id)
		FROM batches b WHERE id = $1 AND deleted_at IS NULL
		FOR UPDATE`, id).Scan(&referenced)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete batch %d: %w", id, err)
	}
	if err := refuseActiveCampaigns(ctx, tx, "batch_id", id); err != nil {
		return err
	}
	if referenced {
		_, err = tx.Exec(ctx, `
			WITH gone AS (DELETE FROM recipients WHERE batch_id = $1)
			UPDATE batches SET deleted_at = now() WHERE id = $1`, id)
	} else {
		_, err = tx.Exec(ctx, `DELETE FROM batches WHERE id = $1`, id)
	}
	if err != nil {
		return fmt.Errorf("delete batch %d: %w", id, err)
	}
	return nil
}

// refuseActiveCampaigns returns an *InUseError if a scheduled, running or paused campaign
// has column = id. column is one of our own column names, never input; channel_id
// means any of the campaign's bots (campaign_channels).
func refuseActiveCampaigns(ctx context.Context, db DBTX, column string, id int64) error {
	where := column + ` = $1`
	if column == "channel_id" {
		where = `id IN (SELECT campaign_id FROM campaign_channels WHERE channel_id = $1)`
	}
	rows, err := db.Query(ctx, `
		SELECT id FROM campaigns
		WHERE `+where+` AND status IN ('scheduled', 'running', 'paused')
		ORDER BY id`, id)
	if err != nil {
		return fmt.Errorf("find active campaigns: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("find active campaigns: %w", err)
	}
	if len(ids) > 0 {
		return &InUseError{CampaignIDs: ids}
	}
	return nil
}

func scanBatch(row pgx.Row) (Batch, error) {
	var b Batch
	err := row.Scan(&b.ID, &b.Name, &b.Status, &b.Columns, &b.RecipientCount, &b.DuplicateCount,
		&b.InvalidCount, &b.SourceName, &b.CreatedBy, &b.CreatedAt)
	return b, err
}

func checkName(name string) error {
	if n := utf8.RuneCountInString(name); n < 1 || n > 64 {
		return ErrNameInvalid
	}
	return nil
}

// batchNameErr turns the unique violation on the batch name into ErrNameTaken.
func batchNameErr(op string, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "batches_name_key" {
		return ErrNameTaken
	}
	return fmt.Errorf("%s: %w", op, err)
}

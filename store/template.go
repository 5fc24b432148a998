package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Template is what a campaign sends. Body and Entities are kept as Telegram gives them
// (entity offsets in UTF-16 code units); Entities and Buttons are JSON arrays whose
// shape belongs to the caller (Telegram's MessageEntity and InlineKeyboardButton rows).
type Template struct {
	ID            int64
	Name          string
	Body          string
	Entities      json.RawMessage
	MediaKind     string // "" for text templates; photo, video, document, animation
	MediaFileID   string
	MediaUniqueID string
	Buttons       json.RawMessage
	CreatedBy     int64
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Errors of template changes.
var (
	// ErrTemplateNameTaken: another template already has this name (case-insensitive).
	ErrTemplateNameTaken = errors.New("name taken")
	// ErrTemplateInUse: a campaign refers to the template.
	ErrTemplateInUse = errors.New("in use")
)

const templateColumns = `id, name, body, entities, coalesce(media_kind, ''), coalesce(media_file_id, ''),
	coalesce(media_unique_id, ''), buttons, created_by, created_at, updated_at`

// TemplateCreate inserts t and returns its id; ErrTemplateNameTaken if the name is used.
func (s *Store) TemplateCreate(ctx context.Context, t Template) (int64, error) {
	if len(t.Entities) == 0 {
		t.Entities = json.RawMessage(`[]`)
	}
	if len(t.Buttons) == 0 {
		t.Buttons = json.RawMessage(`[]`)
	}
	var id int64
	err := s.db.QueryRow(ctx, `
		INSERT INTO templates (name, body, entities, media_kind, media_file_id, media_unique_id, buttons, created_by)
		VALUES ($1, $2, $3, nullif($4, ''), nullif($5, ''), nullif($6, ''), $7, $8) RETURNING id`,
		t.Name, t.Body, []byte(t.Entities), t.MediaKind, t.MediaFileID, t.MediaUniqueID, []byte(t.Buttons), t.CreatedBy).Scan(&id)
	if pgUniqueViolation(err) {
		return 0, ErrTemplateNameTaken
	}
	if err != nil {
		return 0, fmt.Errorf("create template: %w", err)
	}
	return id, nil
}

// TemplateGet returns the template with id, or ErrNotFound.
func (s *Store) TemplateGet(ctx context.Context, id int64) (Template, error) {
	rows, err := s.db.Query(ctx, `SELECT `+templateColumns+` FROM templates WHERE id = $1 AND deleted_at IS NULL`, id)
	if err != nil {
		return Template{}, fmt.Errorf("get template: %w", err)
	}
	t, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[Template])
	if errors.Is(err, pgx.ErrNoRows) {
		return Template{}, ErrNotFound
	}
	if err != nil {
		return Template{}, fmt.Errorf("get template: %w", err)
	}
	return t, nil
}

// TemplateList returns one page of templates, newest first, and the total count.
func (s *Store) TemplateList(ctx context.Context, limit, offset int) ([]Template, int, error) {
	var total int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM templates WHERE deleted_at IS NULL`).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count templates: %w", err)
	}
	rows, err := s.db.Query(ctx, `SELECT `+templateColumns+` FROM templates WHERE deleted_at IS NULL ORDER BY id DESC LIMIT $1 OFFSET $2`, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("list templates: %w", err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Template])
	if err != nil {
		return nil, 0, fmt.Errorf("list templates: %w", err)
	}
	return list, total, nil
}

// TemplateNameTaken reports whether a template other than exceptID has name
// (case-insensitive), so a dialog can refuse the name before the admin goes on.
func (s *Store) TemplateNameTaken(ctx context.Context, name string, exceptID int64) (bool, error) {
	var taken bool
	err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM templates WHERE lower(name) = lower($1) AND id <> $2 AND deleted_at IS NULL)`, name, exceptID).Scan(&taken)
	if err != nil {
		return false, fmt.Errorf("check template name: %w", err)
	}
	return taken, nil
}

// TemplateRename renames a template; ErrNotFound, ErrTemplateNameTaken.
func (s *Store) TemplateRename(ctx context.Context, id int64, name string) error {
	tag, err := s.db.Exec(ctx, `UPDATE templates SET name = $2, updated_at = now() WHERE id = $1 AND deleted_at IS NULL`, id, name)
	if pgUniqueViolation(err) {
		return ErrTemplateNameTaken
	}
	if err != nil {
		return fmt.Errorf("rename template: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// TemplateDelete deletes a template; ErrNotFound, or ErrTemplateInUse while a campaign
// that is not finished (scheduled, running, paused) uses it. A template that only
// finished campaigns used is marked deleted instead, so their cards and reports keep
// it; it disappears from lists and its name is free again.
func (s *Store) TemplateDelete(ctx context.Context, id int64) error {
	return s.InTx(ctx, func(s *Store) error {
		var active, used bool
		err := s.db.QueryRow(ctx, `
			SELECT EXISTS (SELECT 1 FROM campaigns WHERE template_id = t.id AND status IN ('scheduled', 'running', 'paused')),
			       EXISTS (SELECT 1 FROM campaigns WHERE template_id = t.id)
			FROM templates t WHERE t.id = $1 AND t.deleted_at IS NULL FOR UPDATE`, id).Scan(&active, &used)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return ErrNotFound
		case err != nil:
			return fmt.Errorf("delete template: %w", err)
		case active:
			return ErrTemplateInUse
		case used:
			_, err = s.db.Exec(ctx, `UPDATE templates SET deleted_at = now(), updated_at = now() WHERE id = $1`, id)
		default:
			_, err = s.db.Exec(ctx, `DELETE FROM templates WHERE id = $1`, id)
		}
		if pgForeignKeyViolation(err) { // a campaign was created meanwhile
			return ErrTemplateInUse
		}
		if err != nil {
			return fmt.Errorf("delete template: %w", err)
		}
		return nil
	})
}

func pgUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

func pgForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23503"
}

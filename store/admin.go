package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Admin roles. Owners come from HERALD_OWNER_IDS; viewers see but change nothing.
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleViewer = "viewer"
)

// Admin is a user allowed to talk to the management bot.
type Admin struct {
	UserID      int64
	Role        string
	DisplayName string
	AddedBy     int64 // 0 for owners synced from the environment
	CreatedAt   time.Time
	Language    string // "en", "ru" or "" before the first update
	// LanguageChosen: the admin picked Language in Settings, so their Telegram
	// language no longer replaces it.
	LanguageChosen bool
}

const adminColumns = `user_id, role, display_name, coalesce(added_by, 0), created_at,
	coalesce(language, ''), language_chosen`

// AdminGet returns the admin with userID, or ErrNotFound.
func (s *Store) AdminGet(ctx context.Context, userID int64) (Admin, error) {
	rows, err := s.db.Query(ctx, `SELECT `+adminColumns+` FROM admins WHERE user_id = $1`, userID)
	if err != nil {
		return Admin{}, fmt.Errorf("get admin: %w", err)
	}
	a, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[Admin])
	if errors.Is(err, pgx.ErrNoRows) {
		return Admin{}, ErrNotFound
	}
	if err != nil {
		return Admin{}, fmt.Errorf("get admin: %w", err)
	}
	return a, nil
}

// AdminList returns every admin, owners first, then by the time they were added.
func (s *Store) AdminList(ctx context.Context) ([]Admin, error) {
	rows, err := s.db.Query(ctx, `SELECT `+adminColumns+` FROM admins
		ORDER BY CASE role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END, created_at, user_id`)
	if err != nil {
		return nil, fmt.Errorf("list admins: %w", err)
	}
	admins, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Admin])
	if err != nil {
		return nil, fmt.Errorf("list admins: %w", err)
	}
	return admins, nil
}

// ErrOwner is returned when a change would touch an owner: owners are managed only
// through HERALD_OWNER_IDS.
var ErrOwner = errors.New("user is an owner")

// AdminPut adds a.UserID with a.Role, or changes the role of an existing admin. It
// returns ErrOwner if the user is an owner and created=true when the row is new.
func (s *Store) AdminPut(ctx context.Context, a Admin) (created bool, err error) {
	var inserted, owner bool
	err = s.db.QueryRow(ctx, `
		WITH current AS (SELECT role FROM admins WHERE user_id = $1),
		upsert AS (
			INSERT INTO admins (user_id, role, display_name, added_by)
			SELECT $1, $2, $3, nullif($4, 0)
			WHERE NOT EXISTS (SELECT 1 FROM current WHERE role = 'owner')
			ON CONFLICT (user_id) DO UPDATE
				SET role = excluded.role, display_name = excluded.display_name, updated_at = now()
			RETURNING (xmax = 0) AS inserted)
		SELECT coalesce((SELECT inserted FROM upsert), false),
		       EXISTS (SELECT 1 FROM current WHERE role = 'owner')`,
		a.UserID, a.Role, a.DisplayName, a.AddedBy).Scan(&inserted, &owner)
	if err != nil {
		return false, fmt.Errorf("put admin: %w", err)
	}
	if owner {
		return false, ErrOwner
	}
	return inserted, nil
}

// AdminDelete removes a non-owner admin and returns it; ErrNotFound if there is none,
// ErrOwner if the user is an owner.
func (s *Store) AdminDelete(ctx context.Context, userID int64) (Admin, error) {
	a, err := s.AdminGet(ctx, userID)
	if err != nil {
		return Admin{}, err
	}
	if a.Role == RoleOwner {
		return Admin{}, ErrOwner
	}
	if _, err := s.db.Exec(ctx, `DELETE FROM admins WHERE user_id = $1 AND role <> 'owner'`, userID); err != nil {
		return Admin{}, fmt.Errorf("delete admin: %w", err)
	}
	return a, nil
}

// AdminSyncOwners makes exactly ownerIDs the owners: listed users become owners (also
// if they were admins or viewers) and owners no longer listed lose access, because
// the environment is the only source of ownership.
func (s *Store) AdminSyncOwners(ctx context.Context, ownerIDs []int64) error {
	return s.InTx(ctx, func(tx *Store) error {
		if _, err := tx.db.Exec(ctx, `DELETE FROM admins WHERE role = 'owner' AND NOT (user_id = ANY($1))`, ownerIDs); err != nil {
			return fmt.Errorf("sync owners: %w", err)
		}
		if _, err := tx.db.Exec(ctx, `
			INSERT INTO admins (user_id, role) SELECT unnest($1::bigint[]), 'owner'
			ON CONFLICT (user_id) DO UPDATE SET role = 'owner', updated_at = now()
			WHERE admins.role <> 'owner'`, ownerIDs); err != nil {
			return fmt.Errorf("sync owners: %w", err)
		}
		return nil
	})
}

// AdminFollowLanguage records lang (a supported code) as the admin's language unless
// they chose one in Settings, and returns the language to talk to them in. It writes
// only when the language changed, so an ordinary update costs no write.
func (s *Store) AdminFollowLanguage(ctx context.Context, a Admin, lang string) (string, error) {
	if a.LanguageChosen && a.Language != "" {
		return a.Language, nil
	}
	if a.Language == lang {
		return lang, nil
	}
	if _, err := s.db.Exec(ctx, `UPDATE admins SET language = $2, updated_at = now()
		WHERE user_id = $1 AND NOT language_chosen`, a.UserID, lang); err != nil {
		return "", fmt.Errorf("record admin language: %w", err)
	}
	return lang, nil
}

// AdminChooseLanguage sets the admin's language from Settings; it stays until they
// choose again.
func (s *Store) AdminChooseLanguage(ctx context.Context, userID int64, lang string) error {
	tag, err := s.db.Exec(ctx, `UPDATE admins SET language = $2, language_chosen = true, updated_at = now()
		WHERE user_id = $1`, userID, lang)
	if err != nil {
		return fmt.Errorf("choose admin language: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// APIKey is a key of the HTTP API. The key itself is never stored: Hash is its
// SHA-256, Hint its first characters.
type APIKey struct {
	ID        int64
	Name      string
	Role      string // RoleAdmin or RoleViewer
	Hint      string
	CreatedBy int64
	CreatedAt time.Time
	RevokedAt *time.Time
}

// APIKeyActor is the audit_log actor_id of API key id: negative, so it never collides
// with a Telegram user id, which is positive.
func APIKeyActor(id int64) int64 { return -id }

// apiKeyPrefix marks Herald's API keys, so a leaked one is recognisable (secret scanners).
const apiKeyPrefix = "hrld_"

// NewAPIKey returns a new random API key (256 bits), the hash to store and a hint
// (its first characters) to tell keys apart in lists.
func NewAPIKey() (key string, hash []byte, hint string) {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	key = apiKeyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return key, HashAPIKey(key), key[:len(apiKeyPrefix)+4]
}

// HashAPIKey is what is stored of a key: SHA-256 suffices for 256 random bits, which
// no one can guess, and keeps the check one indexed lookup.
func HashAPIKey(key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return sum[:]
}

const apiKeyColumns = `id, name, role, hint, created_by, created_at, revoked_at`

// APIKeyCreate stores a new key's hash; the caller shows the key once.
func (s *Store) APIKeyCreate(ctx context.Context, name, role string, hash []byte, hint string, createdBy int64) (APIKey, error) {
	if err := checkName(name); err != nil {
		return APIKey{}, err
	}
	if role != RoleAdmin && role != RoleViewer {
		return APIKey{}, fmt.Errorf("create api key: role %q", role)
	}
	rows, err := s.db.Query(ctx, `INSERT INTO api_keys (name, role, key_hash, hint, created_by)
		VALUES ($1, $2, $3, $4, $5) RETURNING `+apiKeyColumns, name, role, hash, hint, createdBy)
	if err != nil {
		return APIKey{}, fmt.Errorf("create api key: %w", err)
	}
	k, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[APIKey])
	if err != nil {
		return APIKey{}, fmt.Errorf("create api key: %w", err)
	}
	return k, nil
}

// APIKeyList returns the keys that are not revoked, oldest first.
func (s *Store) APIKeyList(ctx context.Context) ([]APIKey, error) {
	rows, err := s.db.Query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE revoked_at IS NULL ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowToStructByPos[APIKey])
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return keys, nil
}

// APIKeyGet returns a key (revoked or not), or ErrNotFound.
func (s *Store) APIKeyGet(ctx context.Context, id int64) (APIKey, error) {
	rows, err := s.db.Query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE id = $1`, id)
	if err != nil {
		return APIKey{}, fmt.Errorf("get api key: %w", err)
	}
	k, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[APIKey])
	if errors.Is(err, pgx.ErrNoRows) {
		return APIKey{}, ErrNotFound
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("get api key: %w", err)
	}
	return k, nil
}

// APIKeyRevoke revokes a key at once; ErrNotFound for an unknown or revoked key.
func (s *Store) APIKeyRevoke(ctx context.Context, id int64) error {
	tag, err := s.db.Exec(ctx, `UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, id)
	if err != nil {
		return fmt.Errorf("revoke api key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// APIKeyByHash returns the key that is not revoked with this hash, or ErrNotFound.
func (s *Store) APIKeyByHash(ctx context.Context, hash []byte) (APIKey, error) {
	rows, err := s.db.Query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`, hash)
	if err != nil {
		return APIKey{}, fmt.Errorf("find api key: %w", err)
	}
	k, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[APIKey])
	if errors.Is(err, pgx.ErrNoRows) {
		return APIKey{}, ErrNotFound
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("find api key: %w", err)
	}
	return k, nil
}

// IdempotentResponse is the answer kept for an Idempotency-Key.
type IdempotentResponse struct {
	Operation string
	Request   []byte // SHA-256 of the request
	Status    int
	Response  json.RawMessage
}

// IdempotencyGet returns the answer kept for (keyID, idemKey), or ErrNotFound.
func (s *Store) IdempotencyGet(ctx context.Context, keyID int64, idemKey string) (IdempotentResponse, error) {
	var r IdempotentResponse
	err := s.db.QueryRow(ctx, `SELECT operation, request, status, response FROM api_idempotency
		WHERE api_key_id = $1 AND idem_key = $2`, keyID, idemKey).Scan(&r.Operation, &r.Request, &r.Status, &r.Response)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("get idempotent response: %w", err)
	}
	return r, nil
}

// ErrIdempotencyRace: another request with the same Idempotency-Key committed first.
var ErrIdempotencyRace = errors.New("idempotency key used concurrently")

// IdempotencyPut keeps the answer; call it in the transaction that made the change, so
// both commit or neither. ErrIdempotencyRace when the key was used meanwhile.
func (s *Store) IdempotencyPut(ctx context.Context, keyID int64, idemKey string, r IdempotentResponse) error {
	_, err := s.db.Exec(ctx, `INSERT INTO api_idempotency (api_key_id, idem_key, operation, request, status, response)
		VALUES ($1, $2, $3, $4, $5, $6)`, keyID, idemKey, r.Operation, r.Request, r.Status, []byte(r.Response))
	if pgUniqueViolation(err) {
		return ErrIdempotencyRace
	}
	if err != nil {
		return fmt.Errorf("keep idempotent response: %w", err)
	}
	return nil
}

// AuditPage returns up to limit entries older than beforeID (0: the newest), newest first.
func (s *Store) AuditPage(ctx context.Context, beforeID int64, limit int) ([]AuditEntry, error) {
	rows, err := s.db.Query(ctx, `SELECT id, at, actor_id, action, target, details FROM audit_log
		WHERE $1 = 0 OR id < $1 ORDER BY id DESC LIMIT $2`, beforeID, limit)
	if err != nil {
		return nil, fmt.Errorf("audit page: %w", err)
	}
	entries, err := pgx.CollectRows(rows, pgx.RowToStructByPos[AuditEntry])
	if err != nil {
		return nil, fmt.Errorf("audit page: %w", err)
	}
	return entries, nil
}

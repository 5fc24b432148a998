package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// SecretKeyVerifier returns the stored key verifier, or ErrNotFound before the first
// start that had HERALD_SECRET_KEY.
func (s *Store) SecretKeyVerifier(ctx context.Context) ([]byte, error) {
	var sealed []byte
	err := s.db.QueryRow(ctx, `SELECT sealed FROM secret_key_verifier`).Scan(&sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read secret key verifier: %w", err)
	}
	return sealed, nil
}

// SecretKeyVerifierInit stores verifier unless one is stored already, and returns the
// stored one: when replicas start at once with different keys, one wins and the others
// see its verifier.
func (s *Store) SecretKeyVerifierInit(ctx context.Context, verifier []byte) ([]byte, error) {
	if _, err := s.db.Exec(ctx, `INSERT INTO secret_key_verifier (sealed) VALUES ($1) ON CONFLICT DO NOTHING`, verifier); err != nil {
		return nil, fmt.Errorf("store secret key verifier: %w", err)
	}
	return s.SecretKeyVerifier(ctx)
}

// ChannelSealedTokens returns the stored token ciphertext of every channel that has
// one (deleted channels keep none), by channel id.
func (s *Store) ChannelSealedTokens(ctx context.Context) (map[int64][]byte, error) {
	return channelSealedTokens(ctx, s.db, "")
}

func channelSealedTokens(ctx context.Context, db DBTX, lock string) (map[int64][]byte, error) {
	rows, err := db.Query(ctx, `SELECT id, token_ciphertext FROM channels WHERE length(token_ciphertext) > 0 `+lock)
	if err != nil {
		return nil, fmt.Errorf("read channel tokens: %w", err)
	}
	tokens := map[int64][]byte{}
	var id int64
	var sealed []byte
	if _, err := pgx.ForEachRow(rows, []any{&id, &sealed}, func() error {
		tokens[id] = sealed
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read channel tokens: %w", err)
	}
	return tokens, nil
}

// SecretKeyRotate re-seals every channel token and the key verifier with reseal (open
// under the old key, seal under the new) in one transaction: if reseal fails for any
// of them nothing changes. Without a stored verifier, newVerifier is stored. It returns
// how many channel tokens were re-sealed.
func (s *Store) SecretKeyRotate(ctx context.Context, reseal func(sealed []byte) ([]byte, error), newVerifier []byte) (int, error) {
	var n int
	err := s.InTx(ctx, func(tx *Store) error {
		// Locks the verifier row first, so a concurrent first start waits for the
		// rotation and then sees the new verifier.
		verifier, err := tx.lockedVerifier(ctx)
		if err != nil {
			return err
		}
		if verifier != nil {
			if newVerifier, err = reseal(verifier); err != nil {
				return fmt.Errorf("secret key verifier: %w", err)
			}
		}
		if _, err := tx.db.Exec(ctx, `
			INSERT INTO secret_key_verifier (sealed) VALUES ($1)
			ON CONFLICT (singleton) DO UPDATE SET sealed = EXCLUDED.sealed, rotated_at = now()`, newVerifier); err != nil {
			return fmt.Errorf("store secret key verifier: %w", err)
		}
		tokens, err := channelSealedTokens(ctx, tx.db, "FOR UPDATE")
		if err != nil {
			return err
		}
		for id, sealed := range tokens {
			resealed, err := reseal(sealed)
			if err != nil {
				return fmt.Errorf("token of channel %d: %w", id, err)
			}
			if _, err := tx.db.Exec(ctx, `UPDATE channels SET token_ciphertext = $2 WHERE id = $1`, id, resealed); err != nil {
				return fmt.Errorf("store token of channel %d: %w", id, err)
			}
		}
		n = len(tokens)
		return nil
	})
	return n, err
}

func (s *Store) lockedVerifier(ctx context.Context) ([]byte, error) {
	var sealed []byte
	err := s.db.QueryRow(ctx, `SELECT sealed FROM secret_key_verifier FOR UPDATE`).Scan(&sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read secret key verifier: %w", err)
	}
	return sealed, nil
}

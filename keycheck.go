package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/rs/zerolog"

	"herald/migrations"
	"herald/secrets"
	"herald/store"
)

// errKeyMismatch is the one line a start with another HERALD_SECRET_KEY stops with.
var errKeyMismatch = &configError{"HERALD_SECRET_KEY", "does not match the key the stored data was encrypted with; " +
	"start with that key, or change keys with `herald rotate-key` (SECURITY.md, \"Rotating the secret key\")"}

// checkSecretKey runs at start, before the bot or the workers: without a key it
// refuses when channel tokens need one; with a key it compares the key against the
// stored verifier, storing one at the first start with a key. Tokens sealed before the
// verifier existed must open under the key first, so an upgrade cannot adopt a wrong key.
func checkSecretKey(ctx context.Context, st *store.Store, key []byte) error {
	if len(key) == 0 {
		n, err := st.ChannelCount(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			return &configError{"HERALD_SECRET_KEY", fmt.Sprintf("required: %d channel bot(s) are registered and their tokens are encrypted with it", n)}
		}
		return nil
	}
	box, err := secrets.NewBox(key)
	if err != nil {
		return err
	}
	verifier, err := st.SecretKeyVerifier(ctx)
	if errors.Is(err, store.ErrNotFound) {
		tokens, err := st.ChannelSealedTokens(ctx)
		if err != nil {
			return err
		}
		for _, sealed := range tokens {
			if _, err := box.Open(sealed); err != nil {
				return errKeyMismatch
			}
		}
		verifier, err = st.SecretKeyVerifierInit(ctx, box.NewVerifier())
		if err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	if !box.Verify(verifier) {
		return errKeyMismatch
	}
	return nil
}

// rotateKey re-encrypts every stored channel token and the key verifier from
// HERALD_SECRET_KEY to HERALD_NEW_SECRET_KEY in one transaction. Herald must be stopped
// meanwhile: a running instance would hold the old key.
func rotateKey(ctx context.Context, cfg config, logger zerolog.Logger, stdout io.Writer) error {
	if len(cfg.secretKey) == 0 {
		return &configError{"HERALD_SECRET_KEY", "required by rotate-key: the key the data is encrypted with now"}
	}
	if len(cfg.newSecretKey) == 0 {
		return &configError{"HERALD_NEW_SECRET_KEY", "required by rotate-key: the key to encrypt with from now on (openssl rand -base64 32)"}
	}
	if string(cfg.secretKey) == string(cfg.newSecretKey) {
		return &configError{"HERALD_NEW_SECRET_KEY", "is the same key as HERALD_SECRET_KEY"}
	}
	oldBox, err := secrets.NewBox(cfg.secretKey)
	if err != nil {
		return err
	}
	newBox, err := secrets.NewBox(cfg.newSecretKey)
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer db.close(ctx, logger)
	// An installation from before the verifier may rotate: its table must exist.
	if _, err := migrations.Up(ctx, db.pool, riverLogger(logger)); err != nil {
		return err
	}
	n, err := store.New(db.pool).SecretKeyRotate(ctx, func(sealed []byte) ([]byte, error) {
		plain, err := oldBox.Open(sealed)
		if err != nil {
			return nil, err
		}
		return newBox.Seal(plain), nil
	}, newBox.NewVerifier())
	if errors.Is(err, secrets.ErrOpen) {
		return &configError{"HERALD_SECRET_KEY", "does not match the key the stored data was encrypted with (" + unwrapMessage(err) + "); nothing was changed"}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "re-encrypted %d channel token(s) and the key verifier; start Herald with HERALD_SECRET_KEY set to the new key\n", n)
	return nil
}

// unwrapMessage is err's message up to the first ": " of its cause, naming the object
// ("token of channel 3") without the cause's own wording.
func unwrapMessage(err error) string {
	msg := err.Error()
	if cause := errors.Unwrap(err); cause != nil && len(msg) > len(cause.Error())+2 {
		return msg[:len(msg)-len(cause.Error())-2]
	}
	return msg
}

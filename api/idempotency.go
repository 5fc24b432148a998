package api

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"herald/flows"
	"herald/store"
)

// IdempotencyHeader is documented on every POST that creates or starts something.
type IdempotencyHeader struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Repeat a request safely: the same key with the same body gets the first answer again, and nothing is done twice"`
}

// requestHash identifies a request for its Idempotency-Key: the operation and its
// input, encoded deterministically.
func requestHash(op string, parts ...any) []byte {
	h := sha256.New()
	h.Write([]byte(op))
	for _, p := range parts {
		b, _ := json.Marshal(p)
		h.Write([]byte{0})
		h.Write(b)
	}
	return h.Sum(nil)
}

// replayed returns the answer kept for the request's Idempotency-Key: ok false when
// there is none (or no key); a conflict when the key came with another request.
func replayed[T any](ctx context.Context, s *Server, idemKey, op string, hash []byte) (out T, ok bool, err error) {
	if idemKey == "" {
		return out, false, nil
	}
	kept, err := s.cfg.Store.IdempotencyGet(ctx, keyOf(ctx).ID, idemKey)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return out, false, nil
	case err != nil:
		return out, false, err
	case kept.Operation != op || string(kept.Request) != string(hash):
		return out, false, &Problem{Status: http.StatusUnprocessableEntity, Title: "Unprocessable Entity",
			Code: string(flows.CodeConflict), Key: "api.idempotency_mismatch",
			Detail: "this Idempotency-Key was used with a different request"}
	}
	if err := json.Unmarshal(kept.Response, &out); err != nil {
		return out, false, fmt.Errorf("decode kept response: %w", err)
	}
	return out, true, nil
}

// idempotent runs fn in a transaction and keeps its answer under the request's
// Idempotency-Key in the same transaction; a request with the same key that committed
// first wins, and its answer is returned.
func idempotent[T any](ctx context.Context, s *Server, idemKey, op string, hash []byte, fn func(tx *store.Store) (T, error)) (T, error) {
	if out, ok, err := replayed[T](ctx, s, idemKey, op, hash); ok || err != nil {
		return out, err
	}
	var out T
	err := s.cfg.Store.InTx(ctx, func(tx *store.Store) error {
		var err error
		if out, err = fn(tx); err != nil || idemKey == "" {
			return err
		}
		body, err := json.Marshal(out)
		if err != nil {
			return err
		}
		return tx.IdempotencyPut(ctx, keyOf(ctx).ID, idemKey, store.IdempotentResponse{
			Operation: op, Request: hash, Status: http.StatusCreated, Response: body})
	})
	if errors.Is(err, store.ErrIdempotencyRace) {
		if out, ok, err := replayed[T](ctx, s, idemKey, op, hash); ok || err != nil {
			return out, err
		}
	}
	return out, err
}

// Page is the cursor and size of a list.
type Page struct {
	Cursor string `query:"cursor" doc:"The next_cursor of the previous page; empty for the first"`
	Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50" doc:"Items per page"`
}

// offset decodes an opaque cursor.
func (p Page) offset() (int, error) {
	if p.Cursor == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(p.Cursor)
	n, convErr := strconv.Atoi(strings.TrimPrefix(string(b), "o:"))
	if err != nil || convErr != nil || n < 0 || !strings.HasPrefix(string(b), "o:") {
		return 0, invalid("api.bad_cursor", "the cursor is not one this API gave")
	}
	return n, nil
}

// next is the cursor after a page of n items starting at offset, or "" at the end.
func next(offset, n, total int) string {
	if offset+n >= total || n == 0 {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(offset+n)))
}

func limitOf(p Page) int {
	if p.Limit <= 0 {
		return 50
	}
	return p.Limit
}

// idempotentLate is idempotent for a streamed request, whose hash is known only once
// it has been read: the caller looked for a kept answer before, and hash is called
// after fn.
func idempotentLate[T any](ctx context.Context, s *Server, idemKey, op string, hash func() []byte, fn func(tx *store.Store) (T, error)) (T, error) {
	var out T
	err := s.cfg.Store.InTx(ctx, func(tx *store.Store) error {
		var err error
		if out, err = fn(tx); err != nil || idemKey == "" {
			return err
		}
		body, err := json.Marshal(out)
		if err != nil {
			return err
		}
		return tx.IdempotencyPut(ctx, keyOf(ctx).ID, idemKey, store.IdempotentResponse{
			Operation: op, Request: hash(), Status: http.StatusCreated, Response: body})
	})
	if errors.Is(err, store.ErrIdempotencyRace) {
		if out, ok, err := replayed[T](ctx, s, idemKey, op, hash()); ok || err != nil {
			return out, err
		}
	}
	return out, err
}

func typeOf[T any]() reflect.Type { return reflect.TypeOf((*T)(nil)).Elem() }

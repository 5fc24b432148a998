package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"herald/pgtest"
	"herald/secrets"
)

type keyBundle struct {
	dbURL string
	conn  *pgx.Conn
}

func setupKeys(t *testing.T) *keyBundle {
	t.Helper()
	dbURL := pgtest.NewDB(t)
	conn, err := pgx.Connect(context.Background(), dbURL)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.WithoutCancel(context.Background())) })
	return &keyBundle{dbURL: dbURL, conn: conn}
}

// newSecretKey returns a fresh key as HERALD_SECRET_KEY takes it, and its Box.
func newSecretKey(t *testing.T) (string, *secrets.Box) {
	t.Helper()
	key := make([]byte, secrets.KeySize)
	_, err := rand.Read(key)
	require.NoError(t, err)
	box, err := secrets.NewBox(key)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(key), box
}

// start runs Herald with key: nil means it became ready (and was stopped again),
// otherwise the error run returned.
func (b *keyBundle) start(t *testing.T, key string) error {
	t.Helper()
	out := &bytesBuffer{}
	env := envOf(map[string]string{"DATABASE_URL": b.dbURL, "HERALD_SECRET_KEY": key, "HERALD_HTTP_ADDR": "127.0.0.1:0"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"herald"}, env, out, out) }()
	deadline := time.After(patient(30 * time.Second))
	for {
		select {
		case err := <-done:
			require.Error(t, err, "run returned nil before it was stopped")
			require.NotContains(t, out.String(), "herald started", "the service ran with the refused key")
			return err
		case <-deadline:
			t.Fatalf("herald neither started nor refused; output:\n%s", out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if m := listeningRe.FindStringSubmatch(out.String()); m != nil && strings.Contains(out.String(), "herald started") {
			waitReady(t, m[1], http.StatusOK, 10*time.Second)
			cancel()
			require.NoError(t, <-done)
			return nil
		}
	}
}

func (b *keyBundle) addChannel(t *testing.T, box *secrets.Box, token string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, b.conn.QueryRow(context.Background(), `INSERT INTO channels (bot_user_id, username, name, token_ciphertext, created_by)
		VALUES (77, 'news_bot', 'News', $1, 1) RETURNING id`, box.Seal([]byte(token))).Scan(&id))
	return id
}

func (b *keyBundle) sealed(t *testing.T, query string) []byte {
	t.Helper()
	var sealed []byte
	require.NoError(t, b.conn.QueryRow(context.Background(), query).Scan(&sealed))
	return sealed
}

func requireKeyMismatch(t *testing.T, err error) {
	t.Helper()
	var ce *configError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "HERALD_SECRET_KEY", ce.Var)
	require.NotContains(t, err.Error(), "\n", "the refusal is one line")
	require.Contains(t, err.Error(), "does not match the key the stored data was encrypted with")
}

// TestServeRefusesAnotherSecretKey is issue 13's acceptance for the key check: the
// first start with a key stores its verifier; a start with another well-formed key
// stops before anything runs, with one line naming the problem and the way out; the
// right key starts again.
func TestServeRefusesAnotherSecretKey(t *testing.T) {
	t.Parallel()
	b := setupKeys(t)
	keyA, boxA := newSecretKey(t)
	keyB, _ := newSecretKey(t)

	require.NoError(t, b.start(t, keyA))
	require.True(t, boxA.Verify(b.sealed(t, `SELECT sealed FROM secret_key_verifier`)))

	err := b.start(t, keyB)
	requireKeyMismatch(t, err)
	require.Contains(t, err.Error(), "herald rotate-key", "the refusal says how to change keys")
	t.Logf("refusal: herald: %v", err)

	require.NoError(t, b.start(t, keyA))
}

// TestServeChecksKeyAgainstTokensBeforeVerifier covers an upgrade: tokens were sealed
// before the verifier existed, so the first start with a key must open them before it
// stores a verifier for that key.
func TestServeChecksKeyAgainstTokensBeforeVerifier(t *testing.T) {
	t.Parallel()
	b := setupKeys(t)
	keyA, boxA := newSecretKey(t)
	keyB, _ := newSecretKey(t)
	b.addChannel(t, boxA, "123456:AAChannelTokenAbcdefghijklmnopqrst")

	requireKeyMismatch(t, b.start(t, keyB))
	var verifiers int
	require.NoError(t, b.conn.QueryRow(context.Background(), `SELECT count(*) FROM secret_key_verifier`).Scan(&verifiers))
	require.Zero(t, verifiers, "a verifier was stored for the wrong key")

	require.NoError(t, b.start(t, keyA))
	require.True(t, boxA.Verify(b.sealed(t, `SELECT sealed FROM secret_key_verifier`)))
}

// TestRotateKey changes the key with the documented command: a wrong old key changes
// nothing; the right one re-encrypts the channel tokens and the verifier in one go, so
// the old key is refused afterwards and the new one starts.
func TestRotateKey(t *testing.T) {
	t.Parallel()
	b := setupKeys(t)
	keyA, boxA := newSecretKey(t)
	keyB, _ := newSecretKey(t)
	keyC, boxC := newSecretKey(t)
	const token = "123456:AAChannelTokenAbcdefghijklmnopqrst"
	id := b.addChannel(t, boxA, token)
	require.NoError(t, b.start(t, keyA))
	before := b.sealed(t, `SELECT token_ciphertext FROM channels`)

	rotate := func(oldKey, newKey string) (string, error) {
		out := &bytesBuffer{}
		err := run(context.Background(), []string{"herald", "rotate-key"}, envOf(map[string]string{
			"DATABASE_URL": b.dbURL, "HERALD_SECRET_KEY": oldKey, "HERALD_NEW_SECRET_KEY": newKey, "LOG_LEVEL": "warn",
		}), out, out)
		return out.String(), err
	}
	_, err := rotate(keyB, keyC)
	requireKeyMismatch(t, err)
	require.Contains(t, err.Error(), "nothing was changed")
	require.Equal(t, before, b.sealed(t, `SELECT token_ciphertext FROM channels`))
	require.True(t, boxA.Verify(b.sealed(t, `SELECT sealed FROM secret_key_verifier`)))

	_, err = rotate(keyA, keyA)
	require.ErrorContains(t, err, "HERALD_NEW_SECRET_KEY")

	out, err := rotate(keyA, keyC)
	require.NoError(t, err)
	require.Contains(t, out, "re-encrypted 1 channel token(s)")
	opened, err := boxC.Open(b.sealed(t, `SELECT token_ciphertext FROM channels WHERE id = `+strconv.FormatInt(id, 10)))
	require.NoError(t, err)
	require.Equal(t, token, string(opened))
	require.True(t, boxC.Verify(b.sealed(t, `SELECT sealed FROM secret_key_verifier`)))

	requireKeyMismatch(t, b.start(t, keyA))
	require.NoError(t, b.start(t, keyC))
}

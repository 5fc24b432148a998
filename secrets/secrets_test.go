package secrets_test

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"herald/secrets"
)

func newKey(t *testing.T) []byte {
	t.Helper()
	key := make([]byte, secrets.KeySize)
	_, err := rand.Read(key)
	require.NoError(t, err)
	return key
}

func TestSealOpen(t *testing.T) {
	t.Parallel()
	box, err := secrets.NewBox(newKey(t))
	require.NoError(t, err)
	token := []byte("123456789:AAE-secret-token-value_xyz")

	sealed := box.Seal(token)
	require.False(t, bytes.Contains(sealed, token), "ciphertext contains the plaintext")
	require.NotEqual(t, sealed, box.Seal(token), "two seals of one token must differ (fresh nonce)")
	opened, err := box.Open(sealed)
	require.NoError(t, err)
	require.Equal(t, token, opened)

	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	_, err = box.Open(tampered)
	require.ErrorIs(t, err, secrets.ErrOpen)

	other, err := secrets.NewBox(newKey(t))
	require.NoError(t, err)
	_, err = other.Open(sealed)
	require.ErrorIs(t, err, secrets.ErrOpen)

	_, err = box.Open(sealed[:5])
	require.ErrorIs(t, err, secrets.ErrOpen)
}

func TestNewBoxRefusesShortKey(t *testing.T) {
	t.Parallel()
	_, err := secrets.NewBox(make([]byte, 16))
	require.ErrorContains(t, err, "32 bytes")
}

func TestVerifierTellsTheKey(t *testing.T) {
	t.Parallel()
	box, err := secrets.NewBox(newKey(t))
	require.NoError(t, err)
	other, err := secrets.NewBox(newKey(t))
	require.NoError(t, err)

	v := box.NewVerifier()
	require.True(t, box.Verify(v))
	require.False(t, other.Verify(v), "another key verifies")
	require.False(t, box.Verify(box.Seal([]byte("not the constant"))), "a token is not a verifier")
	damaged := bytes.Clone(v)
	damaged[len(damaged)-1] ^= 1
	require.False(t, box.Verify(damaged))
	require.False(t, box.Verify(nil))
}

package secrets

import "crypto/subtle"

// verifierPlaintext is what a verifier seals. It is public: the verifier proves which
// key sealed it (GCM's tag fails under any other), not that anything is secret.
const verifierPlaintext = "herald secret key verifier v1"

// NewVerifier seals the known constant, so that a later Verify tells whether another
// Box holds the same key without any real secret being opened.
func (b *Box) NewVerifier() []byte { return b.Seal([]byte(verifierPlaintext)) }

// Verify reports whether verifier was made by NewVerifier under this Box's key.
func (b *Box) Verify(verifier []byte) bool {
	plain, err := b.Open(verifier)
	return err == nil && subtle.ConstantTimeCompare(plain, []byte(verifierPlaintext)) == 1
}

// Package proof is how a console proves to a client that it knows the
// system's token before the client sends it: the client sends a fresh
// random nonce (GET /api/hello?nonce=N, no token), the console answers
// {"proof": Hello(token, N)}, and the client sends its token (the
// WebSocket's Authorization header) only when the proof is the one its
// token gives. Someone without the token cannot make the proof, and the
// proof does not reveal the token.
package proof

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
)

// NonceParam is the query parameter of GET /api/hello that carries the
// nonce.
const NonceParam = "nonce"

// Nonce lengths a console accepts, in characters.
const (
	MinNonce = 16
	MaxNonce = 128
)

// label separates this use of the token from any other.
const label = "peacepie console hello v1\x00"

// Hello is the proof for nonce: hex HMAC-SHA256 of the nonce, keyed with
// the token.
func Hello(token, nonce string) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte(label))
	m.Write([]byte(nonce))
	return hex.EncodeToString(m.Sum(nil))
}

// Check reports whether got is the proof for nonce under token, in
// constant time.
func Check(token, nonce, got string) bool {
	return hmac.Equal([]byte(Hello(token, nonce)), []byte(got))
}

// NewNonce returns 32 random hex characters.
func NewNonce() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

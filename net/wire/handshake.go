package wire

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// The handshake proves to both ends that the other knows the system's
// secret, without sending it:
//
//	dialer   → Hello     nonceD(32) | node
//	listener → Challenge nonceL(32) | proofL(32) | node   proofL = HMAC(secret, "listener" nonceD nonceL nodeL)
//	dialer   → Auth      proofD(32)                         proofD = HMAC(secret, "dialer" nonceL nonceD nodeD)
//	listener → Ready
//
// A wrong proof ends the connection before any message is accepted.

// NonceSize is the size of a handshake nonce; ProofSize of a proof.
const (
	NonceSize = 32
	ProofSize = sha256.Size
)

// ErrAuth: the peer does not know the system's secret.
var ErrAuth = errors.New("wire: the peer does not know the system's secret")

// NewNonce returns a random nonce.
func NewNonce() []byte {
	n := make([]byte, NonceSize)
	if _, err := rand.Read(n); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return n
}

// Proof computes the proof of role ("dialer" or "listener").
func Proof(secret []byte, role string, theirNonce, myNonce []byte, myNode string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(role))
	m.Write(theirNonce)
	m.Write(myNonce)
	m.Write([]byte(myNode))
	return m.Sum(nil)
}

// CheckProof reports whether proof is right, in constant time.
func CheckProof(secret []byte, role string, theirNonce, myNonce []byte, myNode string, proof []byte) bool {
	return hmac.Equal(proof, Proof(secret, role, theirNonce, myNonce, myNode))
}

// Hello is the first frame of a dialer.
func Hello(nonce []byte, node string) []byte { return append(append([]byte{}, nonce...), node...) }

// ParseHello splits a Hello payload.
func ParseHello(p []byte) (nonce []byte, node string, err error) {
	if len(p) <= NonceSize {
		return nil, "", fmt.Errorf("wire: short hello (%d bytes)", len(p))
	}
	return p[:NonceSize], string(p[NonceSize:]), nil
}

// Challenge is the listener's answer to Hello.
func Challenge(nonce, proof []byte, node string) []byte {
	return append(append(append([]byte{}, nonce...), proof...), node...)
}

// ParseChallenge splits a Challenge payload.
func ParseChallenge(p []byte) (nonce, proof []byte, node string, err error) {
	if len(p) <= NonceSize+ProofSize {
		return nil, nil, "", fmt.Errorf("wire: short challenge (%d bytes)", len(p))
	}
	return p[:NonceSize], p[NonceSize : NonceSize+ProofSize], string(p[NonceSize+ProofSize:]), nil
}

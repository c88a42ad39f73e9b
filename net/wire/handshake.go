package wire

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// The handshake proves to both ends that the other knows the system's
// secret, without sending it, and gives a peer that does not know it
// nothing to test guesses against: the dialer proves first, and the
// listener proves itself only to a dialer that has.
//
//	dialer   → Hello     nonceD(32) | nodeD
//	listener → Challenge nonceL(32) | nodeL
//	dialer   → Auth      proofD(32)            proofD = HMAC(secret, "dialer" nonceL nonceD nodeD)
//	listener → Ready     proofL(32)            proofL = HMAC(secret, "listener" nonceD nonceL nodeL)
//
// Both proofs cover both nonces (no replay) and a role (a proof cannot be
// reflected to its maker). A wrong proof ends the connection before any
// message is accepted. Handshake frames are read with ReadHandshakeFrame,
// which allocates at most MaxHandshakeFrame bytes whatever a header
// announces.

// NonceSize is the size of a handshake nonce; ProofSize of a proof.
const (
	NonceSize = 32
	ProofSize = sha256.Size
)

// MaxNodeName is the longest node name a handshake accepts, in bytes.
const MaxNodeName = 255

// MaxHandshakeFrame is the largest payload of a handshake frame: a nonce
// and a node name fit with room to spare. A bigger frame before the peer
// has proved the secret is refused without reading it.
const MaxHandshakeFrame = 4 << 10

var (
	// ErrAuth: the peer does not know the system's secret.
	ErrAuth = errors.New("wire: the peer does not know the system's secret")
	// ErrNodeName: a node name in a handshake is empty, too long or not
	// printable.
	ErrNodeName = errors.New("wire: bad node name")
)

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

// ValidateNode checks a node name from a handshake: 1 to MaxNodeName
// bytes of UTF-8 with no control characters and no spaces. The error
// wraps ErrNodeName and quotes at most 64 bytes of the name.
func ValidateNode(node string) error {
	switch {
	case node == "":
		return fmt.Errorf("%w: empty", ErrNodeName)
	case len(node) > MaxNodeName:
		return fmt.Errorf("%w: %d bytes, more than %d: %s", ErrNodeName, len(node), MaxNodeName, QuoteTrunc(node, 64))
	case !utf8.ValidString(node):
		return fmt.Errorf("%w: not UTF-8: %s", ErrNodeName, QuoteTrunc(node, 64))
	}
	for _, r := range node {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return fmt.Errorf("%w: %s has a control character or a space", ErrNodeName, QuoteTrunc(node, 64))
		}
	}
	return nil
}

// QuoteTrunc quotes s as strconv.Quote does (control characters and
// invalid UTF-8 escaped), cut so that the quoted text inside the quotes
// is at most max bytes; a cut is marked with "…" after the closing quote.
// For logging and reporting what a stranger sent.
func QuoteTrunc(s string, max int) string {
	q := strconv.Quote(s)
	if len(q) <= max+2 {
		return q
	}
	cut := min(len(s), max)
	for {
		q = strconv.Quote(s[:cut])
		if len(q) <= max+2 || cut == 0 {
			return q + "…"
		}
		cut = cut * (max + 2) / len(q) // escapes take up to 10 bytes a rune
		if cut > 0 {
			cut-- // always progress
		}
	}
}

// Hello is the first frame of a dialer: its nonce and node name.
func Hello(nonce []byte, node string) []byte { return append(append([]byte{}, nonce...), node...) }

// ParseHello splits a Hello payload and checks the node name
// (ValidateNode).
func ParseHello(p []byte) (nonce []byte, node string, err error) {
	return parseNonceNode("hello", p)
}

// Challenge is the listener's answer to Hello: its nonce and node name,
// and no proof: the listener proves itself in Ready, once the dialer has.
func Challenge(nonce []byte, node string) []byte { return Hello(nonce, node) }

// ParseChallenge splits a Challenge payload and checks the node name.
func ParseChallenge(p []byte) (nonce []byte, node string, err error) {
	return parseNonceNode("challenge", p)
}

func parseNonceNode(what string, p []byte) ([]byte, string, error) {
	if len(p) <= NonceSize {
		return nil, "", fmt.Errorf("wire: short %s (%d bytes)", what, len(p))
	}
	node := string(p[NonceSize:])
	if err := ValidateNode(node); err != nil {
		return nil, "", fmt.Errorf("wire: %s: %w", what, err)
	}
	return p[:NonceSize], node, nil
}

// ParseProof checks the payload of Auth or Ready: exactly one proof.
func ParseProof(k Kind, p []byte) ([]byte, error) {
	if len(p) != ProofSize {
		return nil, fmt.Errorf("wire: a %s frame of %d bytes, want a %d-byte proof", k, len(p), ProofSize)
	}
	return p, nil
}

// ReadHandshakeFrame reads one frame of the handshake straight from r,
// without buffering (nothing after the frame is consumed, so the link's
// Reader can take over after it). Its payload is at most
// MaxHandshakeFrame bytes: a larger frame is refused from its header
// (a *TooLargeError), before anything is allocated for it. Only the
// handshake kinds and Bye are accepted (ErrKind otherwise).
func ReadHandshakeFrame(r io.Reader) (Frame, error) {
	var h [HeaderSize]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return Frame{}, err
	}
	if h[0] != Version {
		return Frame{}, fmt.Errorf("%w %d (want %d)", ErrVersion, h[0], Version)
	}
	k := Kind(h[1])
	if (k < KindHello || k > KindReady) && k != KindBye {
		return Frame{}, fmt.Errorf("%w %d in the handshake", ErrKind, h[1])
	}
	n := binary.BigEndian.Uint32(h[2:])
	if n > MaxHandshakeFrame {
		return Frame{}, fmt.Errorf("wire: %s frame: %w", k, &TooLargeError{Size: int(n), Max: MaxHandshakeFrame})
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, fmt.Errorf("wire: truncated %s frame: %w", k, err)
	}
	return Frame{Kind: k, Payload: payload}, nil
}

// Package wire is the framing of peacepie's links between processes and
// hosts: every frame is a 6-byte header (a version byte, a kind byte and a
// big-endian uint32 payload length) followed by the payload. docs/protocol.md
// describes it; golden files in testdata pin it down.
//
// wire depends on nothing else in peacepie: payloads are bytes (a message
// is its JSON, see host.Message).
package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Version is the version byte of every frame this package writes. 2: the
// internal verbs travel in frames of their own kind (KindControl), where
// version 1 marked them in the message's JSON.
const Version = 2

// HeaderSize is the size of a frame header.
const HeaderSize = 6

// DefaultMaxFrame is the largest payload accepted unless configured.
const DefaultMaxFrame = 16 << 20

// Kind says what a frame carries.
type Kind byte

// The frame kinds. The handshake frames (Hello, Challenge, Auth, Ready) come
// first, in that order; then Message, Control, Ping, Pong and Bye.
const (
	KindHello     Kind = 1 // dialer → listener: nonce, node name
	KindChallenge Kind = 2 // listener → dialer: nonce, node name
	KindAuth      Kind = 3 // dialer → listener: the dialer's proof
	KindReady     Kind = 4 // listener → dialer: the listener's proof; the link is open
	KindMessage   Kind = 5 // a message (JSON)
	KindPing      Kind = 6 // keep-alive
	KindPong      Kind = 7
	KindBye       Kind = 8 // an orderly close, with a reason
	// KindControl carries a message of the system itself (JSON, as
	// KindMessage): an internal verb between processes and hosts. The
	// frame's kind alone makes a message the system's: nothing an actor,
	// the console or the REPL sends is written in one.
	KindControl Kind = 9
)

func (k Kind) String() string {
	switch k {
	case KindHello:
		return "hello"
	case KindChallenge:
		return "challenge"
	case KindAuth:
		return "auth"
	case KindReady:
		return "ready"
	case KindMessage:
		return "message"
	case KindPing:
		return "ping"
	case KindPong:
		return "pong"
	case KindBye:
		return "bye"
	case KindControl:
		return "control"
	}
	return fmt.Sprintf("kind(%d)", byte(k))
}

// Frame is one frame. Payload belongs to the caller of ReadFrame.
type Frame struct {
	Kind    Kind
	Payload []byte
}

var (
	// ErrVersion: the frame's version byte is not Version (garbage, or a
	// peer of another version).
	ErrVersion = errors.New("wire: unknown frame version")
	// ErrKind: the frame's kind is unknown.
	ErrKind = errors.New("wire: unknown frame kind")
	// ErrTooLarge: the payload is larger than the limit.
	ErrTooLarge = errors.New("wire: frame too large")
)

// TooLargeError says how large a refused payload was.
type TooLargeError struct{ Size, Max int }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("wire: a frame of %d bytes is larger than the limit of %d bytes", e.Size, e.Max)
}

func (e *TooLargeError) Unwrap() error { return ErrTooLarge }

// AppendFrame appends a frame to dst. It fails when the payload is larger
// than max.
func AppendFrame(dst []byte, k Kind, payload []byte, max int) ([]byte, error) {
	if len(payload) > max {
		return dst, &TooLargeError{Size: len(payload), Max: max}
	}
	var h [HeaderSize]byte
	h[0] = Version
	h[1] = byte(k)
	binary.BigEndian.PutUint32(h[2:], uint32(len(payload)))
	dst = append(dst, h[:]...)
	return append(dst, payload...), nil
}

// StartFrame appends the header of a frame whose payload the caller then
// appends to out; FinishFrame(out, start, max) sets the payload's length.
// Together they build a frame in one buffer, without a separate payload.
func StartFrame(dst []byte, k Kind) (out []byte, start int) {
	start = len(dst)
	return append(dst, Version, byte(k), 0, 0, 0, 0), start
}

// FinishFrame completes the frame begun at start by StartFrame. It fails
// when the payload appended since is larger than max.
func FinishFrame(f []byte, start, max int) ([]byte, error) {
	size := len(f) - start - HeaderSize
	if size > max {
		return f[:start], &TooLargeError{Size: size, Max: max}
	}
	binary.BigEndian.PutUint32(f[start+2:], uint32(size))
	return f, nil
}

// Reader reads frames from a buffered stream.
type Reader struct {
	r     *bufio.Reader
	max   int
	reuse []byte // ReuseBuffer: payloads up to 64 KiB go here
}

// FrameBuffered reports whether the next frame is all in the buffer, so
// ReadFrame will not read the connection.
func (r *Reader) FrameBuffered() bool {
	b := r.r.Buffered()
	if b < HeaderSize {
		return false
	}
	h, _ := r.r.Peek(HeaderSize)
	return uint64(b) >= HeaderSize+uint64(binary.BigEndian.Uint32(h[2:]))
}

// ReuseBuffer makes ReadFrame put payloads of up to 64 KiB in one buffer
// of the Reader, so a payload is valid only until the next ReadFrame.
func (r *Reader) ReuseBuffer() { r.reuse = make([]byte, 0, 4<<10) }

// NewReader reads frames of at most max payload bytes from r.
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 {
		max = DefaultMaxFrame
	}
	return &Reader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// ReadFrame reads the next frame. A frame with a bad version, an unknown
// kind or a payload over the limit is an error, and the stream cannot be
// trusted after it: the caller closes the connection. A stream that ends
// inside a frame gives io.ErrUnexpectedEOF; one that ends between frames,
// io.EOF.
func (r *Reader) ReadFrame() (Frame, error) {
	var h [HeaderSize]byte
	if _, err := io.ReadFull(r.r, h[:]); err != nil {
		return Frame{}, err
	}
	if h[0] != Version {
		return Frame{}, fmt.Errorf("%w %d (want %d)", ErrVersion, h[0], Version)
	}
	k := Kind(h[1])
	if k < KindHello || k > KindControl {
		return Frame{}, fmt.Errorf("%w %d", ErrKind, h[1])
	}
	n := binary.BigEndian.Uint32(h[2:])
	if uint64(n) > uint64(r.max) {
		return Frame{}, &TooLargeError{Size: int(n), Max: r.max}
	}
	var payload []byte
	var err error
	switch {
	case r.reuse != nil && n <= growFrom:
		if int(n) > cap(r.reuse) {
			r.reuse = make([]byte, 0, max(int(n), 2*cap(r.reuse)))
		}
		payload = r.reuse[:n]
		_, err = io.ReadFull(r.r, payload)
	default:
		payload, err = readGrowing(r.r, int(n))
	}
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, fmt.Errorf("wire: truncated %s frame: %w", k, err)
	}
	return Frame{Kind: k, Payload: payload}, nil
}

// growFrom: a payload announced larger than this is read into a buffer
// that grows with what arrives, so that a header alone (16 MiB announced,
// nothing sent) costs 64 KiB, not 16 MiB.
const growFrom = 64 << 10

// readGrowing reads n bytes into a buffer that starts at growFrom bytes
// and doubles as it fills: it never holds more than twice what has
// arrived.
func readGrowing(r io.Reader, n int) ([]byte, error) {
	b := make([]byte, 0, min(n, growFrom))
	for len(b) < n {
		if len(b) == cap(b) {
			nb := make([]byte, len(b), min(n, 2*cap(b)))
			copy(nb, b)
			b = nb
		}
		m, err := io.ReadFull(r, b[len(b):min(cap(b), n)])
		b = b[:len(b)+m]
		if err != nil {
			return nil, err
		}
	}
	return b, nil
}

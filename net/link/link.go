// Package link is an authenticated connection between two peacepie
// processes over TCP (usually loopback): a handshake proves that both ends
// know the system's secret, then message frames flow both ways. Writes are
// batched (many small messages share a syscall), a keep-alive runs when the
// link is idle, and a peer that stops answering is declared dead.
//
// link knows frames and bytes, not actors: the process that owns a Conn
// encodes its messages and routes what arrives.
package link

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"time"

	"github.com/peacepie/peacepie/net/wire"
)

// Config configures both ends of a link.
type Config struct {
	Node      string        // this end's name, "<host>.<process>.admin"
	Secret    []byte        // the system's secret; required
	MaxFrame  int           // the largest message; wire.DefaultMaxFrame
	Heartbeat time.Duration // a ping when idle this long; 1s
	DeadAfter time.Duration // no frame for this long: the peer is dead; 3s
	Logger    *slog.Logger
	// TLS, when set, wraps every link in mutual TLS (TLSConfig); both ends
	// must use it.
	TLS *tls.Config
	// HandshakeTimeout: a connection that has not finished the handshake
	// (TLS included) this long after it was accepted is closed; 5s.
	HandshakeTimeout time.Duration
	// MaxUnauthenticated: how many accepted connections a Listener keeps
	// in the handshake at once; one more is closed at once (counted in
	// ListenerStats, logged at most RefusalLogRate times a second); 64.
	MaxUnauthenticated int
}

// MinSecret is the shortest secret a link accepts, in bytes: 32, so that
// even a secret of hex digits holds 128 bits. peacepie makes 64 hex digits
// on first run (`openssl rand -hex 32` makes the same).
const MinSecret = 32

// ErrWeakSecret: the secret is shorter than MinSecret.
var ErrWeakSecret = errors.New("link: the secret is too short")

// check refuses a missing or short secret.
func (c *Config) check() error {
	if len(c.Secret) == 0 {
		return errors.New("link: no secret")
	}
	if len(c.Secret) < MinSecret {
		return fmt.Errorf("%w: %d bytes, want at least %d (64 hex digits, as `openssl rand -hex 32` makes)", ErrWeakSecret, len(c.Secret), MinSecret)
	}
	return nil
}

func (c *Config) defaults() {
	if c.MaxFrame <= 0 {
		c.MaxFrame = wire.DefaultMaxFrame
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = time.Second
	}
	if c.DeadAfter <= 0 {
		c.DeadAfter = 3 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = 5 * time.Second
	}
	if c.MaxUnauthenticated <= 0 {
		c.MaxUnauthenticated = 64
	}
}

// directGap: a message sent this soon after a direct write goes to the
// writer, so that a stream is batched.
const directGap = 50 * time.Microsecond

// directBatch: pending frames of at least this size, with no write under
// way, are written by the sender that adds to them. The writer may not run
// soon: with one thread for Go code it waits until the sending goroutine
// yields (up to 10 ms of messages, megabytes to copy as the buffer grows).
const directBatch = 64 << 10

// ErrClosed: the link is closed.
var ErrClosed = errors.New("link: closed")

// Conn is an open, authenticated link. Send may be called concurrently.
type Conn struct {
	cfg  Config
	peer string
	c    net.Conn
	r    *wire.Reader

	// Frames are encoded straight into pending, back to back, under mu.
	// Whoever sets writing (the writer, or a sender writing directly on an
	// idle link) owns spare and out until it clears writing: it swaps
	// pending for spare and writes the whole batch with one syscall.
	mu               sync.Mutex
	pending          []byte // frames waiting to be written
	spare            []byte // the last written batch, reused
	closed           bool
	err              error
	writing          bool      // a batch is being written
	lastDirect       time.Time // the last direct write
	out              io.Writer // set by Run
	writeDeadlineSet time.Time
	wake             chan struct{} // capacity 1: the writer has work
	done             chan struct{}
	wrap             func(net.Conn) net.Conn
}

// maxSpare: a batch buffer bigger than this (after a large message) is
// dropped rather than kept for the next batch.
const maxSpare = 1 << 20

// SetWriteHook wraps the connection the writer writes to (tests count
// writes with it). Call it before Run.
func (c *Conn) SetWriteHook(wrap func(net.Conn) net.Conn) { c.wrap = wrap }

// Peer returns the node name the peer proved.
func (c *Conn) Peer() string { return c.peer }

// Done is closed when the link has ended; Err says why.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the link ended (nil while it is open).
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func newConn(cfg Config, nc net.Conn, r *wire.Reader, peer string) *Conn {
	return &Conn{cfg: cfg, peer: peer, c: nc, r: r, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// Send queues one message for the peer. It fails at once for a message
// over the frame limit (wire.ErrTooLarge) or a closed link.
func (c *Conn) Send(payload []byte) error {
	if len(payload) > c.cfg.MaxFrame {
		return fmt.Errorf("link to %s: %w", c.peer, &wire.TooLargeError{Size: len(payload), Max: c.cfg.MaxFrame})
	}
	return c.SendAppend(func(b []byte) ([]byte, error) { return append(b, payload...), nil })
}

// SendAppend is Send for a payload that appendPayload appends to the
// frame being built (a message encoding itself) in the link's buffer:
// nothing is allocated per message. appendPayload runs with the link
// locked and must not use the link. An error of appendPayload is returned
// as it is.
func (c *Conn) SendAppend(appendPayload func([]byte) ([]byte, error)) error {
	c.mu.Lock()
	if c.closed {
		err := c.err
		c.mu.Unlock()
		if err == nil {
			err = ErrClosed
		}
		return fmt.Errorf("link to %s: %w", c.peer, err)
	}
	was := len(c.pending)
	f, start := wire.StartFrame(c.pending, wire.KindMessage)
	f, err := appendPayload(f)
	if err == nil {
		if f, err = wire.FinishFrame(f, start, c.cfg.MaxFrame); err != nil {
			err = fmt.Errorf("link to %s: %w", c.peer, err)
		}
	}
	if err != nil {
		c.pending = f[:was]
		c.mu.Unlock()
		return err
	}
	c.pending = f
	c.queued(was)
	return nil
}

// appendFrame queues a control frame.
func (c *Conn) appendFrame(k wire.Kind, payload []byte) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	was := len(c.pending)
	c.pending, _ = wire.AppendFrame(c.pending, k, payload, len(payload))
	c.queued(was)
}

// queued sees that frames just added to pending (which held was bytes)
// get written, and unlocks mu. A frame on an idle link is written now, on
// this goroutine: one hand-off less per message when traffic is light.
// Frames that follow closely are left to the writer, which batches them;
// but a sender that finds directBatch bytes pending and no write under way
// writes them itself. When pending was not empty, or a batch is being
// written, the writing party is bound to come back for it.
func (c *Conn) queued(was int) {
	if c.writing || (was > 0 && (len(c.pending) < directBatch || c.out == nil)) {
		c.mu.Unlock()
		return
	}
	if was > 0 { // a full batch: the writer was kicked for it, but has not come
		c.writeBatches(true)
		return
	}
	if c.out != nil {
		if now := time.Now(); now.Sub(c.lastDirect) > directGap {
			c.lastDirect = now
			c.writeBatches(true)
			return
		}
	}
	c.mu.Unlock()
	c.kick()
}

func (c *Conn) kick() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// writeBatches writes pending, and what is added meanwhile, until nothing
// is left (direct: one batch, then the rest is the writer's). It is called
// with mu held and !writing, and returns with mu released.
func (c *Conn) writeBatches(direct bool) {
	for len(c.pending) > 0 && !c.closed {
		batch := c.pending
		c.pending = c.spare[:0]
		c.writing = true
		c.mu.Unlock()
		err := c.write(batch)
		c.mu.Lock()
		c.writing = false
		if cap(batch) <= maxSpare {
			c.spare = batch[:0]
		} else {
			c.spare = nil
		}
		if err != nil {
			c.mu.Unlock()
			c.shutdown(err)
			return
		}
		if direct {
			break // the sender goes back to its work; the writer does the rest
		}
	}
	more := len(c.pending) > 0 && !c.closed
	c.mu.Unlock()
	if more {
		c.kick()
	}
}

// write writes a batch of frames with one syscall (only the party that
// set writing calls it).
func (c *Conn) write(batch []byte) error {
	if now := time.Now(); now.Sub(c.writeDeadlineSet) > c.cfg.DeadAfter/8 {
		_ = c.c.SetWriteDeadline(now.Add(c.cfg.DeadAfter))
		c.writeDeadlineSet = now
	}
	if _, err := c.out.Write(batch); err != nil {
		return fmt.Errorf("link to %s: write: %w", c.peer, err)
	}
	return nil
}

// Run serves the link until it ends: it delivers each message to handle,
// in order, from this goroutine (the payload is valid only until handle
// returns); it writes queued frames in batches; it
// keeps the link alive and declares a silent peer dead. It returns why the
// link ended.
func (c *Conn) Run(handle func(payload []byte)) error {
	var out io.Writer = c.c
	if c.wrap != nil {
		out = c.wrap(c.c)
	} else if sio := newSysIO(c.c); sio != nil {
		out = sio
	}
	c.mu.Lock()
	c.out = out
	c.mu.Unlock()
	go c.writeLoop()
	err := c.readLoop(handle)
	c.shutdown(err)
	return c.Err()
}

func (c *Conn) readLoop(handle func([]byte)) error {
	c.r.ReuseBuffer()
	var deadlineSet time.Time
	for {
		// The deadline matters only for a read that waits, and moves at
		// most every DeadAfter/8: a silent peer is declared dead after 7/8
		// to 8/8 of DeadAfter.
		if !c.r.FrameBuffered() {
			if now := time.Now(); now.Sub(deadlineSet) > c.cfg.DeadAfter/8 {
				_ = c.c.SetReadDeadline(now.Add(c.cfg.DeadAfter))
				deadlineSet = now
			}
		}
		f, err := c.r.ReadFrame()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return fmt.Errorf("link to %s: the peer sent nothing for %s: it is dead", c.peer, c.cfg.DeadAfter)
			}
			return fmt.Errorf("link to %s: %w", c.peer, err)
		}
		switch f.Kind {
		case wire.KindMessage:
			handle(f.Payload)
			if !c.r.FrameBuffered() {
				// Let the goroutines the message readied (an actor's worker)
				// run before reading on. With one thread for Go code the read
				// would find nothing, park in the netpoller and be woken again;
				// after the yield, in a conversation, the answer is often
				// there: one read a message instead of two reads and two
				// epoll calls (pinned ping-pong 38 → 40 k msgs/s, unpinned
				// 32 → 37 k).
				runtime.Gosched()
			}
		case wire.KindPing:
			c.appendFrame(wire.KindPong, nil)
		case wire.KindPong:
		case wire.KindBye:
			return fmt.Errorf("link to %s: %w: the peer closed it: %s", c.peer, ErrClosed, f.Payload)
		default:
			return fmt.Errorf("link to %s: unexpected %s frame", c.peer, f.Kind)
		}
	}
}

// writeLoop writes what senders leave pending, a batch per syscall, and a
// ping when the link has been idle for a heartbeat.
func (c *Conn) writeLoop() {
	idle := time.NewTimer(c.cfg.Heartbeat)
	defer idle.Stop()
	for {
		select {
		case <-c.wake:
		case <-idle.C:
			c.appendFrame(wire.KindPing, nil)
		case <-c.done:
			return
		}
		c.mu.Lock()
		if c.writing {
			// A direct write is on: it writes what is pending.
			c.mu.Unlock()
		} else {
			c.writeBatches(false)
		}
		idle.Reset(c.cfg.Heartbeat)
	}
}

func (c *Conn) shutdown(err error) {
	c.mu.Lock()
	if c.closed && c.err != nil {
		c.mu.Unlock()
		return
	}
	c.closed = true
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
	c.c.Close()
	select {
	case <-c.done:
	default:
		close(c.done)
	}
}

// Close ends the link, telling the peer why; queued messages are written
// first (for up to a second).
func (c *Conn) Close(reason string) {
	c.appendFrame(wire.KindBye, []byte(reason))
	c.kick()
	time.AfterFunc(time.Second, func() { c.shutdown(ErrClosed) })
}

// Package link is an authenticated connection between two peacepie
// processes over TCP (usually loopback), or over a MemNetwork in tests: a
// handshake proves that both ends
// know the system's secret, then message frames flow both ways. Writes are
// batched (many small messages share a syscall) and made with no lock held,
// a keep-alive runs when the link is idle and goes ahead of the messages
// waiting, and a peer that sends no byte for DeadAfter is declared dead.
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
	"sync/atomic"
	"time"

	"github.com/peacepie/peacepie/net/wire"
)

// Config configures both ends of a link.
type Config struct {
	Node      string        // this end's name, "<host>.<process>.admin"
	Secret    []byte        // the system's secret; required
	MaxFrame  int           // the largest message; wire.DefaultMaxFrame
	Heartbeat time.Duration // a ping when idle this long; 1s
	DeadAfter time.Duration // no byte for this long: the peer is dead; 3s
	Logger    *slog.Logger
	// TLS, when set, wraps every link in mutual TLS (TLSConfig); both ends
	// must use it.
	TLS *tls.Config
	// Network is what Listen listens on and Dial dials over; nil: TCP.
	// Tests use a MemNetwork.
	Network Network
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

// directBatch: filled frames of at least this size, with no write under
// way, are written by the sender that adds to them. The writer may not run
// soon: with one thread for Go code it waits until the sending goroutine
// yields (up to 10 ms of messages, megabytes to copy as the buffer grows).
const directBatch = 64 << 10

// bigFrame: a frame at least this large is written from its slot's own
// buffer, not copied into a batch, and control frames that came meanwhile
// go out just before it.
const bigFrame = 64 << 10

// writeChunk: a write of more than this goes to the socket in pieces of
// this size, and the write deadline moves on between them, so a large
// frame that a live peer reads slowly does not time out (the peer counts
// the bytes as life too: liveReader).
const writeChunk = 256 << 10

// maxSlotBuf: a slot's buffer larger than this (after a large message) is
// dropped rather than kept for the next message; maxFree bounds the slots
// kept for reuse. Small frames merged into the slot before them
// (mergeLocked) go into a batch buffer of batchCap bytes, room for
// directBatch and one more frame; two are kept.
const (
	maxSlotBuf = 16 << 10
	maxFree    = 128
	batchCap   = directBatch + bigFrame
)

// ErrClosed: the link is closed.
var ErrClosed = errors.New("link: closed")

// Conn is an open, authenticated link. Send, SendAppend, Reserve and
// Slot.Fill may be called concurrently.
//
// Ordered frames (messages, control frames sent with SendControl or
// Slot.FillControl, and the bye that ends the link) go out in the order of
// Reserve (Send and SendAppend reserve, then fill). A frame is encoded by
// its sender into its slot's own buffer, with no lock held, so a caller
// may take a slot under its own lock (the order it decides) and encode and
// send after releasing it. Frames ahead (ping, pong, SendControlAhead) do
// not wait behind ordered frames: they go out at the next write, ahead of
// the ordered frames not yet written, and just before a large one. A frame
// is atomic on the wire; a large one is written in pieces (writeChunk),
// but nothing comes between them.
type Conn struct {
	cfg  Config
	peer string
	c    net.Conn
	r    *wire.Reader
	live *liveReader

	// What the link carried, for metrics (Stats): frames read (by the
	// reader alone) and sent (under mu, as senders fill them), and
	// the bytes read and written on the connection, frame headers and
	// keep-alives included.
	framesIn, bytesIn, bytesOut atomic.Uint64
	framesOut                   uint64 // guarded by mu

	// mu guards the queue of slots and the fields up to out. It is never
	// held while a frame is encoded or written: whoever sets writing (the
	// writer, or a sender writing directly on an idle link) takes the
	// filled slots at the front of q and the control frames, and writes
	// them with mu released; it owns batch and writeDeadlineSet until it
	// clears writing.
	mu         sync.Mutex
	q          []*Slot  // user frames in link order, not yet taken by a writer
	filled     int      // bytes of the filled frames in q
	free       []*Slot  // slots for reuse
	batches    [][]byte // batch buffers for reuse (mergeLocked)
	ctrl       []byte   // frames ahead (ping, pong, SendControlAhead): written before q
	closed     bool
	err        error
	writing    bool          // a batch is being written
	woken      bool          // the writer was kicked for the filled frames and has not taken them
	lastDirect time.Time     // the last direct write
	out        io.Writer     // set by Run
	wake       chan struct{} // capacity 1: the writer has work
	done       chan struct{}
	wrap       func(net.Conn) net.Conn

	batch            []byte  // small frames copied together for one write
	taken            []*Slot // the slots being written
	writeDeadlineSet time.Time
}

// Slot is a user frame's place in a link's order (Conn.Reserve). Fill it
// exactly once; until then, the frames reserved after it wait.
type Slot struct {
	c     *Conn
	buf   []byte
	state slotState // guarded by c.mu once the slot is in the queue
}

type slotState uint8

const (
	slotReserved slotState = iota // taken, being encoded
	slotFilled                    // ready to be written
	slotDropped                   // its frame was refused: nothing to write
	slotClosed                    // reserved on a closed link
)

// maxSpare: a batch buffer bigger than this is dropped rather than kept
// for the next batch.
const maxSpare = 1 << 20

// SetWriteHook wraps the connection the writer writes to (tests count
// writes with it). Call it before Run.
func (c *Conn) SetWriteHook(wrap func(net.Conn) net.Conn) { c.wrap = wrap }

// Stats is what a link has carried since it was made: its message and
// control frames, and the bytes on its connection (headers and
// keep-alives included).
type Stats struct {
	FramesIn, FramesOut, BytesIn, BytesOut uint64
}

// Stats returns what the link has carried.
func (c *Conn) Stats() Stats {
	c.mu.Lock()
	out := c.framesOut
	c.mu.Unlock()
	return Stats{FramesIn: c.framesIn.Load(), FramesOut: out, BytesIn: c.bytesIn.Load(), BytesOut: c.bytesOut.Load()}
}

// Peer returns the node name the peer proved.
func (c *Conn) Peer() string { return c.peer }

// RemoteAddr returns the network address of the other end.
func (c *Conn) RemoteAddr() string { return c.c.RemoteAddr().String() }

// LocalAddr returns the network address of this end: the address the
// peer reached, for a link it dialed.
func (c *Conn) LocalAddr() string { return c.c.LocalAddr().String() }

// Done is closed when the link has ended; Err says why.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the link ended (nil while it is open).
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// newConn makes the link of an authenticated connection; r reads nc's
// bytes (readerOf).
func newConn(cfg Config, nc net.Conn, r io.Reader, peer string) *Conn {
	live := &liveReader{r: r, c: nc}
	return &Conn{cfg: cfg, peer: peer, c: nc, r: wire.NewReader(live, cfg.MaxFrame), live: live,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
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
// frame being built (a message encoding itself): Reserve, then Fill.
func (c *Conn) SendAppend(appendPayload func([]byte) ([]byte, error)) error {
	return c.Reserve().Fill(appendPayload)
}

// Reserve takes the next place in the link's order for a message that
// the caller then encodes and sends with Slot.Fill. It takes the link's
// lock briefly and never blocks otherwise: a caller may reserve under a
// lock of its own that orders its messages, release it, and fill.
func (c *Conn) Reserve() *Slot {
	c.mu.Lock()
	var s *Slot
	if n := len(c.free); n > 0 {
		s = c.free[n-1]
		c.free[n-1] = nil
		c.free = c.free[:n-1]
	} else {
		s = &Slot{c: c}
	}
	if c.closed {
		s.state = slotClosed
	} else {
		s.state = slotReserved
		c.q = append(c.q, s)
	}
	c.mu.Unlock()
	return s
}

// Fill encodes the slot's message (appendPayload appends the payload to
// the frame, with no lock held; it must not use the link) and sends it in
// its place. It fails for a payload over the frame limit (wire.ErrTooLarge)
// or a closed link; an error of appendPayload is returned as it is. Either
// way the slot is used up, and the frames behind it go on.
func (s *Slot) Fill(appendPayload func([]byte) ([]byte, error)) error {
	return s.fill(wire.KindMessage, appendPayload)
}

// FillControl is Fill for a control frame (wire.KindControl): a message of
// the system, in the slot's place among the user frames (a verb whose
// order with the messages matters: a marker, a move's step).
func (s *Slot) FillControl(appendPayload func([]byte) ([]byte, error)) error {
	return s.fill(wire.KindControl, appendPayload)
}

// SendControl queues a control frame in the link's order: Reserve, then
// FillControl.
func (c *Conn) SendControl(appendPayload func([]byte) ([]byte, error)) error {
	return c.Reserve().FillControl(appendPayload)
}

// maxAhead bounds the control frames that SendControlAhead keeps waiting
// for a write, in bytes.
const maxAhead = 64 << 10

// ErrAheadFull: SendControlAhead found maxAhead bytes of control frames
// not yet written (the peer reads slowly, or a write is stuck).
var ErrAheadFull = errors.New("link: too many control frames waiting")

// SendControlAhead sends a control frame ahead of the user frames not yet
// written, as a ping goes: it does not wait behind a large message (it
// goes out just before it, or between two writes). For a message whose
// order with the rest does not matter (a snapshot of stats). It fails with
// ErrAheadFull rather than queue more than maxAhead bytes.
func (c *Conn) SendControlAhead(appendPayload func([]byte) ([]byte, error)) error {
	f, start := wire.StartFrame(nil, wire.KindControl)
	f, err := appendPayload(f)
	if err != nil {
		return err
	}
	if f, err = wire.FinishFrame(f, start, c.cfg.MaxFrame); err != nil {
		return fmt.Errorf("link to %s: %w", c.peer, err)
	}
	c.mu.Lock()
	switch {
	case c.closed:
		c.mu.Unlock()
		return c.closedError()
	case len(c.ctrl)+len(f) > maxAhead:
		c.mu.Unlock()
		return fmt.Errorf("link to %s: %w (%d bytes)", c.peer, ErrAheadFull, len(c.ctrl))
	}
	c.ctrl = append(c.ctrl, f...)
	if c.writing || c.out == nil {
		c.mu.Unlock() // the writing party writes it next
		c.kick()
		return nil
	}
	c.writeOut(true)
	return nil
}

func (s *Slot) fill(k wire.Kind, appendPayload func([]byte) ([]byte, error)) error {
	c := s.c
	if s.state == slotClosed {
		return c.closedError()
	}
	f, start := wire.StartFrame(s.buf[:0], k)
	f, err := appendPayload(f)
	if err == nil {
		if f, err = wire.FinishFrame(f, start, c.cfg.MaxFrame); err != nil {
			err = fmt.Errorf("link to %s: %w", c.peer, err)
		}
	}
	c.mu.Lock()
	was := c.filled
	if err != nil {
		s.buf, s.state = f[:0], slotDropped
	} else {
		s.buf, s.state = f, slotFilled
		c.filled += len(f)
		c.framesOut++
		c.mergeLocked(s)
	}
	if c.closed {
		c.mu.Unlock()
		return c.closedError()
	}
	c.ready(was)
	return err
}

// mergeLocked appends the small frame of s, just filled, to the filled
// frames of the slot before it, when s is last in the queue, and frees s:
// a stream that the writer has not caught up with is a few batches, not a
// slot per frame (the copy is at most a small frame, under mu).
func (c *Conn) mergeLocked(s *Slot) {
	n := len(c.q)
	if n < 2 || c.q[n-1] != s || len(s.buf) >= bigFrame {
		return
	}
	prev := c.q[n-2]
	if prev.state != slotFilled || len(prev.buf) >= directBatch {
		return
	}
	if cap(prev.buf)-len(prev.buf) < len(s.buf) {
		// A batch buffer (batchCap: room for directBatch and a frame).
		var b []byte
		if k := len(c.batches); k > 0 {
			b, c.batches = c.batches[k-1], c.batches[:k-1]
		} else {
			b = make([]byte, 0, batchCap)
		}
		prev.buf = append(b, prev.buf...)
	}
	prev.buf = append(prev.buf, s.buf...)
	c.q[n-1] = nil
	c.q = c.q[:n-1]
	c.recycleLocked(s)
}

// recycleLocked keeps a slot that has been written (or merged) for reuse,
// and its buffer if it is small, or a batch buffer (two at most).
func (c *Conn) recycleLocked(s *Slot) {
	switch {
	case cap(s.buf) == batchCap:
		if len(c.batches) < 2 {
			c.batches = append(c.batches, s.buf[:0])
		}
		s.buf = nil
	case cap(s.buf) > maxSlotBuf:
		s.buf = nil
	}
	if len(c.free) < maxFree {
		c.free = append(c.free, s)
	}
}

func (c *Conn) closedError() error {
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	if err == nil {
		err = ErrClosed
	}
	return fmt.Errorf("link to %s: %w", c.peer, err)
}

// appendCtrl queues a control frame ahead of the user frames not yet
// written; it is written now, on this goroutine, when nothing is being
// written (a pong from the reader).
func (c *Conn) appendCtrl(k wire.Kind) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.ctrl, _ = wire.AppendFrame(c.ctrl, k, nil, 0)
	if c.writing || c.out == nil {
		c.mu.Unlock() // the writing party writes it next
		c.kick()
		return
	}
	c.writeOut(true)
}

// ready sees that the frames at the front of the queue, filled now, get
// written, and unlocks mu (was: the filled bytes before this frame). A
// frame on an idle link is written now, on this goroutine: one hand-off
// less per message when traffic is light. Frames that follow closely are
// left to the writer, which batches them; but a sender that finds
// directBatch bytes filled and no write under way writes them itself. A
// frame behind one still being encoded waits for that one's Fill.
func (c *Conn) ready(was int) {
	if c.writing || len(c.q) == 0 || c.q[0].state == slotReserved {
		c.mu.Unlock()
		return
	}
	if was > 0 && (c.filled < directBatch || c.out == nil) {
		// The writer was woken for the frames before; a frame behind one
		// that was still being encoded may be the first it hears of.
		kick := !c.woken
		c.woken = true
		c.mu.Unlock()
		if kick {
			c.kick()
		}
		return
	}
	if was > 0 { // a full batch: the writer was kicked for it, but has not come
		c.writeOut(true)
		return
	}
	if c.out != nil {
		if now := time.Now(); now.Sub(c.lastDirect) > directGap {
			c.lastDirect = now
			c.writeOut(true)
			return
		}
	}
	c.woken = true
	c.mu.Unlock()
	c.kick()
}

func (c *Conn) kick() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// writeOut writes the control frames and the filled frames at the front of
// the queue, and what comes meanwhile, until nothing is left (direct: one
// round, then the rest is the writer's). It is called with mu held and
// !writing, and returns with mu released.
func (c *Conn) writeOut(direct bool) {
	for !c.closed {
		c.woken = false // what is filled from now on wakes the writer again
		n := 0
		for n < len(c.q) && c.q[n].state != slotReserved {
			n++
		}
		if n == 0 && len(c.ctrl) == 0 {
			break
		}
		ctrl := c.ctrl
		c.ctrl = nil
		taken := append(c.taken[:0], c.q[:n]...)
		rest := copy(c.q, c.q[n:])
		clear(c.q[rest:])
		c.q = c.q[:rest]
		for _, s := range taken {
			if s.state == slotFilled {
				c.filled -= len(s.buf)
			}
		}
		c.writing = true
		c.mu.Unlock()
		err := c.writeFrames(ctrl, taken)
		c.mu.Lock()
		c.writing = false
		for i, s := range taken {
			c.recycleLocked(s)
			taken[i] = nil
		}
		c.taken = taken[:0]
		if err != nil {
			c.mu.Unlock()
			c.shutdown(err)
			return
		}
		if direct {
			break
		}
	}
	more := !c.closed && (len(c.ctrl) > 0 || len(c.q) > 0 && c.q[0].state != slotReserved)
	c.woken = more // else a frame filled behind one being encoded must wake the writer
	c.mu.Unlock()
	if more {
		c.kick()
	}
}

// writeFrames writes control frames, then the taken slots' frames: small
// ones copied together into one write, a large one from its own buffer,
// after any control frame queued meanwhile (only the party that set
// writing calls it).
func (c *Conn) writeFrames(ctrl []byte, taken []*Slot) error {
	if len(ctrl) == 0 && len(taken) == 1 && taken[0].state == slotFilled {
		return c.write(taken[0].buf) // one frame: no copy
	}
	b := append(c.batch[:0], ctrl...)
	for _, s := range taken {
		if s.state != slotFilled {
			continue
		}
		if len(s.buf) < bigFrame {
			b = append(b, s.buf...)
			continue
		}
		c.mu.Lock()
		b = append(b, c.ctrl...) // control frames do not wait behind it
		c.ctrl = nil
		c.mu.Unlock()
		if err := c.write(b); err != nil {
			return err
		}
		b = b[:0]
		if err := c.write(s.buf); err != nil {
			return err
		}
	}
	err := c.write(b)
	if cap(b) <= maxSpare {
		c.batch = b[:0]
	} else {
		c.batch = nil
	}
	return err
}

// write writes bytes of whole frames, in pieces of writeChunk at most; the
// write deadline moves on as they go out (only the party that set writing
// calls it).
func (c *Conn) write(p []byte) error {
	for len(p) > 0 {
		n := min(len(p), writeChunk)
		if now := time.Now(); now.Sub(c.writeDeadlineSet) > c.cfg.DeadAfter/8 {
			_ = c.c.SetWriteDeadline(now.Add(c.cfg.DeadAfter))
			c.writeDeadlineSet = now
		}
		if _, err := c.out.Write(p[:n]); err != nil {
			return fmt.Errorf("link to %s: write: %w", c.peer, err)
		}
		c.bytesOut.Add(uint64(n))
		p = p[n:]
	}
	return nil
}

// liveReader is what a link reads its connection through: before each
// read it moves the read deadline on (at most every DeadAfter/8), so a
// peer is dead after DeadAfter without a byte, not without a whole frame:
// a peer in the middle of sending a large frame to a slow reader is alive.
// Only the link's reader uses it, and only from Run on (after is 0 in the
// handshake, whose deadline is its own).
type liveReader struct {
	read  *atomic.Uint64 // Conn.bytesIn, from Run on
	r     io.Reader
	c     net.Conn
	after time.Duration
	set   time.Time
}

func (l *liveReader) Read(p []byte) (int, error) {
	if l.after > 0 {
		if now := time.Now(); now.Sub(l.set) > l.after/8 {
			_ = l.c.SetReadDeadline(now.Add(l.after))
			l.set = now
		}
	}
	n, err := l.r.Read(p)
	if l.read != nil {
		l.read.Add(uint64(n))
	}
	return n, err
}

// Run serves the link until it ends: it delivers each message to handle,
// in order, from this goroutine (the payload is valid only until handle
// returns; control says it came in a control frame, wire.KindControl: a
// message of the peer's system code, never of an actor); it writes queued frames in batches; it
// keeps the link alive and declares a silent peer dead. It returns why the
// link ended.
func (c *Conn) Run(handle func(payload []byte, control bool)) error {
	var out io.Writer = c.c
	if c.wrap != nil {
		out = c.wrap(c.c)
	} else if sio := newSysIO(c.c); sio != nil {
		out = sio
	}
	c.mu.Lock()
	c.out = out
	c.mu.Unlock()
	c.live.after = c.cfg.DeadAfter
	c.live.read = &c.bytesIn
	go c.writeLoop()
	err := c.readLoop(handle)
	c.shutdown(err)
	return c.Err()
}

func (c *Conn) readLoop(handle func([]byte, bool)) error {
	c.r.ReuseBuffer()
	for {
		// The read deadline moves on with every read of the connection
		// (liveReader), at most every DeadAfter/8: a peer that sent no byte
		// for 7/8 to 8/8 of DeadAfter is declared dead.
		f, err := c.r.ReadFrame()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return fmt.Errorf("link to %s: the peer sent no byte for %s: it is dead", c.peer, c.cfg.DeadAfter)
			}
			return fmt.Errorf("link to %s: %w", c.peer, err)
		}
		switch f.Kind {
		case wire.KindMessage, wire.KindControl:
			c.framesIn.Add(1)
			handle(f.Payload, f.Kind == wire.KindControl)
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
			c.appendCtrl(wire.KindPong)
		case wire.KindPong:
		case wire.KindBye:
			return fmt.Errorf("link to %s: %w: the peer closed it: %s", c.peer, ErrClosed, f.Payload)
		default:
			return fmt.Errorf("link to %s: unexpected %s frame", c.peer, f.Kind)
		}
	}
}

// writeLoop writes what senders leave filled, a batch per syscall, and a
// ping when the link has been idle for a heartbeat.
func (c *Conn) writeLoop() {
	idle := time.NewTimer(c.cfg.Heartbeat)
	defer idle.Stop()
	for {
		select {
		case <-c.wake:
		case <-idle.C:
			c.mu.Lock()
			if !c.closed {
				c.ctrl, _ = wire.AppendFrame(c.ctrl, wire.KindPing, nil, 0)
			}
			c.mu.Unlock()
		case <-c.done:
			return
		}
		c.mu.Lock()
		if c.writing {
			// A direct write is on: it writes what is filled, and kicks
			// this loop for what comes after.
			c.mu.Unlock()
		} else {
			c.writeOut(false)
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
// first (for up to a second): the bye takes its place behind them.
func (c *Conn) Close(reason string) {
	_ = c.Reserve().fill(wire.KindBye, func(b []byte) ([]byte, error) { return append(b, reason...), nil })
	c.kick()
	time.AfterFunc(time.Second, func() { c.shutdown(ErrClosed) })
}

package link

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// MemWindow is how many bytes a memory connection holds in each direction
// that the peer has not read. A write waits only while the window is full,
// as a TCP write waits only while the socket's buffers are (on Linux
// loopback they hold a few MiB too): so a write never needs the peer to be
// reading at that moment, and memory links can wait on each other only
// where TCP links would.
const MemWindow = 4 << 20

// MemNetwork is a Network in memory, for tests that run several processes
// of a system in one OS process: a listener registers under an address
// ("mem:1"), and Dial connects to it with a pair of buffered connections
// (MemWindow each way) that support deadlines and Close as TCP
// connections do. Make one with NewMemNetwork; its addresses mean nothing
// on another MemNetwork.
type MemNetwork struct {
	mu        sync.Mutex
	listeners map[string]*memListener // by address
	next      int                     // the last number given to an address
}

// NewMemNetwork returns an empty memory network.
func NewMemNetwork() *MemNetwork {
	return &MemNetwork{listeners: map[string]*memListener{}}
}

// memNet names the network in addresses and errors.
const memNet = "mem"

type memAddr string

func (memAddr) Network() string  { return memNet }
func (a memAddr) String() string { return string(a) }

// Listen implements Network: addr is any name; "" or one ending in ":0"
// gets a free address "mem:N". An address in use fails with
// syscall.EADDRINUSE.
func (n *MemNetwork) Listen(addr string) (net.Listener, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if addr == "" || strings.HasSuffix(addr, ":0") {
		for {
			n.next++
			addr = memNet + ":" + strconv.Itoa(n.next)
			if n.listeners[addr] == nil {
				break
			}
		}
	} else if n.listeners[addr] != nil {
		return nil, &net.OpError{Op: "listen", Net: memNet, Addr: memAddr(addr), Err: syscall.EADDRINUSE}
	}
	l := &memListener{n: n, addr: memAddr(addr), changed: make(chan struct{}), done: make(chan struct{})}
	n.listeners[addr] = l
	return l, nil
}

// Dial implements Network: it connects at once to the listener at addr
// (the connection waits in its queue until accepted). No listener there
// fails with syscall.ECONNREFUSED.
func (n *MemNetwork) Dial(ctx context.Context, addr string) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, &net.OpError{Op: "dial", Net: memNet, Addr: memAddr(addr), Err: err}
	}
	n.mu.Lock()
	l := n.listeners[addr]
	n.next++
	local := memAddr(memNet + ":" + strconv.Itoa(n.next))
	n.mu.Unlock()
	if l != nil {
		a, b := memPair(local, l.addr)
		if l.enqueue(b) {
			return a, nil
		}
	}
	return nil, &net.OpError{Op: "dial", Net: memNet, Addr: memAddr(addr),
		Err: fmt.Errorf("nothing listens there on this memory network: %w", syscall.ECONNREFUSED)}
}

// memListener is a MemNetwork's listener.
type memListener struct {
	n    *MemNetwork
	addr memAddr

	mu      sync.Mutex
	queue   []net.Conn    // dialed, not accepted yet
	changed chan struct{} // closed and replaced when queue grows
	closed  bool
	done    chan struct{} // closed by Close
}

func (l *memListener) enqueue(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.queue = append(l.queue, c)
	close(l.changed)
	l.changed = make(chan struct{})
	return true
}

func (l *memListener) Accept() (net.Conn, error) {
	for {
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			return nil, &net.OpError{Op: "accept", Net: memNet, Addr: l.addr, Err: net.ErrClosed}
		}
		if len(l.queue) > 0 {
			c := l.queue[0]
			l.queue[0] = nil
			l.queue = l.queue[1:]
			l.mu.Unlock()
			return c, nil
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-l.done:
		}
	}
}

// Close frees the address; connections dialed and not accepted are
// closed (their dialers read io.EOF).
func (l *memListener) Close() error {
	l.n.mu.Lock()
	if l.n.listeners[string(l.addr)] == l {
		delete(l.n.listeners, string(l.addr))
	}
	l.n.mu.Unlock()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return &net.OpError{Op: "close", Net: memNet, Addr: l.addr, Err: net.ErrClosed}
	}
	l.closed = true
	queue := l.queue
	l.queue = nil
	close(l.done)
	l.mu.Unlock()
	for _, c := range queue {
		c.Close()
	}
	return nil
}

func (l *memListener) Addr() net.Addr { return l.addr }

// memPipe is one direction of a memory connection: the bytes written and
// not read yet, at most MemWindow.
type memPipe struct {
	mu      sync.Mutex
	data    []byte // unread: data[off:]
	off     int
	eof     bool          // the writing end closed: reads end with io.EOF once data is read
	broken  bool          // the reading end closed: writes fail
	changed chan struct{} // closed and replaced whenever the above change
}

func newMemPipe() *memPipe { return &memPipe{changed: make(chan struct{})} }

// notifyLocked wakes whoever waits on p (p.mu held).
func (p *memPipe) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// memConn is one end of a memory connection. Writes are serialized, so
// two concurrent writes do not interleave.
type memConn struct {
	local, remote memAddr
	in, out       *memPipe
	rd, wd        deadline
	wmu           sync.Mutex    // serializes writes
	closed        chan struct{} // closed by Close
	closeOnce     sync.Once
}

// memPair returns the two ends of a new connection: a dialed from local,
// b accepted at remote.
func memPair(local, remote memAddr) (a, b *memConn) {
	ab, ba := newMemPipe(), newMemPipe()
	a = &memConn{local: local, remote: remote, in: ba, out: ab, closed: make(chan struct{})}
	b = &memConn{local: remote, remote: local, in: ab, out: ba, closed: make(chan struct{})}
	a.rd.init()
	a.wd.init()
	b.rd.init()
	b.wd.init()
	return a, b
}

func (c *memConn) LocalAddr() net.Addr  { return c.local }
func (c *memConn) RemoteAddr() net.Addr { return c.remote }

func (c *memConn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: memNet, Source: c.local, Addr: c.remote, Err: err}
}

// Read reads what the peer wrote, waiting until there is something, the
// peer closed (io.EOF), the read deadline passed or c is closed.
func (c *memConn) Read(b []byte) (int, error) {
	p := c.in
	for {
		select {
		case <-c.closed:
			return 0, c.opError("read", net.ErrClosed)
		default:
		}
		if c.rd.passed() {
			return 0, c.opError("read", os.ErrDeadlineExceeded)
		}
		p.mu.Lock()
		if p.off < len(p.data) {
			if len(b) == 0 {
				p.mu.Unlock()
				return 0, nil
			}
			n := copy(b, p.data[p.off:])
			p.off += n
			if p.off == len(p.data) {
				p.data, p.off = p.data[:0], 0
			}
			p.notifyLocked() // room for the writer
			p.mu.Unlock()
			return n, nil
		}
		if p.eof {
			p.mu.Unlock()
			return 0, io.EOF
		}
		if len(b) == 0 {
			p.mu.Unlock()
			return 0, nil
		}
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-c.rd.wait():
		case <-c.closed:
		}
	}
}

// Write writes all of b, waiting while the peer has MemWindow bytes
// unread. It fails when the peer closed (syscall.EPIPE), the write
// deadline passed or c is closed; the bytes written before count in n.
func (c *memConn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	p := c.out
	n := 0
	for {
		select {
		case <-c.closed:
			return n, c.opError("write", net.ErrClosed)
		default:
		}
		if c.wd.passed() {
			return n, c.opError("write", os.ErrDeadlineExceeded)
		}
		p.mu.Lock()
		if p.broken {
			p.mu.Unlock()
			return n, c.opError("write", syscall.EPIPE)
		}
		if room := MemWindow - (len(p.data) - p.off); room > 0 {
			k := min(room, len(b)-n)
			if p.off > 0 && len(p.data)+k > cap(p.data) {
				m := copy(p.data, p.data[p.off:])
				p.data, p.off = p.data[:m], 0
			}
			p.data = append(p.data, b[n:n+k]...)
			n += k
			if k > 0 {
				p.notifyLocked()
			}
			p.mu.Unlock()
			if n == len(b) {
				return n, nil
			}
			continue
		}
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-c.wd.wait():
		case <-c.closed:
		}
	}
}

// Close closes both directions: the peer reads what was written before,
// then io.EOF, and its writes fail; c's reads and writes fail with
// net.ErrClosed, those waiting too.
func (c *memConn) Close() error {
	first := false
	c.closeOnce.Do(func() {
		first = true
		close(c.closed)
		c.out.mu.Lock()
		c.out.eof = true
		c.out.notifyLocked()
		c.out.mu.Unlock()
		c.in.mu.Lock()
		c.in.broken = true
		c.in.data, c.in.off = nil, 0
		c.in.notifyLocked()
		c.in.mu.Unlock()
		c.rd.set(time.Time{})
		c.wd.set(time.Time{})
	})
	if !first {
		return c.opError("close", net.ErrClosed)
	}
	return nil
}

func (c *memConn) SetDeadline(t time.Time) error {
	c.rd.set(t)
	c.wd.set(t)
	return nil
}

func (c *memConn) SetReadDeadline(t time.Time) error  { c.rd.set(t); return nil }
func (c *memConn) SetWriteDeadline(t time.Time) error { c.wd.set(t); return nil }

// deadline is a read or write deadline: wait's channel is closed when it
// passes. A waiter keeps its channel when the deadline moves (the channel
// is replaced only once it was closed), so it sees the new time.
type deadline struct {
	mu     sync.Mutex
	timer  *time.Timer
	cancel chan struct{}
}

func (d *deadline) init() { d.cancel = make(chan struct{}) }

// set sets the deadline; the zero time clears it.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		<-d.cancel // the timer fired: its callback closes cancel
	}
	d.timer = nil
	closed := isClosed(d.cancel)
	if t.IsZero() {
		if closed {
			d.cancel = make(chan struct{})
		}
		return
	}
	if dur := time.Until(t); dur > 0 {
		if closed {
			d.cancel = make(chan struct{})
		}
		cancel := d.cancel
		d.timer = time.AfterFunc(dur, func() { close(cancel) })
		return
	}
	if !closed {
		close(d.cancel)
	}
}

// wait returns a channel closed when the deadline passes.
func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cancel
}

func (d *deadline) passed() bool { return isClosed(d.wait()) }

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

package link_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/nettest"

	"github.com/peacepie/peacepie/net/link"
	"github.com/peacepie/peacepie/net/wire"
)

// memPair returns both ends of a connection on a new memory network.
func memPair(t *testing.T) (dialed, accepted net.Conn) {
	t.Helper()
	n := link.NewMemNetwork()
	ln, err := n.Listen("mem:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	dialed, err = n.Dial(context.Background(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	accepted, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dialed.Close(); accepted.Close() })
	return dialed, accepted
}

// TestMemConnIsANetConn: x/net's conformance tests of net.Conn (basic and
// racy I/O, ping-pong, deadlines past, present and future, Close
// unblocking, concurrent methods).
func TestMemConnIsANetConn(t *testing.T) {
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		n := link.NewMemNetwork()
		ln, err := n.Listen("")
		if err != nil {
			return nil, nil, nil, err
		}
		defer ln.Close()
		c1, err = n.Dial(context.Background(), ln.Addr().String())
		if err != nil {
			return nil, nil, nil, err
		}
		c2, err = ln.Accept()
		if err != nil {
			return nil, nil, nil, err
		}
		return c1, c2, func() { c1.Close(); c2.Close() }, nil
	})
}

func TestMemNetworkConnects(t *testing.T) {
	n := link.NewMemNetwork()
	a, err := n.Listen("mem:0")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := n.Listen("")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if a.Addr().String() == b.Addr().String() || !strings.HasPrefix(a.Addr().String(), "mem:") || a.Addr().Network() != "mem" {
		t.Fatalf("two free addresses: %s %s (%s)", a.Addr(), b.Addr(), a.Addr().Network())
	}
	if _, err := n.Listen(a.Addr().String()); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("listen on an address in use: %v", err)
	}
	named, err := n.Listen("head")
	if err != nil {
		t.Fatal(err)
	}
	defer named.Close()
	c, err := n.Dial(context.Background(), "head")
	if err != nil {
		t.Fatal(err)
	}
	s, err := named.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if c.RemoteAddr().String() != "head" || s.LocalAddr().String() != "head" || s.RemoteAddr() != c.LocalAddr() {
		t.Errorf("addresses: dialer %s→%s, accepted %s→%s", c.LocalAddr(), c.RemoteAddr(), s.LocalAddr(), s.RemoteAddr())
	}
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	if k, err := s.Read(buf); err != nil || string(buf[:k]) != "ping" {
		t.Fatalf("read %q, %v", buf[:k], err)
	}
	// Another network does not know the address.
	if _, err := link.NewMemNetwork().Dial(context.Background(), "head"); err == nil {
		t.Error("another memory network reached the listener")
	}
}

// TestMemDialUnknownAddress: nothing listens there: a refused connection,
// as TCP's, naming the address.
func TestMemDialUnknownAddress(t *testing.T) {
	n := link.NewMemNetwork()
	_, err := n.Dial(context.Background(), "mem:42")
	if !errors.Is(err, syscall.ECONNREFUSED) || !strings.Contains(err.Error(), "mem:42") {
		t.Fatalf("dial an unknown address: %v", err)
	}
	t.Logf("dial an unknown address: %v", err)
	_, err = link.Dial(context.Background(), "mem:42", link.Config{Node: "first.process_0.admin", Secret: []byte(testSecret), Network: n})
	if !errors.Is(err, syscall.ECONNREFUSED) || !strings.Contains(err.Error(), "link: dial mem:42") {
		t.Fatalf("link.Dial to an unknown address: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := n.Dial(ctx, "mem:42"); !errors.Is(err, context.Canceled) {
		t.Fatalf("dial with a cancelled context: %v", err)
	}
}

// TestMemWritesDoNotWaitForTheReader: both ends write a lot before either
// reads (net.Pipe would deadlock: its writes wait for a read); a write
// waits only once MemWindow bytes are unread, and then for the reader.
func TestMemWritesDoNotWaitForTheReader(t *testing.T) {
	a, b := memPair(t)
	big := bytes.Repeat([]byte("x"), link.MemWindow/2)
	for _, c := range []net.Conn{a, b} {
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(big); err != nil {
			t.Fatalf("write half a window with no reader: %v", err)
		}
	}
	// A full window: the next write waits for the reader.
	if _, err := a.Write(big); err != nil {
		t.Fatal(err)
	}
	wrote := make(chan error, 1)
	go func() {
		a.SetWriteDeadline(time.Time{})
		_, err := a.Write([]byte("more"))
		wrote <- err
	}()
	select {
	case err := <-wrote:
		t.Fatalf("a write past the window did not wait: %v", err)
	case <-time.After(20 * time.Millisecond): // a wait that should last, not a state
	}
	got := make([]byte, 0, link.MemWindow+4)
	buf := make([]byte, 64<<10)
	for len(got) < link.MemWindow+4 {
		k, err := b.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:k]...)
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[len(got)-4:], []byte("more")) || bytes.Count(got, []byte("x")) != link.MemWindow {
		t.Fatalf("read %d bytes, not what was written", len(got))
	}
}

// TestMemClose: the peer reads what was written before the close, then
// io.EOF; its writes fail; the closed end's own calls fail with
// net.ErrClosed, those waiting too.
func TestMemClose(t *testing.T) {
	a, b := memPair(t)
	blocked := make(chan error, 1)
	go func() {
		_, err := a.Read(make([]byte, 1))
		blocked <- err
	}()
	if _, err := a.Write([]byte("last words")); err != nil {
		t.Fatal(err)
	}
	a.Close()
	if err := <-blocked; !errors.Is(err, net.ErrClosed) {
		t.Errorf("a read waiting when its end closed: %v", err)
	}
	if _, err := a.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write after close: %v", err)
	}
	if err := a.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second close: %v", err)
	}
	got, err := io.ReadAll(b)
	if err != nil || string(got) != "last words" {
		t.Errorf("the peer read %q, %v", got, err)
	}
	if _, err := b.Write([]byte("x")); !errors.Is(err, syscall.EPIPE) {
		t.Errorf("write to a closed peer: %v", err)
	}
}

// TestMemDeadlines: reads and writes time out as net.Conn's do (a
// net.Error whose Timeout is true, os.ErrDeadlineExceeded), a waiting call
// sees a deadline set after it began, and a cleared deadline lets it
// work again.
func TestMemDeadlines(t *testing.T) {
	a, b := memPair(t)
	timedOut := func(err error) bool {
		var ne net.Error
		return errors.As(err, &ne) && ne.Timeout() && errors.Is(err, os.ErrDeadlineExceeded)
	}
	a.SetReadDeadline(time.Now().Add(-time.Second))
	if _, err := a.Read(make([]byte, 1)); !timedOut(err) {
		t.Fatalf("read past its deadline: %v", err)
	}
	a.SetReadDeadline(time.Time{})
	read := make(chan error, 1)
	go func() {
		_, err := a.Read(make([]byte, 1))
		read <- err
	}()
	a.SetReadDeadline(time.Now().Add(10 * time.Millisecond)) // while it waits
	if err := <-read; !timedOut(err) {
		t.Fatalf("a waiting read, its deadline set meanwhile: %v", err)
	}
	a.SetDeadline(time.Time{})
	b.Write([]byte("y"))
	if k, err := a.Read(make([]byte, 1)); k != 1 || err != nil {
		t.Fatalf("read after the deadline was cleared: %d, %v", k, err)
	}
	// A write waits for room: its deadline ends the wait, with what was
	// written counted.
	a.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
	k, err := a.Write(make([]byte, link.MemWindow+10))
	if !timedOut(err) || k != link.MemWindow {
		t.Fatalf("a write into a full window: %d bytes, %v", k, err)
	}
}

// TestMemListenerClose: Accept fails with net.ErrClosed (Listener.Serve
// returns nil), a connection dialed and not accepted is closed, a dial
// there is refused, and the address is free again.
func TestMemListenerClose(t *testing.T) {
	n := link.NewMemNetwork()
	ln, err := n.Listen("head")
	if err != nil {
		t.Fatal(err)
	}
	lst, err := link.NewListener(ln, link.Config{Node: "first.main.admin", Secret: []byte(testSecret)})
	if err != nil {
		t.Fatal(err)
	}
	queued, err := n.Dial(context.Background(), "head")
	if err != nil {
		t.Fatal(err)
	}
	accepting := make(chan error, 1)
	go func() {
		_, err := ln.Accept()
		accepting <- err
	}()
	if err := <-accepting; err != nil {
		t.Fatal(err)
	}
	go func() {
		_, err := ln.Accept()
		accepting <- err
	}()
	lst.Close() // it owns ln
	if err := <-accepting; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("an accept waiting when the listener closed: %v", err)
	}
	queued.Close()
	if _, err := n.Dial(context.Background(), "head"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial a closed listener: %v", err)
	}

	ln, err = n.Listen("head")
	if err != nil {
		t.Fatalf("the address of a closed listener: %v", err)
	}
	c, err := n.Dial(context.Background(), "head")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ln.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("a connection the listener never accepted: %v", err)
	}

	ln, _ = n.Listen("head")
	lst, err = link.NewListener(ln, link.Config{Node: "first.main.admin", Secret: []byte(testSecret)})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- lst.Serve(func(*link.Conn) {}) }()
	lst.Close()
	if err := <-served; err != nil {
		t.Fatalf("Serve after Close: %v", err)
	}
}

// TestLinksOverMemory: the links' own code (handshake, secret, framing,
// keep-alive) over a memory network: messages both ways in order, a wrong
// secret refused, a stranger dropped by the handshake's deadline, and a
// peer that went silent declared dead.
func TestLinksOverMemory(t *testing.T) {
	n := link.NewMemNetwork()
	log := &syncBuffer{}
	ln, err := link.Listen("", link.Config{Node: "first.main.admin", Secret: []byte(testSecret), Network: n,
		HandshakeTimeout: 100 * time.Millisecond, DeadAfter: 300 * time.Millisecond, Heartbeat: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	if !strings.HasPrefix(ln.Addr(), "mem:") {
		t.Fatalf("listening at %s", ln.Addr())
	}
	got := make(chan string, 1000)
	ended := make(chan error, 4)
	go ln.Serve(func(c *link.Conn) {
		t.Cleanup(func() { c.Close("test over") })
		ended <- c.Run(func(p []byte, _ bool) {
			got <- c.Peer() + ": " + string(p)
			c.Send(append([]byte("re "), p...))
		})
	})
	dialCfg := link.Config{Node: "first.process_0.admin", Secret: []byte(testSecret), Network: n}
	c, err := link.Dial(context.Background(), ln.Addr(), dialCfg)
	if err != nil {
		t.Fatal(err)
	}
	if c.Peer() != "first.main.admin" {
		t.Fatalf("peer %q", c.Peer())
	}
	back := make(chan string, 1000)
	go c.Run(func(p []byte, _ bool) { back <- string(p) })
	go func() {
		for i := range 500 {
			c.Send([]byte(strings.Repeat("m", i)))
		}
	}()
	for i := range 500 {
		if g := <-got; g != "first.process_0.admin: "+strings.Repeat("m", i) {
			t.Fatalf("message %d: %.40q", i, g)
		}
		if g := <-back; g != "re "+strings.Repeat("m", i) {
			t.Fatalf("reply %d: %.40q", i, g)
		}
	}
	c.Close("done")
	if err := <-ended; !errors.Is(err, link.ErrClosed) || !strings.Contains(err.Error(), "done") {
		t.Fatalf("the listener's end after the dialer closed: %v", err)
	}

	bad := dialCfg
	bad.Secret = []byte(strings.Repeat("f", len(testSecret)))
	if _, err := link.Dial(context.Background(), ln.Addr(), bad); !errors.Is(err, wire.ErrAuth) {
		t.Fatalf("a wrong secret: %v", err)
	}
	raw, err := n.Dial(context.Background(), ln.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if !closedByPeer(raw, 5*time.Second) {
		t.Fatal("a silent stranger was not dropped")
	}
	eventually(t, "the timeout to be logged", func() bool { return strings.Contains(log.String(), "did not finish within 100ms") })

	// Its end never runs (no pong), so the listener's end hears nothing.
	silent, err := link.Dial(context.Background(), ln.Addr(), dialCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close("test over")
	select {
	case err := <-ended:
		if !strings.Contains(err.Error(), "it is dead") {
			t.Fatalf("the end of a silent peer's link: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a silent peer was not declared dead")
	}
}

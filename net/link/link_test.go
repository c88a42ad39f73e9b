package link_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/peacepie/peacepie/net/link"
	"github.com/peacepie/peacepie/net/wire"
)

// testSecret is a secret of the format peacepie makes (64 hex digits).
const testSecret = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// server starts a listener whose links deliver into got; it returns the
// listener's address and its log.
func server(t *testing.T, secret string, got chan<- string, cfg link.Config) (string, *syncBuffer) {
	t.Helper()
	log := &syncBuffer{}
	cfg.Node, cfg.Secret, cfg.Logger = "first.main.admin", []byte(secret), slog.New(slog.NewTextHandler(log, nil))
	ln, err := link.Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go ln.Serve(func(c *link.Conn) {
		t.Cleanup(func() { c.Close("test over") })
		c.Run(func(p []byte, _ bool) {
			if got != nil {
				got <- c.Peer() + ": " + string(p)
			}
			if string(p) == "echo" {
				c.Send([]byte("echoed"))
			}
		})
	})
	return ln.Addr(), log
}

func dial(t *testing.T, addr, secret string) (*link.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := link.Dial(ctx, addr, link.Config{Node: "first.process_0.admin", Secret: []byte(secret)})
	if err == nil {
		t.Cleanup(func() { c.Close("test over") })
	}
	return c, err
}

func TestLinkCarriesMessagesInOrder(t *testing.T) {
	got := make(chan string, 1000)
	addr, _ := server(t, testSecret, got, link.Config{})
	c, err := dial(t, addr, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	if c.Peer() != "first.main.admin" {
		t.Fatalf("peer %q", c.Peer())
	}
	replies := make(chan string, 1)
	go c.Run(func(p []byte, _ bool) { replies <- string(p) })
	for i := 0; i < 500; i++ {
		if err := c.Send([]byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 500; i++ {
		select {
		case m := <-got:
			if want := fmt.Sprintf("first.process_0.admin: %d", i); m != want {
				t.Fatalf("got %q, want %q", m, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("message %d did not arrive", i)
		}
	}
	c.Send([]byte("echo"))
	select {
	case r := <-replies:
		if r != "echoed" {
			t.Fatalf("reply %q", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no reply")
	}
}

func TestWrongSecretIsRefused(t *testing.T) {
	got := make(chan string, 1)
	addr, log := server(t, testSecret, got, link.Config{})
	if _, err := dial(t, addr, "another-secret-of-at-least-32-bytes"); !errors.Is(err, wire.ErrAuth) {
		t.Fatalf("dial with a wrong secret: %v, want ErrAuth", err)
	}
	eventually(t, "the refusal in the log", func() bool { return strings.Contains(log.String(), "link refused") })
	select {
	case m := <-got:
		t.Fatalf("a message got through: %q", m)
	default:
	}
	// The listener still works.
	if _, err := dial(t, addr, testSecret); err != nil {
		t.Fatal(err)
	}
}

func TestGarbageOnThePortIsRefused(t *testing.T) {
	got := make(chan string, 1)
	addr, log := server(t, testSecret, got, link.Config{})
	msg, _ := wire.AppendFrame(nil, wire.KindMessage, []byte("sneaky"), wire.DefaultMaxFrame)
	bad := [][]byte{
		[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		msg, // a message without a handshake
		{wire.Version, byte(wire.KindHello), 0, 0, 0, 3, 'a', 'b', 'c'}, // a short hello
		{wire.Version, byte(wire.KindHello), 255, 255, 255, 255},        // a huge length
	}
	for i, b := range bad {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		nc.Write(b)
		nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		io.Copy(io.Discard, nc) // the listener closes the connection
		nc.Close()
		want := i + 1
		eventually(t, "the refusal in the log", func() bool { return strings.Count(log.String(), "link refused") >= want })
	}
	select {
	case m := <-got:
		t.Fatalf("a message got through: %q", m)
	default:
	}
	if _, err := dial(t, addr, testSecret); err != nil {
		t.Fatalf("the listener does not work after garbage: %v", err)
	}
}

func TestTooLargeMessageIsRefusedAtTheSender(t *testing.T) {
	addr, _ := server(t, testSecret, nil, link.Config{})
	c, err := link.Dial(context.Background(), addr, link.Config{Node: "first.process_0.admin", Secret: []byte(testSecret), MaxFrame: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close("over")
	err = c.Send(make([]byte, 20<<20))
	if !errors.Is(err, wire.ErrTooLarge) || !strings.Contains(err.Error(), "20971520") {
		t.Fatalf("a 20 MiB message: %v", err)
	}
	if err := c.Send([]byte("small")); err != nil {
		t.Fatalf("the link is broken after a refused message: %v", err)
	}
}

// A peer that stops answering (here: a listener that accepts, handshakes
// and then never reads or writes) is declared dead within DeadAfter.
func TestSilentPeerIsDeclaredDead(t *testing.T) {
	ln, err := link.Listen("127.0.0.1:0", link.Config{Node: "first.main.admin", Secret: []byte(testSecret), Heartbeat: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go ln.Serve(func(c *link.Conn) {}) // never runs the link: no pongs, no reads
	c, err := link.Dial(context.Background(), ln.Addr(), link.Config{Node: "first.process_0.admin", Secret: []byte(testSecret),
		Heartbeat: 50 * time.Millisecond, DeadAfter: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	go c.Run(func([]byte, bool) {})
	select {
	case <-c.Done():
		if !strings.Contains(c.Err().Error(), "dead") {
			t.Fatalf("ended with %v, want a dead peer", c.Err())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a silent peer was not noticed")
	}
	if err := c.Send([]byte("x")); err == nil {
		t.Fatal("Send on a dead link succeeds")
	}
}

// countingConn counts the writes that reach the socket.
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// Many small messages sent at once share writes (one flush per batch).
func TestWritesAreBatched(t *testing.T) {
	got := make(chan string, 20000)
	addr, _ := server(t, testSecret, got, link.Config{})
	c, err := dial(t, addr, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	writes := &atomic.Int64{}
	c.SetWriteHook(func(nc net.Conn) net.Conn { return countingConn{nc, writes} })
	go c.Run(func([]byte, bool) {})
	const n = 10000
	for i := 0; i < n; i++ {
		c.Send([]byte("tick"))
	}
	for i := 0; i < n; i++ {
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d messages arrived", i, n)
		}
	}
	if w := writes.Load(); w > n/10 {
		t.Fatalf("%d messages took %d writes: not batched", n, w)
	}
	t.Logf("%d messages in %d writes", n, writes.Load())
}

// TestBusyLinkOutlivesDeadAfter: a link that streams for many times
// DeadAfter, with frames often split between reads, stays up (its read
// deadline moves on however the frames arrive). DeadAfter is 300 ms: with
// 100 ms a goroutine descheduled that long on a loaded 2-core machine was
// declared dead.
func TestBusyLinkOutlivesDeadAfter(t *testing.T) {
	cfg := link.Config{Heartbeat: 50 * time.Millisecond, DeadAfter: 300 * time.Millisecond}
	ln, err := link.Listen("127.0.0.1:0", link.Config{Node: "first.main.admin", Secret: []byte(testSecret), Heartbeat: cfg.Heartbeat, DeadAfter: cfg.DeadAfter})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var received atomic.Int64
	serverDone := make(chan error, 1)
	go ln.Serve(func(c *link.Conn) {
		serverDone <- c.Run(func([]byte, bool) { received.Add(1) })
	})
	c, err := link.Dial(context.Background(), ln.Addr(), link.Config{Node: "first.process_0.admin", Secret: []byte(testSecret), Heartbeat: cfg.Heartbeat, DeadAfter: cfg.DeadAfter})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close("test over")
	go c.Run(func([]byte, bool) {})
	payload := bytes.Repeat([]byte("x"), 3000) // frames larger than a read's leftovers
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); {
		if err := c.Send(payload); err != nil {
			t.Fatalf("the link died while busy: %v", err)
		}
		time.Sleep(100 * time.Microsecond) // busy, not flooded: a peer that cannot keep up is another matter
	}
	select {
	case err := <-serverDone:
		t.Fatalf("the listener's side ended while the link was busy: %v", err)
	default:
	}
	eventually(t, "messages to arrive", func() bool { return received.Load() > 100 })
}

// TestControlFramesKeepTheirKind: the reader tells control frames from
// message frames (Run's control), and both keep the link's order.
func TestControlFramesKeepTheirKind(t *testing.T) {
	got := make(chan string, 100)
	ln, err := link.Listen("127.0.0.1:0", link.Config{Node: "first.main.admin", Secret: []byte(testSecret)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go ln.Serve(func(c *link.Conn) {
		t.Cleanup(func() { c.Close("test over") })
		c.Run(func(p []byte, control bool) { got <- fmt.Sprintf("%s %v", p, control) })
	})
	c, err := dial(t, ln.Addr(), testSecret)
	if err != nil {
		t.Fatal(err)
	}
	go c.Run(func([]byte, bool) {})
	var want []string
	for i := range 50 {
		p := fmt.Sprint(i)
		if i%3 == 0 {
			err = c.SendControl(func(b []byte) ([]byte, error) { return append(b, p...), nil })
		} else {
			err = c.Send([]byte(p))
		}
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, fmt.Sprintf("%s %v", p, i%3 == 0))
	}
	for _, w := range want {
		select {
		case m := <-got:
			if m != w {
				t.Fatalf("got %q, want %q", m, w)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%q did not arrive", w)
		}
	}
}

// TestLinkCountsWhatItCarries: Stats counts the frames a link wrote and
// read, and the bytes on its connection.
func TestLinkCountsWhatItCarries(t *testing.T) {
	got := make(chan string, 1000)
	addr, _ := server(t, testSecret, got, link.Config{})
	c, err := dial(t, addr, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	replies := make(chan string, 1)
	go c.Run(func(p []byte, _ bool) { replies <- string(p) })
	for i := 0; i < 300; i++ {
		if err := c.Send([]byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 300; i++ {
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			t.Fatalf("message %d did not arrive", i)
		}
	}
	c.Send([]byte("echo"))
	select {
	case <-replies:
	case <-time.After(10 * time.Second):
		t.Fatal("no reply")
	}
	s := c.Stats()
	if s.FramesOut != 301 || s.FramesIn != 1 || s.BytesOut < 301*2 || s.BytesIn == 0 {
		t.Fatalf("stats after 301 frames out and one in: %+v", s)
	}
}

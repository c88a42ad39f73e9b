package link_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/peacepie/peacepie/net/link"
	"github.com/peacepie/peacepie/net/wire"
)

// listen starts a listener of first.main.admin with testSecret whose links
// run and drop what they get; it returns the listener and its log.
func listen(t *testing.T, cfg link.Config) (*link.Listener, *syncBuffer) {
	t.Helper()
	log := &syncBuffer{}
	cfg.Node, cfg.Secret, cfg.Logger = "first.main.admin", []byte(testSecret), slog.New(slog.NewTextHandler(log, nil))
	ln, err := link.Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go ln.Serve(func(c *link.Conn) {
		t.Cleanup(func() { c.Close("test over") })
		c.Run(func([]byte, bool) {})
	})
	return ln, log
}

// rawDial opens a TCP connection to addr, closed at the end of the test.
func rawDial(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// closedByPeer reports whether the peer closed nc before the deadline:
// it reads (and drops) until the end of the stream.
func closedByPeer(nc net.Conn, within time.Duration) bool {
	nc.SetReadDeadline(time.Now().Add(within))
	_, err := io.Copy(io.Discard, nc)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// TestHeaderOnlyHellosDoNotExhaustMemory: the attack of the hardening
// issue, scaled down. Connections that send only the header of a hello
// announcing 16 MiB made the listener allocate 16 MiB each before the
// peer was authenticated (150 of them: 1.35 GB). Now a handshake frame
// over wire.MaxHandshakeFrame is refused from its header.
func TestHeaderOnlyHellosDoNotExhaustMemory(t *testing.T) {
	const conns, announced, limit = 20, 16 << 20, 64 << 20 // 320 MiB on the old code
	ln, log := listen(t, link.Config{})
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var ncs []net.Conn
	for i := 0; i < conns; i++ {
		nc := rawDial(t, ln.Addr())
		nc.Write([]byte{wire.Version, byte(wire.KindHello), announced >> 24, announced >> 16 & 0xff, 0, 0})
		ncs = append(ncs, nc)
	}
	closed := make(chan struct{})
	go func() {
		for _, nc := range ncs {
			closedByPeer(nc, 20*time.Second)
		}
		close(closed)
	}()
	var peak uint64
	for done := false; !done; {
		select {
		case <-closed:
			done = true
		case <-time.After(5 * time.Millisecond):
		}
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		if m.HeapAlloc > base.HeapAlloc {
			peak = max(peak, m.HeapAlloc-base.HeapAlloc)
		}
		if peak > limit {
			t.Fatalf("the heap grew by %d MiB for %d connections that sent a 6-byte header", peak>>20, conns)
		}
	}
	t.Logf("peak heap growth %d KiB", peak>>10)
	if !strings.Contains(log.String(), "larger than the limit of 4096 bytes") {
		t.Fatalf("the refusals do not say why:\n%s", log)
	}
	if _, err := dial(t, ln.Addr(), testSecret); err != nil {
		t.Fatalf("the listener does not work after the attack: %v", err)
	}
}

// TestUnauthenticatedConnectionsAreCapped: a listener keeps at most
// MaxUnauthenticated connections in the handshake; one more is closed at
// once, counted and logged, and a place that frees up is taken again.
func TestUnauthenticatedConnectionsAreCapped(t *testing.T) {
	const max = 4
	ln, log := listen(t, link.Config{MaxUnauthenticated: max, HandshakeTimeout: time.Minute})
	var silent []net.Conn
	for i := 0; i < max; i++ {
		silent = append(silent, rawDial(t, ln.Addr()))
	}
	eventually(t, "the silent connections in the handshake", func() bool { return ln.Stats().Handshaking == max })
	extra := rawDial(t, ln.Addr())
	if !closedByPeer(extra, 10*time.Second) {
		t.Fatalf("a connection over the cap of %d was kept", max)
	}
	eventually(t, "the connection over the cap counted", func() bool { return ln.Stats().OverCap == 1 })
	if !strings.Contains(log.String(), "4 connections are in the handshake already") {
		t.Fatalf("the log does not say why:\n%s", log)
	}
	silent[0].Close()
	eventually(t, "a place to free up", func() bool { return ln.Stats().Handshaking == max-1 })
	if _, err := dial(t, ln.Addr(), testSecret); err != nil {
		t.Fatalf("a link under the cap: %v", err)
	}
}

// TestHandshakeTimeout: a connection that does not finish the handshake
// within HandshakeTimeout is closed and its place freed.
func TestHandshakeTimeout(t *testing.T) {
	ln, log := listen(t, link.Config{HandshakeTimeout: 200 * time.Millisecond})
	nc := rawDial(t, ln.Addr())
	nc.Write(frameOf(t, wire.KindHello, wire.Hello(wire.NewNonce(), "slow.main.admin"))) // then nothing
	if !closedByPeer(nc, 10*time.Second) {
		t.Fatal("a connection that stopped in the handshake was kept")
	}
	eventually(t, "the refusal in the log", func() bool {
		return strings.Contains(log.String(), "the handshake did not finish within 200ms")
	})
	eventually(t, "the place freed", func() bool { return ln.Stats().Handshaking == 0 })
}

func frameOf(t *testing.T, k wire.Kind, p []byte) []byte {
	t.Helper()
	f, err := wire.AppendFrame(nil, k, p, wire.DefaultMaxFrame)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestRefusalLogIsBounded: the attack of the hardening issue. A hello
// whose node name is 1 MiB of NUL bytes, then a wrong proof, wrote a 5 MB
// `link refused` line per attempt. Now the hello is refused from its
// header, a bad name is refused with a short escaped error, and refusals
// are logged at most RefusalLogRate a second.
func TestRefusalLogIsBounded(t *testing.T) {
	ln, log := listen(t, link.Config{})
	const attempts = link.RefusalLogRate - 2 // all logged, with the one below
	hello := frameOf(t, wire.KindHello, wire.Hello(wire.NewNonce(), strings.Repeat("\x00", 1<<20)))
	auth := frameOf(t, wire.KindAuth, make([]byte, wire.ProofSize))
	for i := 0; i < attempts; i++ {
		nc := rawDial(t, ln.Addr())
		go nc.Write(append(append([]byte{}, hello...), auth...)) // may fail: the listener hangs up
		closedByPeer(nc, 10*time.Second)
		nc.Close()
	}
	// A name that fits in a handshake frame, but is no name.
	nc := rawDial(t, ln.Addr())
	nc.Write(frameOf(t, wire.KindHello, wire.Hello(wire.NewNonce(), strings.Repeat("\x00", 3000))))
	closedByPeer(nc, 10*time.Second)
	eventually(t, "every refusal counted", func() bool { return ln.Stats().Refused == attempts+1 })
	text := log.String()
	if len(text) > 16<<10 {
		t.Fatalf("%d refusals wrote %d bytes of log", attempts+1, len(text))
	}
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if len(line) > 1024 || strings.ContainsAny(line, "\x00\x1b\r") {
			t.Fatalf("a log line of %d bytes, or with control characters: %.300q", len(line), line)
		}
	}
	if !strings.Contains(text, "bad node name") {
		t.Fatalf("the refusal of a name of NUL bytes does not say why:\n%s", text)
	}
}

// TestRefusalLogIsRateLimited: a flood of garbage connections logs at
// most RefusalLogRate lines a second; the lines held back are counted.
func TestRefusalLogIsRateLimited(t *testing.T) {
	ln, log := listen(t, link.Config{})
	const attempts = 3 * link.RefusalLogRate
	start := time.Now()
	for i := 0; i < attempts; i++ {
		nc := rawDial(t, ln.Addr())
		nc.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
		closedByPeer(nc, 10*time.Second)
		nc.Close()
	}
	eventually(t, "every refusal counted", func() bool { return ln.Stats().Refused == attempts })
	lines := strings.Count(log.String(), "link refused")
	seconds := int(time.Since(start)/time.Second) + 1
	if lines > link.RefusalLogRate*(seconds+1) {
		t.Fatalf("%d refusals in %d s logged %d lines", attempts, seconds, lines)
	}
	t.Logf("%d refusals in %s: %d lines", attempts, time.Since(start), lines)
}

// TestStrangerGetsOnlyANonce: a peer without the secret that dials the
// listener gets a nonce and the listener's name, nothing it can test
// guesses of the secret against; a wrong proof gets a bye, not the
// listener's proof.
func TestStrangerGetsOnlyANonce(t *testing.T) {
	ln, _ := listen(t, link.Config{})
	nc := rawDial(t, ln.Addr())
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	nc.Write(frameOf(t, wire.KindHello, wire.Hello(wire.NewNonce(), "stranger.main.admin")))
	f, err := wire.ReadHandshakeFrame(nc)
	if err != nil || f.Kind != wire.KindChallenge {
		t.Fatalf("the answer to a hello: %v %v", f.Kind, err)
	}
	if want := wire.NonceSize + len("first.main.admin"); len(f.Payload) != want || string(f.Payload[wire.NonceSize:]) != "first.main.admin" {
		t.Fatalf("the challenge has %d bytes (%q), want a nonce and the node name (%d)", len(f.Payload), f.Payload, want)
	}
	nc.Write(frameOf(t, wire.KindAuth, make([]byte, wire.ProofSize)))
	f, err = wire.ReadHandshakeFrame(nc)
	if err != nil || f.Kind != wire.KindBye {
		t.Fatalf("the answer to a wrong proof: %v %q %v, want a bye", f.Kind, f.Payload, err)
	}
	if rest, _ := io.ReadAll(nc); len(rest) > 0 {
		t.Fatalf("%d more bytes after the bye", len(rest))
	}
}

// TestRogueListenerIsRefused: a listener that does not know the secret
// gets the dialer's proof (the exposure left: see docs/protocol.md) but
// cannot answer with its own, so no link opens.
func TestRogueListenerIsRefused(t *testing.T) {
	rogue, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer rogue.Close()
	go func() {
		nc, err := rogue.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		wire.ReadHandshakeFrame(nc) // hello
		c, _ := wire.AppendFrame(nil, wire.KindChallenge, wire.Challenge(wire.NewNonce(), "first.main.admin"), wire.MaxHandshakeFrame)
		nc.Write(c)
		wire.ReadHandshakeFrame(nc) // auth
		// A guess at the listener's proof.
		r, _ := wire.AppendFrame(nil, wire.KindReady, wire.NewNonce(), wire.MaxHandshakeFrame)
		nc.Write(r)
		io.Copy(io.Discard, nc)
	}()
	if c, err := dial(t, rogue.Addr().String(), testSecret); !errors.Is(err, wire.ErrAuth) {
		t.Fatalf("a link to a rogue listener: %v, %v; want ErrAuth", c, err)
	}
}

// TestWeakSecretIsRefused: both ends refuse a secret under MinSecret bytes.
func TestWeakSecretIsRefused(t *testing.T) {
	for _, secret := range []string{"wxyz", "0123456789abcde"} {
		if ln, err := link.Listen("127.0.0.1:0", link.Config{Node: "first.main.admin", Secret: []byte(secret)}); !errors.Is(err, link.ErrWeakSecret) {
			if ln != nil {
				ln.Close()
			}
			t.Errorf("Listen with %q: %v, want ErrWeakSecret", secret, err)
		}
		if _, err := link.Dial(context.Background(), "127.0.0.1:1", link.Config{Node: "first.main.admin", Secret: []byte(secret)}); !errors.Is(err, link.ErrWeakSecret) {
			t.Errorf("Dial with %q: %v, want ErrWeakSecret", secret, err)
		}
	}
}

// flakyListener fails its first fails accepts as a process out of file
// descriptors does (EMFILE), then accepts.
type flakyListener struct {
	net.Listener
	fails atomic.Int32
}

func (f *flakyListener) Accept() (net.Conn, error) {
	if f.fails.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: f.Addr(), Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return f.Listener.Accept()
}

// TestAcceptErrorsAreRetried: the listener gave up for good after one
// accept error (EMFILE), and the host never accepted a link again. Now it
// retries with a back-off and logs once per burst. The errors are
// injected by a wrapper: lowering RLIMIT_NOFILE would starve the whole
// test process (the Go runtime, the race detector, other tests) and needs
// a child process, while the wrapper drives the same path — Accept
// returning an error that is not net.ErrClosed — deterministically.
func TestAcceptErrorsAreRetried(t *testing.T) {
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := &flakyListener{Listener: tcp}
	const fails = 5
	fl.fails.Store(fails)
	log := &syncBuffer{}
	ln, err := link.NewListener(fl, link.Config{Node: "first.main.admin", Secret: []byte(testSecret), Logger: slog.New(slog.NewTextHandler(log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- ln.Serve(func(c *link.Conn) { c.Run(func([]byte, bool) {}) }) }()
	if _, err := dial(t, ln.Addr(), testSecret); err != nil {
		t.Fatalf("a link after %d accept errors: %v", fails, err)
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned: %v", err)
	default:
	}
	if got := ln.Stats().AcceptErrors; got != fails {
		t.Fatalf("%d accept errors counted, want %d", got, fails)
	}
	text := log.String()
	if n := strings.Count(text, "link accept failed"); n != 1 || !strings.Contains(text, "too many open files") ||
		!strings.Contains(text, "link accept works again") || !strings.Contains(text, "failures=5") {
		t.Fatalf("want one line for the burst and one when it ended:\n%s", text)
	}
	ln.Close()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve after Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after Close")
	}
}

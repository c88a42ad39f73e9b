package link

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/peacepie/peacepie/net/wire"
)

// gatedWriter holds the first write until open is closed (entered says it
// has begun); the writes after it pass.
type gatedWriter struct {
	w       net.Conn
	entered chan struct{}
	open    chan struct{}
	first   bool
}

func (g *gatedWriter) Write(p []byte) (int, error) {
	if !g.first {
		g.first = true
		close(g.entered)
		<-g.open
	}
	return g.w.Write(p)
}

// gatedConn is a link whose writes go through a gatedWriter to a pipe,
// and a reader of the pipe's other end.
func gatedConn(t *testing.T) (*Conn, *gatedWriter, *wire.Reader) {
	a, b := net.Pipe()
	cfg := Config{Node: "first.main.admin", Secret: []byte(testSecret), MaxFrame: 32 << 20, Heartbeat: time.Hour}
	cfg.defaults()
	c := newConn(cfg, a, a, "first.process_0.admin")
	gate := &gatedWriter{w: a, entered: make(chan struct{}), open: make(chan struct{})}
	c.out = gate // as Run sets it
	go c.writeLoop()
	t.Cleanup(func() { c.shutdown(ErrClosed); a.Close(); b.Close() })
	return c, gate, wire.NewReader(b, cfg.MaxFrame)
}

// TestPingGoesAheadOfPendingFrames: a ping queued while a 20 MiB frame
// waits to be written (behind a write under way) is written before it: a
// heartbeat never waits behind a large message that has not begun.
func TestPingGoesAheadOfPendingFrames(t *testing.T) {
	c, gate, r := gatedConn(t)

	first := make(chan error, 1)
	go func() { first <- c.Send([]byte("first")) }() // written at once: held in the gate
	<-gate.entered
	big := bytes.Repeat([]byte("x"), 20<<20)
	if err := c.Send(big); err != nil { // queued behind the write under way
		t.Fatal(err)
	}
	c.appendCtrl(wire.KindPing)
	close(gate.open)

	var got []string
	for len(got) < 3 {
		f, err := r.ReadFrame()
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		got = append(got, f.Kind.String()+":"+string(f.Payload[:min(len(f.Payload), 5)]))
	}
	want := []string{"message:first", "ping:", "message:xxxxx"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("frames on the wire: %q, want %q (the ping ahead of the pending 20 MiB frame)", got, want)
		}
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
}

// TestBytesReceivedAreLife: a peer that sends one large frame slowly, for
// three times DeadAfter, is not declared dead: every byte counts as life,
// not only a whole frame.
func TestBytesReceivedAreLife(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	cfg := Config{Node: "first.main.admin", Secret: []byte(testSecret), Heartbeat: time.Hour, DeadAfter: 500 * time.Millisecond}
	cfg.defaults()
	c := newConn(cfg, a, a, "first.process_0.admin")
	got := make(chan int, 1)
	ended := make(chan error, 1)
	go func() { ended <- c.Run(func(p []byte, _ bool) { got <- len(p) }) }()
	defer c.shutdown(ErrClosed)

	const size = 1 << 20
	frame, err := wire.AppendFrame(nil, wire.KindMessage, bytes.Repeat([]byte("y"), size), size)
	if err != nil {
		t.Fatal(err)
	}
	const pieces = 60 // one every 25 ms: 1.5 s in all
	step := (len(frame) + pieces - 1) / pieces
	for i := 0; i < len(frame); i += step {
		if _, err := b.Write(frame[i:min(i+step, len(frame))]); err != nil {
			t.Fatalf("the link stopped reading after %d of %d bytes: %v (%v)", i, len(frame), err, c.Err())
		}
		time.Sleep(25 * time.Millisecond) // the pace of a slow sender, not a wait for something
	}
	select {
	case n := <-got:
		if n != size {
			t.Fatalf("a message of %d bytes arrived, want %d", n, size)
		}
	case err := <-ended:
		t.Fatalf("the link ended while the peer was sending: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the message did not arrive")
	}
}

// TestControlAheadGoesAheadOfPendingFrames: a control frame sent ahead
// (SendControlAhead) while a 20 MiB frame waits is written before it, as a
// ping is; one sent in order (SendControl) keeps its place behind it. The
// room ahead is bounded: past maxAhead bytes waiting, SendControlAhead
// refuses with ErrAheadFull.
func TestControlAheadGoesAheadOfPendingFrames(t *testing.T) {
	c, gate, r := gatedConn(t)

	payload := func(s string) func([]byte) ([]byte, error) {
		return func(b []byte) ([]byte, error) { return append(b, s...), nil }
	}
	first := make(chan error, 1)
	go func() { first <- c.Send([]byte("first")) }() // written at once: held in the gate
	<-gate.entered
	if err := c.Send(bytes.Repeat([]byte("x"), 20<<20)); err != nil { // queued behind the write under way
		t.Fatal(err)
	}
	if err := c.SendControl(payload("order")); err != nil {
		t.Fatal(err)
	}
	if err := c.SendControlAhead(payload("stats")); err != nil {
		t.Fatal(err)
	}
	filler := bytes.Repeat([]byte("f"), 1000)
	sent := 0
	var err error
	for ; sent < 100; sent++ {
		if err = c.SendControlAhead(payload(string(filler))); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrAheadFull) || sent == 0 || sent > maxAhead/len(filler) {
		t.Fatalf("after %d frames of 1000 bytes ahead: %v, want ErrAheadFull after at most %d", sent, err, maxAhead/len(filler))
	}
	close(gate.open)

	var got []string
	for len(got) < 4+sent {
		f, err := r.ReadFrame()
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		got = append(got, f.Kind.String()+":"+string(f.Payload[:min(len(f.Payload), 5)]))
	}
	want := []string{"message:first", "control:stats"}
	for range sent {
		want = append(want, "control:fffff")
	}
	want = append(want, "message:xxxxx", "control:order")
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("frames on the wire: %q, want %q", got, want)
		}
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
}

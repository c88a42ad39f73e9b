package link

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-accepted
	if b == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// TestSysIO: raw reads and writes move every byte, also when a write must
// wait for the reader (more than the socket buffers hold), and end with
// EOF, a timeout or a closed connection as net.Conn does.
func TestSysIO(t *testing.T) {
	a, b := tcpPair(t)
	w, r := newSysIO(a), newSysIO(b)
	if w == nil || r == nil {
		t.Fatal("no raw I/O for a TCP connection")
	}
	want := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	done := make(chan error, 1)
	go func() {
		n, err := w.Write(want)
		if err == nil && n != len(want) {
			err = io.ErrShortWrite
		}
		a.Close()
		done <- err
	}()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("write: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, want %d, equal prefix: %v", len(got), len(want), bytes.HasPrefix(want, got))
	}
	if n, err := r.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Fatalf("after the end: %d, %v", n, err)
	}

	// A read deadline gives a timeout, as on net.Conn (links detect dead
	// peers with it); Close wakes a waiting read.
	c, d := tcpPair(t)
	rd := newSysIO(d)
	d.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	_, err = rd.Read(make([]byte, 8))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read past the deadline: %v", err)
	}
	d.SetReadDeadline(time.Time{})
	go func() {
		time.Sleep(20 * time.Millisecond) // let the read wait first
		d.Close()
	}()
	if _, err := rd.Read(make([]byte, 8)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read of a closed connection: %v", err)
	}
	if _, err := newSysIO(c).Write([]byte("x")); err != nil {
		t.Fatalf("write to a peer that closed, first: %v", err) // the kernel takes it
	}
}

// TestSysIOOnlyForTCP: anything but a plain TCP connection is read and
// written as it is.
func TestSysIOOnlyForTCP(t *testing.T) {
	p, q := net.Pipe()
	defer p.Close()
	defer q.Close()
	if newSysIO(p) != nil {
		t.Fatal("raw I/O for a pipe")
	}
	if readerOf(p) != io.Reader(p) {
		t.Fatal("readerOf wraps a pipe")
	}
}

package link

import (
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peacepie/peacepie/internal/ratelog"
	"github.com/peacepie/peacepie/net/wire"
)

// fuzzSecret is the listener's secret in FuzzListenerHandshake.
const fuzzSecret = "fuzz-secret-fuzz-secret-fuzz-secret"

// FuzzListenerHandshake feeds arbitrary bytes to the listener's side of
// the handshake over a net.Pipe: it never panics, never allocates more
// than a small bound whatever the frames announce, and never opens a link
// (no input can hold the dialer's proof: it depends on the listener's
// fresh nonce). The seed corpus is in testdata/fuzz.
func FuzzListenerHandshake(f *testing.F) {
	hello := func(node string) []byte {
		b, _ := wire.AppendFrame(nil, wire.KindHello, wire.Hello(make([]byte, wire.NonceSize), node), wire.MaxHandshakeFrame)
		return b
	}
	auth, _ := wire.AppendFrame(nil, wire.KindAuth, make([]byte, wire.ProofSize), wire.MaxHandshakeFrame)
	f.Add(hello("first.process_0.admin"))
	f.Add(append(hello("first.process_0.admin"), auth...))
	f.Add([]byte{wire.Version, byte(wire.KindHello), 1, 0, 0, 0})
	f.Add([]byte{wire.Version, byte(wire.KindHello), 0, 0, 16, 1})
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Add(append(hello(strings.Repeat("\x00", 300)), auth...))
	cfg := Config{Node: "first.main.admin", Secret: []byte(fuzzSecret), HandshakeTimeout: 2 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	cfg.defaults()
	l := &Listener{cfg: cfg, log: ratelog.New(cfg.Logger, RefusalLogRate, maxLoggedError), done: make(chan struct{})}
	f.Fuzz(func(t *testing.T, data []byte) {
		server, client := net.Pipe()
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { // the stranger: its bytes, then it hangs up
			defer wg.Done()
			client.Write(data)
			client.Close()
		}()
		go func() { // and what the listener answers
			defer wg.Done()
			io.Copy(io.Discard, client)
		}()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		c, err := l.handshake(server)
		runtime.ReadMemStats(&after)
		server.Close()
		wg.Wait()
		if err == nil {
			c.shutdown(ErrClosed)
			t.Fatalf("a link opened for %q without the secret", data)
		}
		// The input itself, the pipe's buffers and the log line; a frame's
		// announced size must not count.
		if grew := after.TotalAlloc - before.TotalAlloc; grew > uint64(len(data))+256<<10 {
			t.Fatalf("the handshake of %d bytes of input allocated %d bytes", len(data), grew)
		}
	})
}

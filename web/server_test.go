package web_test

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/peacepie/peacepie/internal/testhost"
	"github.com/peacepie/peacepie/web"
)

// gateway is a Gateway for tests of the HTTP server alone: only the page
// and /api/hello are asked for.
type gateway struct{ web.Gateway }

func (gateway) HeadAdmin() string { return "first.main.admin" }
func (gateway) AdminName() string { return "first.main.admin" }

// serve starts the console on a loopback port with cfg, as peacepie run
// does (HTTPServer on Listener), and returns its address.
func serve(t *testing.T, cfg web.Config) string {
	t.Helper()
	cfg.Token, cfg.Gateway = "0123456789abcdef", gateway{}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := web.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := s.HTTPServer()
	go srv.Serve(s.Listener(ln))
	t.Cleanup(func() { srv.Close(); s.Close() })
	return ln.Addr().String()
}

func rawDial(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// closedWithin reports whether the server closes nc within d (reading
// and dropping what it sends).
func closedWithin(nc net.Conn, d time.Duration) bool {
	nc.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, nc)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

const helloRequest = "GET /api/hello HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer 0123456789abcdef\r\n\r\n"

// TestReadHeaderTimeout: a client that sends part of a request's headers
// and stops (slowloris) is closed after ReadHeaderTimeout.
func TestReadHeaderTimeout(t *testing.T) {
	addr := serve(t, web.Config{ReadHeaderTimeout: 200 * time.Millisecond})
	nc := rawDial(t, addr)
	io.WriteString(nc, "GET / HTTP/1.1\r\nHost: x\r\n")
	if !closedWithin(nc, 10*time.Second) {
		t.Fatal("a connection that stopped inside its headers was kept")
	}
}

// TestIdleTimeout: a keep-alive connection idle after a request is closed
// after IdleTimeout.
func TestIdleTimeout(t *testing.T) {
	addr := serve(t, web.Config{IdleTimeout: 200 * time.Millisecond})
	nc := rawDial(t, addr)
	io.WriteString(nc, helloRequest)
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("hello: %v %v", resp, err)
	}
	resp.Body.Close()
	if !closedWithin(nc, 10*time.Second) {
		t.Fatal("an idle keep-alive connection was kept")
	}
}

// TestMaxConns: with MaxConns connections open, one more is not served
// until one of them ends.
func TestMaxConns(t *testing.T) {
	const max = 2
	addr := serve(t, web.Config{MaxConns: max})
	var open []net.Conn
	for i := 0; i < max; i++ {
		nc := rawDial(t, addr)
		io.WriteString(nc, helloRequest) // served: the connection is accepted and stays open
		nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		resp.Body.Close()
		open = append(open, nc)
	}
	extra := rawDial(t, addr)
	io.WriteString(extra, helloRequest)
	r := bufio.NewReader(extra)
	// Nothing can be polled for here: the answer must not come. Half a
	// second is ample for a served request on loopback.
	extra.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := r.Peek(1); err == nil {
		t.Fatalf("a connection over the limit of %d was served", max)
	}
	open[0].Close()
	extra.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(r, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the waiting connection after one ended: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestRefusalLogIsRateLimited: requests without the token, which anyone who
// reaches the port can send as fast as it likes, log at most
// RefusalLogRate lines a second (they logged one line each).
func TestRefusalLogIsRateLimited(t *testing.T) {
	var log testhost.Output
	cfg := web.Config{Token: "0123456789abcdef", Gateway: gateway{}, Logger: slog.New(slog.NewTextHandler(&log, nil))}
	s, err := web.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(func() { srv.Close(); s.Close() })
	start := time.Now()
	for i := 0; i < 500; i++ {
		resp, err := http.Get(srv.URL + "/ws")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a request without the token: %s", resp.Status)
		}
	}
	seconds := int(time.Since(start)/time.Second) + 1
	if n := strings.Count(log.String(), "console request refused"); n == 0 || n > web.RefusalLogRate*(seconds+1) {
		t.Errorf("500 refused requests in %d s logged %d lines, want 1 to %d", seconds, n, web.RefusalLogRate*(seconds+1))
	}
}

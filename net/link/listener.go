package link

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// RefusalLogRate is how many `link refused` lines a Listener logs a
// second at most; the lines it holds back are counted in the next one
// (key "suppressed").
const RefusalLogRate = 10

// Accept back-off: after an accept error (out of file descriptors, say)
// Serve waits acceptBackoffMin, doubling up to acceptBackoffMax, and tries
// again, as net/http's Server does.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// maxLoggedError: the error of a refusal is cut to this many bytes in the
// log.
const maxLoggedError = 256

// Listener accepts links. Serve runs at most once; Close and Stats may be
// called from any goroutine.
type Listener struct {
	ln   net.Listener
	cfg  Config
	log  *rateLog
	done chan struct{} // closed by Close
	once sync.Once

	handshaking atomic.Int64  // connections in the handshake now
	overCap     atomic.Uint64 // closed at once: MaxUnauthenticated reached
	refused     atomic.Uint64 // failed the handshake
	acceptErrs  atomic.Uint64 // accept errors retried
}

// ListenerStats are a Listener's counters.
type ListenerStats struct {
	Handshaking  int    // connections in the handshake now
	OverCap      uint64 // connections closed at once, over MaxUnauthenticated
	Refused      uint64 // connections that failed the handshake
	AcceptErrors uint64 // accept errors, each retried after a back-off
}

// Listen listens on addr ("127.0.0.1:0" for a free port); Serve accepts.
// It refuses a config without a secret of at least MinSecret bytes.
func Listen(addr string, cfg Config) (*Listener, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("link: listen %s: %w", addr, err)
	}
	return NewListener(ln, cfg)
}

// NewListener accepts links on ln, which it owns from now on (Close
// closes it). Listen is NewListener on a new TCP listener.
func NewListener(ln net.Listener, cfg Config) (*Listener, error) {
	cfg.defaults()
	if err := cfg.check(); err != nil {
		ln.Close()
		return nil, err
	}
	return &Listener{ln: ln, cfg: cfg, log: newRateLog(cfg.Logger, RefusalLogRate), done: make(chan struct{})}, nil
}

// Addr returns the address the listener is on.
func (l *Listener) Addr() string { return l.ln.Addr().String() }

// Close stops accepting; Serve returns nil. Links already open stay open.
func (l *Listener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.ln.Close()
}

// Stats returns the listener's counters.
func (l *Listener) Stats() ListenerStats {
	return ListenerStats{Handshaking: int(l.handshaking.Load()), OverCap: l.overCap.Load(),
		Refused: l.refused.Load(), AcceptErrors: l.acceptErrs.Load()}
}

// Serve accepts connections until the listener is closed (then it returns
// nil), authenticates each and hands the open links to onLink, each on its
// own goroutine. A peer that fails the handshake is logged (bounded, see
// RefusalLogRate) and dropped; nothing else happens. At most
// cfg.MaxUnauthenticated connections are in the handshake at once: one
// more is closed at once. An accept error is retried after a back-off (5
// ms doubling to 1 s), logged once per burst of errors.
func (l *Listener) Serve(onLink func(*Conn)) error {
	var delay time.Duration
	var burst uint64
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			l.acceptErrs.Add(1)
			burst++
			if delay == 0 {
				delay = acceptBackoffMin
				l.cfg.Logger.Warn("link accept failed: retrying with a back-off", "addr", l.Addr(), "error", err.Error())
			} else {
				delay = min(2*delay, acceptBackoffMax)
			}
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-l.done:
				t.Stop()
				return nil
			}
			continue
		}
		if delay != 0 {
			l.cfg.Logger.Info("link accept works again", "addr", l.Addr(), "failures", burst)
			delay, burst = 0, 0
		}
		if n := l.handshaking.Add(1); n > int64(l.cfg.MaxUnauthenticated) {
			l.handshaking.Add(-1)
			remote := nc.RemoteAddr().String()
			nc.Close()
			l.log.warn("link refused", "remote", remote,
				"error", fmt.Sprintf("%d connections are in the handshake already (the limit)", l.cfg.MaxUnauthenticated))
			l.overCap.Add(1)
			continue
		}
		go func() {
			c, err := l.handshake(nc)
			l.handshaking.Add(-1)
			if err != nil {
				return
			}
			onLink(c)
		}()
	}
}

// handshake authenticates an accepted connection within
// cfg.HandshakeTimeout. On failure it logs the refusal, closes nc and
// returns the error.
func (l *Listener) handshake(nc net.Conn) (*Conn, error) {
	remote := nc.RemoteAddr().String()
	nc.SetDeadline(time.Now().Add(l.cfg.HandshakeTimeout))
	fail := func(node string, err error) (*Conn, error) {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			err = fmt.Errorf("the handshake did not finish within %s: %w", l.cfg.HandshakeTimeout, err)
		}
		nc.Close()
		attrs := []any{"remote", remote, "error", cut(err.Error(), maxLoggedError)}
		if node != "" {
			attrs = append(attrs, "node", cut(node, 64))
		}
		l.log.warn("link refused", attrs...)
		l.refused.Add(1) // after the log line, which tests wait for
		return nil, err
	}
	if l.cfg.TLS != nil {
		tc := tls.Server(nc, l.cfg.TLS)
		if err := tc.Handshake(); err != nil {
			return fail("", fmt.Errorf("TLS: %w", err))
		}
		nc = tc
	}
	peer, err := listenHandshake(nc, l.cfg)
	if err != nil {
		return fail(peer, err)
	}
	nc.SetDeadline(time.Time{})
	return newConn(l.cfg, nc, readerOf(nc), peer), nil
}

// cut returns s, or its first max bytes and "…".
func cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

// rateLog logs at most rate lines a second and counts the others: the
// next line it lets through carries "suppressed", how many it held back
// since the last.
type rateLog struct {
	log  *slog.Logger
	rate int
	now  func() time.Time // time.Now; tests set it

	mu         sync.Mutex // guards the fields below
	window     time.Time  // the start of the current second
	n          int        // lines logged in it
	suppressed int        // lines held back since the last logged
}

func newRateLog(log *slog.Logger, rate int) *rateLog {
	return &rateLog{log: log, rate: rate, now: time.Now}
}

// warn logs a warning unless rate lines were logged in the last second.
// The values of string attributes are cut to maxLoggedError bytes and
// escaped by the handler (slog's text and JSON handlers quote control
// characters).
func (r *rateLog) warn(msg string, attrs ...any) {
	r.mu.Lock()
	now := r.now()
	if now.Sub(r.window) >= time.Second {
		r.window, r.n = now, 0
	}
	if r.n >= r.rate {
		r.suppressed++
		r.mu.Unlock()
		return
	}
	r.n++
	if r.suppressed > 0 {
		attrs = append(attrs, "suppressed", r.suppressed)
		r.suppressed = 0
	}
	r.mu.Unlock()
	for i, a := range attrs {
		if s, ok := a.(string); ok && i%2 == 1 {
			attrs[i] = cut(s, maxLoggedError)
		}
	}
	r.log.Warn(msg, attrs...)
}

package link

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/peacepie/peacepie/internal/ratelog"
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
	log  *ratelog.Logger
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

// Listen listens on addr of cfg.Network ("127.0.0.1:0" for a free TCP
// port); Serve accepts. It refuses a config without a secret of at least
// MinSecret bytes.
func Listen(addr string, cfg Config) (*Listener, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	ln, err := cfg.network().Listen(addr)
	if err != nil {
		return nil, fmt.Errorf("link: listen %s: %w", addr, err)
	}
	return NewListener(ln, cfg)
}

// NewListener accepts links on ln, which it owns from now on (Close
// closes it). Listen is NewListener on a new listener of cfg.Network.
func NewListener(ln net.Listener, cfg Config) (*Listener, error) {
	cfg.defaults()
	if err := cfg.check(); err != nil {
		ln.Close()
		return nil, err
	}
	return &Listener{ln: ln, cfg: cfg, log: ratelog.New(cfg.Logger, RefusalLogRate, maxLoggedError), done: make(chan struct{})}, nil
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
			l.log.Warn("link refused", "remote", remote,
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
		attrs := []any{"remote", remote, "error", ratelog.Cut(err.Error(), maxLoggedError)}
		if node != "" {
			attrs = append(attrs, "node", ratelog.Cut(node, 64))
		}
		l.log.Warn("link refused", attrs...)
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

package web

import (
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/net/netutil"

	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/internal/ratelog"
)

//go:embed static
var static embed.FS

// Gateway is what the console needs of a process.
type Gateway interface {
	Ask(ctx context.Context, m host.Message, timeout time.Duration) (host.Message, error)
	Send(m host.Message) error
	NewMID() host.MID
	Watch() *host.Watch
	HeadAdmin() string
	AdminName() string // this process's admin (the host's main process)
	Stats(filter string) host.Object
}

// Config configures a Server.
type Config struct {
	Token           string       // required
	Gateway         Gateway      // required
	Logger          *slog.Logger // slog.Default()
	MaxRequestBytes int64        // largest WebSocket message; 1 MiB
	MaxInFlight     int          // concurrent asks per connection; 256
	DefaultTimeout  time.Duration
	MaxTimeout      time.Duration
	// The HTTP server's limits (HTTPServer, Listener): the time to read a
	// request's headers (10s), the time a keep-alive connection may idle
	// between requests (60s), and how many connections (WebSockets
	// included) are served at once (256); one more waits in the kernel's
	// backlog until one ends.
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	MaxConns          int
}

// Server is the console's HTTP handler. Close ends its WebSocket connections.
type Server struct {
	cfg      Config
	upgrader websocket.Upgrader
	mux      *http.ServeMux

	refusals *ratelog.Logger // requests without the token: strangers choose how many

	mu       sync.Mutex // guards sessions, closed
	sessions map[*session]struct{}
	closed   bool
}

// RefusalLogRate is how many refused console requests a second are logged;
// the next line let through says how many were held back.
const RefusalLogRate = 10

// TokenCookie is the cookie the page may keep the token in.
const TokenCookie = "peacepie_token"

// NewServer returns a console server.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Token == "" || cfg.Gateway == nil {
		return nil, errors.New("web: a token and a gateway are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = 1 << 20
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 256
	}
	if cfg.DefaultTimeout <= 0 {
		cfg.DefaultTimeout = 10 * time.Second
	}
	if cfg.MaxTimeout <= 0 {
		cfg.MaxTimeout = time.Hour
	}
	if cfg.ReadHeaderTimeout <= 0 {
		cfg.ReadHeaderTimeout = 10 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = time.Minute
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 256
	}
	s := &Server{cfg: cfg, sessions: make(map[*session]struct{}), mux: http.NewServeMux(),
		refusals: ratelog.New(cfg.Logger, RefusalLogRate, 256)}
	sub, _ := fs.Sub(static, "static")
	s.mux.Handle("GET /", http.FileServerFS(sub))
	s.mux.HandleFunc("GET /ws", s.serveWS)
	s.mux.HandleFunc("GET /api/hello", s.serveHello)
	// Go's profiles of this process, behind the token (docs/console.md,
	// "Profiles").
	s.mux.Handle("GET /debug/pprof/", s.tokenOnly(http.HandlerFunc(pprof.Index)))
	s.mux.Handle("GET /debug/pprof/cmdline", s.tokenOnly(http.HandlerFunc(pprof.Cmdline)))
	s.mux.Handle("GET /debug/pprof/profile", s.tokenOnly(http.HandlerFunc(pprof.Profile)))
	s.mux.Handle("GET /debug/pprof/symbol", s.tokenOnly(http.HandlerFunc(pprof.Symbol)))
	s.mux.Handle("GET /debug/pprof/trace", s.tokenOnly(http.HandlerFunc(pprof.Trace)))
	s.mux.Handle("GET /metrics", s.tokenOnly(metricsHandler(cfg.Gateway)))
	s.mux.Handle("GET /debug/lua-profile", s.tokenOnly(http.HandlerFunc(s.serveLuaProfile)))
	s.mux.Handle("GET /debug/pprof/node/{node}/{profile}", s.tokenOnly(http.HandlerFunc(s.serveNodeProfile)))
	return s, nil
}

// tokenOnly serves h to requests with the token (header, ?token= or the
// cookie), and 401 to the others, counted like the console's refusals.
func (s *Server) tokenOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			s.refusals.Warn("console request refused: missing or wrong token", "remote", r.RemoteAddr, "path", r.URL.Path)
			http.Error(w, "missing or wrong token", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// HTTPServer returns an http.Server for the console: s is its handler,
// with the config's ReadHeaderTimeout and IdleTimeout, and its errors go
// to the logger as warnings. Serve it on Listener(ln).
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           s,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn),
	}
}

// Listener limits ln to the config's MaxConns connections at once: Accept
// waits while that many are open (a WebSocket counts until it ends).
func (s *Server) Listener(ln net.Listener) net.Listener {
	return netutil.LimitListener(ln, s.cfg.MaxConns)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	s.mux.ServeHTTP(w, r)
}

// requestToken finds the token in ?token=, the Authorization bearer header,
// X-Peacepie-Token or the cookie.
func requestToken(r *http.Request) string {
	if t := r.URL.Query().Get("token"); t != "" {
		return t
	}
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return t
	}
	if t := r.Header.Get("X-Peacepie-Token"); t != "" {
		return t
	}
	if c, err := r.Cookie(TokenCookie); err == nil {
		return c.Value
	}
	return ""
}

func (s *Server) authorized(r *http.Request) bool {
	t := requestToken(r)
	return t != "" && subtle.ConstantTimeCompare([]byte(t), []byte(s.cfg.Token)) == 1
}

// serveHello answers {"node": head admin} with the token, 401 without: the
// page checks its token with it before opening the WebSocket. With
// ?nonce= it answers the console's proof instead (hello.go).
func (s *Server) serveHello(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if nonce := r.URL.Query().Get("nonce"); nonce != "" {
		s.serveProof(w, nonce)
		return
	}
	if !s.authorized(r) {
		http.Error(w, "missing or wrong token", http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	data, _ := host.MarshalValue(host.Object{{Key: "node", Value: s.cfg.Gateway.HeadAdmin()}, {Key: "self", Value: s.cfg.Gateway.AdminName()}})
	w.Write(data)
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		s.refusals.Warn("console request refused: missing or wrong token", "remote", r.RemoteAddr)
		http.Error(w, "missing or wrong token: open the URL printed by peacepie run, or pass ?token=", http.StatusUnauthorized)
		return
	}
	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	ss := &session{srv: s, conn: conn, slots: make(chan struct{}, s.cfg.MaxInFlight)}
	if !s.track(ss) {
		conn.Close()
		return
	}
	defer s.untrack(ss)
	ss.run()
}

func (s *Server) track(ss *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.sessions[ss] = struct{}{}
	return true
}

func (s *Server) untrack(ss *session) {
	s.mu.Lock()
	delete(s.sessions, ss)
	s.mu.Unlock()
	ss.conn.Close()
}

// Close closes every WebSocket connection, telling clients the system is
// going away, and refuses new ones. Answers being written (such as the
// reply to exit) go out first, for up to half a second.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	list := make([]*session, 0, len(s.sessions))
	for ss := range s.sessions {
		list = append(list, ss)
	}
	s.mu.Unlock()
	drained := make(chan struct{})
	go func() {
		for _, ss := range list {
			ss.inflight.Wait() // not the live views: they end with the connection
		}
		close(drained)
	}()
	select {
	case <-drained:
	case <-time.After(500 * time.Millisecond):
	}
	msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "the system is shutting down")
	for _, ss := range list {
		ss.wmu.Lock()
		_ = ss.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		ss.wmu.Unlock()
		ss.conn.Close()
	}
}

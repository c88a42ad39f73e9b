package luart

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
	luar "layeh.com/gopher-luar"

	"github.com/peacepie/peacepie/host"
)

// HTTP is the built-in service "http": outbound HTTP requests for the
// packages the repo list grants it (services = ["http"]) to the hosts it
// allows them (http_hosts). From Lua:
//
//	local http = require "http"
//	local r, err = http.get("https://api.example.org/v1/x", {timeout = 5, json = true})
//	local r, err = http.post(url, {a = 1})          -- a table goes as JSON
//	local r, err = http.request({method = "PUT", url = url, body = "text", headers = {...}})
//
// r is {status = 200, body = "...", headers = {["Content-Type"] = "..."}}
// and, with json = true, r.json: the body decoded. err is a string when
// the request could not be made or answered (a host not allowed, a
// timeout, a response over the size limit); an HTTP error status is a
// response, not an err.
type HTTP struct {
	// Hosts returns the hosts package pkg may reach: "api.example.org"
	// (any port), "127.0.0.1:8080" (that port), "*.example.org" (its
	// subdomains). None: no request is allowed.
	Hosts func(pkg string) []string
	// Client makes the requests; nil: a client of its own, whose
	// redirects are checked against the hosts too.
	Client *http.Client
	// Timeout is a request's default (10 s); a call may ask for less or
	// more, up to MaxTimeout (60 s).
	Timeout, MaxTimeout time.Duration
	// MaxResponse bounds a response's body (1 MiB); a call may ask for
	// more, up to host.MaxBodyBytes.
	MaxResponse int64
}

// ErrHostNotAllowed reports a request to a host the package may not reach.
var ErrHostNotAllowed = errors.New("host is not allowed")

// callerKey keys the calling actor's package in a service call's context.
type callerKey struct{}

// Caller is who calls a service: the actor's package and name.
type Caller struct {
	Package string
	Actor   string
}

// CallerOf returns who makes the service call ctx was given to.
func CallerOf(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

func (s *HTTP) defaults() (timeout, maxTimeout time.Duration, maxResponse int64) {
	timeout, maxTimeout, maxResponse = s.Timeout, s.MaxTimeout, s.MaxResponse
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	if maxTimeout <= 0 {
		maxTimeout = 60 * time.Second
	}
	if maxResponse <= 0 {
		maxResponse = 1 << 20
	}
	return
}

// Get is http.get(url, opts).
func (s *HTTP) Get(L *luar.LState) int {
	return s.call(L.LState, "GET", L.CheckString(1), lua.LNil, L.OptTable(2, nil))
}

// Post is http.post(url, body, opts).
func (s *HTTP) Post(L *luar.LState) int {
	return s.call(L.LState, "POST", L.CheckString(1), L.Get(2), L.OptTable(3, nil))
}

// Request is http.request({method, url, body, headers, timeout, json, max_bytes}).
func (s *HTTP) Request(L *luar.LState) int {
	t := L.CheckTable(1)
	method, _ := t.RawGetString("method").(lua.LString)
	u, ok := t.RawGetString("url").(lua.LString)
	if !ok {
		L.ArgError(1, "the request has no url")
	}
	if method == "" {
		method = "GET"
	}
	return s.call(L.LState, strings.ToUpper(string(method)), string(u), t.RawGetString("body"), t)
}

// call makes one request and pushes its response (or nil and an error).
func (s *HTTP) call(L *lua.LState, method, rawURL string, body lua.LValue, opts *lua.LTable) int {
	b := actorOf(L)
	r, err := s.do(b, method, rawURL, body, opts)
	if err != nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(err.Error()))
		return 2
	}
	L.Push(r)
	return 1
}

func (s *HTTP) do(b *actor, method, rawURL string, body lua.LValue, opts *lua.LTable) (lua.LValue, error) {
	timeout, maxTimeout, maxResponse := s.defaults()
	headers := http.Header{}
	wantJSON := false
	if opts != nil {
		if v, ok := opts.RawGetString("timeout").(lua.LNumber); ok && v > 0 {
			timeout = min(time.Duration(float64(v)*float64(time.Second)), maxTimeout)
		}
		if v, ok := opts.RawGetString("max_bytes").(lua.LNumber); ok && v > 0 {
			maxResponse = min(int64(v), host.MaxBodyBytes)
		}
		wantJSON = lua.LVAsBool(opts.RawGetString("json"))
		if h, ok := opts.RawGetString("headers").(*lua.LTable); ok {
			h.ForEach(func(k, v lua.LValue) {
				if ks, ok := k.(lua.LString); ok {
					headers.Set(string(ks), v.String())
				}
			})
		}
	}
	pkg := b.cls.pkg.pkg.Manifest.Name
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("http: %q is not an http or https URL", rawURL)
	}
	allowed := s.hosts(pkg)
	if !hostAllowed(u, allowed) {
		return nil, fmt.Errorf("http: %w: package %s may not reach %s (allow it in the repo list: http_hosts = [%q] in the entry of %s)",
			ErrHostNotAllowed, pkg, u.Host, u.Hostname(), pkg)
	}
	var reqBody io.Reader
	switch v := body.(type) {
	case *lua.LNilType:
	case lua.LString:
		reqBody = strings.NewReader(string(v))
	case *lua.LTable:
		val, err := b.fromLua(v, "body")
		if err != nil {
			return nil, fmt.Errorf("http: the request's body: %w", err)
		}
		data, err := host.MarshalValue(val)
		if err != nil {
			return nil, fmt.Errorf("http: the request's body: %w", err)
		}
		reqBody = bytes.NewReader(data)
		if headers.Get("Content-Type") == "" {
			headers.Set("Content-Type", "application/json")
		}
	default:
		return nil, fmt.Errorf("http: the request's body is a %s: give a string or a table (sent as JSON)", body.Type())
	}
	parent := b.host.BlockingContext()
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), reqBody)
	if err != nil {
		return nil, fmt.Errorf("http: %w", err)
	}
	req.Header = headers
	resp, err := s.client(allowed).Do(req)
	if err != nil {
		switch {
		case parent.Err() != nil:
			return nil, fmt.Errorf("http: %s %s: the actor is stopping or moving", method, u.Redacted())
		case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
			return nil, fmt.Errorf("http: %s %s: no answer within %s", method, u.Redacted(), timeout)
		}
		return nil, fmt.Errorf("http: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("http: %s %s: reading the response: %w", method, u.Redacted(), err)
	}
	if int64(len(data)) > maxResponse {
		return nil, fmt.Errorf("http: %s %s: the response is larger than %d bytes (max_bytes)", method, u.Redacted(), maxResponse)
	}
	L := b.L
	t := L.CreateTable(0, 4)
	t.RawSetString("status", lua.LNumber(resp.StatusCode))
	t.RawSetString("body", lua.LString(data))
	ht := L.CreateTable(0, len(resp.Header))
	for k := range resp.Header {
		ht.RawSetString(k, lua.LString(resp.Header.Get(k)))
	}
	t.RawSetString("headers", ht)
	if wantJSON {
		v, err := host.UnmarshalValue(data)
		if err != nil {
			return nil, fmt.Errorf("http: %s %s: the response is not JSON: %w", method, u.Redacted(), err)
		}
		t.RawSetString("json", b.toLua(v))
	}
	return t, nil
}

func (s *HTTP) hosts(pkg string) []string {
	if s.Hosts == nil {
		return nil
	}
	return s.Hosts(pkg)
}

// client returns the client for a request whose package may reach
// allowed: redirects are followed only to those hosts (10 at most).
func (s *HTTP) client(allowed []string) *http.Client {
	c := http.Client{Transport: http.DefaultTransport}
	if s.Client != nil {
		c = *s.Client
	}
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if !hostAllowed(req.URL, allowed) {
			return fmt.Errorf("%w: a redirect to %s", ErrHostNotAllowed, req.URL.Host)
		}
		return nil
	}
	return &c
}

// hostAllowed reports whether u's host is in allowed: a name (any port),
// a name:port, or *.domain (its subdomains).
func hostAllowed(u *url.URL, allowed []string) bool {
	name, port := strings.ToLower(u.Hostname()), u.Port()
	for _, a := range allowed {
		a = strings.ToLower(a)
		h, p, err := net.SplitHostPort(a)
		if err != nil {
			h, p = a, ""
		}
		h = strings.Trim(h, "[]")
		if p != "" && p != port {
			continue
		}
		if h == name || (strings.HasPrefix(h, "*.") && strings.HasSuffix(name, h[1:])) {
			return true
		}
	}
	return false
}

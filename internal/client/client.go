// Package client talks to a running peacepie over its console WebSocket, as
// `peacepie ask`, `peacepie send` and `peacepie attach` do.
package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/internal/proof"
)

// Conn is a connection to a console. Requests and watches may run
// concurrently.
type Conn struct {
	ws  *websocket.Conn
	wmu sync.Mutex // serialises writes

	mu      sync.Mutex // guards next, pending, watches, err
	next    int64
	pending map[int64]chan host.Message // answers awaited, by id
	watches map[int64]chan host.Message // running watches, by id
	err     error
	done    chan struct{} // closed when the connection ends
}

// WSURL turns what a user may type into the WebSocket URL and a token: the
// URL printed by `peacepie run` (http://…/?token=…), ws://host:port/ws or
// host:port.
func WSURL(raw string) (wsURL, token string, err error) {
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", "", fmt.Errorf("%q is not a console address such as http://127.0.0.1:9090", raw)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return "", "", fmt.Errorf("%q: unknown scheme %q", raw, u.Scheme)
	}
	token = u.Query().Get("token")
	u.RawQuery, u.Path = "", "/ws"
	return u.String(), token, nil
}

// ErrNoAnswer reports that no console answers at an address: nothing
// listens there, or something that does not speak HTTP.
var ErrNoAnswer = errors.New("no console answers there")

// ErrNotThisSystem reports that what answers at an address cannot prove it
// knows the token (Check): the token is wrong, or another program listens
// there. The token was not sent to it.
var ErrNotThisSystem = errors.New("the token is missing or wrong, or this is not the system's console: " +
	"it cannot prove it knows the token, so the token was not sent")

// Check makes sure that the console at wsURL knows token before anything
// sends it there: it asks GET /api/hello?nonce=N with a fresh random nonce
// and no token, and the answer must hold proof.Hello(token, N), which only
// a holder of the token can make. Redirects and proxies are not followed,
// as the WebSocket dial follows none. Errors wrap ErrNoAnswer or
// ErrNotThisSystem.
func Check(ctx context.Context, wsURL, token string) error {
	u, err := url.Parse(wsURL)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoAnswer, err)
	}
	hello := url.URL{Scheme: "http", Host: u.Host, Path: "/api/hello"}
	if u.Scheme == "wss" || u.Scheme == "https" {
		hello.Scheme = "https"
	}
	nonce := proof.NewNonce()
	hello.RawQuery = url.Values{proof.NonceParam: {nonce}}.Encode()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, hello.String(), nil)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoAnswer, err)
	}
	// No proxy, as the WebSocket dial has none: the hello must reach what
	// the token would.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	defer tr.CloseIdleConnections()
	hc := http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoAnswer, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w (it answered %s)", ErrNotThisSystem, resp.Status)
	}
	v, _ := host.UnmarshalValue(data)
	o, _ := v.(host.Object)
	if !proof.Check(token, nonce, o.String("proof")) {
		return ErrNotThisSystem
	}
	return nil
}

// Dial connects to the console at wsURL with token, once Check has made
// sure the console there knows the token: the token goes nowhere else.
func Dial(ctx context.Context, wsURL, token string) (*Conn, error) {
	if err := Check(ctx, wsURL, token); err != nil {
		return nil, fmt.Errorf("connect to %s: %w", wsURL, err)
	}
	hdr := http.Header{"Authorization": {"Bearer " + token}}
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	ws, resp, err := d.DialContext(ctx, wsURL, hdr)
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			return nil, fmt.Errorf("connect to %s: the token is missing or wrong", wsURL)
		}
		return nil, fmt.Errorf("connect to %s: %w", wsURL, err)
	}
	c := &Conn{ws: ws, pending: map[int64]chan host.Message{}, watches: map[int64]chan host.Message{}, done: make(chan struct{})}
	go c.readLoop()
	return c, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.ws.Close() }

// Done is closed when the connection has ended; Err says why.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *Conn) readLoop() {
	var err error
	for {
		var data []byte
		if _, data, err = c.ws.ReadMessage(); err != nil {
			break
		}
		var m host.Message
		if m.UnmarshalJSON(data) != nil {
			continue
		}
		id, ok := answerID(data)
		if !ok {
			continue
		}
		c.mu.Lock()
		if ch := c.pending[id]; ch != nil {
			delete(c.pending, id)
			ch <- m
		} else if ch := c.watches[id]; ch != nil {
			select {
			case ch <- m:
			default: // a reader that does not keep up loses events
			}
		}
		c.mu.Unlock()
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		err = fmt.Errorf("the system closed the connection: %s", ce.Text)
	} else {
		err = fmt.Errorf("the connection is lost: %w", err)
	}
	c.mu.Lock()
	c.err = err
	for id, ch := range c.watches {
		close(ch)
		delete(c.watches, id)
	}
	c.mu.Unlock()
	close(c.done)
}

func (c *Conn) write(v host.Object) error {
	data, err := host.MarshalValue(v)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := c.ws.WriteMessage(websocket.TextMessage, data); err != nil {
		return fmt.Errorf("send request: %w", err)
	}
	return nil
}

// Request sends one request and returns the answer, a message in the shape
// of docs/protocol.md. kind is "ask" or "send".
func (c *Conn) Request(ctx context.Context, kind string, recipient any, command string, body any, timeout time.Duration) (host.Message, error) {
	ch := make(chan host.Message, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return host.Message{}, err
	}
	c.next++
	id := c.next
	c.pending[id] = ch
	c.mu.Unlock()
	err := c.write(host.Object{
		{Key: "id", Value: id},
		{Key: "type", Value: kind},
		{Key: "recipient", Value: recipient},
		{Key: "command", Value: command},
		{Key: "body", Value: body},
		{Key: "timeout", Value: timeout.Seconds()},
	})
	if err == nil {
		select {
		case m := <-ch:
			return m, nil
		case <-c.done:
			select { // the answer may have come just before the close
			case m := <-ch:
				return m, nil
			default:
			}
			err = c.Err()
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
	return host.Message{}, err
}

// Hello returns the name of the head admin of the system.
func (c *Conn) Hello(ctx context.Context) (string, error) {
	ch := make(chan host.Message, 1)
	c.mu.Lock()
	c.next++
	id := c.next
	c.pending[id] = ch
	c.mu.Unlock()
	if err := c.write(host.Object{{Key: "id", Value: id}, {Key: "type", Value: "hello"}}); err != nil {
		return "", err
	}
	select {
	case m := <-ch:
		o, _ := m.Body.(host.Object)
		return o.String("node"), nil
	case <-c.done:
		return "", c.Err()
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Watch streams the system's events (all, or those of one actor or node)
// until ctx ends or the connection does; the channel is then closed.
func (c *Conn) Watch(ctx context.Context, filter string) (<-chan host.Message, error) {
	ch := make(chan host.Message, 256)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, err
	}
	c.next++
	id := c.next
	c.watches[id] = ch
	c.mu.Unlock()
	if err := c.write(host.Object{{Key: "id", Value: id}, {Key: "type", Value: "watch"}, {Key: "filter", Value: filter}}); err != nil {
		return nil, err
	}
	out := make(chan host.Message, 256)
	go func() {
		defer close(out)
		defer func() {
			c.mu.Lock()
			delete(c.watches, id)
			c.mu.Unlock()
			_ = c.write(host.Object{{Key: "id", Value: id}, {Key: "type", Value: "unwatch"}})
		}()
		for {
			select {
			case m, ok := <-ch:
				if !ok {
					return
				}
				if m.Command == "event" {
					out <- m
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

func answerID(data []byte) (int64, bool) {
	v, err := host.UnmarshalValue(data)
	if err != nil {
		return 0, false
	}
	o, _ := v.(host.Object)
	id, ok := o.Get("id")
	n, isInt := id.(int64)
	return n, ok && isInt
}

// IsFailure reports whether an answer's command means the request failed:
// error, timeout, any "…_not_…" reply (is_not_handled,
// actors_are_not_created, …), actor_is_absent and mailbox_is_full.
func IsFailure(command string) bool {
	return command == "error" || command == "timeout" || command == "actor_is_absent" || command == "mailbox_is_full" || strings.Contains(command, "_not_")
}

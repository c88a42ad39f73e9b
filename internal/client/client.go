// Package client talks to a running peacepie over its console WebSocket, as
// `peacepie ask` and `peacepie send` do.
package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/peacepie/peacepie/host"
)

// Conn is a connection to a console. It is not safe for concurrent use.
type Conn struct {
	ws   *websocket.Conn
	next int64
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

// Dial connects to the console at wsURL with token.
func Dial(ctx context.Context, wsURL, token string) (*Conn, error) {
	hdr := http.Header{"Authorization": {"Bearer " + token}}
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	ws, resp, err := d.DialContext(ctx, wsURL, hdr)
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			return nil, fmt.Errorf("connect to %s: the token is missing or wrong", wsURL)
		}
		return nil, fmt.Errorf("connect to %s: %w", wsURL, err)
	}
	return &Conn{ws: ws}, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.ws.Close() }

// Request sends one request and returns the answer, a message in the shape
// of docs/protocol.md. kind is "ask" or "send".
func (c *Conn) Request(ctx context.Context, kind string, recipient any, command string, body any, timeout time.Duration) (host.Message, error) {
	c.next++
	req := host.Object{
		{Key: "id", Value: c.next},
		{Key: "type", Value: kind},
		{Key: "recipient", Value: recipient},
		{Key: "command", Value: command},
		{Key: "body", Value: body},
		{Key: "timeout", Value: timeout.Seconds()},
	}
	data, err := host.MarshalValue(req)
	if err != nil {
		return host.Message{}, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.ws.SetReadDeadline(dl)
	}
	if err := c.ws.WriteMessage(websocket.TextMessage, data); err != nil {
		return host.Message{}, fmt.Errorf("send request: %w", err)
	}
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return host.Message{}, fmt.Errorf("the system closed the connection: %s", ce.Text)
			}
			return host.Message{}, fmt.Errorf("read answer: %w", err)
		}
		var m host.Message
		if err := m.UnmarshalJSON(data); err != nil {
			return host.Message{}, fmt.Errorf("bad answer: %w", err)
		}
		if id, ok := answerID(data); ok && id != c.next {
			continue // an answer to an earlier request
		}
		return m, nil
	}
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
// actors_are_not_created, …) and actor_is_absent.
func IsFailure(command string) bool {
	return command == "error" || command == "timeout" || command == "actor_is_absent" || strings.Contains(command, "_not_")
}

package link

import (
	"context"
	"net"
)

// Network is the transport links run on: where a Listener listens and
// where Dial connects. The handshake, the framing, the limits and the
// keep-alive are the same on every Network. Implementations are safe for
// concurrent use.
type Network interface {
	// Listen listens on addr; an address ending in ":0" picks a free one
	// (the listener's Addr says which).
	Listen(addr string) (net.Listener, error)
	// Dial connects to the listener at addr, or fails by ctx.
	Dial(ctx context.Context, addr string) (net.Conn, error)
}

// TCP is the Network of real links, and of a Config whose Network is nil.
var TCP Network = tcpNetwork{}

type tcpNetwork struct{}

func (tcpNetwork) Listen(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }

func (tcpNetwork) Dial(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

// network returns cfg's Network, TCP when it has none.
func (c *Config) network() Network {
	if c.Network == nil {
		return TCP
	}
	return c.Network
}

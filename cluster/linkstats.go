package cluster

import (
	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/net/link"
)

// What a process's links carried, for get_metrics (host/metrics.go):
// [{"peer", "frames_in", "frames_out", "bytes_in", "bytes_out"}], one per
// link, the counts since the link was made (a link made again starts from
// zero).

func linkValue(c *link.Conn) host.Object {
	s := c.Stats()
	return host.Object{{Key: "peer", Value: c.Peer()}, {Key: "frames_in", Value: int64(s.FramesIn)}, {Key: "frames_out", Value: int64(s.FramesOut)},
		{Key: "bytes_in", Value: int64(s.BytesIn)}, {Key: "bytes_out", Value: int64(s.BytesOut)}}
}

// MovesRun is how many moves this head has run as the system's root.
func (h *Head) MovesRun() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.moves
}

// ProcessRestarts implements what host's metrics ask of a head: how many
// of its child processes it restarted after they ended by themselves.
func (h *Head) ProcessRestarts() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.restarted
}

// LinkStats lists a head's links: to its children, to the other hosts
// (the root), to the root (another host).
func (h *Head) LinkStats() host.Array {
	h.mu.Lock()
	conns := make([]*link.Conn, 0, len(h.children)+len(h.members)+1)
	for _, ch := range h.children {
		conns = append(conns, ch.conn)
	}
	for _, mb := range h.members {
		conns = append(conns, mb.conn)
	}
	if h.up != nil {
		conns = append(conns, h.up)
	}
	h.mu.Unlock()
	out := make(host.Array, 0, len(conns))
	for _, c := range conns {
		out = append(out, linkValue(c))
	}
	return out
}

// LinkStats lists a child's links: to its head, and the direct links it
// dialed to other child processes.
func (c *Child) LinkStats() host.Array {
	out := host.Array{linkValue(c.conn)}
	if d := c.direct; d != nil {
		d.mu.Lock()
		peers := make([]*link.Conn, 0, len(d.peers))
		for _, p := range d.peers {
			peers = append(peers, p)
		}
		d.mu.Unlock()
		for _, p := range peers {
			out = append(out, linkValue(p))
		}
	}
	return out
}

package cluster

import (
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/hashicorp/memberlist"
)

// gossip is the membership of the hosts of a system: hashicorp/memberlist
// (SWIM: every host probes a few others each second and spreads what it
// learns), encrypted with a key derived from the system's secret, so a
// host without the secret is not heard. It only says who is up; messages
// go over the links.
type gossip struct {
	ml *memberlist.Memberlist
}

// gossipEvents receives the joins and failures memberlist learns of.
// Each gets the host's name and gossip address: a host that restarted has
// the same name at another address.
type gossipEvents struct {
	up   func(host, addr string)
	down func(host, addr string)
}

func (e gossipEvents) NotifyJoin(n *memberlist.Node)   { e.up(n.Name, n.Address()) }
func (e gossipEvents) NotifyLeave(n *memberlist.Node)  { e.down(n.Name, n.Address()) }
func (e gossipEvents) NotifyUpdate(n *memberlist.Node) {}

// startGossip starts the membership of host on addr ("127.0.0.1:0" picks a
// free port).
func startGossip(host, addr string, secret []byte, log *slog.Logger, ev gossipEvents) (*gossip, error) {
	ip, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("gossip address %q: %w", addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, fmt.Errorf("gossip address %q: bad port", addr)
	}
	c := memberlist.DefaultLANConfig()
	c.Name = host
	c.BindAddr, c.BindPort = ip, p
	c.AdvertiseAddr, c.AdvertisePort = ip, p
	// Failures are found within a few seconds on a LAN or loopback.
	c.ProbeInterval = c.ProbeInterval / 2
	c.SuspicionMult = 3
	// A host that comes back after a crash has its name at a new port.
	c.DeadNodeReclaimTime = time.Millisecond
	key := sha256.Sum256(append([]byte("peacepie gossip\x00"), secret...))
	c.SecretKey = key[:]
	c.Events = ev
	c.Logger = slog.NewLogLogger(log.With("component", "memberlist").Handler(), slog.LevelDebug)
	ml, err := memberlist.Create(c)
	if err != nil {
		return nil, fmt.Errorf("gossip on %s: %w", addr, err)
	}
	return &gossip{ml: ml}, nil
}

// Addr returns the address other hosts join the gossip at.
func (g *gossip) Addr() string {
	n := g.ml.LocalNode()
	return net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))
}

// Join contacts the gossip of a host that is a member already.
func (g *gossip) Join(addr string) error {
	if _, err := g.ml.Join([]string{addr}); err != nil {
		return fmt.Errorf("gossip: join %s: %w", addr, err)
	}
	return nil
}

// Leave tells the others this host is going, then stops.
func (g *gossip) Leave() {
	_ = g.ml.Leave(timeoutLeave)
	_ = g.ml.Shutdown()
}

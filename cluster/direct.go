package cluster

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/net/link"
)

// Direct links between the child processes of a host.
//
// A child with direct links enabled (Child.EnableDirect) listens for its
// siblings and tells the head its address (direct_addr). When the head
// routes a child P's message to an actor X that lives in a sibling N, it
// offers P a direct route (route_hint). The head is the root, which
// routes every name, or the head of another host, which routes the names
// of its own children that the root gave it (hostDir, names.go); "the
// root" below is that head. P dials N (once per sibling; P
// sends to N only on the link it dialed) and switches in two steps, so
// that no message of P overtakes an earlier one that went round by the
// root:
//
//  1. Under its routing lock P records the route as switching and sends
//     route_switch up to the root behind every message it sent there
//     before; what P sends to X meanwhile waits in the route's queue.
//  2. The root checks that X still lives in N and is not moving, records
//     P as a holder of a route to X, and sends route_switch on to N behind
//     everything it routed there before (P's earlier messages among them).
//     N answers route_switched through the root; P sends the queue, then
//     everything else for X, on its link to N. If X moved or moves, the
//     root answers route_refused instead, and the queue goes round by the
//     root.
//
// Before the root moves X it takes the routes back (Head.unroute; on
// another host, its head does it when the root takes the name back,
// name_gone, and answers once the markers are in): it
// tells every holder route_end; a holder drops the route (what waited in
// a switch goes to the root, which holds it for the move) and sends the
// marker route_end on its link to N, behind its direct messages; N tells
// the root route_ended when the marker arrives. Once every holder's marker
// (or its death) is in, every direct message to X is in X's mailbox, and
// the move takes it out with the queue as always. A route also ends when
// X's name is released, and when the link to N ends (N died: what was on
// the way is lost with it).

// maxDirectRoutes bounds the direct routes a child keeps; past it, new
// actors are reached through the head.
const maxDirectRoutes = 4096

// direct is a child's side of direct links.
type direct struct {
	child *Child
	cfg   link.Config // to dial siblings (Node: this process's admin)
	ln    *link.Listener

	// mu guards the fields below. It is taken under Process.roundMu (a
	// message's way is chosen in Child.Route) and before link.Conn.mu
	// (the message's place on its link is taken under it).
	mu     sync.Mutex
	peers  map[string]*link.Conn // sibling node → the link this process dialed to it
	routes map[string]*route     // actor name → its direct route
	epoch  uint64                // numbers the switches
	closed bool
}

// route is a direct route to an actor in another child process.
type route struct {
	node      string
	via       string // the head that gave it (the root, or this host's head): switches and markers are its
	conn      *link.Conn
	epoch     uint64
	switching bool           // route_switch sent, not answered yet
	queue     []host.Message // what waits for the answer, in order
}

// EnableDirect lets this child link directly to the other child processes
// of the system: it listens on listen (the interface of its head's links,
// with port 0: loopback unless the host's links listen further) with cfg
// (the system's secret, and TLS if the system's links use it) and tells
// the head. Call it before Run.
func (c *Child) EnableDirect(listen string, cfg link.Config) error {
	cfg.Node = c.proc.AdminName()
	if cfg.Logger == nil {
		cfg.Logger = c.log
	}
	ln, err := link.Listen(listen, cfg)
	if err != nil {
		return fmt.Errorf("direct links: %w", err)
	}
	c.direct = &direct{child: c, cfg: cfg, ln: ln, peers: map[string]*link.Conn{}, routes: map[string]*route{}}
	go ln.Serve(c.direct.accepted)
	m := host.Message{System: true, ID: c.proc.NewMID(), Command: "direct_addr", Recipient: host.Address{Node: c.head},
		Body: host.Object{{Key: "addr", Value: ln.Addr()}}}
	return sendOn(c.conn, m)
}

// close ends the direct links (the process shuts down).
func (d *direct) close() {
	d.mu.Lock()
	d.closed = true
	peers := make([]*link.Conn, 0, len(d.peers))
	for _, c := range d.peers {
		peers = append(peers, c)
	}
	d.mu.Unlock()
	d.ln.Close()
	for _, c := range peers {
		c.Close("exit")
	}
}

// accepted reads what another child process (of this host or another)
// sends on the link it dialed: messages for actors of this process, and
// route_end markers. Nothing else is taken from it (admin requests and
// the system's verbs come from the head).
func (d *direct) accepted(c *link.Conn) {
	peer, self := c.Peer(), d.child.proc.AdminName()
	if isMainNode(peer) || peer == self {
		d.child.log.Warn("a direct link from a process that is not another child process: closed", "from", peer)
		c.Close("not a child process")
		return
	}
	dec := newLinkDecoder()
	err := c.Run(func(p []byte, control bool) {
		m, err := dec.decode(p, control)
		if err != nil {
			d.child.log.Warn("bad message from a sibling", "sibling", peer, "error", err.Error())
			return
		}
		if m.System {
			o, _ := m.Body.(host.Object)
			if m.Command == "route_end" && o.String("node") == peer {
				// Every direct message of peer to that actor is here now:
				// the head that ended the route counts it.
				r := host.Message{System: true, ID: d.child.proc.NewMID(), Command: "route_ended", Recipient: host.Address{Node: d.child.viaOr(o.String("via"))},
					Body: host.Object{{Key: "entity", Value: o.String("entity")}, {Key: "node", Value: peer}, {Key: "wait", Value: mustGet(o, "wait")}}}
				sendOn(d.child.conn, r)
				return
			}
			d.child.log.Warn("a sibling sent a system message: dropped", "sibling", peer, "command", m.Command)
			return
		}
		if m.Recipient.Entity == "" || m.Recipient.Reply != 0 {
			d.child.log.Warn("a sibling sent a message that is not for an actor: dropped", "sibling", peer, "command", m.Command)
			return
		}
		d.child.proc.DeliverFromLink(m)
	})
	d.child.log.Debug("a sibling's link ended", "sibling", peer, "reason", fmt.Sprint(err))
}

// reserve takes the place of m, a message for an actor that is not in this
// process, on its way (under Process.roundMu): its direct route if it has
// one, or the route's queue while it switches (ok false), else the link to
// the head.
func (d *direct) reserve(m host.Message) (place *link.Slot, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.routes[m.Recipient.Entity]
	switch {
	case r == nil:
		return d.child.conn.Reserve(), true
	case r.switching:
		r.queue = append(r.queue, m)
		return nil, false
	}
	return r.conn.Reserve(), true
}

// hinted starts a switch to a direct route to name in node (route_hint
// from via: this host's head, or the root through it).
func (d *direct) hinted(name, node, addr, via string) {
	conn, err := d.peer(node, addr)
	if err != nil {
		d.child.log.Warn("no direct link to a process: messages go through the head", "to", node, "error", err.Error())
		return
	}
	d.mu.Lock()
	if d.closed || d.routes[name] != nil || d.peers[node] != conn || len(d.routes) >= maxDirectRoutes {
		d.mu.Unlock()
		return
	}
	d.epoch++
	d.routes[name] = &route{node: node, via: via, conn: conn, epoch: d.epoch, switching: true}
	m := host.Message{System: true, ID: d.child.proc.NewMID(), Command: "route_switch", Recipient: host.Address{Node: via},
		Body: host.Object{{Key: "entity", Value: name}, {Key: "node", Value: node}, {Key: "epoch", Value: int64(d.epoch)},
			{Key: "from", Value: d.child.proc.AdminName()}}}
	s := d.child.conn.Reserve() // behind every message for name sent up before (they all go by via)
	d.mu.Unlock()
	fill(d.child, s, m)
}

// peer returns the link this process dialed to node, dialing addr if
// there is none yet.
func (d *direct) peer(node, addr string) (*link.Conn, error) {
	d.mu.Lock()
	c := d.peers[node]
	d.mu.Unlock()
	if c != nil {
		return c, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := link.Dial(ctx, addr, d.cfg)
	if err != nil {
		return nil, err
	}
	if c.Peer() != node {
		c.Close("wrong process")
		return nil, fmt.Errorf("%s answered as %s", addr, c.Peer())
	}
	d.mu.Lock()
	if old := d.peers[node]; old != nil || d.closed {
		d.mu.Unlock()
		c.Close("a link is there already")
		if old == nil {
			return nil, fmt.Errorf("the process is shutting down")
		}
		return old, nil
	}
	d.peers[node] = c
	d.mu.Unlock()
	d.child.log.Info("a direct link to a process is open", "to", node)
	go func() {
		err := c.Run(func([]byte, bool) {}) // the other end sends nothing on it
		d.peerGone(node, c, err)
	}()
	return c, nil
}

// peerGone drops the routes over a link that ended: what waited in a
// switch goes to the head; what was on the way is lost with the sibling.
func (d *direct) peerGone(node string, c *link.Conn, err error) {
	d.mu.Lock()
	if d.peers[node] == c {
		delete(d.peers, node)
	}
	var out []pending
	for name, r := range d.routes {
		if r.conn == c {
			delete(d.routes, name)
			out = d.toHeadLocked(out, r)
		}
	}
	d.mu.Unlock()
	d.child.log.Debug("a direct link ended", "sibling", node, "reason", fmt.Sprint(err))
	send(d.child, out)
}

// switched ends a switch (route_switched through the head): the queue,
// then every later message, goes on the direct link.
func (d *direct) switched(name string, epoch uint64) {
	d.mu.Lock()
	r := d.routes[name]
	if r == nil || !r.switching || r.epoch != epoch {
		d.mu.Unlock()
		return // it ended meanwhile
	}
	out := make([]pending, 0, len(r.queue))
	for _, m := range r.queue {
		out = append(out, pending{r.conn.Reserve(), m})
	}
	r.queue, r.switching = nil, false
	d.mu.Unlock()
	send(d.child, out)
}

// refused ends a switch that the root refused: the queue goes to the head.
func (d *direct) refused(name string, epoch uint64) {
	d.mu.Lock()
	r := d.routes[name]
	if r == nil || !r.switching || r.epoch != epoch {
		d.mu.Unlock()
		return
	}
	delete(d.routes, name)
	out := d.toHeadLocked(nil, r)
	d.mu.Unlock()
	send(d.child, out)
}

// ended drops the route to name (route_end from via, the head that gave
// it, before a move or after the name was released): what waited in a
// switch goes to the head, and the marker goes behind the direct
// messages, on the link to the actor's process, which tells via. Without
// a route via hears at once.
func (d *direct) ended(name string, wait any, via string) {
	self := d.child.proc.AdminName()
	via = d.child.viaOr(via)
	d.mu.Lock()
	r := d.routes[name]
	delete(d.routes, name)
	out := d.toHeadLocked(nil, r)
	marker := host.Message{System: true, ID: d.child.proc.NewMID(), Command: "route_end",
		Body: host.Object{{Key: "entity", Value: name}, {Key: "node", Value: self}, {Key: "wait", Value: wait}, {Key: "via", Value: via}}}
	if r != nil && d.peers[r.node] == r.conn {
		marker.Recipient = host.Address{Node: r.node}
		out = append(out, pending{r.conn.Reserve(), marker})
	} else {
		marker.Command = "route_ended"
		marker.Recipient = host.Address{Node: via}
		out = append(out, pending{d.child.conn.Reserve(), marker})
	}
	d.mu.Unlock()
	// Their places are taken: filled on a goroutine of their own, so that
	// a sibling that reads slowly does not stop the head's link reader.
	go send(d.child, out)
}

// rootLost ends the switches that a lost root was to answer (head_lost):
// what waited in them goes to the head. Routes that are set stay: the
// links to the actors' processes do not need the root.
func (d *direct) rootLost() {
	d.mu.Lock()
	var out []pending
	for name, r := range d.routes {
		if r.switching && r.via != d.child.head {
			delete(d.routes, name)
			out = d.toHeadLocked(out, r)
		}
	}
	d.mu.Unlock()
	send(d.child, out)
}

// rootChanged hands the routes a lost root gave to root, the system's
// new one (root_changed): it hears of them (route_held), so that it ends
// them before it moves their actors, and it is their via from now on.
// A switch still waiting for the lost root ends as in rootLost.
func (d *direct) rootChanged(root string) {
	d.mu.Lock()
	var out []pending
	held := host.Array{}
	for name, r := range d.routes {
		switch {
		case r.via == d.child.head || r.via == root:
		case r.switching:
			delete(d.routes, name)
			out = d.toHeadLocked(out, r)
		default:
			r.via = root
			held = append(held, host.Object{{Key: "entity", Value: name}, {Key: "node", Value: r.node}})
		}
	}
	var s *link.Slot
	if len(held) > 0 {
		s = d.child.conn.Reserve()
	}
	d.mu.Unlock()
	send(d.child, out)
	if s != nil {
		fill(d.child, s, host.Message{System: true, ID: d.child.proc.NewMID(), Command: "route_held", Recipient: host.Address{Node: root},
			Body: host.Object{{Key: "from", Value: d.child.proc.AdminName()}, {Key: "routes", Value: held}}})
	}
}

// toHeadLocked takes places on the link to the head for what waited in
// r's switch (d.mu held).
func (d *direct) toHeadLocked(out []pending, r *route) []pending {
	if r == nil {
		return out
	}
	for _, m := range r.queue {
		out = append(out, pending{d.child.conn.Reserve(), m})
	}
	r.queue = nil
	return out
}

// gone drops the routes to a process that died (process_gone) at once,
// before anything the head sends after the notice (a route to the process
// that takes its place under the same name) finds the old link.
func (d *direct) gone(node string) {
	d.mu.Lock()
	c := d.peers[node]
	if c == nil {
		d.mu.Unlock()
		return
	}
	delete(d.peers, node)
	var out []pending
	for name, r := range d.routes {
		if r.conn == c {
			delete(d.routes, name)
			out = d.toHeadLocked(out, r)
		}
	}
	d.mu.Unlock()
	send(d.child, out)
	c.Close("the process is gone")
}

// viaOr is via, or this child's head when a notice does not say (a head
// of an earlier version).
func (c *Child) viaOr(via string) string {
	if via == "" {
		return c.head
	}
	return via
}

// pending is a message whose place on a link is taken.
type pending struct {
	slot *link.Slot
	m    host.Message
}

func send(c *Child, out []pending) {
	for _, p := range out {
		fill(c, p.slot, p.m)
	}
}

func fill(c *Child, s *link.Slot, m host.Message) {
	if err := fillSlot(s, m); err != nil {
		c.log.Warn("a message is not sent", "command", m.Command, "to", m.Recipient.String(), "error", err.Error())
	}
}

// A head's side of direct routes: between its own children; and, at the
// root, between any two child processes of the system.

// unrouteWait is a move's wait for the markers of the holders of direct
// routes to the moving actor (Head.unroute).
type unrouteWait struct {
	id   int64           // in route_end and its markers: a marker of an earlier end never counts here
	left map[string]bool // holders whose marker has not arrived
	done chan struct{}
}

// noteDirectAddr notes where the other processes dial a child (direct_addr;
// from this child's reader: childGone, after it, forgets it). A head that
// is not the root tells the root too (host_processes), which gives routes
// between the hosts' children.
func (h *Head) noteDirectAddr(from string, m *host.Message) {
	h.mu.Lock()
	h.directAddr[from] = bodyOf(m).String("addr")
	h.mu.Unlock()
	if !h.root.Load() {
		h.reportProcesses()
	}
}

// memberDirectAddrs notes where the other processes dial the children of
// the member's host (root; host_processes): each address as the others
// reach it (advertised: an address on every interface takes the host
// part the member's link came from).
func (h *Head) memberDirectAddrs(mb *member, list host.Array) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, v := range list {
		o, _ := v.(host.Object)
		node, addr := o.String("node"), o.String("addr")
		if hostOf(node) != mb.host || isMainNode(node) || addr == "" || len(h.directAddr) >= maxDirectAddrs {
			continue
		}
		h.directAddr[node] = advertised(addr, mb.conn.RemoteAddr())
	}
}

// maxDirectAddrs bounds the root's table of direct addresses (one per
// child process of the system).
const maxDirectAddrs = 1 << 16

// directAddrsLocked lists the direct addresses of this head's children,
// for the root (h.mu held).
func (h *Head) directAddrsLocked() host.Array {
	out := host.Array{}
	for node, addr := range h.directAddr {
		if h.children[node] != nil {
			out = append(out, host.Object{{Key: "node", Value: node}, {Key: "addr", Value: addr}})
		}
	}
	return out
}

// routeSwitched passes the answer of an actor's process to the asker of a
// switch (route_switched): a child of this head, or (root) a child of
// another host, through its head.
func (h *Head) routeSwitched(m *host.Message) {
	o := bodyOf(m)
	asker := o.String("node")
	h.mu.Lock()
	c, err := h.holderLinkLocked(asker)
	h.mu.Unlock()
	if err == nil {
		r := host.Message{System: true, ID: h.proc.NewMID(), Command: "route_switched", Recipient: host.Address{Node: asker},
			Body: host.Object{{Key: "entity", Value: o.String("entity")}, {Key: "epoch", Value: mustGet(o, "epoch")}}}
		sendOn(c, r)
	}
}

// holderLinkLocked returns the link to node, a child process that holds
// or asks for a direct route (h.mu held): its own link if it is a child of
// this head; at the root, the link to its host's head, which passes
// what is addressed to it on.
func (h *Head) holderLinkLocked(node string) (*link.Conn, error) {
	if isMainNode(node) || (!h.root.Load() && h.children[node] == nil) {
		return nil, fmt.Errorf("%w: %q", host.ErrNoProcess, node)
	}
	return h.linkLocked(node)
}

// routesHeld records the routes a child process holds from a lost root
// (route_held, after a failover): each still right (its actor lives in
// that process and is not moving) is this root's to end before a move;
// any other ends now.
func (h *Head) routesHeld(from string, list host.Array) {
	var out outbox
	h.mu.Lock()
	c, err := h.holderLinkLocked(from)
	if err != nil {
		h.mu.Unlock()
		return
	}
	for _, v := range list {
		o, _ := v.(host.Object)
		name, node := o.String("entity"), o.String("node")
		if name == "" {
			continue
		}
		if node != "" && h.routedHereLocked(name) == node {
			if h.routes[name] == nil {
				h.routes[name] = map[string]bool{}
			}
			h.routes[name][from] = true
			continue
		}
		out.add(c, host.Message{System: true, ID: h.proc.NewMID(), Command: "route_end", Recipient: host.Address{Node: from},
			Body: host.Object{{Key: "entity", Value: name}, {Key: "wait", Value: int64(0)}, {Key: "via", Value: h.proc.AdminName()}}})
	}
	h.mu.Unlock()
	out.send(h.log)
}

// tellRootChanged tells this head's children that root heads the system
// now (root_changed; direct.rootChanged).
func (h *Head) tellRootChanged(root string) {
	h.proc.RootChanged() // its flushes and moves out that the lost root ran end
	h.mu.Lock()
	to := make([]*link.Conn, 0, len(h.children))
	for _, ch := range h.children {
		to = append(to, ch.conn)
	}
	h.mu.Unlock()
	for _, c := range to {
		sendOn(c, host.Message{System: true, ID: h.proc.NewMID(), Command: "root_changed", Recipient: host.Address{Node: c.Peer()},
			Body: host.Object{{Key: "root", Value: root}}})
	}
}

// routeEnded counts a holder's marker (route_ended from the actor's
// process).
func (h *Head) routeEnded(m *host.Message) {
	o := bodyOf(m)
	wait, _ := mustGet(o, "wait").(int64)
	h.mu.Lock()
	h.routeEndedLocked(o.String("entity"), o.String("node"), wait)
	h.mu.Unlock()
}

// hint offers from, a child process that sent a message to name through
// this head, a direct route to name's process (route_hint), if both have
// direct links and this head may give it: a head routes its own
// children's names between its children; the root routes every name,
// and gives routes across hosts and to and from its own children (a
// route between two children of another host is that host's head's). A
// head that is not the root asks the root for a name it does not route
// (route_wanted).
func (h *Head) hint(from, name string) {
	var out outbox
	h.mu.Lock()
	node := h.routedHereLocked(name)
	if node == "" && !h.root.Load() && h.up != nil && h.children[from] != nil && h.directAddr[from] != "" {
		_, flushing := h.flushing[name]
		if !flushing {
			out.add(h.up, host.Message{System: true, ID: h.proc.NewMID(), Command: "route_wanted", Recipient: host.Address{Node: h.up.Peer()},
				Body: host.Object{{Key: "entity", Value: name}, {Key: "from", Value: from}}})
		}
		h.mu.Unlock()
		out.send(h.log)
		return
	}
	addr := h.directAddr[node]
	ok := node != "" && node != from && addr != "" && h.directAddr[from] != "" && !h.routes[name][from]
	if h.root.Load() {
		ok = ok && (hostOf(node) != hostOf(from) || hostOf(from) == h.cfg.Host)
	} else {
		ok = ok && h.children[node] != nil && h.children[from] != nil
	}
	var to *link.Conn
	if ok {
		var err error
		to, err = h.holderLinkLocked(from)
		ok = err == nil
	}
	if ok {
		if hostOf(node) == h.cfg.Host && hostOf(from) != h.cfg.Host {
			addr = advertised(addr, to.LocalAddr()) // the root's child, as from's host reaches this one
		}
		m := host.Message{System: true, ID: h.proc.NewMID(), Command: "route_hint", Recipient: host.Address{Node: from},
			Body: host.Object{{Key: "entity", Value: name}, {Key: "node", Value: node}, {Key: "addr", Value: addr},
				{Key: "via", Value: h.proc.AdminName()}}}
		out.add(to, m)
	}
	h.mu.Unlock()
	out.send(h.log)
}

// routedHereLocked returns the node where this head routes name itself,
// if it may give a direct route to it (h.mu held): the root, where the
// name is in its directory and not moving; another host's head, where
// the root gave it the name (hostDir: it takes it back before a move,
// name_gone). "" otherwise.
func (h *Head) routedHereLocked(name string) string {
	if h.root.Load() {
		if h.moving[name] != nil {
			return ""
		}
		return h.dir[name]
	}
	return h.hostDir[name]
}

// routeSwitch answers a child process's route_switch: if name still lives
// in node and is not moving, from holds a route to it and the switch goes
// on to node behind everything routed there before (from's earlier
// messages to name among them: they came the same way, on the same
// links); else route_refused.
func (h *Head) routeSwitch(from, name, node string, epoch any) {
	var out outbox
	h.mu.Lock()
	asker, err := h.holderLinkLocked(from)
	if err != nil {
		h.mu.Unlock()
		return
	}
	var to *link.Conn
	if h.routedHereLocked(name) == node && h.directAddr[node] != "" {
		to, _ = h.holderLinkLocked(node)
	}
	if to != nil {
		if h.routes[name] == nil {
			h.routes[name] = map[string]bool{}
		}
		h.routes[name][from] = true
		out.add(to, host.Message{System: true, ID: h.proc.NewMID(), Command: "route_switch", Recipient: host.Address{Node: node},
			Body: host.Object{{Key: "entity", Value: name}, {Key: "node", Value: from}, {Key: "epoch", Value: epoch},
				{Key: "via", Value: h.proc.AdminName()}}})
	} else {
		out.add(asker, host.Message{System: true, ID: h.proc.NewMID(), Command: "route_refused", Recipient: host.Address{Node: from},
			Body: host.Object{{Key: "entity", Value: name}, {Key: "epoch", Value: epoch}}})
	}
	h.mu.Unlock()
	out.send(h.log)
}

// unrouteTimeout bounds a move's wait for the markers of direct routes.
const unrouteTimeout = 10 * time.Second

// unroute takes back the direct routes to name before it moves (moving is
// set, so no new one is given): each holder drops its route and sends its
// marker behind its direct messages; unroute returns when every marker
// (or the holder's death) is in, so every direct message to name is in
// its mailbox.
func (h *Head) unroute(ctx context.Context, name string) {
	var out outbox
	h.mu.Lock()
	w := h.endRoutesLocked(&out, name, true)
	if w != nil {
		h.unrouting[name] = w
	}
	h.mu.Unlock()
	out.send(h.log)
	if w != nil {
		h.awaitUnroute(ctx, name, w)
	}
}

// awaitUnroute waits for the markers of w, the end of the direct routes
// to name (unrouteTimeout at most, then it logs and gives up).
func (h *Head) awaitUnroute(ctx context.Context, name string, w *unrouteWait) {
	t := time.NewTimer(unrouteTimeout)
	defer t.Stop()
	select {
	case <-w.done:
		return
	case <-ctx.Done():
	case <-t.C:
	}
	h.mu.Lock()
	if h.unrouting[name] == w {
		delete(h.unrouting, name)
	}
	h.mu.Unlock()
	h.log.Warn("direct routes to a moving actor did not end in time: the move goes on", "actor", name)
}

// endRoutesLocked tells every holder of a route to name that it ends
// (h.mu held) and, if wait, returns the wait for their markers (nil if
// there is none to wait for). Each wait has its own id, which the markers
// carry back: a late marker of an earlier end (a release, or a wait that
// timed out) is not counted for a later one.
func (h *Head) endRoutesLocked(out *outbox, name string, wait bool) *unrouteWait {
	holders := h.routes[name]
	delete(h.routes, name)
	if len(holders) == 0 {
		return nil
	}
	w := &unrouteWait{left: map[string]bool{}, done: make(chan struct{})}
	if wait {
		h.unrouteSeq++
		w.id = h.unrouteSeq
	}
	for node := range holders {
		c, err := h.holderLinkLocked(node)
		if err != nil {
			continue
		}
		w.left[node] = true
		out.add(c, host.Message{System: true, ID: h.proc.NewMID(), Command: "route_end", Recipient: host.Address{Node: node},
			Body: host.Object{{Key: "entity", Value: name}, {Key: "wait", Value: w.id}, {Key: "via", Value: h.proc.AdminName()}}})
	}
	if !wait || len(w.left) == 0 {
		return nil
	}
	return w
}

// routeEndedLocked counts holder's marker for name of the wait id (h.mu
// held).
func (h *Head) routeEndedLocked(name, holder string, id int64) {
	w := h.unrouting[name]
	if w == nil || w.id != id || !w.left[holder] {
		return
	}
	delete(w.left, holder)
	if len(w.left) == 0 {
		delete(h.unrouting, name)
		close(w.done)
	}
}

// directGoneLocked forgets a child process's direct routes and address
// when it is gone (h.mu held; the root also for other hosts' children):
// it holds no route any more, and no marker will come from it.
func (h *Head) directGoneLocked(node string) {
	delete(h.directAddr, node)
	for name, holders := range h.routes {
		delete(holders, node)
		if len(holders) == 0 {
			delete(h.routes, name)
		}
	}
	for name, w := range h.unrouting {
		h.routeEndedLocked(name, node, w.id)
	}
}

// hintGate lets a link's reader offer a direct route for a name at most
// once a second (only the reader uses it; the root's reader of a host's
// link keys it by sender and name).
type hintGate map[string]time.Time

func (g hintGate) allow(name string, now time.Time) bool {
	if t, ok := g[name]; ok && now.Sub(t) < time.Second {
		return false
	}
	if len(g) >= maxDirectRoutes {
		clear(g)
	}
	g[name] = now
	return true
}

// DirectRoutes lists the actors this child reaches on a direct link (the
// switch done), sorted; DirectAddr is where its siblings dial it ("" when
// direct links are off). For tests and diagnostics.
func (c *Child) DirectRoutes() []string {
	if c.direct == nil {
		return nil
	}
	c.direct.mu.Lock()
	defer c.direct.mu.Unlock()
	var names []string
	for name, r := range c.direct.routes {
		if !r.switching {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// DirectAddr: see DirectRoutes.
func (c *Child) DirectAddr() string {
	if c.direct == nil {
		return ""
	}
	return c.direct.ln.Addr()
}

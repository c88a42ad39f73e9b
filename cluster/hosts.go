package cluster

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/net/link"
	"github.com/peacepie/peacepie/net/wire"
)

// The hosts of a system form a star around the root: the main process of
// the first host (or of the survivor that took its role: failover.go),
// which holds the directory of names and runs every move.
// Another host's main process links to the root (the uplink) and is the
// head of its own child processes; a name that is not in a process goes
// to the root, which knows where it lives. hashicorp/memberlist tells the
// hosts who is up.

const timeoutLeave = time.Second

// member is another host of the system, as the root sees it.
type member struct {
	host   string
	node   string // "<host>.main.admin"
	conn   *link.Conn
	nodes  []string // its processes, main first
	gossip string   // its gossip address
	// down forwards the rest of the system's events and stats to the host
	// while its head is watched (watch_system; events.go). Set once.
	down *forwarder
}

// hostOf returns the host of a node name "<host>.<process>.admin".
func hostOf(node string) string {
	if i := strings.IndexByte(node, '.'); i >= 0 {
		return node[:i]
	}
	return node
}

// isMainNode reports whether node is the main admin of some host.
func isMainNode(node string) bool {
	return strings.HasSuffix(node, ".main.admin") && strings.Count(node, ".") == 2
}

// acceptMember serves the link of another host's main process (root only).
func (h *Head) acceptMember(c *link.Conn) {
	name := hostOf(c.Peer())
	if err := host.ValidateNodeName(name); err != nil { // its own process checked it too
		h.log.Warn("a host with a bad name tried to join", "host", name, "error", err.Error())
		c.Close(err.Error())
		c.Run(func([]byte, bool) {})
		return
	}
	h.mu.Lock()
	_, taken := h.members[name]
	taken = taken || name == h.cfg.Host
	var m *member
	if !taken {
		m = &member{host: name, node: c.Peer(), conn: c, nodes: []string{c.Peer()}, down: h.downForwarder(c)}
		h.members[name] = m
	}
	h.mu.Unlock()
	if taken {
		h.log.Warn("a host with a taken name tried to join", "host", name)
		c.Close(fmt.Sprintf("host name %q is taken by a running host of this system: start it with another --host", name))
		c.Run(func([]byte, bool) {})
		return
	}
	dec := newLinkDecoder()
	err := c.Run(func(p []byte, control bool) {
		msg, err := dec.decode(p, control)
		if err != nil {
			h.log.Warn("bad message from a host", "host", name, "error", err.Error())
			return
		}
		if msg.System && msg.Recipient.Node == h.proc.AdminName() { // a host's system code, not its actors
			if act := memberControl[msg.Command]; act != nil {
				act(h, m, &msg)
				return
			}
		}
		h.proc.DeliverFromLink(msg)
	})
	m.down.set(false)
	h.hostGone(m, err)
}

// ownNodes keeps the admins of the member's own host, its main first (a
// host speaks only for its own processes).
func (m *member) ownNodes(nodes []string) []string {
	out := []string{m.node}
	for _, n := range nodes {
		if n != m.node && hostOf(n) == m.host && host.IsAdminName(n) {
			out = append(out, n)
		}
	}
	return out
}

// memberJoined registers a host that linked: its processes, and the
// actors it still has (a host that comes back after a partition keeps its
// names unless they were taken meanwhile). It answers host_welcome.
func (h *Head) memberJoined(m *member, msg host.Message) {
	o, _ := msg.Body.(host.Object)
	h.mu.Lock()
	m.nodes = m.ownNodes(stringList(o, "nodes"))
	m.gossip = o.String("gossip")
	h.mu.Unlock()
	replicaRemoved := false
	if id, err := strconv.ParseUint(o.String("raft_id"), 16, 64); err == nil {
		if r := h.repl.Load(); r != nil && r.rep.Removed(id) {
			replicaRemoved = true // it starts another and says so (directory_replica)
		} else {
			h.addReplica(m.host, id, advertised(o.String("links"), m.conn.RemoteAddr()))
		}
	}
	actors, _ := mustGet(o, "actors").(host.Array)
	for _, v := range actors {
		a, _ := v.(host.Object)
		name, node := a.String("name"), a.String("node")
		if hostOf(node) != m.host {
			continue
		}
		if err := h.reserve(name, node, nil); err != nil {
			h.log.Warn("a rejoining host's actor lost its name meanwhile", "actor", name, "node", node, "error", err.Error())
			var out outbox
			h.mu.Lock()
			h.forgetNameLocked(&out, name, node)
			h.mu.Unlock()
			out.send(h.log)
		}
	}
	w := host.Message{System: true, ID: h.proc.NewMID(), Command: "host_welcome", Recipient: host.Address{Node: m.node},
		Body: host.Object{{Key: "head", Value: h.proc.AdminName()}, {Key: "gossip", Value: h.gossipAddr()}}}
	if replicaRemoved {
		w.Body = append(w.Body.(host.Object), host.Field{Key: "replica", Value: "removed"})
	}
	if h.cfg.Packages != nil { // the system's package set, before anything else reaches the host
		if set, err := h.cfg.Packages.SystemSetJSON(); err == nil {
			w.Body = append(w.Body.(host.Object), host.Field{Key: "packages", Value: set})
		} else {
			h.log.Error("the package set is not sent to a joining host", "host", m.host, "error", err.Error())
		}
	}
	sendOn(m.conn, w)
	h.proc.NotifyWatched() // it forwards its events if somebody watches
	h.log.Info("host joined", "host", m.host, "processes", len(m.nodes), "actors", len(actors))
	for _, n := range m.nodes {
		h.proc.ProcessCreated(n)
	}
}

// hostGone forgets a host whose link ended: its actors leave the
// directory, asks to them fail, everybody hears of it.
func (h *Head) hostGone(m *member, err error) {
	h.mu.Lock()
	if h.members[m.host] != m {
		h.mu.Unlock()
		return
	}
	delete(h.members, m.host)
	nodes := append([]string(nil), m.nodes...)
	for node := range h.directAddr {
		if hostOf(node) == m.host {
			h.directGoneLocked(node)
		}
	}
	reason := "host " + m.host + " is gone: " + fmt.Sprint(err)
	h.goneHosts[m.host] = reason
	h.mu.Unlock()
	h.log.Warn("host is gone", "host", m.host, "reason", fmt.Sprint(err))
	h.removeReplicas(m.host)
	lost := map[string]*record{}
	for _, n := range nodes {
		maps.Copy(lost, h.nodeGone(n, reason, false)) // a host that comes back is a new one
	}
	h.recreateElsewhere(m.host, lost)
}

// nodeGone is the root's part when a process of any host is gone: its
// names leave the directory (their records are kept if it will restart),
// and every process fails the asks waiting on it. It returns the records
// of its actors that had them.
func (h *Head) nodeGone(node, reason string, restart bool) map[string]*record {
	h.mu.Lock()
	var names []string
	for name, n := range h.dir {
		if n == node {
			names = append(names, name)
			delete(h.dir, name)
			h.dirChanged(name)
			delete(h.routes, name) // their holders' links to node end with it
		}
	}
	for name, r := range h.reserving {
		if r.node == node {
			r.gone = true // its reservation must not enter the map when it commits
			delete(h.reserving, name)
		}
	}
	if hostOf(node) != h.cfg.Host {
		h.directGoneLocked(node) // a child of its own is forgotten by childGone
	}
	lost := map[string]*record{}
	for _, name := range names {
		h.deadNames.note(name, "it was in "+node+", which is gone: "+reason)
		if r := h.records[name]; r != nil {
			lost[name] = r
		}
		delete(h.records, name)
	}
	if len(lost) > 0 && restart {
		h.lost[node] = lost
	}
	targets := h.neighbours("")
	h.mu.Unlock()
	sort.Strings(names)
	h.proc.ProcessGone(node, reason, names...)
	h.tellGone(targets, node, reason, names)
	return lost
}

// neighbours returns the links to every child and host (root) or every
// child (others), except the one to skip (under h.mu).
func (h *Head) neighbours(skip string) []*link.Conn {
	out := make([]*link.Conn, 0, len(h.children)+len(h.members))
	for n, c := range h.children {
		if n != skip {
			out = append(out, c.conn)
		}
	}
	for _, m := range h.members {
		if m.node != skip {
			out = append(out, m.conn)
		}
	}
	return out
}

func (h *Head) tellGone(to []*link.Conn, node, reason string, names []string) {
	arr := make(host.Array, len(names))
	for i, n := range names {
		arr[i] = n
	}
	for _, c := range to {
		m := host.Message{System: true, ID: h.proc.NewMID(), Command: "process_gone", Recipient: host.Address{Node: c.Peer()},
			Body: host.Object{{Key: "node", Value: node}, {Key: "reason", Value: reason}, {Key: "names", Value: arr}}}
		sendOn(c, m)
	}
}

// restore re-creates the actors a restarted process had (root only).
func (h *Head) restore(ctx context.Context, node string) {
	h.mu.Lock()
	hosted := h.lost[node]
	delete(h.lost, node)
	h.mu.Unlock()
	names := make([]string, 0, len(hosted))
	for n := range hosted {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		r := hosted[n]
		body := host.Object{{Key: "class_desc", Value: r.class.Value()}, {Key: "name", Value: n}, {Key: "params", Value: r.params}}
		reply, err := h.proc.Ask(ctx, host.Message{System: true, Command: "create_actor", Recipient: host.Address{Node: node}, Body: body}, 20*time.Second)
		if err != nil || reply.Command != "actor_is_created" {
			h.log.Error("an actor could not be re-created", "node", node, "actor", n, "reply", reply.Command, "error", fmt.Sprint(err))
		}
	}
	h.log.Info("process restored", "node", node, "actors", len(names))
}

// hosts lists the hosts of the system for get_hosts (root only).
func (h *Head) hosts() host.Array {
	own := h.Nodes()
	procs := make(host.Array, len(own))
	for i, n := range own {
		procs[i] = n.String("node")
	}
	roles := h.directoryRoles()
	self := host.Object{{Key: "name", Value: h.cfg.Host}, {Key: "head", Value: true}, {Key: "state", Value: "up"}, {Key: "processes", Value: procs}}
	if role := roles[h.cfg.Host]; role != "" {
		self = append(self, host.Field{Key: "directory", Value: role})
	}
	out := host.Array{self}
	h.mu.Lock()
	defer h.mu.Unlock()
	names := make([]string, 0, len(h.members)+len(h.goneHosts))
	for n := range h.members {
		names = append(names, n)
	}
	for n := range h.goneHosts {
		if h.members[n] == nil {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		if m := h.members[n]; m != nil {
			procs := make(host.Array, len(m.nodes))
			for i, node := range m.nodes {
				procs[i] = node
			}
			row := host.Object{{Key: "name", Value: n}, {Key: "head", Value: false}, {Key: "state", Value: "up"}, {Key: "processes", Value: procs}}
			if role := roles[n]; role != "" {
				row = append(row, host.Field{Key: "directory", Value: role})
			}
			out = append(out, row)
			continue
		}
		out = append(out, host.Object{{Key: "name", Value: n}, {Key: "head", Value: false}, {Key: "state", Value: "gone"},
			{Key: "reason", Value: h.goneHosts[n]}, {Key: "processes", Value: host.Array{}}})
	}
	return out
}

func stringList(o host.Object, key string) []string {
	arr, _ := mustGet(o, key).(host.Array)
	out := make([]string, 0, len(arr))
	for _, v := range arr {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// hostUp and hostDown hear from the gossip. A host the gossip declares
// failed has its link closed, which forgets it (root) or starts rejoining
// (a host that lost the root).
func (h *Head) hostUp(name, _ string) {
	if name != h.cfg.Host {
		h.log.Info("gossip: host is up", "host", name)
	}
}

func (h *Head) hostDown(name, addr string) {
	if name == h.cfg.Host {
		return
	}
	h.log.Warn("gossip: host failed or left", "host", name, "gossip", addr)
	h.mu.Lock()
	var c *link.Conn
	if m := h.members[name]; m != nil && m.gossip == addr {
		c = m.conn
	} else if !h.root.Load() && h.up != nil && hostOf(h.rootNode) == name && h.rootGossip == addr {
		c = h.up
	}
	h.mu.Unlock()
	if c != nil {
		c.Close("the gossip says the host failed")
	}
}

// Addr returns the link address children connect to.
func (h *Head) Addr() string { return h.ln.Addr() }

// ---- the other side: a host that joined ----

// ErrJoin: this host could not join the system.
var ErrJoin = errors.New("cannot join the system")

// join links this host to the system's root through the host at addr and
// registers it (its processes and actors). It returns when the root has
// welcomed it, or why not.
func (h *Head) join(ctx context.Context, addr string) error {
	if h.repl.Load() == nil { // kept across joins, unless the group removed it (host_welcome)
		if err := h.startReplication(); err != nil {
			return fmt.Errorf("%w: %w", ErrJoin, err)
		}
	}
	for range 3 { // a host that is not the root names it
		c, err := link.Dial(ctx, addr, link.Config{Node: h.proc.AdminName(), Secret: h.cfg.Secret, Logger: h.log, TLS: h.cfg.TLS, Network: h.cfg.Network})
		if err != nil {
			if errors.Is(err, wire.ErrAuth) {
				return fmt.Errorf("%w at %s: the secret differs from the system's (copy config/secret of the first host, or pass --secret-file): %w", ErrJoin, addr, err)
			}
			return fmt.Errorf("%w at %s: %w", ErrJoin, addr, err)
		}
		// Until the welcome, replies from here go up this link: the root
		// routes to this host as soon as it has its link, and the
		// welcome comes behind what it routed (route).
		h.mu.Lock()
		h.joining = c
		h.mu.Unlock()
		welcome := make(chan host.Message, 1)
		go func() {
			dec := newLinkDecoder()
			err := c.Run(func(p []byte, control bool) { h.fromRoot(c, dec, p, control, welcome) })
			h.fwd.set(false) // the root tells it again when it is back
			h.uplinkEnded(c, err)
		}()
		h.sendJoin(ctx, c)
		var w host.Message
		select {
		case w = <-welcome:
		case <-c.Done():
			select { // a redirect comes just before the link closes
			case w = <-welcome:
			default:
			}
		case <-ctx.Done():
		}
		switch {
		case w.Command != "":
			o, _ := w.Body.(host.Object)
			if redirect := o.String("root"); w.Command == "join_elsewhere" && redirect != "" {
				h.notJoining(c)
				c.Close("joining the root")
				addr = redirect
				continue
			}
			h.followPackages(o.String("packages"))
			h.mu.Lock()
			yielded := h.yieldRootLocked()
			changed := h.rootNode != o.String("head")
			h.up, h.rootNode, h.rootAddr, h.rootGossip = c, o.String("head"), addr, o.String("gossip")
			h.joining = nil
			h.mu.Unlock()
			if yielded != nil {
				yielded()
			}
			if o.String("replica") == "removed" { // after yielding: a new replica joins the group
				h.replaceReplica(c)
			}
			if changed { // consoles and REPLs of this host ask the new root from now on
				h.proc.Publish(host.Event{Kind: "head_changed", Node: o.String("head")})
				h.tellRootChanged(o.String("head")) // the direct routes the lost one gave are the new one's
			}
			h.proc.NotifyWatched() // watched: ask the root for the rest of the system (watch_system)
			select {
			case <-c.Done(): // it ended before it was h.up: see to it now
				go h.uplinkEnded(c, c.Err())
			default:
			}
			if h.gossip != nil {
				if err := h.gossip.Join(o.String("gossip")); err != nil {
					h.log.Warn("the gossip could not join; failures are noticed by the link alone", "error", err.Error())
				}
			}
			h.reportProcesses() // where its children are dialed, for direct routes
			h.log.Info("joined the system", "head", o.String("head"), "at", addr)
			return nil
		case ctx.Err() == nil:
			h.notJoining(c)
			return fmt.Errorf("%w at %s: %w", ErrJoin, addr, c.Err())
		default:
			h.notJoining(c)
			c.Close("no welcome")
			return fmt.Errorf("%w at %s: no welcome: %w", ErrJoin, addr, ctx.Err())
		}
	}
	return fmt.Errorf("%w at %s: redirected too often", ErrJoin, addr)
}

// notJoining forgets c as the link this host joins on.
func (h *Head) notJoining(c *link.Conn) {
	h.mu.Lock()
	if h.joining == c {
		h.joining = nil
	}
	h.mu.Unlock()
}

// sendJoin sends host_join with the processes and actors of this host.
func (h *Head) sendJoin(ctx context.Context, c *link.Conn) {
	nodes := host.Array{}
	for _, n := range h.Nodes() {
		nodes = append(nodes, n.String("node"))
	}
	actors := host.Array{}
	for name, node := range h.hostActors(ctx) {
		actors = append(actors, host.Object{{Key: "name", Value: name}, {Key: "node", Value: node}})
	}
	m := host.Message{System: true, ID: h.proc.NewMID(), Command: "host_join", Recipient: host.Address{Node: c.Peer()},
		Body: host.Object{{Key: "nodes", Value: nodes}, {Key: "actors", Value: actors}, {Key: "gossip", Value: h.gossipAddr()}}}
	if r := h.repl.Load(); r != nil { // the directory's replica here, for the root to add
		m.Body = append(m.Body.(host.Object), host.Field{Key: "raft_id", Value: strconv.FormatUint(r.rep.ID(), 16)},
			host.Field{Key: "links", Value: h.ln.Addr()})
	}
	sendOn(c, m)
}

// hostActors returns the actors of this host's processes: name → node. A
// child that does not answer within 2 s is left out.
func (h *Head) hostActors(ctx context.Context) map[string]string {
	out := map[string]string{}
	for _, a := range h.proc.Actors() {
		if !host.IsAdminName(a.Name) {
			out[a.Name] = h.proc.AdminName()
		}
	}
	for _, n := range h.Nodes()[1:] {
		node := n.String("node")
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		r, err := h.proc.Ask(actx, host.Message{System: true, Command: "get_actors", Recipient: host.Address{Node: node},
			Body: host.Object{{Key: "limit", Value: int64(0)}}}, 2*time.Second) // every name
		cancel()
		if err != nil {
			continue
		}
		o, _ := r.Body.(host.Object)
		list, _ := mustGet(o, "actors").(host.Array)
		for _, v := range list {
			a, _ := v.(host.Object)
			if name := a.String("name"); name != "" && !host.IsAdminName(name) {
				out[name] = node
			}
		}
	}
	return out
}

// fromRoot handles what comes down the uplink: messages for a child go on
// to it (the root has resolved the name: Recipient.Node says where),
// notices for this process are acted on in link order, the rest is
// delivered here.
func (h *Head) fromRoot(c *link.Conn, dec linkDecoder, p []byte, control bool, welcome chan<- host.Message) {
	m, err := dec.decode(p, control)
	if err != nil {
		h.log.Warn("bad message from the system's head", "error", err.Error())
		return
	}
	r := m.Recipient
	if r.Node != "" && r.Node != h.proc.AdminName() {
		h.mu.Lock()
		ch := h.children[r.Node]
		h.mu.Unlock()
		if ch != nil {
			sendOn(ch.conn, m)
			return
		}
	}
	if m.System && r.Node == h.proc.AdminName() { // the root's system code, not its actors
		if m.Command == "host_welcome" || m.Command == "join_elsewhere" {
			select { // to the join that waits for it
			case welcome <- m:
			default:
			}
			return
		}
		if m.Command == "replica_removed" { // (not in the table: it starts a replica, which joins)
			go h.replicaRemoved(&m)
			return
		}
		if act := uplinkControl[m.Command]; act != nil {
			act(h, &m)
			return
		}
	}
	h.proc.DeliverFromLink(m)
}

// uplinkEnded: the link to the root is gone. Asks waiting on other hosts
// fail; local traffic goes on; the host joins again when it can.
func (h *Head) uplinkEnded(c *link.Conn, err error) {
	h.mu.Lock()
	if h.up != c {
		h.mu.Unlock()
		return
	}
	h.up = nil
	stopping := h.stopping
	root, addr := h.rootNode, h.rootAddr
	to := h.neighbours("")
	h.mu.Unlock()
	if stopping {
		return
	}
	reason := fmt.Sprintf("the system's head %s is unreachable: %v", root, err)
	h.log.Warn("lost the system's head; local traffic goes on, joining again", "head", root, "error", fmt.Sprint(err))
	h.proc.HeadLost(reason, func(node string) bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.children[node] != nil
	})
	for _, c := range to {
		m := host.Message{System: true, ID: h.proc.NewMID(), Command: "head_lost", Recipient: host.Address{Node: c.Peer()},
			Body: host.Object{{Key: "reason", Value: reason}}}
		sendOn(c, m)
	}
	h.flushAll()
	go h.rejoin(addr, hostOf(root))
}

// rejoin tries to join again every second until it does or the host
// stops: the lost root of host oldHost at addr, or the host that takes
// its role, or it takes it itself (failover.go); every quarter of a second
// while a failover is under way.
func (h *Head) rejoin(addr, oldHost string) {
	for {
		h.sleepBeforeRejoin(oldHost)
		if h.isStopping() {
			return
		}
		target, takeOver := h.nextRoot(addr, oldHost)
		if takeOver {
			if h.takeOver(oldHost) {
				return
			}
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := h.join(ctx, target)
		cancel()
		if err == nil {
			h.log.Info("joined the system again", "at", target)
			h.reportProcesses()
			return
		}
		h.log.Debug("rejoin failed", "error", err.Error())
	}
}

// reportProcesses tells the root this host's processes (not root).
func (h *Head) reportProcesses() {
	h.reporting.Lock()
	defer h.reporting.Unlock()
	h.mu.Lock()
	up := h.up
	h.mu.Unlock()
	if up == nil {
		return
	}
	nodes := host.Array{}
	for _, n := range h.Nodes() {
		nodes = append(nodes, n.String("node"))
	}
	h.mu.Lock()
	direct := h.directAddrsLocked()
	h.mu.Unlock()
	m := host.Message{System: true, ID: h.proc.NewMID(), Command: "host_processes", Recipient: host.Address{Node: up.Peer()},
		Body: host.Object{{Key: "nodes", Value: nodes}, {Key: "direct", Value: direct}}}
	sendOn(up, m)
}

// redirect tells a host that tried to join here that the root is elsewhere.
func (h *Head) redirect(c *link.Conn) {
	h.mu.Lock()
	addr := h.rootAddr
	h.mu.Unlock()
	m := host.Message{System: true, ID: h.proc.NewMID(), Command: "join_elsewhere", Recipient: host.Address{Node: c.Peer()},
		Body: host.Object{{Key: "root", Value: addr}}}
	sendOn(c, m)
	c.Close("join the system's head")
	c.Run(func([]byte, bool) {})
}

func (h *Head) gossipAddr() string {
	if h.gossip == nil {
		return ""
	}
	return h.gossip.Addr()
}

// advertised is a host's links address as others dial it: addr, with the
// host part taken from remote (the address its link came from) when addr
// listens on every interface.
func advertised(addr, remote string) string {
	h, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(h); h != "" && (ip == nil || !ip.IsUnspecified()) {
		return addr
	}
	rh, _, err := net.SplitHostPort(remote)
	if err != nil {
		return addr
	}
	return net.JoinHostPort(rh, port)
}

// maxDeadNames bounds the names the root remembers as gone with their
// process (the oldest are forgotten first).
const maxDeadNames = 4096

// deadNames remembers why the names of processes that died lately are
// not found, so that a message to one is refused with the reason (the
// host or process it was in, and why that is gone), not as a name
// never heard of. Guarded by Head.mu.
type deadNames struct {
	reasons map[string]string
	order   []string // oldest first; may hold names forgotten since
}

func (d *deadNames) note(name, why string) {
	if d.reasons == nil {
		d.reasons = map[string]string{}
	}
	if _, ok := d.reasons[name]; !ok {
		d.order = append(d.order, name)
	}
	d.reasons[name] = why
	for len(d.reasons) > maxDeadNames {
		delete(d.reasons, d.order[0])
		d.order = d.order[1:]
	}
	if len(d.order) > 2*maxDeadNames { // forgotten names pile up: keep those remembered
		kept := make([]string, 0, len(d.reasons))
		seen := make(map[string]bool, len(d.reasons))
		for _, n := range d.order {
			if _, ok := d.reasons[n]; ok && !seen[n] {
				seen[n] = true
				kept = append(kept, n)
			}
		}
		d.order = kept
	}
}

// why returns why name was lost ("" when it was not, or is forgotten).
func (d *deadNames) why(name string) string { return d.reasons[name] }

// forget drops name (it was given again).
func (d *deadNames) forget(name string) { delete(d.reasons, name) }

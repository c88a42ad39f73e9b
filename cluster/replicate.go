package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/peacepie/peacepie/cluster/raftdir"
	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/net/link"
)

// The directory's replicas (cluster/raftdir) on the hosts' heads.
//
// Every host's head runs a replica of the directory under a raft ID of its
// own, new at each start (Raft never reuses an ID; a restarted host has
// lost its log). The root starts the group alone; a host that joins sends
// its ID and links address in host_join, and the root adds it. A host
// whose link ends is removed. A member's context in the group is "<host>
// <links address>", so every replica knows where to reach every other.
//
// Raft's messages travel on links of their own between heads: a head dials
// a peer's links listener as "<host>.raft.admin"; each side's first frame
// is a control frame with its raft ID, every later one a message frame
// with a raft message. A replica
// sends to a peer on a link it dialed, or on one the peer dialed (a host
// that has just joined knows nobody's address until it has caught up, but
// the leader has dialed it). Sends never block the replica: each peer has
// a bounded queue, dropped from when full (Raft resends).
//
// For now the replicas mirror the root's directory (Head.dir, which stays
// the authority): the root signals each change, and one goroutine
// proposes the differences between its map and the group's (mirror). So
// every host holds the directory, in the order the group committed it,
// and a root's death leaves it with the survivors (its failover is the
// next step: docs/architecture.md).

// raftProcess is the process part of the node name a head dials its raft
// peers with; no child process is named so ("process_N").
const raftProcess = "raft"

// raftQueue bounds the raft messages waiting for one peer's link.
const raftQueue = 256

// replication is a head's replica and its links to the other replicas.
type replication struct {
	h     *Head
	id    uint64           // rep's raft ID
	rep   *raftdir.Replica // set before ready is closed
	ready chan struct{}

	mu    sync.Mutex
	peers map[uint64]*raftPeer // by raft ID

	gone      map[uint64]bool // replicas of gone hosts, to remove when safe (under balancing)
	changed   chan struct{}   // kicks the mirror (root)
	dmu       sync.Mutex      // guards dirty and full (a leaf)
	dirty     map[string]bool
	full      bool
	balancing sync.Mutex // one membership change at a time (root)
	stop      chan struct{}
}

// raftPeer is another replica: what waits to be sent to it, and the links
// to it.
type raftPeer struct {
	queue    chan []byte
	dialed   *link.Conn // under replication.mu
	accepted *link.Conn // under replication.mu
}

// newRaftID returns a random raft ID (never 0).
func newRaftID() uint64 {
	var b [8]byte
	for {
		rand.Read(b[:])
		if id := binary.BigEndian.Uint64(b[:]); id != 0 {
			return id
		}
	}
}

// memberContext is a replica's context in the group.
func memberContext(hostName, addr string) string { return hostName + " " + addr }

// startReplication starts this head's replica: alone in a new group (the
// root), or waiting for the root to add it.
func (h *Head) startReplication() error {
	r := &replication{h: h, peers: map[uint64]*raftPeer{}, changed: make(chan struct{}, 1), stop: make(chan struct{}), ready: make(chan struct{}),
		dirty: map[string]bool{}, full: true, gone: map[uint64]bool{}}
	r.changed <- struct{}{} // the first mirror: whatever the directory holds already
	var peers map[uint64]string
	id := newRaftID()
	r.id = id
	if h.root.Load() {
		peers = map[uint64]string{id: memberContext(h.cfg.Host, h.ln.Addr())}
	}
	rep, err := raftdir.Start(raftdir.Config{ID: id, Host: h.cfg.Host, Peers: peers, Transport: r,
		Log: h.log.With("part", "directory"), OnLeader: r.leaderChanged})
	if err != nil {
		close(r.stop)
		return fmt.Errorf("start the directory's replica: %w", err)
	}
	r.rep = rep
	close(r.ready)
	h.log.Debug("the directory's replica starts", "raft_id", id, "root", h.root.Load())
	if old := h.repl.Swap(r); old != nil {
		old.close()
	}
	if h.root.Load() {
		go r.mirror()
		go h.seekRoot(r)
	}
	return nil
}

// directoryRoles returns each host's part in the directory's group, as
// this head's replica knows it: "leader", "voter", "joining" (a voter once
// the group leaves a joint configuration) or "learner" (a host without a
// replica in the group is missing).
func (h *Head) directoryRoles() map[string]string {
	r := h.repl.Load()
	if r == nil {
		return nil
	}
	leader, voters, joint := r.rep.Leader(), r.rep.Voters(), r.rep.Joint()
	out := map[string]string{}
	for id, ctx := range r.rep.Members() {
		name, _, _ := strings.Cut(ctx, " ")
		switch {
		case id == leader:
			out[name] = "leader"
		case slices.Contains(voters, id) && joint:
			out[name] = "joining" // a voter once the group leaves its joint configuration
		case slices.Contains(voters, id):
			out[name] = "voter"
		default:
			out[name] = "learner"
		}
	}
	return out
}

// DirectoryView is this host's replica of the directory as get_processes
// shows it (nil without one): the leader's host, this replica's part,
// the voters' hosts, whether the group is between two configurations,
// and how many names it holds.
func (h *Head) DirectoryView() host.Object {
	r := h.repl.Load()
	if r == nil {
		return nil
	}
	members, roles := r.rep.Members(), h.directoryRoles()
	leaderHost, _, _ := strings.Cut(members[r.rep.Leader()], " ")
	voters := host.Array{}
	for _, id := range r.rep.Voters() {
		name, _, _ := strings.Cut(members[id], " ")
		voters = append(voters, name)
	}
	role := roles[h.cfg.Host]
	if role == "" {
		role = "none"
	}
	return host.Object{{Key: "leader", Value: leaderHost}, {Key: "role", Value: role}, {Key: "voters", Value: voters},
		{Key: "joint", Value: r.rep.Joint()}, {Key: "names", Value: int64(len(r.rep.Names()))}}
}

// Replica returns this head's replica of the directory (nil before
// NewHead returned).
func (h *Head) Replica() *raftdir.Replica {
	if r := h.repl.Load(); r != nil {
		return r.rep
	}
	return nil
}

func (r *replication) close() {
	select {
	case <-r.stop:
		return
	default:
		close(r.stop)
	}
	r.rep.Stop()
}

func (r *replication) leaderChanged(leader uint64) {
	var members map[uint64]string
	select { // (Start may call this before it has returned the replica)
	case <-r.ready:
		members = r.rep.Members()
	default:
	}
	log := r.h.log.Info
	if len(members) <= 1 { // a system of one host: nothing to tell
		log = r.h.log.Debug
	}
	if leader == 0 {
		if len(members) > 1 {
			r.h.log.Warn("the directory has no leader: new names and moves wait for one")
		}
		return
	}
	leaderHost, _, _ := strings.Cut(members[leader], " ")
	log("the directory's leader", "host", leaderHost, "raft_id", leader, "here", leader == r.id)
}

// Send implements raftdir.Transport.
func (r *replication) Send(to uint64, data []byte) error {
	p := r.peer(to)
	select {
	case p.queue <- data:
	default: // full: dropped (Raft resends)
	}
	return nil
}

// peer returns the peer of raft ID id, starting its sender if it is new.
func (r *replication) peer(id uint64) *raftPeer {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.peers[id]
	if p == nil {
		p = &raftPeer{queue: make(chan []byte, raftQueue)}
		r.peers[id] = p
		go r.sendTo(id, p)
	}
	return p
}

// sendTo writes a peer's queue to a link to it until the replication
// stops or the peer leaves the group.
func (r *replication) sendTo(id uint64, p *raftPeer) {
	select { // Start may call Send before it has returned the replica
	case <-r.ready:
	case <-r.stop:
		return
	}
	for {
		c := r.linkTo(id, p)
		if c == nil {
			return
		}
		for c != nil {
			select {
			case data := <-p.queue:
				if c.Send(data) != nil {
					c = nil
				}
			case <-c.Done():
				c = nil
			case <-r.stop:
				return
			}
		}
	}
}

// linkTo returns a live link to the peer: the one this head dialed, the
// one it dialed here, or a new one to the address the group gives it. It
// returns nil when the replication stops, or when the peer has left the
// group and has no link here.
func (r *replication) linkTo(id uint64, p *raftPeer) *link.Conn {
	backoff := 50 * time.Millisecond
	for {
		r.mu.Lock()
		for _, c := range []*link.Conn{p.dialed, p.accepted} {
			if c != nil && c.Err() == nil {
				r.mu.Unlock()
				return c
			}
		}
		r.mu.Unlock()
		ctx, member := r.rep.Members()[id]
		if _, addr, ok := strings.Cut(ctx, " "); ok {
			if c := r.dial(id, addr); c != nil {
				r.mu.Lock()
				p.dialed = c
				r.mu.Unlock()
				return c
			}
		} else if !member && r.rep.Leader() != 0 {
			// Not (or no longer) in the group as this replica knows it,
			// and it has not linked here: forget it.
			r.mu.Lock()
			if r.peers[id] == p {
				delete(r.peers, id)
			}
			r.mu.Unlock()
			return nil
		}
		select {
		case <-r.stop:
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// dial links to the replica id at addr and serves what it sends back.
func (r *replication) dial(id uint64, addr string) *link.Conn {
	h := r.h
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := link.Dial(ctx, addr, link.Config{Node: h.cfg.Host + "." + raftProcess + ".admin", Secret: h.cfg.Secret,
		Logger: h.log, TLS: h.cfg.TLS, Network: h.cfg.Network})
	if err != nil {
		return nil
	}
	go r.serve(c, id)
	if r.hello(c) != nil {
		return nil
	}
	return c
}

// hello sends this replica's raft ID on c.
func (r *replication) hello(c *link.Conn) error {
	return c.SendControl(func(b []byte) ([]byte, error) { return binary.BigEndian.AppendUint64(b, r.rep.ID()), nil })
}

// serve delivers the raft messages that come on a link to this replica:
// from the peer id (a link this head dialed), or, id 0, from the peer that
// dialed it, whose hello says its ID (and is answered with this
// replica's). A message before the hello ends the link.
func (r *replication) serve(c *link.Conn, id uint64) {
	h := r.h
	accepted := id == 0
	c.Run(func(p []byte, control bool) {
		switch {
		case control && accepted && id == 0:
			if len(p) != 8 || binary.BigEndian.Uint64(p) == 0 {
				h.log.Warn("a directory link's hello is not a raft ID", "peer", c.Peer())
				c.Close("no raft ID")
				return
			}
			id = binary.BigEndian.Uint64(p)
			peer := r.peer(id)
			r.mu.Lock()
			peer.accepted = c
			r.mu.Unlock()
			r.hello(c)
		case control: // the dialed peer's hello: its ID is known
		case id == 0:
			h.log.Warn("a directory link sent a message before its raft ID", "peer", c.Peer())
			c.Close("no raft ID")
		default:
			if err := r.rep.Receive(id, p); err != nil && !errors.Is(err, raftdir.ErrStopped) {
				h.log.Warn("a directory message is refused", "peer", c.Peer(), "error", err.Error())
			}
		}
	})
}

// isRaftLink reports whether a link's peer is another host's replica.
func (h *Head) isRaftLink(peer string) bool {
	hostName, rest, _ := strings.Cut(peer, ".")
	return rest == raftProcess+".admin" && hostName != h.cfg.Host
}

// acceptRaftLink serves a link another replica dialed.
func (h *Head) acceptRaftLink(c *link.Conn) {
	r := h.repl.Load()
	if r == nil {
		c.Close("no directory replica here")
		c.Run(func([]byte, bool) {})
		return
	}
	r.serve(c, 0)
}

// targetVoters is how many replicas vote once the system has that many
// hosts; the others are learners. With fewer hosts, the root's alone
// votes: in a group of two voters one death leaves no majority.
const targetVoters = 3

// replaceReplica starts a replica under a new ID in place of one the
// group removed (the root said so in host_welcome: this host was declared
// gone meanwhile) and tells the root on c, the uplink, to add it.
func (h *Head) replaceReplica(c *link.Conn) {
	if err := h.startReplication(); err != nil {
		h.log.Error("the directory's replica does not start again", "error", err.Error())
		return
	}
	r := h.repl.Load()
	sendOn(c, host.Message{System: true, ID: h.proc.NewMID(), Command: "directory_replica", Recipient: host.Address{Node: c.Peer()},
		Body: host.Object{{Key: "raft_id", Value: strconv.FormatUint(r.rep.ID(), 16)}, {Key: "links", Value: h.ln.Addr()}}})
}

// replicaOffered adds the replica a host started in place of a removed
// one (directory_replica; root).
func (h *Head) replicaOffered(mb *member, m *host.Message) {
	o := bodyOf(m)
	if id, err := strconv.ParseUint(o.String("raft_id"), 16, 64); err == nil {
		h.addReplica(mb.host, id, advertised(o.String("links"), mb.conn.RemoteAddr()))
	}
}

// addReplica adds a joining host's replica to the group (root): as a
// learner, then the voters are set anew (balanceLocked).
func (h *Head) addReplica(hostName string, id uint64, addr string) {
	r := h.repl.Load()
	if r == nil || id == 0 || addr == "" {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		r.balancing.Lock() // one membership change at a time
		defer r.balancing.Unlock()
		delete(r.gone, id)                    // it is back
		if _, in := r.rep.Members()[id]; in { // it rejoined with the replica it had
			r.balanceLocked()
			return
		}
		for {
			err := r.rep.AddLearner(ctx, id, memberContext(hostName, addr))
			if err == nil {
				break
			}
			if ctx.Err() != nil || !(errors.Is(err, raftdir.ErrNoLeader) || errors.Is(err, raftdir.ErrNotCommitted)) {
				h.log.Warn("a host's directory replica is not added", "host", hostName, "error", err.Error())
				return
			}
			select { // an election under way: again
			case <-r.stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
		h.log.Debug("a host's directory replica is added", "host", hostName, "raft_id", id)
		h.dirChanged("") // the mirror has somebody to write to
		r.balanceLocked()
	}()
}

// removeReplicas marks the replicas of a host that is gone for removal
// from the group (root) and tries it at once; reconfigureLocked removes
// them when that is safe, and the root's loop tries again every second
// (seekRoot).
func (h *Head) removeReplicas(hostName string) {
	r := h.repl.Load()
	if r == nil {
		return
	}
	var ids []uint64 // now: a replica the host starts when it joins again is not gone
	for id, mctx := range r.rep.Members() {
		if name, _, _ := strings.Cut(mctx, " "); name == hostName && id != r.id {
			ids = append(ids, id)
		}
	}
	go func() {
		r.balancing.Lock() // not while another change is under way
		defer r.balancing.Unlock()
		for _, id := range ids {
			r.gone[id] = true
		}
		r.reconfigureLocked()
	}()
}

// balanceLocked sets the voters for the members the group has.
func (r *replication) balanceLocked() { r.reconfigureLocked() }

// reconfigureLocked brings the group towards its shape in one change
// (raftdir.Reconfigure: joint consensus when more than one voter changes,
// so no single death during it leaves the group without a majority):
//
//   - the replicas of gone hosts (r.gone) leave: a learner at once, a
//     voter only while most of the voters, and most of those that stay,
//     answer this leader (Raft's CheckQuorum activity) and it has led for
//     two election timeouts. A root cut off by a partition sees the others gone; were
//     it to remove them, and the change reach one of them before the cut,
//     the majority's side would commit a configuration it cannot use;
//   - learners that answer become voters while fewer than targetVoters
//     vote, but only up to targetVoters or more: a group of two voters
//     would not survive one death;
//   - no voter is demoted.
//
// Only the root's replica, while it leads, changes the group, with
// r.balancing held; a change that does not commit is logged and tried
// again by the root's loop.
func (r *replication) reconfigureLocked() {
	if !r.rep.IsLeader() || !r.h.root.Load() || r.h.repl.Load() != r {
		return
	}
	settled := r.rep.LeaderFor() >= 2*r.rep.ElectionTimeout()
	members, voters := r.rep.Members(), r.rep.Voters()
	for id := range r.gone {
		if _, in := members[id]; !in {
			delete(r.gone, id)
		}
	}
	var remove, staying []uint64
	for _, id := range voters {
		if !r.gone[id] {
			staying = append(staying, id)
		}
	}
	active := func(ids []uint64) int {
		n := 0
		for _, id := range ids {
			if id == r.id || r.rep.PeerActive(id) {
				n++
			}
		}
		return n
	}
	// Most of the voters answer, and most of those that stay: a root that
	// sees the others gone because it is the one cut off fails the first.
	healthy := settled && active(voters) > len(voters)/2 && active(staying) > len(staying)/2
	for id := range r.gone {
		if !slices.Contains(voters, id) || healthy {
			remove = append(remove, id)
		}
	}
	var promote []uint64
	for _, id := range slices.Sorted(maps.Keys(members)) {
		if slices.Contains(voters, id) || r.gone[id] || !r.rep.PeerActive(id) {
			continue
		}
		promote = append(promote, id)
	}
	votersAfter := len(voters) // the gone voters stay unless it is healthy to remove them
	if healthy {
		votersAfter = len(staying)
	}
	switch {
	case votersAfter >= targetVoters:
		promote = nil
	case votersAfter+len(promote) < targetVoters:
		promote = nil // not enough to reach targetVoters: stay as it is
	default:
		promote = promote[:targetVoters-votersAfter]
	}
	if len(promote)+len(remove) == 0 {
		return
	}
	hostsOf := map[uint64]string{}
	for _, id := range remove {
		hostsOf[id], _, _ = strings.Cut(members[id], " ")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.rep.Reconfigure(ctx, promote, nil, remove); err != nil {
		r.h.log.Warn("the directory's members are not changed", "promote", len(promote), "remove", len(remove), "error", err.Error())
		return
	}
	// A host linked to the root whose replica left (it came back before
	// the change committed) starts another (replica_removed).
	h := r.h
	for id, hostName := range hostsOf {
		h.mu.Lock()
		mb := h.members[hostName]
		h.mu.Unlock()
		if mb != nil {
			sendOn(mb.conn, host.Message{System: true, ID: h.proc.NewMID(), Command: "replica_removed", Recipient: host.Address{Node: mb.node},
				Body: host.Object{{Key: "raft_id", Value: strconv.FormatUint(id, 16)}}})
		}
	}
}

// replicaRemoved starts a replica under a new ID if the group removed
// this host's (replica_removed, from the root).
func (h *Head) replicaRemoved(m *host.Message) {
	id, err := strconv.ParseUint(bodyOf(m).String("raft_id"), 16, 64)
	r := h.repl.Load()
	if err != nil || r == nil || r.id != id {
		return
	}
	h.mu.Lock()
	up := h.up
	h.mu.Unlock()
	if up != nil {
		h.replaceReplica(up)
	}
}

// dirChanged tells the mirror that the root's directory changed at name
// ("": anywhere, compare it all). h.mu may be held: it never blocks.
func (h *Head) dirChanged(name string) {
	r := h.repl.Load()
	if r == nil || !h.root.Load() {
		return
	}
	r.dmu.Lock()
	if name == "" {
		r.full = true
	} else if !r.full {
		if len(r.dirty) >= maxDirty { // compare it all instead of growing
			r.full, r.dirty = true, map[string]bool{}
		} else {
			r.dirty[name] = true
		}
	}
	r.dmu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// maxDirty bounds the names the mirror keeps to compare; past it, it
// compares the whole directory once.
const maxDirty = 1 << 16

// mirrorEvery is how often the mirror compares the whole directory even
// without a change (a safety net: every change names itself).
const mirrorEvery = 30 * time.Second

// mirrorCoalesce is how long the mirror waits after a change before it
// compares: the group has a removal, a move or a dead host's names that
// much later, and a name removed and made again meanwhile costs no write.
const mirrorCoalesce = 20 * time.Millisecond

// mirror writes the root's directory into the group: on each change, the
// differences at the names that changed, until they agree (root).
func (r *replication) mirror() {
	h := r.h
	for {
		select {
		case <-r.stop:
			return
		case <-r.changed:
			// A moment for the changes that follow it: a burst (a name
			// removed and made again, a host's many names) is one pass,
			// whose proposals Raft commits together.
			select {
			case <-r.stop:
				return
			case <-time.After(mirrorCoalesce):
			}
		case <-time.After(mirrorEvery):
			r.dmu.Lock()
			r.full = true
			r.dmu.Unlock()
		}
		if !h.root.Load() {
			return // it yielded the role (failover.go); a takeover starts another
		}
		for !r.mirrorOnce(h) {
			select {
			case <-r.stop:
				return
			case <-time.After(200 * time.Millisecond): // no leader yet, or a write failed: again
			}
		}
	}
}

// mirrorOnce proposes the differences at the names that changed (all of
// them after a full mark) once; it reports whether they all committed
// (those that did not are compared again).
func (r *replication) mirrorOnce(h *Head) bool {
	if !h.root.Load() {
		return true // it yielded the role (failover.go)
	}
	if len(r.rep.Members()) <= 1 {
		r.dmu.Lock()
		r.full = true // nobody to replicate to: all of it once somebody is (addReplica)
		r.dmu.Unlock()
		return true
	}
	if !r.rep.IsLeader() {
		// A root whose replica follows another may be one a partition cut
		// off, back before it yields: its map may lack names the new root
		// gave, which it would release. It mirrors again once it leads
		// (it asks for the leadership back when no other root exists).
		return false
	}
	r.dmu.Lock()
	full, dirty := r.full, r.dirty
	r.full, r.dirty = false, map[string]bool{}
	r.dmu.Unlock()
	var have map[string]raftdir.Entry
	if full {
		have = r.rep.Entries()
		h.mu.Lock()
		for name := range h.dir {
			dirty[name] = true
		}
		for name := range h.records {
			dirty[name] = true
		}
		h.mu.Unlock()
		for name := range have {
			dirty[name] = true
		}
	}
	var wg sync.WaitGroup
	var failed atomic.Bool
	slots := make(chan struct{}, mirrorInFlight)
	for name := range dirty {
		// The group's entry first, then the root's: a new name the group
		// has committed is in the root's directory, or still reserving.
		var had raftdir.Entry
		var found bool
		if full {
			had, found = have[name]
		} else {
			had, found = r.rep.Entry(name)
		}
		want, wanted, reserving := h.entryFor(name)
		var c raftdir.Command
		switch {
		case reserving:
			continue // reserve writes it, and marks it changed when it is done
		case !wanted && found:
			c = raftdir.Command{Op: raftdir.OpRelease, Name: name, Node: had.Node}
		case !wanted:
			continue
		case !found:
			c = raftdir.Command{Op: raftdir.OpReserve, Name: name, Node: want.Node, Class: want.Class, Params: want.Params}
		case had.Node != want.Node || !bytes.Equal(had.Class, want.Class) || !bytes.Equal(had.Params, want.Params):
			c = raftdir.Command{Op: raftdir.OpPlace, Name: name, Node: want.Node, Class: want.Class, Params: want.Params}
		default:
			continue
		}
		// Up to mirrorInFlight proposals at once: Raft carries those that
		// wait together, one commit for many names (a dead host's names,
		// a burst of removals) instead of a round trip each.
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err := r.rep.Propose(ctx, c)
			cancel()
			if err != nil {
				failed.Store(true)
				h.dirChanged(name) // again, with the next pass
			}
		}()
	}
	wg.Wait()
	return !failed.Load()
}

// mirrorInFlight bounds the mirror's proposals waiting at once.
const mirrorInFlight = 64

// entryFor is name's entry as the root's directory has it: its node (the
// root's own process when the name is recorded but not in h.dir), with
// its class and last known params when recorded; reserving reports a new
// name the group is committing (reserve).
func (h *Head) entryFor(name string) (e raftdir.Entry, wanted, reserving bool) {
	h.mu.Lock()
	node, rec := h.dir[name], h.records[name]
	reserving = h.reserving[name] != nil
	var class host.ClassDesc
	var params host.Object
	if rec != nil {
		class, params = rec.class, rec.params
	}
	h.mu.Unlock()
	if reserving {
		return raftdir.Entry{}, false, true
	}
	if node == "" && rec == nil {
		return raftdir.Entry{}, false, false
	}
	if node == "" {
		node = h.proc.AdminName()
	}
	return entryOf(node, class, params, rec != nil), true, false
}

// entryOf is the group's entry of an actor in node, with its class and
// params when known.
func entryOf(node string, class host.ClassDesc, params host.Object, known bool) raftdir.Entry {
	e := raftdir.Entry{Node: node}
	if known {
		e.Class, _ = host.MarshalValue(class.Value())
		if params == nil {
			params = host.Object{}
		}
		e.Params, _ = host.MarshalValue(params)
	}
	return e
}

// reserveCommitTimeout bounds the wait for the group to commit a new
// name (a root in touch with a majority commits in a round trip).
const reserveCommitTimeout = 3 * time.Second

// commitReservationLocked writes the reservation of a new name into the
// directory's group and waits until it is applied here, with h.mu
// released meanwhile (the name is in h.reserving, so another node's
// reservation of it is refused at once and the mirror leaves it alone).
// The group refuses a name it gives to another node (host.ErrNameTaken),
// so names stay unique even if two roots overlapped. A system of one
// host has no group to write to: the mirror copies the name when it has
// one.
func (h *Head) commitReservationLocked(name, node string, rec *record) (err error) {
	r := h.repl.Load()
	if r == nil || len(r.rep.Members()) <= 1 {
		return nil
	}
	var e raftdir.Entry
	if rec != nil {
		e = entryOf(node, rec.class, rec.params, true)
	}
	c := raftdir.Command{Op: raftdir.OpReserve, Name: name, Node: node, Class: e.Class, Params: e.Params}
	res := &reservation{node: node}
	h.reserving[name] = res
	for try := 0; try < 2; try++ {
		h.mu.Unlock()
		if f := beforeReservationCommit.Load(); f != nil {
			(*f)(name)
		}
		ctx, cancel := context.WithTimeout(context.Background(), reserveCommitTimeout)
		_, err = r.rep.Propose(ctx, c)
		var stale raftdir.Entry
		if errors.Is(err, host.ErrNameTaken) && try == 0 {
			stale, _ = r.rep.Entry(name)
		}
		h.mu.Lock()
		// Only the leader's root may release what the group holds: a root
		// whose replica follows another (a partition has healed, and it
		// has not yielded yet) may lack a name the new root gave.
		if stale.Node == "" || h.dir[name] != "" || h.moving[name] != nil || h.proc.Lookup(name) != nil ||
			!h.root.Load() || !r.rep.IsLeader() || h.reserving[name] != res || res.gone {
			cancel()
			break
		}
		// The group still has the name where the root's directory no
		// longer does: a release the mirror has not written yet (the
		// actor was removed, or its process died). Written now, then the
		// reservation again.
		h.mu.Unlock()
		_, rerr := r.rep.Propose(ctx, raftdir.Command{Op: raftdir.OpRelease, Name: name, Node: stale.Node})
		cancel()
		h.mu.Lock()
		if rerr != nil {
			err = fmt.Errorf("%w (and the group's stale entry in %s could not be released: %v)", err, stale.Node, rerr)
			break
		}
	}
	if h.reserving[name] == res {
		delete(h.reserving, name)
	}
	// Whatever came of it, the mirror compares the name again: a commit
	// that timed out here may still be applied, and a release the mirror
	// wrote meanwhile may have followed this reservation.
	h.dirChanged(name)
	switch {
	case err == nil && res.gone:
		return fmt.Errorf("reserve %q: %s is gone", name, node)
	case err == nil && !h.root.Load():
		// It yielded the root's role meanwhile (failover.go): the new root
		// has the name from the group, and the creator's release goes there.
		return fmt.Errorf("reserve %q: this host stopped heading the system meanwhile; try again", name)
	case err == nil, errors.Is(err, host.ErrNameTaken):
		return err
	case errors.Is(err, raftdir.ErrNoLeader):
		return fmt.Errorf("reserve %q: %w (new names and moves wait until it can)", name, err)
	}
	return fmt.Errorf("reserve %q: the directory's group did not commit it: %w", name, err)
}

// beforeReservationCommit, set by tests, runs before a reservation is
// proposed (h.mu released).
var beforeReservationCommit atomic.Pointer[func(name string)]

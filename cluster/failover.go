package cluster

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/peacepie/peacepie/cluster/raftdir"
	"github.com/peacepie/peacepie/host"
)

// Failover: when the root is lost, the host whose replica leads the
// directory's group takes the root's role, and the other hosts join it.
//
// A host that loses its link to the root tries every second to join
// again (rejoin). Where it goes depends on its replica:
//
//   - no leader known (the group has no majority, or is electing): the
//     root's old address, as before;
//   - the leader is the old root's replica: the old root (it is alive,
//     the link only broke);
//   - the leader is another host's replica: that host, which takes over
//     (until it has, it redirects the join, and the next try goes again);
//   - the leader is this host's own replica: it takes over (takeOver), but
//     only once it has led for 1.5 election timeouts and the old root's
//     replica has not answered it meanwhile (Raft's CheckQuorum activity):
//     a root that is alive and talks to the group keeps its role.
//
// Taking over: the dead root's host's names leave the group (drop_host:
// asks waiting on them fail, its processes are gone for everybody here);
// the new root's directory is the group's; the old root's replica is
// removed from the group; the mirror starts; the other hosts join it with
// their actors, as after a partition. Hosts that have not joined within
// rejoinGrace are taken as dead with the old root, and their names leave
// too.
//
// What is lost with the root: the moves it was running (an actor extracted
// and not yet activated elsewhere is gone with its held messages), the
// messages on their way through it, its own actors and its children's,
// and the package set's updates (the hosts keep the set they last had).

// rejoinGrace is how long, after a takeover, the hosts of the directory
// have to join the new root before their names are dropped.
const rejoinGrace = 10 * time.Second

// nextRoot says where a host that lost the root (of host oldHost, at
// oldAddr) joins next, or that it takes over itself.
func (h *Head) nextRoot(oldAddr, oldHost string) (addr string, takeOver bool) {
	r := h.repl.Load()
	if r == nil {
		return oldAddr, false
	}
	leader := r.rep.Leader()
	if leader == 0 {
		return oldAddr, false
	}
	if leader == r.id {
		// 1.5 election timeouts: Raft's CheckQuorum marks every follower
		// inactive once per election timeout, so after more than one the
		// silence is the old root's own.
		old := r.memberOf(oldHost)
		if r.rep.LeaderFor() >= r.rep.ElectionTimeout()*3/2 && (old == 0 || !r.rep.PeerActive(old)) {
			return "", true
		}
		return oldAddr, false
	}
	leaderHost, leaderAddr, _ := strings.Cut(r.rep.Members()[leader], " ")
	if leaderHost == oldHost || leaderAddr == "" {
		return oldAddr, false
	}
	return leaderAddr, false
}

// sleepBeforeRejoin waits before the next try to join: a second, or a
// quarter of one while a host other than the lost root's leads the
// directory's group (a failover is under way).
func (h *Head) sleepBeforeRejoin(oldHost string) {
	wait := time.Second
	if r := h.repl.Load(); r != nil {
		if leader := r.rep.Leader(); leader != 0 {
			if name, _, _ := strings.Cut(r.rep.Members()[leader], " "); name != oldHost {
				wait = time.Second / 4
			}
		}
	}
	time.Sleep(wait)
}

// memberOf returns the raft ID of hostName's replica in the group, or 0.
func (r *replication) memberOf(hostName string) uint64 {
	for id, ctx := range r.rep.Members() {
		if name, _, _ := strings.Cut(ctx, " "); name == hostName {
			return id
		}
	}
	return 0
}

// takeOver makes this head the system's root in place of the lost root
// of host oldHost. It reports false if it could not (the group did not
// commit the old root's departure, or this host joined meanwhile).
func (h *Head) takeOver(oldHost string) bool {
	r := h.repl.Load()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	res, err := r.rep.Propose(ctx, raftdir.Command{Op: raftdir.OpDropHost, Host: oldHost})
	cancel()
	if err != nil {
		h.log.Warn("the lost root's names do not leave the directory: no takeover yet", "old_root", oldHost, "error", err.Error())
		return false
	}
	names, entries := r.rep.Names(), r.rep.Entries()
	reason := fmt.Sprintf("host %s is gone: it was the system's root, and the system lost it", oldHost)
	// Before the role: a move this head runs as the root into its own
	// process must not wait for a route flush through another (Activate,
	// under h.mu; Process.roundMu comes before Head.mu).
	h.proc.HeadsSystem(true)
	h.mu.Lock()
	if h.up != nil || h.stopping {
		h.mu.Unlock()
		h.proc.HeadsSystem(false)
		return false
	}
	h.dir = map[string]string{}
	for name, node := range names {
		if node != h.proc.AdminName() { // the root's own actors are found in its process
			h.dir[name] = node
		}
	}
	for name, e := range entries {
		if rec := recordOf(e); rec != nil {
			h.records[name] = rec
		}
	}
	clear(h.hostDir)
	h.rootNode, h.rootAddr, h.rootGossip = h.proc.AdminName(), "", ""
	h.goneHosts[oldHost] = reason
	for _, name := range res.Names {
		h.deadNames.note(name, "it was on host "+oldHost+", which is gone: it was the system's root, and the system lost it")
	}
	h.root.Store(true)
	to := h.neighbours("")
	h.mu.Unlock()

	h.log.Warn("the system's root is lost: this host takes over as the root", "old_root", oldHost, "names", len(names), "names_dropped", len(res.Names))
	h.proc.Publish(host.Event{Kind: "head_changed", Node: h.proc.AdminName()})
	h.tellRootChanged(h.proc.AdminName())
	h.tellGone(to, oldHost+".main.admin", reason, res.Names)
	h.proc.ProcessGone(oldHost+".main.admin", reason, res.Names...)
	h.removeReplicas(oldHost)
	go r.mirror()
	go h.seekRoot(r)
	h.dirChanged("")
	lost := map[string]*record{}
	for name, e := range res.Entries {
		if rec := recordOf(e); rec != nil {
			lost[name] = rec
		}
	}
	if h.cfg.Packages != nil { // the set this host followed is the system's now, and changes go out from here
		h.cfg.Packages.Lead()
		go h.watchPackages()
	}
	h.recreateElsewhere(oldHost, lost)
	go h.dropAbsentHosts(r)
	return true
}

// recordOf is what re-creates an actor, from its directory entry (nil
// when the entry has no class).
func recordOf(e raftdir.Entry) *record {
	if len(e.Class) == 0 {
		return nil
	}
	cv, err := host.UnmarshalValue(e.Class)
	if err != nil {
		return nil
	}
	class, err := host.ClassDescFromValue(cv)
	if err != nil {
		return nil
	}
	var params host.Object
	if len(e.Params) > 0 {
		if pv, err := host.UnmarshalValue(e.Params); err == nil {
			params, _ = pv.(host.Object)
		}
	}
	return &record{class: class, params: params}
}

// recreateTries bounds the creates of one actor in recreateElsewhere: the
// chosen host's main process, then the root's own.
const recreateTries = 5

// recreateElsewhere makes the actors of a dead host again, from their
// records, in the main processes of the surviving hosts (this root's and
// its members', in turn), when HeadConfig.RecreateElsewhere says so
// (root). It does not wait for them.
func (h *Head) recreateElsewhere(deadHost string, lost map[string]*record) {
	if !h.cfg.RecreateElsewhere || len(lost) == 0 {
		return
	}
	h.mu.Lock()
	targets := []string{h.proc.AdminName()}
	for _, mb := range h.members {
		if mb.host != deadHost {
			targets = append(targets, mb.node)
		}
	}
	h.mu.Unlock()
	sort.Strings(targets[1:])
	names := slices.Sorted(maps.Keys(lost))
	go func() {
		for i, name := range names {
			r, node := lost[name], targets[i%len(targets)]
			params := r.params
			if params == nil {
				params = host.Object{}
			}
			body := host.Object{{Key: "class_desc", Value: r.class.Value()}, {Key: "name", Value: name}, {Key: "params", Value: params}}
			// A host the root has just welcomed may not have read its welcome
			// yet (it still names the lost root as its head, and its create
			// fails): it is asked again, then the root's own process makes it.
			var reply host.Message
			var err error
			for try := 0; try < recreateTries; try++ {
				if try == recreateTries-1 {
					node = h.proc.AdminName()
				}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				reply, err = h.proc.Ask(ctx, host.Message{System: true, Command: "create_actor", Recipient: host.Address{Node: node}, Body: body}, 20*time.Second)
				cancel()
				if err == nil && reply.Command == "actor_is_created" || h.isStopping() {
					break
				}
				time.Sleep(500 * time.Millisecond)
			}
			if err != nil || reply.Command != "actor_is_created" {
				h.log.Error("an actor of a dead host could not be made again elsewhere", "actor", name, "host", deadHost, "node", node,
					"reply", reply.Command, "error", fmt.Sprint(err))
				continue
			}
			h.log.Info("an actor of a dead host is made again elsewhere", "actor", name, "host", deadHost, "node", node)
		}
	}()
}

// dropAbsentHosts waits rejoinGrace after a takeover, then takes every
// host that has names in the directory and has not joined the new root as
// gone with the old root: its processes' names leave, and everybody hears.
func (h *Head) dropAbsentHosts(r *replication) {
	select {
	case <-r.stop:
		return
	case <-time.After(rejoinGrace):
	}
	h.mu.Lock()
	nodes := map[string]bool{}
	for _, node := range h.dir {
		if hn := hostOf(node); hn != h.cfg.Host && h.members[hn] == nil {
			nodes[node] = true
		}
	}
	h.mu.Unlock()
	list := make([]string, 0, len(nodes))
	for n := range nodes {
		list = append(list, n)
	}
	sort.Strings(list)
	lost := map[string]map[string]*record{} // host → its actors' records
	for _, node := range list {
		hostName := hostOf(node)
		reason := fmt.Sprintf("host %s is gone: it did not join the new root within %s of the old one's loss", hostName, rejoinGrace)
		h.log.Warn("host is gone", "host", hostName, "reason", reason)
		if lost[hostName] == nil {
			lost[hostName] = map[string]*record{}
		}
		maps.Copy(lost[hostName], h.nodeGone(node, reason, false))
		h.removeReplicas(hostName)
	}
	for hostName, records := range lost {
		h.recreateElsewhere(hostName, records)
	}
}

// IsRoot reports whether this head is the system's root now.
func (h *Head) IsRoot() bool { return h.root.Load() }

// writesRefused returns why this root may not write the directory now, or
// nil: in a group of several hosts, a root whose replica is not in touch
// (raftdir.Replica.InTouch: as the leader, it has not heard a majority
// within an election timeout; as a follower, its leader) may be on a
// minority side of a partition, and the other side may take over and
// give the same names. A survivor takes over only after its replica has
// led for 1.5 election timeouts, which starts at least an election
// timeout after the old leader was last heard: by then this root refuses.
func (h *Head) writesRefused() error {
	r := h.repl.Load()
	if r == nil || !h.root.Load() || len(r.rep.Members()) <= 1 || r.rep.InTouch() || ignoreLease.Load() {
		return nil
	}
	return fmt.Errorf("%w (new names and moves wait until it can)", raftdir.ErrNoLeader)
}

// A root cut off from the majority (it refuses new names and moves,
// writesRefused) looks for the root the majority has meanwhile: every
// seekRootEvery, once its replica has known no leader for
// seekRootAfter, it tries to join the hosts its replica lists; and when
// its replica follows another host's, it tries that host first (after a
// partition heals before the new root removed the old one's replica),
// and takes the leadership back when that host is no root (a leader that
// moved while the root lives: a pause, a loaded machine). A host that
// heads the system welcomes it; then it yields its role (yieldRootLocked)
// and is one of the others, its actors keeping the names nobody took
// meanwhile (a host that welcomes it is the root of a majority: a
// minority's hosts have no root to welcome it).

// seekRootEvery and seekRootAfter pace a leaderless root's search.
const (
	seekRootEvery = time.Second
	seekRootAfter = 3 * time.Second
)

// seekRoot runs while this head is the root (r is its replication); it
// also brings the directory's group towards its shape every second
// (reconfigureLocked).
func (h *Head) seekRoot(r *replication) {
	var leaderless time.Time
	for {
		select {
		case <-r.stop:
			return
		case <-time.After(seekRootEvery):
		}
		if !h.root.Load() {
			return
		}
		if r.balancing.TryLock() { // the group's shape: gone replicas out when safe, learners in
			r.reconfigureLocked()
			r.balancing.Unlock()
		}
		if leader := r.rep.Leader(); leader != 0 && leader != r.id {
			// Another replica leads: a root of the majority's side, which
			// this host joins and yields to; else (a leader that is no
			// root: the join is refused) the role comes back here.
			leaderless = time.Time{}
			if name, addr, _ := strings.Cut(r.rep.Members()[leader], " "); name != h.cfg.Host && addr != "" && h.yieldTo(addr) {
				return
			}
			r.rep.TakeLeadership()
			continue
		}
		if r.rep.Leader() != 0 || len(r.rep.Members()) <= 1 {
			leaderless = time.Time{}
			continue
		}
		if leaderless.IsZero() {
			leaderless = time.Now()
		}
		if time.Since(leaderless) < seekRootAfter {
			continue
		}
		for id, mctx := range r.rep.Members() {
			name, addr, _ := strings.Cut(mctx, " ")
			if id == r.id || name == h.cfg.Host || addr == "" {
				continue
			}
			if h.yieldTo(addr) {
				return
			}
		}
	}
}

// yieldTo joins the system through the host at addr, and reports whether
// it did: a root welcomed this one, which yielded its role (join,
// yieldRootLocked).
func (h *Head) yieldTo(addr string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	err := h.join(ctx, addr)
	cancel()
	if err != nil {
		h.log.Debug("no root to yield to", "at", addr, "error", err.Error())
		return false
	}
	h.log.Warn("this host was the root of a minority: it yields the role to the majority's", "root", h.Head())
	h.reportProcesses()
	return true
}

// yieldRootLocked makes this head one of the others, if it is the root
// (h.mu held; the caller sets h.up and the root's names): the names of its
// own children's actors are its host's names (hostDir), the rest of the
// directory is the new root's. It returns what to do once h.mu is
// released (nil if it was not the root): stop heading the process, and
// send the hosts linked to it to the new root.
func (h *Head) yieldRootLocked() func() {
	if !h.root.Load() {
		return nil
	}
	h.root.Store(false)
	for name, node := range h.dir {
		if h.children[node] != nil {
			h.hostDir[name] = node
		}
	}
	h.dir = map[string]string{}
	members := make([]*member, 0, len(h.members))
	for _, mb := range h.members {
		members = append(members, mb)
	}
	return func() {
		h.proc.HeadsSystem(false)
		for _, mb := range members { // they look for the root again (rejoin)
			mb.conn.Close("this host is no longer the system's root")
		}
	}
}

// ignoreLease makes writesRefused pass (tests: a root whose process
// paused between its check and its write, so that two roots overlap).
var ignoreLease atomic.Bool

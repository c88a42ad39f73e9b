// Package raftdir replicates a peacepie system's directory of actor names
// over its hosts with etcd's Raft library (go.etcd.io/raft/v3): the
// consensus algorithm is theirs; the transport (a Transport: in the system,
// the authenticated links between hosts), the storage (in memory, see
// below) and the state machine (the directory: names → nodes, and the
// member hosts) are ours.
//
// Each host runs one Replica. Writes (Propose: reserve a name, release it,
// place it after a move, drop a dead host's names) go through the group's
// leader and are applied, in log order, on every replica once a majority
// has them. Reads (Lookup, Names, Members) answer from the local replica,
// which may lag the leader by what is not yet applied here.
//
// A replica on a minority side of a partition cannot commit: its writes
// fail with ErrNoLeader (no leader known: the leader steps down when it
// loses its majority, CheckQuorum) or ErrNotCommitted (the deadline passed
// first); its reads keep answering. When the partition heals it catches
// up from the leader's log or snapshot.
//
// Storage. The log lives in memory (raft.MemoryStorage), compacted behind
// a snapshot every SnapshotEvery entries, so it does not grow without
// bound. A replica that restarts has lost its log and vote; to stay safe
// it must join again under a new ID (IDs are never reused: Raft's rule),
// and the leader removes the old ID (RemoveMember) when its host is
// declared dead. Config.ID is that per-start ID.
//
// Concurrency. One goroutine (the loop) owns the raft state machine (a
// raft.RawNode: every step, proposal and Ready is handled there, with no
// goroutine of the library's own between a message and its answer), the
// storage and all changes to the directory; other goroutines hand it work
// on its channels. mu guards the directory for readers and the table of
// waiting proposals. Transport.Send is called on the loop and must not
// block; Receive may be called from any goroutine.
package raftdir

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"go.etcd.io/raft/v3/tracker"
	"google.golang.org/protobuf/proto"
)

var (
	// ErrNoLeader: the write is refused at once because this replica knows
	// no leader, which means it cannot reach a majority of the hosts.
	ErrNoLeader = errors.New("the directory has no leader: this host cannot reach a majority of the system's hosts, so the directory is read-only here")
	// ErrNotCommitted: the write was not committed before its deadline
	// (the leader was lost meanwhile, or a majority is not reachable). It
	// may still be applied later.
	ErrNotCommitted = errors.New("the directory write was not committed in time: a majority of the system's hosts did not confirm it")
	// ErrRemoved: the ID was removed from the group, and may not join it
	// again (its host starts a replica under a new ID).
	ErrRemoved = errors.New("the directory replica was removed from the group")
	// ErrStopped: the replica has stopped.
	ErrStopped = errors.New("the directory replica has stopped")
)

// MaxMessageBytes bounds a message Receive accepts (a snapshot of a large
// directory is the largest).
const MaxMessageBytes = 64 << 20

// Transport sends the replica's messages to its peers. Send is called on
// the replica's loop: it must not block (queue, or drop: Raft resends) and
// reports an error when the peer is not reachable.
type Transport interface {
	Send(to uint64, data []byte) error
}

// Config configures a Replica.
type Config struct {
	// ID is this replica's raft ID, never 0 and never used before.
	ID uint64
	// Host is this replica's host name (recorded with its membership).
	Host string
	// Peers, for the first start of a new group, are its members (IDs →
	// host names), this one among them. Empty: the replica joins a group
	// that adds it (AddMember on the leader).
	Peers     map[uint64]string
	Transport Transport
	// Tick is Raft's clock (100 ms if 0); a leader is suspected dead after
	// ElectionTicks ticks without a heartbeat (10 if 0; a random extra of
	// up to as many again avoids split votes), and sends heartbeats every
	// HeartbeatTicks (1 if 0).
	Tick           time.Duration
	ElectionTicks  int
	HeartbeatTicks int
	// SnapshotEvery: a snapshot of the directory is taken, and the log
	// before it compacted, every so many applied entries (1024 if 0).
	SnapshotEvery uint64
	// OnLeader, if set, is called on the loop when the leader this replica
	// knows changes (0: none). It must not block.
	OnLeader func(leader uint64)
	Log      *slog.Logger
}

// Replica is one host's member of the directory's Raft group.
type Replica struct {
	cfg     Config
	rn      *raft.RawNode // the loop's alone
	storage *raft.MemoryStorage
	recvc   chan *pb.Message // peers' messages, for the loop
	calls   chan func()      // proposals and queries, run on the loop
	log     *slog.Logger

	leader      atomic.Uint64
	leaderSince atomic.Int64  // unix nanoseconds: when this replica became the leader it is
	lostSince   atomic.Int64  // unix nanoseconds: when this replica last lost its leader (valid while leader is 0)
	seq         atomic.Uint64 // numbers this replica's proposals

	heardMu sync.Mutex
	heard   map[uint64]int64 // peer → unix nanoseconds of its last message (Receive)

	// mu guards dir, voters and waits (the loop writes dir and voters;
	// readers copy out).
	mu       sync.RWMutex
	dir      *directory
	voters   []uint64 // sorted
	joint    bool     // in a joint configuration (Reconfigure waits it out)
	outgoing []uint64 // in a joint configuration, the voters of the configuration it leaves
	waits    map[uint64]chan outcome

	// loop state
	confState *pb.ConfState
	applied   uint64
	snapIndex uint64
	alone     bool // a new group of one: it campaigns once its configuration is applied

	stop chan struct{}
	done chan struct{}
}

// outcome is an applied proposal's result, for its waiting Propose.
type outcome struct {
	res Result
	err error
}

// Start starts a replica: a new group with cfg.Peers, or a member waiting
// to be added to one.
func Start(cfg Config) (*Replica, error) {
	if cfg.ID == 0 {
		return nil, errors.New("raftdir: the replica's ID must not be 0")
	}
	if cfg.Transport == nil {
		return nil, errors.New("raftdir: a Transport is required")
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 100 * time.Millisecond
	}
	if cfg.ElectionTicks <= 0 {
		cfg.ElectionTicks = 10
	}
	if cfg.HeartbeatTicks <= 0 {
		cfg.HeartbeatTicks = 1
	}
	if cfg.SnapshotEvery == 0 {
		cfg.SnapshotEvery = 1024
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	r := &Replica{cfg: cfg, storage: raft.NewMemoryStorage(), log: cfg.Log.With("raft_id", cfg.ID),
		dir: newDirectory(), waits: map[uint64]chan outcome{}, confState: &pb.ConfState{},
		recvc: make(chan *pb.Message, loopQueue), calls: make(chan func(), loopQueue),
		stop: make(chan struct{}), done: make(chan struct{})}
	rc := &raft.Config{
		ID:                        cfg.ID,
		ElectionTick:              cfg.ElectionTicks,
		HeartbeatTick:             cfg.HeartbeatTicks,
		Storage:                   r.storage,
		MaxSizePerMsg:             1 << 20,
		MaxInflightMsgs:           256,
		MaxUncommittedEntriesSize: 16 << 20,
		CheckQuorum:               true, // a leader that loses its majority steps down
		PreVote:                   true, // a returning partitioned member does not depose a working leader
		StepDownOnRemoval:         true,
		Logger:                    raftLogger{r.log},
	}
	rn, err := raft.NewRawNode(rc) // empty storage: a member waits to be added
	if err != nil {
		return nil, fmt.Errorf("raftdir: start the raft node: %w", err)
	}
	r.rn = rn
	if len(cfg.Peers) > 0 {
		if _, ok := cfg.Peers[cfg.ID]; !ok {
			return nil, fmt.Errorf("raftdir: the peers of a new group must include this replica (%d)", cfg.ID)
		}
		peers := make([]raft.Peer, 0, len(cfg.Peers))
		ids := make([]uint64, 0, len(cfg.Peers))
		for id := range cfg.Peers {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		for _, id := range ids {
			peers = append(peers, raft.Peer{ID: id, Context: []byte(cfg.Peers[id])})
		}
		if err := rn.Bootstrap(peers); err != nil {
			return nil, fmt.Errorf("raftdir: start a new group: %w", err)
		}
		r.alone = len(peers) == 1
	}
	r.lostSince.Store(time.Now().UnixNano())
	go r.run()
	return r, nil
}

// Stop stops the replica; waiting proposals fail with ErrStopped.
func (r *Replica) Stop() {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	<-r.done
}

// ID returns the replica's raft ID.
func (r *Replica) ID() uint64 { return r.cfg.ID }

// Leader returns the leader this replica knows (0: none).
func (r *Replica) Leader() uint64 { return r.leader.Load() }

// IsLeader reports whether this replica leads the group.
func (r *Replica) IsLeader() bool { return r.leader.Load() == r.cfg.ID }

// LeaderFor returns how long this replica has led the group (0 when it
// does not lead it).
func (r *Replica) LeaderFor() time.Duration {
	if !r.IsLeader() {
		return 0
	}
	return time.Since(time.Unix(0, r.leaderSince.Load()))
}

// LeaderlessFor returns how long this replica has known no leader (0
// while it knows one). A replica that has never known one counts from
// its start.
func (r *Replica) LeaderlessFor() time.Duration {
	if r.leader.Load() != 0 {
		return 0
	}
	return time.Since(time.Unix(0, r.lostSince.Load()))
}

// ElectionTimeout returns the time without a leader's word after which a
// follower stands for election (at least; Raft adds up to as much again).
func (r *Replica) ElectionTimeout() time.Duration {
	return time.Duration(r.cfg.ElectionTicks) * r.cfg.Tick
}

// maxHeard bounds the peers whose last message a replica keeps the time
// of (more than any group has members).
const maxHeard = 1 << 12

// InTouch reports whether this replica has heard, within the last
// election timeout, from enough of the group that no other replica can
// have been elected and have led for long: as the leader, from a majority
// of the voters (itself counted); as a follower, from its leader. A
// replica that loses touch this way knows it before Raft's CheckQuorum
// makes a cut-off leader step down (up to two election timeouts), and
// well before another replica, elected at least an election timeout
// after it last heard the old leader, has led for more (a lease; it
// assumes clocks that run at about the same rate and no pause of the
// process of that length). In a joint configuration a majority of the
// outgoing voters counts: an election there needs them (a replica that
// has not applied the joint configuration needs them alone), so voters
// just added and not heard yet do not cut a leader off.
func (r *Replica) InTouch() bool {
	lead := r.leader.Load()
	if lead == 0 {
		return false
	}
	since := time.Now().Add(-r.ElectionTimeout()).UnixNano()
	if lead != r.cfg.ID {
		r.heardMu.Lock()
		defer r.heardMu.Unlock()
		return r.heard[lead] >= since
	}
	r.mu.RLock()
	voters, outgoing := r.voters, r.outgoing // replaced, never changed in place
	r.mu.RUnlock()
	r.heardMu.Lock()
	defer r.heardMu.Unlock()
	majority := func(ids []uint64) bool {
		n := 0
		for _, v := range ids {
			if v == r.cfg.ID || r.heard[v] >= since {
				n++
			}
		}
		return n > len(ids)/2
	}
	if len(outgoing) > 0 {
		return majority(outgoing)
	}
	return majority(voters)
}

// PeerActive reports, on the leader, whether the member id has answered it
// within the last election timeout (Raft's CheckQuorum keeps that); false
// elsewhere, and for an ID that is not a member.
func (r *Replica) PeerActive(id uint64) bool {
	if !r.IsLeader() {
		return false
	}
	var active bool
	err := r.do(context.Background(), func() error {
		r.rn.WithProgress(func(pid uint64, _ raft.ProgressType, pr tracker.Progress) {
			if pid == id {
				active = pr.RecentActive
			}
		})
		return nil
	})
	return err == nil && active
}

// TakeLeadership asks the group's leader to hand its role to this
// replica (Raft's leadership transfer; it is ignored if this replica is
// behind or not a voter).
func (r *Replica) TakeLeadership() {
	if lead := r.leader.Load(); lead != 0 && lead != r.cfg.ID {
		r.do(context.Background(), func() error { r.rn.TransferLeader(r.cfg.ID); return nil })
	}
}

// Lookup returns the node that holds name, in this replica's view.
func (r *Replica) Lookup(name string) (string, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	node, ok := r.dir.Names[name]
	return node, ok
}

// Names returns a copy of the directory's names (name → node).
func (r *Replica) Names() map[string]string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.dir.clone().Names
}

// Entry returns name's entry, if the directory has the name.
func (r *Replica) Entry(name string) (Entry, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if _, ok := r.dir.Names[name]; !ok {
		return Entry{}, false
	}
	return r.dir.entry(name), true
}

// Entries returns a copy of the directory's entries: every name's node,
// with its class and params when they were given.
func (r *Replica) Entries() map[string]Entry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make(map[string]Entry, len(r.dir.Names))
	for name := range r.dir.Names {
		out[name] = r.dir.entry(name)
	}
	return out
}

// Members returns the group's members, voters and learners (raft ID →
// the context it was added with: its host), as applied here.
func (r *Replica) Members() map[uint64]string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.dir.clone().Members
}

// Propose writes c to the directory and waits until it is applied here:
// its result, or the error applying it gave (host.ErrNameTaken for a name
// held elsewhere). It fails at once with ErrNoLeader when no leader is
// known, and with ErrNotCommitted when ctx ends first.
func (r *Replica) Propose(ctx context.Context, c Command) (Result, error) {
	if r.leader.Load() == 0 {
		return Result{}, ErrNoLeader
	}
	body, err := json.Marshal(c)
	if err != nil {
		return Result{}, fmt.Errorf("encode a directory command: %w", err)
	}
	seq := r.seq.Add(1)
	data := make([]byte, 16, 16+len(body))
	binary.BigEndian.PutUint64(data, r.cfg.ID)
	binary.BigEndian.PutUint64(data[8:], seq)
	data = append(data, body...)
	w := make(chan outcome, 1)
	r.mu.Lock()
	r.waits[seq] = w
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.waits, seq)
		r.mu.Unlock()
	}()
	propose := func() {
		if err := r.rn.Propose(data); err != nil {
			w <- outcome{err: r.proposeError(err)} // not in the log: apply never answers it
		}
	}
	select {
	case r.calls <- propose:
	case <-ctx.Done():
		return Result{}, fmt.Errorf("%w (%s %q)", ErrNotCommitted, c.Op, c.Name)
	case <-r.done:
		return Result{}, ErrStopped
	}
	select {
	case o := <-w:
		return o.res, o.err
	case <-ctx.Done():
		return Result{}, fmt.Errorf("%w (%s %q)", ErrNotCommitted, c.Op, c.Name)
	case <-r.done:
		return Result{}, ErrStopped
	}
}

// proposeError is the error of a proposal the raft node refused.
func (r *Replica) proposeError(err error) error {
	if errors.Is(err, raft.ErrProposalDropped) {
		if r.leader.Load() == 0 {
			return ErrNoLeader
		}
		return fmt.Errorf("%w: %v", ErrNotCommitted, err)
	}
	return fmt.Errorf("propose a directory write: %w", err)
}

// loopQueue bounds the messages and calls waiting for the loop.
const loopQueue = 1024

// do runs f on the loop and returns its error: ErrNotCommitted if ctx
// ends before the loop takes it, ErrStopped if the replica stops.
func (r *Replica) do(ctx context.Context, f func() error) error {
	errc := make(chan error, 1)
	select {
	case r.calls <- func() { errc <- f() }:
	case <-ctx.Done():
		return ErrNotCommitted
	case <-r.done:
		return ErrStopped
	}
	select {
	case err := <-errc:
		return err
	case <-r.done:
		return ErrStopped
	}
}

// AddMember adds a host's replica to the group (call it on any member;
// it goes through the leader) and waits until the change is applied here.
func (r *Replica) AddMember(ctx context.Context, id uint64, hostName string) error {
	return r.changeMembers(ctx, pb.ConfChangeAddNode, id, hostName)
}

// AddLearner adds a host's replica to the group as a learner (or makes a
// voter one): it gets the log but does not vote or count for the majority
// (PromoteMember makes it a voter). A group that may shrink to two hosts keeps its extra members
// as learners: a voter that dies in a group of two leaves no majority.
func (r *Replica) AddLearner(ctx context.Context, id uint64, context string) error {
	return r.changeMembers(ctx, pb.ConfChangeAddLearnerNode, id, context)
}

// PromoteMember makes a learner a voter (its context is kept).
func (r *Replica) PromoteMember(ctx context.Context, id uint64) error {
	return r.changeMembers(ctx, pb.ConfChangeAddNode, id, r.Members()[id])
}

// Removed reports whether the group removed the replica id (as applied
// here): an ID is never added again.
func (r *Replica) Removed(id uint64) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.dir.Removed[id]
}

// Joint reports whether the group is between two configurations (Raft's
// joint consensus: both the old voters and the new decide until the
// group leaves it, a moment later). Voters are the new ones meanwhile.
func (r *Replica) Joint() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.joint
}

// Voters returns the IDs of the members that vote, sorted.
func (r *Replica) Voters() []uint64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return append([]uint64(nil), r.voters...)
}

// Reconfigure changes the group's voters in one step: it promotes
// learners to voters, demotes voters to learners and removes members (by
// Raft's joint consensus when more than one voter changes, so the group
// never passes through a configuration that a single death could leave
// without a majority). It waits until the change is applied here.
func (r *Replica) Reconfigure(ctx context.Context, promote, demote, remove []uint64) error {
	if r.leader.Load() == 0 {
		return ErrNoLeader
	}
	cc := &pb.ConfChangeV2{Transition: pb.ConfChangeTransitionAuto.Enum()}
	add := func(t pb.ConfChangeType, ids []uint64) {
		for _, id := range ids {
			cc.Changes = append(cc.Changes, &pb.ConfChangeSingle{Type: t.Enum(), NodeId: proto.Uint64(id)})
		}
	}
	add(pb.ConfChangeAddNode, promote)
	add(pb.ConfChangeAddLearnerNode, demote)
	add(pb.ConfChangeRemoveNode, remove)
	if len(cc.Changes) == 0 {
		return nil
	}
	done := func() bool {
		r.mu.RLock()
		defer r.mu.RUnlock()
		if r.joint {
			return false
		}
		for _, id := range promote {
			if !slices.Contains(r.voters, id) {
				return false
			}
		}
		for _, id := range demote {
			if _, in := r.dir.Members[id]; !in || slices.Contains(r.voters, id) {
				return false
			}
		}
		for _, id := range remove {
			if _, in := r.dir.Members[id]; in {
				return false
			}
		}
		return true
	}
	again := time.Now()
	for !done() {
		if time.Now().After(again) { // ignored while another change is pending: again
			if err := r.do(ctx, func() error { return r.rn.ProposeConfChange(cc) }); err != nil {
				if errors.Is(err, ErrNotCommitted) || errors.Is(err, ErrStopped) {
					return err
				}
				return r.proposeError(err)
			}
			again = time.Now().Add(r.ElectionTimeout())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (reconfiguration)", ErrNotCommitted)
		case <-r.done:
			return ErrStopped
		case <-time.After(r.cfg.Tick / 2):
		}
	}
	return nil
}

// RemoveMember removes a replica from the group (a host declared dead, or
// an ID its host restarted without).
func (r *Replica) RemoveMember(ctx context.Context, id uint64) error {
	return r.changeMembers(ctx, pb.ConfChangeRemoveNode, id, "")
}

func (r *Replica) changeMembers(ctx context.Context, t pb.ConfChangeType, id uint64, context string) error {
	if r.leader.Load() == 0 {
		return ErrNoLeader
	}
	if t != pb.ConfChangeRemoveNode && r.Removed(id) {
		return fmt.Errorf("%w: %d", ErrRemoved, id)
	}
	cc := &pb.ConfChange{Type: t.Enum(), NodeId: proto.Uint64(id), Context: []byte(context)}
	// Applied when the member set says so (a conf change carries no
	// proposal number to wait on). Raft ignores a change proposed while
	// another is pending (it commits an empty entry instead), so it is
	// proposed again until it is applied.
	again := time.Now()
	for {
		if time.Now().After(again) {
			if err := r.do(ctx, func() error { return r.rn.ProposeConfChange(cc) }); err != nil {
				if errors.Is(err, ErrNotCommitted) || errors.Is(err, ErrStopped) {
					return err
				}
				return r.proposeError(err)
			}
			again = time.Now().Add(time.Duration(r.cfg.ElectionTicks) * r.cfg.Tick)
		}
		r.mu.RLock()
		_, in := r.dir.Members[id]
		voter := slices.Contains(r.voters, id)
		r.mu.RUnlock()
		switch t {
		case pb.ConfChangeAddNode:
			if in && voter {
				return nil
			}
		case pb.ConfChangeAddLearnerNode:
			if in && !voter {
				return nil
			}
		default:
			if !in {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (member %d)", ErrNotCommitted, id)
		case <-r.done:
			return ErrStopped
		case <-time.After(r.cfg.Tick / 2):
		}
	}
}

// Receive passes a message from peer from to the replica. Messages that
// do not decode, are too large, or claim another sender are refused.
func (r *Replica) Receive(from uint64, data []byte) error {
	if len(data) > MaxMessageBytes {
		return fmt.Errorf("raft message of %d bytes from %d: more than %d", len(data), from, MaxMessageBytes)
	}
	m := &pb.Message{}
	if err := proto.Unmarshal(data, m); err != nil {
		return fmt.Errorf("decode a raft message from %d: %w", from, err)
	}
	if m.GetFrom() != from || m.GetTo() != r.cfg.ID {
		return fmt.Errorf("a raft message from %d claims to be from %d to %d", from, m.GetFrom(), m.GetTo())
	}
	r.heardMu.Lock()
	if r.heard == nil {
		r.heard = map[uint64]int64{}
	}
	if _, known := r.heard[from]; known || len(r.heard) < maxHeard {
		r.heard[from] = time.Now().UnixNano()
	}
	r.heardMu.Unlock()
	select {
	case r.recvc <- m:
		return nil
	default:
	}
	t := time.NewTimer(time.Second) // the loop is behind: wait a little, then drop (Raft resends)
	defer t.Stop()
	select {
	case r.recvc <- m:
	case <-t.C:
	case <-r.done:
		return ErrStopped
	}
	return nil
}

// step passes a peer's message to the raft node. A message the node
// refuses (a local message type from the network, an answer from a peer
// it does not track) is dropped, as a raft.Node drops it.
func (r *Replica) step(m *pb.Message) {
	if err := r.rn.Step(m); err != nil && !errors.Is(err, raft.ErrStepLocalMsg) && !errors.Is(err, raft.ErrStepPeerNotFound) {
		r.log.Debug("a raft message is not taken", "from", m.GetFrom(), "error", err.Error())
	}
}

// loopBatch bounds the messages and calls the loop takes before it
// handles the raft node's Ready (so that one Ready carries them all).
const loopBatch = 256

// run is the loop: it owns the raft node, the storage and the directory.
func (r *Replica) run() {
	defer close(r.done)
	t := time.NewTicker(r.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			r.rn.Tick()
		case m := <-r.recvc:
			r.step(m)
		case f := <-r.calls:
			f()
		case <-r.stop:
			return
		}
	more:
		for i := 0; i < loopBatch; i++ {
			select {
			case m := <-r.recvc:
				r.step(m)
			case f := <-r.calls:
				f()
			default:
				break more
			}
		}
		for r.rn.HasReady() {
			rd := r.rn.Ready()
			if err := r.handle(rd); err != nil {
				r.log.Error("the directory replica stops", "error", err.Error())
				return
			}
			r.rn.Advance(rd)
			if r.alone && r.applied > 0 { // no need to wait an election timeout for a vote of one
				r.alone = false
				r.rn.Campaign()
			}
		}
	}
}

// handle processes one Ready in the order Raft requires: persist, send,
// apply.
func (r *Replica) handle(rd raft.Ready) error {
	if rd.SoftState != nil && rd.SoftState.Lead != r.leader.Load() {
		switch rd.SoftState.Lead {
		case r.cfg.ID:
			r.leaderSince.Store(time.Now().UnixNano())
		case 0:
			r.lostSince.Store(time.Now().UnixNano())
		}
		r.leader.Store(rd.SoftState.Lead)
		if r.cfg.OnLeader != nil {
			r.cfg.OnLeader(rd.SoftState.Lead)
		}
	}
	if rd.Snapshot != nil && !raft.IsEmptySnap(rd.Snapshot) {
		if err := r.storage.ApplySnapshot(rd.Snapshot); err != nil {
			return fmt.Errorf("store a snapshot: %w", err)
		}
		if err := r.restore(rd.Snapshot); err != nil {
			return err
		}
	}
	if rd.HardState != nil && !raft.IsEmptyHardState(rd.HardState) {
		if err := r.storage.SetHardState(rd.HardState); err != nil {
			return fmt.Errorf("store the hard state: %w", err)
		}
	}
	if err := r.storage.Append(rd.Entries); err != nil {
		return fmt.Errorf("store log entries: %w", err)
	}
	for _, m := range rd.Messages {
		r.send(m)
	}
	for _, e := range rd.CommittedEntries {
		r.apply(e)
	}
	return r.maybeSnapshot()
}

// send marshals m and hands it to the transport.
func (r *Replica) send(m *pb.Message) {
	to := m.GetTo()
	data, err := proto.Marshal(m)
	if err != nil {
		r.log.Warn("a raft message does not encode", "to", to, "error", err.Error())
		return
	}
	err = r.cfg.Transport.Send(to, data)
	if err != nil {
		r.rn.ReportUnreachable(to)
	}
	if m.GetType() == pb.MsgSnap {
		status := raft.SnapshotFinish
		if err != nil {
			status = raft.SnapshotFailure
		}
		r.rn.ReportSnapshot(to, status)
	}
}

// apply applies a committed entry to the directory and answers its
// proposer, if that is this replica.
func (r *Replica) apply(e *pb.Entry) {
	r.applied = e.GetIndex()
	switch e.GetType() {
	case pb.EntryNormal:
		data := e.GetData()
		if len(data) < 16 { // a new leader's empty entry
			return
		}
		proposer, seq := binary.BigEndian.Uint64(data), binary.BigEndian.Uint64(data[8:])
		var c Command
		var o outcome
		if err := json.Unmarshal(data[16:], &c); err != nil {
			o.err = fmt.Errorf("decode a directory command: %w", err)
		} else {
			r.mu.Lock()
			o.res, o.err = r.dir.apply(c)
			r.mu.Unlock()
		}
		if proposer == r.cfg.ID {
			r.mu.RLock()
			w := r.waits[seq]
			r.mu.RUnlock()
			if w != nil {
				w <- o // buffered, one send per proposal
			}
		}
	case pb.EntryConfChange:
		cc := &pb.ConfChange{}
		if err := proto.Unmarshal(e.GetData(), cc); err != nil {
			r.log.Error("a membership change does not decode", "error", err.Error())
			return
		}
		r.applyMembers(cc.AsV2(), r.rn.ApplyConfChange(cc))
	case pb.EntryConfChangeV2:
		cc := &pb.ConfChangeV2{}
		if err := proto.Unmarshal(e.GetData(), cc); err != nil {
			r.log.Error("a membership change does not decode", "error", err.Error())
			return
		}
		r.applyMembers(cc, r.rn.ApplyConfChange(cc))
	}
}

// applyMembers records an applied membership change: the voters, whether
// the group is in a joint configuration, and the members with their
// context (kept for a member that only changes its part).
func (r *Replica) applyMembers(cc *pb.ConfChangeV2, cs *pb.ConfState) {
	r.confState = cs
	r.mu.Lock()
	defer r.mu.Unlock()
	r.voters = slices.Sorted(slices.Values(cs.GetVoters()))
	r.outgoing = slices.Clone(cs.GetVotersOutgoing())
	r.joint = len(r.outgoing) > 0
	for _, c := range cc.GetChanges() {
		id := c.GetNodeId()
		switch c.GetType() {
		case pb.ConfChangeAddNode, pb.ConfChangeAddLearnerNode:
			if _, in := r.dir.Members[id]; !in || len(cc.GetContext()) > 0 {
				r.dir.Members[id] = string(cc.GetContext())
			}
		case pb.ConfChangeRemoveNode:
			delete(r.dir.Members, id)
			r.dir.Removed[id] = true
		}
	}
}

// restore replaces the directory with a snapshot's.
func (r *Replica) restore(s *pb.Snapshot) error {
	r.mu.Lock()
	err := r.dir.restore(s.GetData())
	r.mu.Unlock()
	if err != nil {
		return err
	}
	md := s.GetMetadata()
	r.confState = md.GetConfState()
	r.mu.Lock()
	r.voters = slices.Sorted(slices.Values(r.confState.GetVoters()))
	r.outgoing = slices.Clone(r.confState.GetVotersOutgoing())
	r.joint = len(r.outgoing) > 0
	r.mu.Unlock()
	r.applied, r.snapIndex = md.GetIndex(), md.GetIndex()
	return nil
}

// snapshotKeep is how many entries stay in the log behind a snapshot, so
// that a follower a little behind catches up from the log.
const snapshotKeep = 256

// maybeSnapshot takes a snapshot and compacts the log every SnapshotEvery
// applied entries.
func (r *Replica) maybeSnapshot() error {
	if r.applied-r.snapIndex < r.cfg.SnapshotEvery {
		return nil
	}
	r.mu.RLock()
	data, err := r.dir.marshal()
	r.mu.RUnlock()
	if err != nil {
		return fmt.Errorf("encode a snapshot: %w", err)
	}
	if _, err := r.storage.CreateSnapshot(r.applied, r.confState, data); err != nil {
		if errors.Is(err, raft.ErrSnapOutOfDate) {
			return nil
		}
		return fmt.Errorf("take a snapshot: %w", err)
	}
	r.snapIndex = r.applied
	if r.applied > snapshotKeep {
		if err := r.storage.Compact(r.applied - snapshotKeep); err != nil && !errors.Is(err, raft.ErrCompacted) {
			return fmt.Errorf("compact the log: %w", err)
		}
	}
	return nil
}

// LogSize returns the number of entries the replica keeps in its log (for
// tests of the bound).
func (r *Replica) LogSize() (uint64, error) {
	first, err := r.storage.FirstIndex()
	if err != nil {
		return 0, err
	}
	last, err := r.storage.LastIndex()
	if err != nil {
		return 0, err
	}
	return last - first + 1, nil
}

// raftLogger writes the Raft library's log through slog: its debug and
// info lines at debug level (elections are logged by the system itself).
type raftLogger struct{ l *slog.Logger }

func (g raftLogger) Debug(v ...any)              { g.l.Debug(fmt.Sprint(v...)) }
func (g raftLogger) Debugf(f string, v ...any)   { g.l.Debug(fmt.Sprintf(f, v...)) }
func (g raftLogger) Info(v ...any)               { g.l.Debug(fmt.Sprint(v...)) }
func (g raftLogger) Infof(f string, v ...any)    { g.l.Debug(fmt.Sprintf(f, v...)) }
func (g raftLogger) Warning(v ...any)            { g.l.Warn(fmt.Sprint(v...)) }
func (g raftLogger) Warningf(f string, v ...any) { g.l.Warn(fmt.Sprintf(f, v...)) }
func (g raftLogger) Error(v ...any)              { g.l.Error(fmt.Sprint(v...)) }
func (g raftLogger) Errorf(f string, v ...any)   { g.l.Error(fmt.Sprintf(f, v...)) }
func (g raftLogger) Fatal(v ...any)              { g.l.Error(fmt.Sprint(v...)); panic(fmt.Sprint(v...)) }
func (g raftLogger) Fatalf(f string, v ...any) {
	g.l.Error(fmt.Sprintf(f, v...))
	panic(fmt.Sprintf(f, v...))
}
func (g raftLogger) Panic(v ...any)            { panic(fmt.Sprint(v...)) }
func (g raftLogger) Panicf(f string, v ...any) { panic(fmt.Sprintf(f, v...)) }

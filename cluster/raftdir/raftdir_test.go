package raftdir_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/peacepie/peacepie/cluster/raftdir"
	"github.com/peacepie/peacepie/host"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// memNet connects replicas in memory: each direction of each pair has a
// queue with a goroutine that delivers it (as a link's reader does), and
// a cut direction drops what is sent on it.
type memNet struct {
	mu     sync.Mutex
	reps   map[uint64]*raftdir.Replica
	cut    map[[2]uint64]bool
	queues map[[2]uint64]chan []byte
	closed bool
}

var errUnreachable = errors.New("unreachable")

func newMemNet(t testing.TB) *memNet {
	n := &memNet{reps: map[uint64]*raftdir.Replica{}, cut: map[[2]uint64]bool{}, queues: map[[2]uint64]chan []byte{}}
	t.Cleanup(n.close)
	return n
}

type memTransport struct {
	n    *memNet
	from uint64
}

func (t memTransport) Send(to uint64, data []byte) error {
	n := t.n
	key := [2]uint64{t.from, to}
	n.mu.Lock()
	if n.closed || n.cut[key] || n.reps[to] == nil {
		n.mu.Unlock()
		return errUnreachable
	}
	q := n.queues[key]
	if q == nil {
		q = make(chan []byte, 1024)
		n.queues[key] = q
		go n.deliver(key, q)
	}
	select { // under n.mu: close may not close q meanwhile
	case q <- data:
	default: // full: dropped, as a lossy network would (Raft resends)
	}
	n.mu.Unlock()
	return nil
}

func (n *memNet) deliver(key [2]uint64, q chan []byte) {
	for data := range q {
		n.mu.Lock()
		r, cut := n.reps[key[1]], n.cut[key]
		n.mu.Unlock()
		if r != nil && !cut {
			r.Receive(key[0], data)
		}
	}
}

func (n *memNet) close() {
	n.mu.Lock()
	reps := n.reps
	n.reps = map[uint64]*raftdir.Replica{}
	n.closed = true
	for _, q := range n.queues {
		close(q)
	}
	n.mu.Unlock()
	for _, r := range reps {
		r.Stop()
	}
}

// start starts a replica of id on host name (peers: a new group; nil:
// joins).
func (n *memNet) start(t testing.TB, id uint64, hostName string, peers map[uint64]string, snapshotEvery uint64) *raftdir.Replica {
	t.Helper()
	r, err := raftdir.Start(raftdir.Config{ID: id, Host: hostName, Peers: peers, Transport: memTransport{n, id},
		Tick: 20 * time.Millisecond, SnapshotEvery: snapshotEvery, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	n.mu.Lock()
	n.reps[id] = r
	n.mu.Unlock()
	return r
}

// kill stops a replica and takes it off the network.
func (n *memNet) kill(id uint64) {
	n.mu.Lock()
	r := n.reps[id]
	delete(n.reps, id)
	n.mu.Unlock()
	if r != nil {
		r.Stop()
	}
}

// isolate cuts (or, with heal, restores) every link between id and the
// others.
func (n *memNet) isolate(id uint64, on bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for other := range n.reps {
		if other != id {
			n.cut[[2]uint64{id, other}] = on
			n.cut[[2]uint64{other, id}] = on
		}
	}
}

func threeHosts() map[uint64]string { return map[uint64]string{1: "a", 2: "b", 3: "c"} }

func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 20 s: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// leaderOf waits until every replica of rs knows the same leader, among
// them, and returns it.
func leaderOf(t testing.TB, rs ...*raftdir.Replica) *raftdir.Replica {
	t.Helper()
	var lead *raftdir.Replica
	eventually(t, "one leader that every replica knows", func() bool {
		l := rs[0].Leader()
		lead = nil
		for _, r := range rs {
			if r.Leader() != l {
				return false
			}
			if r.ID() == l {
				lead = r
			}
		}
		return lead != nil
	})
	return lead
}

// propose writes c through r, retrying while the group has no leader or
// does not commit (an election under way).
func propose(t *testing.T, r *raftdir.Replica, c raftdir.Command) (raftdir.Result, error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		res, err := r.Propose(ctx, c)
		cancel()
		if (errors.Is(err, raftdir.ErrNoLeader) || errors.Is(err, raftdir.ErrNotCommitted)) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		return res, err
	}
}

func reserve(name, node string) raftdir.Command {
	return raftdir.Command{Op: raftdir.OpReserve, Name: name, Node: node}
}

func seesName(r *raftdir.Replica, name, node string) func() bool {
	return func() bool { at, ok := r.Lookup(name); return ok && at == node }
}

func TestThreeReplicasAgreeOnNames(t *testing.T) {
	t.Parallel()
	n := newMemNet(t)
	rs := []*raftdir.Replica{n.start(t, 1, "a", threeHosts(), 0), n.start(t, 2, "b", threeHosts(), 0), n.start(t, 3, "c", threeHosts(), 0)}
	lead := leaderOf(t, rs...)
	var follower *raftdir.Replica
	for _, r := range rs {
		if r != lead {
			follower = r
		}
	}
	if _, err := propose(t, follower, reserve("counter", "b.main.admin")); err != nil {
		t.Fatalf("reserve through a follower: %v", err)
	}
	for _, r := range rs {
		eventually(t, fmt.Sprintf("replica %d sees counter in b.main.admin", r.ID()), seesName(r, "counter", "b.main.admin"))
	}
	_, err := propose(t, lead, reserve("counter", "c.main.admin"))
	if !errors.Is(err, host.ErrNameTaken) {
		t.Fatalf("a second reserve of a held name: %v, want ErrNameTaken", err)
	}
	if got := fmt.Sprint(rs[2].Members()); got != "map[1:a 2:b 3:c]" {
		t.Fatalf("members: %s", got)
	}
}

func TestLeaderDeathElectsAnotherThatKeepsTheNames(t *testing.T) {
	t.Parallel()
	n := newMemNet(t)
	rs := []*raftdir.Replica{n.start(t, 1, "a", threeHosts(), 0), n.start(t, 2, "b", threeHosts(), 0), n.start(t, 3, "c", threeHosts(), 0)}
	old := leaderOf(t, rs...)
	if _, err := propose(t, old, reserve("kept", "a.main.admin")); err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		eventually(t, "kept everywhere", seesName(r, "kept", "a.main.admin"))
	}
	n.kill(old.ID())
	var survivors []*raftdir.Replica
	for _, r := range rs {
		if r != old {
			survivors = append(survivors, r)
		}
	}
	lead := leaderOf(t, survivors...)
	if lead == old {
		t.Fatal("the dead replica still leads")
	}
	if _, err := propose(t, survivors[0], reserve("after", "b.main.admin")); err != nil {
		t.Fatalf("write after the leader's death: %v", err)
	}
	for _, r := range survivors {
		eventually(t, "after everywhere", seesName(r, "after", "b.main.admin"))
		eventually(t, "kept survives", seesName(r, "kept", "a.main.admin"))
	}
}

// TestMinorityRefusesWritesAndCatchesUp: a leader cut off from the other
// two loses its leadership; its writes are refused with ErrNoLeader while
// its reads answer; the majority elects another and writes; a name the
// majority took is never owned by the minority's node; healed, the old
// leader follows and catches up.
func TestMinorityRefusesWritesAndCatchesUp(t *testing.T) {
	t.Parallel()
	n := newMemNet(t)
	rs := []*raftdir.Replica{n.start(t, 1, "a", threeHosts(), 0), n.start(t, 2, "b", threeHosts(), 0), n.start(t, 3, "c", threeHosts(), 0)}
	old := leaderOf(t, rs...)
	if _, err := propose(t, old, reserve("before", "a.main.admin")); err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		eventually(t, "before everywhere", seesName(r, "before", "a.main.admin"))
	}
	n.isolate(old.ID(), true)
	var majority []*raftdir.Replica
	for _, r := range rs {
		if r != old {
			majority = append(majority, r)
		}
	}
	eventually(t, "the cut-off leader steps down", func() bool { return old.Leader() == 0 })
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	_, err := old.Propose(ctx, reserve("split", "a.main.admin"))
	cancel()
	if !errors.Is(err, raftdir.ErrNoLeader) {
		t.Fatalf("a write on the minority side: %v, want ErrNoLeader", err)
	}
	if !seesName(old, "before", "a.main.admin")() {
		t.Fatal("the minority side no longer answers reads")
	}
	lead := leaderOf(t, majority...)
	if _, err := propose(t, lead, reserve("split", "b.main.admin")); err != nil {
		t.Fatalf("a write on the majority side: %v", err)
	}
	if _, ok := old.Lookup("split"); ok {
		t.Fatal("the minority sees a name it cannot have been told")
	}
	n.isolate(old.ID(), false)
	eventually(t, "the old leader follows the new one", func() bool { return old.Leader() == lead.ID() })
	eventually(t, "the old leader catches up", seesName(old, "split", "b.main.admin"))
	if _, err := propose(t, old, reserve("split", "a.main.admin")); !errors.Is(err, host.ErrNameTaken) {
		t.Fatalf("after the heal, the name is still unique: %v", err)
	}
}

// TestJoinAndRemoveMembers: a group of one grows to three by AddMember
// (the new replicas start empty and catch up), then loses one by
// RemoveMember and still commits.
func TestJoinAndRemoveMembers(t *testing.T) {
	t.Parallel()
	n := newMemNet(t)
	a := n.start(t, 1, "a", map[uint64]string{1: "a"}, 0)
	eventually(t, "a group of one elects itself", a.IsLeader)
	if _, err := propose(t, a, reserve("first", "a.main.admin")); err != nil {
		t.Fatal(err)
	}
	b := n.start(t, 2, "b", nil, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.AddMember(ctx, 2, "b"); err != nil {
		t.Fatalf("add b: %v", err)
	}
	c := n.start(t, 3, "c", nil, 0)
	if err := a.AddMember(ctx, 3, "c"); err != nil {
		t.Fatalf("add c: %v", err)
	}
	for _, r := range []*raftdir.Replica{b, c} {
		eventually(t, "a joined replica catches up", seesName(r, "first", "a.main.admin"))
	}
	eventually(t, "c knows the members", func() bool { return fmt.Sprint(c.Members()) == "map[1:a 2:b 3:c]" })
	n.kill(2)
	if err := a.RemoveMember(ctx, 2); err != nil {
		t.Fatalf("remove b: %v", err)
	}
	if _, err := propose(t, c, reserve("second", "c.main.admin")); err != nil {
		t.Fatalf("a write after the removal: %v", err)
	}
	eventually(t, "a sees it", seesName(a, "second", "c.main.admin"))
}

// TestSnapshotsBoundTheLogAndCatchUpALaggard: with a snapshot every 50
// entries the log stays short however many writes; a replica cut off
// through 600 of them catches up from a snapshot.
func TestSnapshotsBoundTheLogAndCatchUpALaggard(t *testing.T) {
	t.Parallel()
	n := newMemNet(t)
	rs := []*raftdir.Replica{n.start(t, 1, "a", threeHosts(), 50), n.start(t, 2, "b", threeHosts(), 50), n.start(t, 3, "c", threeHosts(), 50)}
	lead := leaderOf(t, rs...)
	var laggard *raftdir.Replica
	for _, r := range rs {
		if r != lead {
			laggard = r
			break
		}
	}
	n.isolate(laggard.ID(), true)
	const writes = 600
	for i := range writes {
		if _, err := propose(t, lead, reserve(fmt.Sprintf("n%d", i), "a.main.admin")); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	size, err := lead.LogSize()
	if err != nil {
		t.Fatal(err)
	}
	if size > 50+256+10 {
		t.Fatalf("the leader keeps %d log entries after %d writes, want at most a snapshot interval and the kept tail", size, writes)
	}
	n.isolate(laggard.ID(), false)
	eventually(t, "the laggard catches up", func() bool { return len(laggard.Names()) == writes })
	if at, _ := laggard.Lookup("n0"); at != "a.main.admin" {
		t.Fatalf("n0 at %q on the laggard", at)
	}
}

// TestReceiveRefusesWhatItCannotTrust: bytes that are no raft message, a
// message claiming another sender, and an oversized one get an error and
// change nothing.
func TestReceiveRefusesWhatItCannotTrust(t *testing.T) {
	t.Parallel()
	n := newMemNet(t)
	r := n.start(t, 1, "a", map[uint64]string{1: "a"}, 0)
	eventually(t, "leader", r.IsLeader)
	if err := r.Receive(2, []byte("not a raft message \xff\xff\xff")); err == nil {
		t.Fatal("garbage accepted")
	}
	forged, err := proto.Marshal(&pb.Message{Type: pb.MsgHeartbeat.Enum(), From: proto.Uint64(3), To: proto.Uint64(1), Term: proto.Uint64(99)})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Receive(2, forged); err == nil {
		t.Fatal("a message from 3 accepted on 2's link")
	}
	if err := r.Receive(2, make([]byte, raftdir.MaxMessageBytes+1)); err == nil {
		t.Fatal("an oversized message accepted")
	}
	if !r.IsLeader() {
		t.Fatal("a refused message deposed the leader")
	}
}

// TestALearnerDoesNotCountForTheMajority: a group of one voter and a
// learner keeps committing when the learner dies (as a voter it would
// leave no majority), and a promoted learner votes.
func TestALearnerDoesNotCountForTheMajority(t *testing.T) {
	t.Parallel()
	n := newMemNet(t)
	a := n.start(t, 1, "a", map[uint64]string{1: "a"}, 0)
	eventually(t, "a group of one elects itself", a.IsLeader)
	b := n.start(t, 2, "b", nil, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.AddLearner(ctx, 2, "b"); err != nil {
		t.Fatalf("add b as a learner: %v", err)
	}
	if _, err := propose(t, a, reserve("x", "a.main.admin")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the learner gets the log", seesName(b, "x", "a.main.admin"))
	if got := fmt.Sprint(a.Voters()); got != "[1]" {
		t.Fatalf("voters %s, want [1]", got)
	}
	n.kill(2)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if _, err := a.Propose(ctx2, reserve("y", "a.main.admin")); err != nil {
		t.Fatalf("a write with the learner dead: %v", err)
	}
	c := n.start(t, 3, "c", nil, 0)
	if err := a.AddLearner(ctx, 3, "c"); err != nil {
		t.Fatal(err)
	}
	if err := a.PromoteMember(ctx, 3); err != nil {
		t.Fatalf("promote c: %v", err)
	}
	eventually(t, "c votes", func() bool { return fmt.Sprint(c.Voters()) == "[1 3]" })
	if c.Members()[3] != "c" {
		t.Fatalf("c's context after the promotion: %q", c.Members()[3])
	}
}

// TestReconfigureInOneStep: two learners become voters together (never a
// group of two voters), one dies and the group still commits; the dead one
// is removed and the other demoted in one step, after which the first
// commits alone even when the demoted one dies too.
func TestReconfigureInOneStep(t *testing.T) {
	t.Parallel()
	n := newMemNet(t)
	a := n.start(t, 1, "a", map[uint64]string{1: "a"}, 0)
	eventually(t, "a group of one elects itself", a.IsLeader)
	n.start(t, 2, "b", nil, 0)
	c := n.start(t, 3, "c", nil, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for id, name := range map[uint64]string{2: "b", 3: "c"} {
		if err := a.AddLearner(ctx, id, name); err != nil {
			t.Fatalf("add %s: %v", name, err)
		}
	}
	if err := a.Reconfigure(ctx, []uint64{2, 3}, nil, nil); err != nil {
		t.Fatalf("promote both: %v", err)
	}
	if got := fmt.Sprint(a.Voters()); got != "[1 2 3]" {
		t.Fatalf("voters %s", got)
	}
	n.kill(2)
	if _, err := propose(t, a, reserve("x", "a.main.admin")); err != nil {
		t.Fatalf("a write with one voter of three dead: %v", err)
	}
	if err := a.Reconfigure(ctx, nil, []uint64{3}, []uint64{2}); err != nil {
		t.Fatalf("remove b and demote c: %v", err)
	}
	if got := fmt.Sprint(a.Voters()); got != "[1]" || c.Members()[3] != "c" {
		t.Fatalf("voters %s, c's context %q", got, c.Members()[3])
	}
	n.kill(3)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if _, err := a.Propose(ctx2, reserve("y", "a.main.admin")); err != nil {
		t.Fatalf("a write by the only voter: %v", err)
	}
}

// TestInTouchLapsesBeforeAnotherLeadsLong: every replica of a healthy
// group is in touch; a leader cut off from the others loses touch before
// another replica has led for 1.5 election timeouts (when a survivor
// takes over the root's role), so the two never write at once.
func TestInTouchLapsesBeforeAnotherLeadsLong(t *testing.T) {
	t.Parallel()
	n := newMemNet(t)
	rs := []*raftdir.Replica{n.start(t, 1, "a", threeHosts(), 0), n.start(t, 2, "b", threeHosts(), 0), n.start(t, 3, "c", threeHosts(), 0)}
	old := leaderOf(t, rs...)
	eventually(t, "every replica in touch", func() bool {
		for _, r := range rs {
			if !r.InTouch() {
				return false
			}
		}
		return true
	})
	n.isolate(old.ID(), true)
	takeover := old.ElectionTimeout() * 3 / 2
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, r := range rs {
			if r != old && r.LeaderFor() >= takeover {
				if old.InTouch() {
					t.Fatalf("replica %d has led for %s while the cut-off old leader is still in touch", r.ID(), r.LeaderFor())
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no other replica led for 1.5 election timeouts")
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkPropose: a directory write committed by three replicas in one
// process (the transport a channel): the consensus's own cost, without
// links and without other processes to wake.
func BenchmarkPropose(b *testing.B) {
	n := newMemNet(b)
	rs := []*raftdir.Replica{n.start(b, 1, "a", threeHosts(), 0), n.start(b, 2, "b", threeHosts(), 0), n.start(b, 3, "c", threeHosts(), 0)}
	lead := leaderOf(b, rs...)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if _, err := lead.Propose(ctx, reserve(fmt.Sprint("n", i), "a.main.admin")); err != nil {
			b.Fatal(err)
		}
		cancel()
	}
}

// TestNewVotersDoNotCutTheLeaderOff: while the group enters a
// configuration with two new voters (a joint one: an election needs a
// majority of the old voters and of the new), the leader that alone was
// the old configuration is in touch although it has never heard the new
// voters (a root that refused writes there refused the first create after
// two hosts joined it).
func TestNewVotersDoNotCutTheLeaderOff(t *testing.T) {
	t.Parallel()
	n := newMemNet(t)
	a := n.start(t, 1, "a", map[uint64]string{1: "a"}, 0)
	eventually(t, "a group of one elects itself", a.IsLeader)
	n.start(t, 2, "b", nil, 0)
	n.start(t, 3, "c", nil, 0)
	n.isolate(1, true) // never heard: the group cannot leave the joint configuration
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for id, name := range map[uint64]string{2: "b", 3: "c"} {
		if err := a.AddLearner(ctx, id, name); err != nil { // a learner does not vote: committed alone
			t.Fatalf("add %s: %v", name, err)
		}
	}
	go a.Reconfigure(ctx, []uint64{2, 3}, nil, nil)
	var inTouch bool
	eventually(t, "the group enters the joint configuration", func() bool {
		if !a.IsLeader() || !a.Joint() || fmt.Sprint(a.Voters()) != "[1 2 3]" {
			return false
		}
		inTouch = a.InTouch()
		return true
	})
	if !inTouch {
		t.Fatal("the leader, the old configuration's only voter, is not in touch in the joint configuration")
	}
}

package cluster_test

import (
	"fmt"
	"testing"

	"github.com/peacepie/peacepie/cluster"
	"github.com/peacepie/peacepie/cluster/clustertest"
	"github.com/peacepie/peacepie/host"
)

// moveOutSystem starts three hosts with a child each on the second and
// third, and a Sequence "mover" in the second's child that has counted 50
// messages; it returns once the directory is on three voters.
func moveOutSystem(t *testing.T) (s, second, third *clustertest.System) {
	s = clustertest.Start(t, clustertest.Options{})
	second = s.Join(t, clustertest.Options{Host: "second", Children: 1})
	third = s.Join(t, clustertest.Options{Host: "third", Children: 1})
	s.CreateActor(t, second.Children[0], "mover", "peacepie_std", "Sequence", "")
	for n := 1; n <= 50; n++ {
		second.AskFrom(t, second.Children[0], "mover", "next", host.Object{{Key: "n", Value: int64(n)}})
	}
	s.Eventually(t, "three voters with the mover's name", func() bool {
		return stableVoters(s, second, third) == 3 && third.Head.Replica().Names()["mover"] == second.Children[0]
	})
	return s, second, third
}

// moverState asks the mover's state from node of sys: last and errors.
func moverState(t *testing.T, sys *clustertest.System, node string) string {
	r := sys.AskFrom(t, node, "mover", "state", nil)
	return r.Command + " " + describeValue(r.Body)
}

// onlyIn checks that the mover lives in node and nowhere else.
func onlyIn(t *testing.T, node string, hosts ...*clustertest.System) bool {
	var where []string
	for _, h := range hosts {
		w, err := h.Where("mover")
		if err != nil {
			t.Fatal(err)
		}
		if w != "" {
			where = append(where, w)
		}
	}
	if len(where) > 1 {
		t.Fatalf("the mover lives in two processes: %v", where)
	}
	return len(where) == 1 && where[0] == node
}

// TestAMoveOutlivesItsRoot: the root dies in the middle of a move, after
// the old process gave the actor up and the new one adopted it, before it
// was activated there. The old process makes it again from the copy it
// kept, with its state; the new one drops its hidden copy; the new root's
// directory finds it; it goes on counting. Without the copy the actor was
// lost with the root.
func TestAMoveOutlivesItsRoot(t *testing.T) {
	s, second, third := moveOutSystem(t)
	from, to := second.Children[0], third.Children[0]
	hold := third.Hold(t, to, `"command":"adopted"`) // the root never hears that it was adopted
	go s.Move("mover", to)                           //nolint:errcheck // the root dies under it
	hold.Wait(t)
	if n := second.Process(from).MovesOut(); n != 1 {
		t.Fatalf("the old process keeps %d copies of moves, want 1", n)
	}
	s.Crash(t)
	hold.Release()

	s.Eventually(t, "a survivor to head the system", func() bool { return second.Head.IsRoot() || third.Head.IsRoot() })
	s.Eventually(t, "the mover to live again in "+from+" alone", func() bool { return onlyIn(t, from, second, third) })
	want := `state {"errors":0,"last":50}`
	for _, sys := range []*clustertest.System{second, third} {
		s.Eventually(t, "the mover's state from "+sys.Children[0], func() bool { return moverState(t, sys, sys.Children[0]) == want })
	}
	third.AskFrom(t, to, "mover", "next", host.Object{{Key: "n", Value: int64(51)}})
	if got := moverState(t, third, to); got != `state {"errors":0,"last":51}` {
		t.Fatalf("after one more: %s", got)
	}
	if n := second.Process(from).MovesOut(); n != 0 {
		t.Fatalf("the old process still keeps %d copies of moves", n)
	}
}

// TestAMoveDoneBeforeItsRootDied: the root activated the mover in its new
// process and died before the old one heard that the move was done. The
// old process asks the new one, which has it: it drops its copy, and the
// actor is not made twice.
func TestAMoveDoneBeforeItsRootDied(t *testing.T) {
	cluster.SkipMoveDone(true)
	t.Cleanup(func() { cluster.SkipMoveDone(false) })
	s, second, third := moveOutSystem(t)
	from, to := second.Children[0], third.Children[0]
	if err := s.Move("mover", to); err != nil {
		t.Fatal(err)
	}
	if n := second.Process(from).MovesOut(); n != 1 {
		t.Fatalf("the old process keeps %d copies of moves, want 1", n)
	}
	s.Crash(t)

	s.Eventually(t, "the old process to drop its copy", func() bool { return second.Process(from).MovesOut() == 0 })
	if !onlyIn(t, to, second, third) {
		t.Fatalf("the mover is not in %s", to)
	}
	want := `state {"errors":0,"last":50}`
	for _, sys := range []*clustertest.System{second, third} {
		s.Eventually(t, fmt.Sprintf("the mover's state from %s", sys.Children[0]), func() bool { return moverState(t, sys, sys.Children[0]) == want })
	}
}

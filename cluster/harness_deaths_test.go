package cluster_test

import (
	"testing"

	"github.com/peacepie/peacepie/cluster/clustertest"
)

// moveAsync starts a move and returns where its error will come.
func moveAsync(s *clustertest.System, name, to string) <-chan error {
	done := make(chan error, 1)
	go func() { done <- s.Move(name, to) }()
	return done
}

// seqAnswers: seq answers state, from the head and from node, and has seen
// no error.
func seqAnswers(t *testing.T, s *clustertest.System, from string) {
	t.Helper()
	if _, errors := seqState(t, s, "seq"); errors != 0 {
		t.Fatalf("seq saw %d errors", errors)
	}
	if r := s.AskFrom(t, from, "seq", "state", nil); r.Command != "state" {
		t.Fatalf("seq asked from %s: %s %v", from, r.Command, r.Body)
	}
}

// TestHarnessDestinationDiesInMove: the process an actor moves to dies
// after it adopted the actor, before the head heard: the move fails and
// the actor goes back where it was, once, with the messages held meanwhile.
func TestHarnessDestinationDiesInMove(t *testing.T) {
	s := clustertest.Start(t, clustertest.Options{Children: 3})
	c := s.Children
	s.CreateActor(t, c[0], "seq", "peacepie_std", "Sequence", "")
	s.CreateActor(t, c[2], "pump", "peacepie_std", "Pump", "")
	s.Ask(t, "pump", "send", clustertest.JSON(t, `{"to": "seq", "command": "next", "n": 100}`))
	hold := s.Hold(t, c[1], `"command":"adopted"`)
	done := moveAsync(s, "seq", c[1])
	hold.Wait(t)
	// Held by the head while it moves.
	s.Ask(t, "pump", "send", clustertest.JSON(t, `{"to": "seq", "command": "next", "n": 100, "from": 101}`))
	s.Kill(t, c[1])
	err := <-done
	if err == nil {
		t.Fatal("the move to a process that died succeeded")
	}
	t.Logf("the move failed: %v", err)
	s.Eventually(t, "seq to be back in "+c[0], func() bool {
		where, err := s.Where("seq")
		if err != nil {
			t.Fatal(err)
		}
		return where == c[0]
	})
	s.Eventually(t, "seq to count to 200", func() bool { last, _ := seqState(t, s, "seq"); return last == 200 })
	seqAnswers(t, s, c[2])
}

// TestHarnessSourceDiesInMove: the process an actor moves from dies
// before it gave the actor out: the actor dies with it. The move fails
// with the reason, the name is free, and nobody routes to the dead place.
func TestHarnessSourceDiesInMove(t *testing.T) {
	s := clustertest.Start(t, clustertest.Options{Children: 3})
	c := s.Children
	s.CreateActor(t, c[0], "seq", "peacepie_std", "Sequence", "")
	hold := s.Hold(t, c[0], `"command":"moved_out"`)
	done := moveAsync(s, "seq", c[1])
	hold.Wait(t)
	s.Kill(t, c[0])
	err := <-done
	if err == nil {
		t.Fatal("the move out of a process that died succeeded")
	}
	t.Logf("the move failed: %v", err)
	if where, err := s.Where("seq"); where != "" || err != nil {
		t.Fatalf("seq lives in %q (%v), after its process died", where, err)
	}
	// Asked from each living child: the head's process_gone, which fails
	// the asks waiting for seq there, comes before the answer on the link.
	for _, from := range c[1:] {
		s.Eventually(t, "seq to be unknown in "+from, func() bool {
			return s.AskFrom(t, from, "seq", "state", nil).Command == "actor_is_not_found"
		})
	}
	// The name is free again.
	s.CreateActor(t, c[2], "seq", "peacepie_std", "Sequence", "")
	seqAnswers(t, s, c[1])
}

// TestHarnessSourceDiesAfterMoveOut: the process an actor moves from dies
// once it gave the actor out, while the destination adopts it: the move
// ends there, and the old process's death does not take the name away.
func TestHarnessSourceDiesAfterMoveOut(t *testing.T) {
	s := clustertest.Start(t, clustertest.Options{Children: 3})
	c := s.Children
	s.CreateActor(t, c[0], "seq", "peacepie_std", "Sequence", "")
	s.CreateActor(t, c[2], "pump", "peacepie_std", "Pump", "")
	s.Ask(t, "pump", "send", clustertest.JSON(t, `{"to": "seq", "command": "next", "n": 100}`))
	hold := s.Hold(t, c[1], `"command":"adopted"`)
	done := moveAsync(s, "seq", c[1])
	hold.Wait(t)
	s.Kill(t, c[0])
	s.Eventually(t, "the head to hear that "+c[0]+" is gone", func() bool {
		for _, n := range s.Head.Nodes() {
			if n.String("node") == c[0] {
				return false
			}
		}
		return true
	})
	s.Ask(t, "pump", "send", clustertest.JSON(t, `{"to": "seq", "command": "next", "n": 100, "from": 101}`))
	hold.Release()
	if err := <-done; err != nil {
		t.Fatalf("the move failed: %v", err)
	}
	s.Eventually(t, "seq to live in "+c[1], func() bool {
		where, err := s.Where("seq")
		if err != nil {
			t.Fatal(err)
		}
		return where == c[1]
	})
	s.Eventually(t, "seq to count to 200", func() bool { last, _ := seqState(t, s, "seq"); return last == 200 })
	seqAnswers(t, s, c[2])
}

package cluster_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/peacepie/peacepie/cluster/clustertest"
	"github.com/peacepie/peacepie/host"
)

// seqState is the Sequence's {last, errors}.
func seqState(t *testing.T, s *clustertest.System, name string) (last, errors int64) {
	t.Helper()
	r := s.Ask(t, name, "state", nil)
	o, ok := r.Body.(host.Object)
	if r.Command != "state" || !ok {
		t.Fatalf("state of %s: %s %v", name, r.Command, r.Body)
	}
	l, _ := o.Get("last")
	e, _ := o.Get("errors")
	li, _ := l.(int64)
	ei, _ := e.(int64)
	return li, ei
}

// streamWhileMoving has a Pump in the process from stream batches of
// numbered "next" to the Sequence seq, total in all, while seq moves
// round nodes (at least minMoves times, and on until the stream ended);
// then every number must have arrived once, in order.
func streamWhileMoving(t *testing.T, s *clustertest.System, from string, nodes []string, total, batch, minMoves int, track bool) {
	t.Helper()
	streamWhileMovingOn(t, s, []*clustertest.System{s}, from, nodes, total, batch, minMoves, track)
}

// streamWhileMovingOn is streamWhileMoving where nodes are processes of
// the hosts on (s, and hosts that joined it).
func streamWhileMovingOn(t *testing.T, s *clustertest.System, on []*clustertest.System, from string, nodes []string, total, batch, minMoves int, track bool) {
	t.Helper()
	pkg, class := "peacepie_std", "Sequence"
	if track {
		pkg, class = "diag", "Track" // it logs what went wrong (the system needs diagPkg)
	}
	s.CreateActor(t, nodes[0], "seq", pkg, class, "")
	s.CreateActor(t, from, "pump", "peacepie_std", "Pump", "")
	var streamed atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	errs := make(chan error, 1)
	go func() {
		defer wg.Done()
		defer streamed.Store(true)
		for n := 1; n <= total; n += batch {
			r := s.Ask(t, "pump", "send", clustertest.JSON(t, fmt.Sprintf(`{"to": "seq", "command": "next", "n": %d, "from": %d}`, batch, n)))
			if r.Command != "sent" {
				errs <- fmt.Errorf("pump send from %d: %s %v", n, r.Command, r.Body)
				return
			}
		}
	}()
	moves := 0
	for i := 1; moves < minMoves || !streamed.Load(); i++ {
		to := nodes[i%len(nodes)]
		if err := s.Move("seq", to); err != nil {
			t.Fatalf("move %d: %v", moves+1, err)
		}
		moves++
		// The head answered once it sent activate; the child activates it
		// when that arrives.
		s.Eventually(t, fmt.Sprintf("seq to live in %s after move %d", to, moves), func() bool {
			for _, sys := range on {
				where, err := sys.Where("seq")
				if err != nil {
					t.Fatalf("after move %d to %s: %v", moves, to, err)
				}
				if where != "" {
					return where == to
				}
			}
			return false
		})
	}
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	s.Eventually(t, fmt.Sprintf("seq to count to %d", total), func() bool {
		last, _ := seqState(t, s, "seq")
		return last == int64(total)
	})
	if last, errors := seqState(t, s, "seq"); errors != 0 {
		t.Fatalf("after %d moves seq saw %d errors (last %d): %s", moves, errors, last, describeValue(s.Ask(t, "seq", "state", nil).Body))
	}
	t.Logf("%d moves", moves)
}

// TestHarnessStreamAcrossMoves: a Pump in one child streams to a Sequence
// that moves between two other children and the Pump's own process (a
// route flush there): nothing is lost, repeated or reordered.
func TestHarnessStreamAcrossMoves(t *testing.T) {
	s := clustertest.Start(t, clustertest.Options{Children: 3})
	c := s.Children
	streamWhileMoving(t, s, c[0], []string{c[1], c[2], c[0]}, 10000, 250, 12, false)
}

// TestHarnessMovesBackAndForth: the Sequence moves between the sender's
// process and another one, back and forth, many times under traffic.
func TestHarnessMovesBackAndForth(t *testing.T) {
	s := clustertest.Start(t, clustertest.Options{Children: 2})
	c := s.Children
	streamWhileMoving(t, s, c[0], []string{c[1], c[0]}, 20000, 200, 40, false)
}

// TestHarnessStreamAcrossHosts: a second host joins in the test's
// process; the Sequence moves between the hosts' processes (the root's
// children, the other host's main process and its child) while a Pump in
// a child of the root streams to it.
func TestHarnessStreamAcrossHosts(t *testing.T) {
	s := clustertest.Start(t, clustertest.Options{Children: 2})
	second := s.Join(t, clustertest.Options{Host: "second", Children: 1})
	// The root learns of the other host's processes from that host.
	s.Eventually(t, "the root to know the processes of second", func() bool {
		hosts := describeValue(s.Ask(t, s.Main.AdminName(), "get_hosts", nil).Body)
		return strings.Contains(hosts, fmt.Sprintf("%q", second.Main.AdminName())) && strings.Contains(hosts, fmt.Sprintf("%q", second.Children[0]))
	})
	c := s.Children
	total := 6000
	s.CreateActor(t, c[1], "seq", "peacepie_std", "Sequence", "")
	s.CreateActor(t, c[0], "pump", "peacepie_std", "Pump", "")
	nodes := []string{second.Children[0], c[1], second.Main.AdminName(), c[0]}
	done := make(chan host.Message, 1)
	go func() {
		done <- s.Ask(t, "pump", "send", clustertest.JSON(t, fmt.Sprintf(`{"to": "seq", "command": "next", "n": %d}`, total)))
	}()
	moves := 0
	for streaming := true; streaming || moves < 8; moves++ {
		if err := s.Move("seq", nodes[moves%len(nodes)]); err != nil {
			t.Fatalf("move %d: %v", moves+1, err)
		}
		select {
		case r := <-done:
			if r.Command != "sent" {
				t.Fatalf("pump: %s %v", r.Command, r.Body)
			}
			streaming = false
		default:
		}
	}
	s.Eventually(t, fmt.Sprintf("seq to count to %d", total), func() bool {
		last, _ := seqState(t, s, "seq")
		return last == int64(total)
	})
	if last, errors := seqState(t, s, "seq"); errors != 0 {
		t.Fatalf("after %d moves seq saw %d errors (last %d)", moves, errors, last)
	}
	// From the other host's child too.
	if r := second.AskFrom(t, second.Children[0], "seq", "state", nil); r.Command != "state" {
		t.Fatalf("seq asked from %s: %s %v", second.Children[0], r.Command, r.Body)
	}
}

func describeValue(v any) string {
	data, _ := host.MarshalValue(v)
	return string(data)
}

package cluster_test

import (
	"fmt"
	"io/fs"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/peacepie/peacepie/cluster/clustertest"
	"github.com/peacepie/peacepie/internal/testhost"
)

// TestDirectStreamAcrossAFailover: a child of second streams to an actor
// in a child of third on a direct route the root gave; the root's host
// dies. The stream goes on over the route while a survivor takes over,
// nothing lost, repeated or reordered; the holder tells the new root its
// route (route_held), so the new root's moves of the actor take it back
// first and the order holds across them too.
func TestDirectStreamAcrossAFailover(t *testing.T) {
	s := clustertest.Start(t, clustertest.Options{Packages: []fs.FS{diagPkg}})
	second := s.Join(t, clustertest.Options{Host: "second", Children: 1, Packages: []fs.FS{diagPkg}})
	third := s.Join(t, clustertest.Options{Host: "third", Children: 1, Packages: []fs.FS{diagPkg}})
	from, to := second.Children[0], third.Children[0]
	s.Eventually(t, "three voters", func() bool { return stableVoters(s, second, third) == 3 })
	s.CreateActor(t, to, "seq", "diag", "Track", "")
	s.CreateActor(t, from, "pump", "peacepie_std", "Pump", "")
	var mu sync.Mutex
	sent := 0
	pump := func(n int) error {
		mu.Lock()
		defer mu.Unlock()
		r := second.AskFrom(t, from, "pump", "send", clustertest.JSON(t, fmt.Sprintf(`{"to": "seq", "command": "next", "n": %d, "from": %d}`, n, sent+1)))
		if r.Command != "sent" {
			return fmt.Errorf("pump from %d: %s %v", sent+1, r.Command, r.Body)
		}
		sent += n
		return nil
	}
	second.Eventually(t, "a direct route from "+from+" to seq in "+to, func() bool {
		if err := pump(20); err != nil {
			t.Fatal(err)
		}
		return slices.Contains(directRoutes(second, from), "seq")
	})

	// Streaming while the root's host dies and a survivor takes over.
	stream := func() (end func()) {
		stop, errs := make(chan struct{}), make(chan error, 1)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := pump(100); err != nil {
					errs <- err
					return
				}
			}
		}()
		return func() {
			close(stop)
			wg.Wait()
			select {
			case err := <-errs:
				t.Fatal(err)
			default:
			}
		}
	}
	end := stream()
	s.Crash(t)
	var root *clustertest.System
	s.Eventually(t, "a survivor to take over as the root", func() bool {
		for _, h := range []*clustertest.System{second, third} {
			if h.Head.IsRoot() {
				root = h
			}
		}
		return root != nil
	})
	counted := func(what string) {
		// A loaded machine (the race detector, CI) may take long to handle
		// what was streamed: the deadline is generous, the check exact.
		testhost.Eventually(t, time.Minute, what, func() bool {
			mu.Lock()
			want := int64(sent)
			mu.Unlock()
			last, _ := seqState(t, root, "seq")
			return last == want
		})
		if last, errors := seqState(t, root, "seq"); errors != 0 {
			t.Fatalf("%s: seq saw %d errors (last %d): %s", what, errors, last, describeValue(root.Ask(t, "seq", "state", nil).Body))
		}
	}
	s.Eventually(t, "the other survivor to join the new root", func() bool { return stableVoters(second, third) == 2 })
	end()
	counted("the stream across the failover to arrive in order")
	if !slices.Contains(directRoutes(second, from), "seq") {
		t.Fatalf("the direct route to seq did not last the failover: %v", directRoutes(second, from))
	}

	// Moves by the new root, while the stream goes on.
	end = stream()
	for i, node := range []string{third.Main.AdminName(), to, third.Main.AdminName(), to} {
		if err := root.Move("seq", node); err != nil {
			t.Fatalf("move %d: %v", i+1, err)
		}
		s.Eventually(t, fmt.Sprintf("seq to live in %s after move %d", node, i+1), func() bool {
			where, err := third.Where("seq")
			return err == nil && where == node
		})
	}
	end()
	counted("the stream across the new root's moves to arrive in order")
}

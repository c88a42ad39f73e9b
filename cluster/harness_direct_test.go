package cluster_test

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/peacepie/peacepie/cluster/clustertest"
	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/net/link"
)

// directRoutes is the direct routes of the child node.
func directRoutes(s *clustertest.System, node string) []string {
	c := s.Child(node)
	if c == nil || c.Remote() == nil {
		return nil
	}
	return c.Remote().DirectRoutes()
}

// pumpTo has pump send n numbered "next" to seq, from from on.
func pumpTo(t *testing.T, s *clustertest.System, from, n int) {
	t.Helper()
	r := s.Ask(t, "pump", "send", clustertest.JSON(t, fmt.Sprintf(`{"to": "seq", "command": "next", "n": %d, "from": %d}`, n, from)))
	if r.Command != "sent" {
		t.Fatalf("pump: %s %v", r.Command, r.Body)
	}
}

// TestHarnessDirectRoute: a Pump in one child streams to a Sequence in
// another: the child switches to a direct link to its sibling without
// losing the order of what went through the head before, and after a
// move of the Sequence (which takes the route back first) it switches
// again, to the new place.
func TestHarnessDirectRoute(t *testing.T) {
	s := clustertest.Start(t, clustertest.Options{Children: 3, Packages: []fs.FS{diagPkg}})
	c := s.Children
	s.CreateActor(t, c[1], "seq", "diag", "Track", "")
	s.CreateActor(t, c[0], "pump", "peacepie_std", "Pump", "")
	sent := 0
	stream := func(n int) {
		pumpTo(t, s, sent+1, n)
		sent += n
	}
	for _, to := range []string{c[1], c[2]} {
		if where, _ := s.Where("seq"); where != to {
			if err := s.Move("seq", to); err != nil {
				t.Fatal(err)
			}
		}
		s.Eventually(t, "a direct route from "+c[0]+" to seq in "+to, func() bool {
			stream(50)
			return slices.Contains(directRoutes(s, c[0]), "seq")
		})
		stream(2000)
	}
	s.Eventually(t, fmt.Sprintf("seq to count to %d", sent), func() bool {
		last, _ := seqState(t, s, "seq")
		return last == int64(sent)
	})
	if last, errors := seqState(t, s, "seq"); errors != 0 {
		t.Fatalf("seq saw %d errors (last %d): %s", errors, last, describeValue(s.Ask(t, "seq", "state", nil).Body))
	}
}

// TestHarnessStreamAcrossMovesDirect: the Sequence moves between two
// children and back while a Pump in a third streams to it over direct
// routes that the moves take back and give again: nothing is lost,
// repeated or reordered.
func TestHarnessStreamAcrossMovesDirect(t *testing.T) {
	s := clustertest.Start(t, clustertest.Options{Children: 3, Packages: []fs.FS{diagPkg}})
	c := s.Children
	streamWhileMoving(t, s, c[0], []string{c[1], c[2]}, 20000, 500, 16, true)
}

// TestHarnessDirectLinkTakesOnlyActorMessages: a direct link carries
// messages for actors and route_end markers, nothing else. A process that
// is not another child process (a host's main process, the child itself)
// is refused; a child's admin requests and the system's verbs are
// dropped, so a compromised or buggy child cannot remove or move another
// child's actors by its direct link.
func TestHarnessDirectLinkTakesOnlyActorMessages(t *testing.T) {
	s := clustertest.Start(t, clustertest.Options{Children: 1})
	target := s.Children[0]
	s.CreateActor(t, target, "victim", "peacepie_std", "Echo", "")
	s.CreateActor(t, target, "seq", "peacepie_std", "Sequence", "")
	var addr string
	s.Eventually(t, "the child to link", func() bool { return s.Child(target).Remote() != nil })
	addr = s.Child(target).Remote().DirectAddr()
	if addr == "" {
		t.Fatal("the child has no direct address")
	}
	dial := func(node string) (*link.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return link.Dial(ctx, addr, link.Config{Node: node, Secret: []byte(clustertest.Secret), Network: s.Network()})
	}
	for _, stranger := range []string{"first.main.admin", "second.main.admin", target} {
		conn, err := dial(stranger)
		if err != nil {
			continue // refused in the handshake: as good
		}
		done := make(chan error, 1)
		go func() { done <- conn.Run(func([]byte, bool) {}) }()
		select {
		case <-done: // closed by the child
		case <-time.After(10 * time.Second):
			t.Fatalf("a direct link from %s stayed open", stranger)
		}
	}
	conn, err := dial("first.process_7.admin")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close("test over")
	go conn.Run(func([]byte, bool) {})
	for _, m := range []host.Message{
		{Command: "remove_actor", Recipient: host.Address{Node: target}, Body: host.Object{{Key: "name", Value: "victim"}}},
		{System: true, Command: "move_out", Recipient: host.Address{Node: target}, Body: host.Object{{Key: "entity", Value: "victim"}}},
		{System: true, Command: "exit_process", Recipient: host.Address{Node: target}},
		{Command: "next", Recipient: host.Address{Entity: "seq"}, Body: host.Object{{Key: "n", Value: int64(1)}}},
	} {
		m.ID = s.Main.NewMID()
		send := conn.SendAppend
		if m.System { // as a process's system code sends its verbs
			send = conn.SendControl
		}
		if err := send(m.AppendJSON); err != nil {
			t.Fatal(err)
		}
	}
	// The actor message after them arrives: they were read and dropped.
	s.Eventually(t, "seq to get 1 over the direct link", func() bool {
		last, _ := seqState(t, s, "seq")
		return last == 1
	})
	if where, err := s.Where("victim"); err != nil || where != target {
		t.Fatalf("victim: in %q (%v), want %s", where, err, target)
	}
	if r := s.Ask(t, "victim", "echo", nil); r.Command != "echoed" {
		t.Fatalf("victim answers %s %v", r.Command, r.Body)
	}
}

// TestHarnessDirectRouteOnAnotherHost: the children of a host that is not
// the root get direct routes to each other from their own head (for the
// names the root gave it), and a move by the root takes them back first
// (name_gone waits for the markers): a stream from a Pump in one child to
// a Sequence that moves between two others, and to a child of the root
// and back, keeps its order.
func TestHarnessDirectRouteOnAnotherHost(t *testing.T) {
	s := clustertest.Start(t, clustertest.Options{Children: 1, Packages: []fs.FS{diagPkg}})
	second := s.Join(t, clustertest.Options{Host: "second", Children: 3, Packages: []fs.FS{diagPkg}})
	c := second.Children
	s.Eventually(t, "the root to know the processes of second", func() bool {
		hosts := describeValue(s.Ask(t, s.Main.AdminName(), "get_hosts", nil).Body)
		return strings.Contains(hosts, fmt.Sprintf("%q", c[2]))
	})
	s.CreateActor(t, c[1], "seq", "diag", "Track", "")
	s.CreateActor(t, c[0], "pump", "peacepie_std", "Pump", "")
	sent := 0
	second.Eventually(t, "a direct route from "+c[0]+" to seq in "+c[1], func() bool {
		pumpTo(t, s, sent+1, 50)
		sent += 50
		return slices.Contains(directRoutes(second, c[0]), "seq")
	})
	s.Eventually(t, fmt.Sprintf("seq to count to %d", sent), func() bool {
		last, _ := seqState(t, s, "seq")
		return last == int64(sent)
	})
	if _, errors := seqState(t, s, "seq"); errors != 0 {
		t.Fatalf("seq saw %d errors before the moves: %s", errors, describeValue(s.Ask(t, "seq", "state", nil).Body))
	}
	// Again under moves, with fresh actors.
	s.Ask(t, c[1], "remove_actor", clustertest.JSON(t, `{"name": "seq"}`))
	s.Ask(t, c[0], "remove_actor", clustertest.JSON(t, `{"name": "pump"}`))
	s.Eventually(t, "the names to be free", func() bool {
		where, err := second.Where("seq")
		return err == nil && where == ""
	})
	streamWhileMovingOn(t, s, []*clustertest.System{s, second}, c[0], []string{c[1], c[2], c[1], s.Children[0]}, 20000, 500, 12, true)
}

// TestHarnessLateMarkerOfAnEarlierEnd: a holder's marker of an earlier end
// of its route (the actor was removed, nobody waited) that arrives late
// does not count for the wait of a move of an actor made again under the
// name: the move waits for the marker on the holder's new route, behind
// its direct messages (markers carry the id of the wait).
func TestHarnessLateMarkerOfAnEarlierEnd(t *testing.T) {
	s := clustertest.Start(t, clustertest.Options{Children: 3})
	p, n, n2 := s.Children[0], s.Children[1], s.Children[2]
	s.CreateActor(t, n, "seq", "peacepie_std", "Sequence", "")
	s.CreateActor(t, p, "pump", "peacepie_std", "Pump", "")
	routeTo := func(where string) {
		sent := 0
		s.Eventually(t, "a direct route to seq in "+where, func() bool {
			pumpTo(t, s, sent+1, 20)
			sent += 20
			return slices.Contains(directRoutes(s, p), "seq")
		})
	}
	routeTo(n)
	// The removal ends the route without a wait; its marker stays on the
	// link to n.
	stale := s.Hold(t, p, `"command":"route_end"`)
	if r := s.Ask(t, n, "remove_actor", clustertest.JSON(t, `{"name": "seq"}`)); r.Command != "actor_is_removed" {
		t.Fatalf("remove seq: %s %v", r.Command, r.Body)
	}
	stale.Wait(t)
	s.CreateActor(t, n2, "seq", "peacepie_std", "Sequence", "")
	routeTo(n2)
	// The move's wait: its marker held on the link to n2.
	current := s.Hold(t, p, `"command":"route_end"`)
	movedOut := s.Hold(t, n2, `"command":"moved_out"`)
	moved := make(chan error, 1)
	go func() { moved <- s.Move("seq", n) }()
	current.Wait(t)
	// The late marker reaches n, and n tells the head; an ask of n
	// answered after it is the barrier.
	told := s.Hold(t, n, `"command":"route_ended"`)
	stale.Release()
	told.Wait(t)
	told.Release()
	s.Ask(t, n, "get_actors", nil)
	select {
	case <-movedOut.Reached():
		t.Fatal("the move took seq out at the late marker of an earlier end, before the holder's marker on its route")
	case <-time.After(2 * time.Second):
	}
	movedOut.Release()
	current.Release()
	if err := <-moved; err != nil {
		t.Fatal(err)
	}
	s.Eventually(t, "seq to live in "+n, func() bool { // activated when activate arrives
		where, err := s.Where("seq")
		return err == nil && where == n
	})
}

// TestHarnessDirectRouteAcrossHosts: a child of one host gets from the
// root a direct route to an actor in a child of another host (and of the
// root's own host), and the root's moves take it back first: a stream
// from a Pump in a child of second to a Sequence that moves between
// children of three hosts keeps its order, and goes direct between moves.
func TestHarnessDirectRouteAcrossHosts(t *testing.T) {
	s := clustertest.Start(t, clustertest.Options{Children: 1, Packages: []fs.FS{diagPkg}})
	second := s.Join(t, clustertest.Options{Host: "second", Children: 2, Packages: []fs.FS{diagPkg}})
	third := s.Join(t, clustertest.Options{Host: "third", Children: 1, Packages: []fs.FS{diagPkg}})
	all := []*clustertest.System{s, second, third}
	s.Eventually(t, "the root to know every child process", func() bool {
		hosts := describeValue(s.Ask(t, s.Main.AdminName(), "get_hosts", nil).Body)
		return strings.Contains(hosts, fmt.Sprintf("%q", second.Children[1])) && strings.Contains(hosts, fmt.Sprintf("%q", third.Children[0]))
	})
	from := second.Children[0]
	sent := 0
	s.CreateActor(t, third.Children[0], "seq", "diag", "Track", "")
	s.CreateActor(t, from, "pump", "peacepie_std", "Pump", "")
	for i, to := range []string{third.Children[0], s.Children[0]} {
		if i > 0 {
			if err := s.Move("seq", to); err != nil {
				t.Fatal(err)
			}
		}
		second.Eventually(t, "a direct route from "+from+" to seq in "+to, func() bool {
			pumpTo(t, s, sent+1, 50)
			sent += 50
			return slices.Contains(directRoutes(second, from), "seq")
		})
		pumpTo(t, s, sent+1, 2000)
		sent += 2000
	}
	s.Eventually(t, fmt.Sprintf("seq to count to %d", sent), func() bool {
		last, _ := seqState(t, s, "seq")
		return last == int64(sent)
	})
	if last, errors := seqState(t, s, "seq"); errors != 0 {
		t.Fatalf("seq saw %d errors (last %d): %s", errors, last, describeValue(s.Ask(t, "seq", "state", nil).Body))
	}
	// Again under moves, with fresh actors, among the three hosts.
	s.Ask(t, s.Children[0], "remove_actor", clustertest.JSON(t, `{"name": "seq"}`))
	s.Ask(t, from, "remove_actor", clustertest.JSON(t, `{"name": "pump"}`))
	s.Eventually(t, "the names to be free", func() bool {
		for _, sys := range all {
			for _, name := range []string{"seq", "pump"} {
				if where, err := sys.Where(name); err != nil || where != "" {
					return false
				}
			}
		}
		return true
	})
	streamWhileMovingOn(t, s, all, from, []string{third.Children[0], s.Children[0], second.Children[1], third.Children[0]}, 20000, 500, 12, true)
}

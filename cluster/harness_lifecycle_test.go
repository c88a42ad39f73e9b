package cluster_test

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peacepie/peacepie/cluster/clustertest"
	"github.com/peacepie/peacepie/host"
)

// askMain asks recipient from the head's process without failing the
// test (for goroutines): a transport error comes back as err.
func askMain(s *clustertest.System, recipient, command string, body any) (host.Message, error) {
	to, err := host.ParseAddress(recipient)
	if err != nil {
		return host.Message{}, err
	}
	r, err := s.Main.Process.Ask(context.Background(), host.Message{Command: command, Body: body, Recipient: to}, 10*time.Second)
	if err != nil && r.Command == "" {
		return r, fmt.Errorf("ask %s %s: %w", recipient, command, err)
	}
	return r, nil
}

// stream has a Pump send numbered "next" to an actor, batch by batch,
// until Stop: each batch is an ask of the Pump ("send" {n, from}) from
// the head's process.
type stream struct {
	stop, done chan struct{}
	mu         sync.Mutex
	sent       int   // the last number of the batches the Pump answered
	err        error // why the stream ended early
}

func startStream(s *clustertest.System, pump, to string, batch int) *stream {
	st := &stream{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(st.done)
		for from := 1; ; from += batch {
			select {
			case <-st.stop:
				return
			default:
			}
			body := host.Object{{Key: "to", Value: to}, {Key: "command", Value: "next"},
				{Key: "n", Value: int64(batch)}, {Key: "from", Value: int64(from)}}
			r, err := askMain(s, pump, "send", body)
			if err == nil && r.Command != "sent" {
				err = fmt.Errorf("pump send from %d: %s %s", from, r.Command, describeValue(r.Body))
			}
			st.mu.Lock()
			if err != nil {
				st.err = err
				st.mu.Unlock()
				return
			}
			st.sent = from + batch - 1
			st.mu.Unlock()
		}
	}()
	return st
}

// Sent returns the last number sent so far.
func (st *stream) Sent() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.sent
}

// Stop ends the stream and returns the last number sent.
func (st *stream) Stop(t *testing.T) int {
	t.Helper()
	close(st.stop)
	select {
	case <-st.done:
	case <-time.After(15 * time.Second):
		t.Fatal("the stream did not stop: a Pump's send hangs")
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.err != nil {
		t.Fatal(st.err)
	}
	return st.sent
}

// resumeState is a Resume's state asked from node; ok is false when
// another answer came (it is not there).
func resumeState(t *testing.T, s *clustertest.System, from, name string) (o host.Object, ok bool) {
	t.Helper()
	r := s.AskFrom(t, from, name, "state", nil)
	o, ok = r.Body.(host.Object)
	return o, ok && r.Command == "state"
}

func intOf(o host.Object, key string) int {
	v, _ := o.Get(key)
	n, _ := v.(int64)
	return int(n)
}

// restartUnderStream: a Pump in one child streams to a Resume (its
// params noted with set_params) in another child, which is killed and
// restarted; the stream goes on for 500 numbers after seq is back. It
// returns the system, seq's state once it got the last number, and that
// number.
func restartUnderStream(t *testing.T) (s *clustertest.System, state host.Object, last int) {
	t.Helper()
	s = clustertest.Start(t, clustertest.Options{Children: 2, Restart: true, Packages: []fs.FS{diagPkg}})
	c := s.Children
	s.CreateActor(t, c[1], "seq", "diag", "Resume", "")
	if r := s.Ask(t, "seq", "set_params", clustertest.JSON(t, `{"params": {"tag": "noted"}}`)); r.Command != "params_are_set" {
		t.Fatalf("set_params: %s %s", r.Command, describeValue(r.Body))
	}
	// The child sent params_known to the head's admin before it answered;
	// the admin takes its messages in order, so once it answers this one
	// the head has noted the params.
	s.Ask(t, s.Main.AdminName(), "get_hosts", nil)
	s.CreateActor(t, c[0], "pump", "peacepie_std", "Pump", "")
	st := startStream(s, "pump", "seq", 50)
	s.Eventually(t, "seq to get numbers", func() bool {
		o, ok := resumeState(t, s, c[0], "seq")
		return ok && intOf(o, "count") > 0
	})
	old := s.Child(c[1])
	s.Kill(t, c[1])
	s.Eventually(t, c[1]+" to be restarted with seq in it", func() bool {
		if ch := s.Child(c[1]); ch == nil || ch == old {
			return false
		}
		where, err := s.Where("seq")
		return err == nil && where == c[1]
	})
	back := st.Sent()
	s.Eventually(t, "the stream to go on after the restart", func() bool { return st.Sent() >= back+500 })
	last = st.Stop(t)
	s.Eventually(t, fmt.Sprintf("seq to get %d", last), func() bool {
		o, ok := resumeState(t, s, c[0], "seq")
		return ok && intOf(o, "last") == last
	})
	state, _ = resumeState(t, s, c[0], "seq")
	return s, state, last
}

// TestHarnessRestartedChildComesBack: a child killed with restart on
// comes back under its name with its actor made again from its class and
// the params last noted (set_params), and a stream to it from another
// child reaches it again. That what comes after the restart arrives in
// order is TestHarnessRestartedChildResumesStreamInOrder's.
func TestHarnessRestartedChildComesBack(t *testing.T) {
	s, o, last := restartUnderStream(t)
	if o.String("tag") != "noted" || o.String("at") != s.Children[1] {
		t.Fatalf("seq after the restart: %s (want tag noted, at %s)", describeValue(o), s.Children[1])
	}
	if intOf(o, "first") <= 1 || intOf(o, "count") == 0 {
		t.Fatalf("seq after the restart: %s", describeValue(o))
	}
	t.Logf("the restarted seq got %d numbers, %d..%d", intOf(o, "count"), intOf(o, "first"), last)
}

// TestHarnessRemoveProcessUnderStream: remove_process of a child while
// another child sends to one of its actors and asks another: the asks
// are answered at once that the actor is not found (none hangs), the sends
// are dropped, both names are free and can be made in another child at
// once, the stream reaches the new actor there, and no process routes to
// the removed one. (The order of a stream to an actor made under it is
// TestHarnessCreateUnderStreamKeepsOrder's.)
func TestHarnessRemoveProcessUnderStream(t *testing.T) {
	s := clustertest.Start(t, clustertest.Options{Children: 3, Packages: []fs.FS{diagPkg}})
	c := s.Children
	s.CreateActor(t, c[1], "seq", "diag", "Resume", "")
	s.CreateActor(t, c[1], "echo", "peacepie_std", "Echo", "")
	s.CreateActor(t, c[0], "pump", "peacepie_std", "Pump", "")
	s.CreateActor(t, c[0], "asker", "diag", "Asker", "")
	sends := startStream(s, "pump", "seq", 50)

	// The asker asks echo 20 times a round (pp.ask, one after the other);
	// its first reply other than "echoed" fails the round.
	type round struct {
		ok   bool
		text string
		took time.Duration
	}
	rounds := make(chan round, 1000)
	stopAsks := make(chan struct{})
	asksDone := make(chan struct{})
	go func() {
		defer close(asksDone)
		body := host.Object{{Key: "to", Value: "echo"}, {Key: "command", Value: "echo"}, {Key: "want", Value: "echoed"}, {Key: "n", Value: int64(20)}}
		for {
			select {
			case <-stopAsks:
				return
			default:
			}
			began := time.Now()
			r, err := askMain(s, "asker", "ask", body)
			text := fmt.Sprint(err)
			if err == nil {
				text = r.Command + " " + describeValue(r.Body)
			}
			rounds <- round{ok: err == nil && r.Command == "asked", text: text, took: time.Since(began)}
		}
	}()
	next := func() round {
		t.Helper()
		select {
		case r := <-rounds:
			return r
		case <-time.After(15 * time.Second):
			t.Fatal("a round of asks hangs")
			return round{}
		}
	}
	if r := next(); !r.ok {
		t.Fatalf("asks before the removal: %s", r.text)
	}
	s.Eventually(t, "seq to get numbers", func() bool {
		o, ok := resumeState(t, s, c[2], "seq")
		return ok && intOf(o, "count") > 0
	})

	if r := s.Ask(t, s.Main.AdminName(), "remove_process", host.Object{{Key: "node", Value: c[1]}}); r.Command != "process_is_removed" {
		t.Fatalf("remove_process: %s %s", r.Command, describeValue(r.Body))
	}
	// Rounds begun before the removal may have ended either way; the
	// next ones fail, each at once, naming echo.
	for range len(rounds) {
		next()
	}
	next()
	for range 3 {
		r := next()
		if r.ok || !strings.Contains(r.text, "actor_is_not_found") || !strings.Contains(r.text, `"echo"`) || r.took > 5*time.Second {
			t.Fatalf("a round of asks after the removal: ok %v after %s: %s", r.ok, r.took, r.text)
		}
	}
	t.Logf("an ask after the removal: %s", next().text)
	close(stopAsks)
	<-asksDone

	// The names are free: made again in another child while the stream
	// goes on, which reaches the new seq.
	s.CreateActor(t, c[2], "seq", "diag", "Resume", "")
	s.CreateActor(t, c[2], "echo", "peacepie_std", "Echo", "")
	made := sends.Sent()
	s.Eventually(t, "the stream to go on", func() bool { return sends.Sent() >= made+500 })
	last := sends.Stop(t)
	for _, from := range []string{s.Main.AdminName(), c[0], c[2]} {
		s.Eventually(t, fmt.Sprintf("seq to get %d, asked from %s", last, from), func() bool {
			o, ok := resumeState(t, s, from, "seq")
			return ok && intOf(o, "last") == last
		})
	}
	if o, _ := resumeState(t, s, c[0], "seq"); o.String("at") != c[2] {
		t.Fatalf("the new seq: %s (want it at %s)", describeValue(o), c[2])
	}
	r, err := askMain(s, "asker", "ask", host.Object{{Key: "to", Value: "echo"}, {Key: "command", Value: "echo"}, {Key: "want", Value: "echoed"}, {Key: "n", Value: int64(5)}})
	if err != nil || r.Command != "asked" {
		t.Fatalf("asks to the new echo: %v %s %s", err, r.Command, describeValue(r.Body))
	}
	for _, n := range s.Head.Nodes() {
		if n.String("node") == c[1] {
			t.Fatalf("the head lists the removed %s: %s", c[1], describeValue(s.Head.Nodes()))
		}
	}
	if got := s.Head.Locate("seq"); got != c[2] {
		t.Fatalf("the head's directory places seq in %q", got)
	}
	// Its admin is not found, from a child as from the head.
	for _, from := range []string{s.Main.AdminName(), c[0]} {
		r := s.AskFrom(t, from, c[1], "get_actors", nil)
		if o, _ := r.Body.(host.Object); r.Command != "actor_is_not_found" || o.String("entity") != c[1] {
			t.Fatalf("asked %s from %s: %s %s", c[1], from, r.Command, describeValue(r.Body))
		}
	}
}

// TestHarnessHostDiesInMoveIntoIt: an actor moves from the root's child
// into another host, which adopts it and dies before the root hears
// "adopted" (its link to the root, or its child's link to its head, is
// held there). The move fails with an error naming the host's death, and
// the actor goes back where it was with the messages held meanwhile, as
// for a destination process that dies (docs/architecture.md).
func TestHarnessHostDiesInMoveIntoIt(t *testing.T) {
	for _, into := range []string{"main", "child"} {
		t.Run(into, func(t *testing.T) {
			s := clustertest.Start(t, clustertest.Options{Children: 2})
			second := s.Join(t, clustertest.Options{Host: "second", Children: 1})
			if !strings.HasPrefix(second.Head.Addr(), "mem:") {
				t.Fatalf("the hosts link over %s, not memory", second.Head.Addr())
			}
			to := second.Main.AdminName()
			if into == "child" {
				to = second.Children[0]
			}
			s.Eventually(t, "the root to know "+to, func() bool {
				return strings.Contains(describeValue(s.Ask(t, s.Main.AdminName(), "get_hosts", nil).Body), fmt.Sprintf("%q", to))
			})
			c := s.Children
			s.CreateActor(t, c[0], "seq", "peacepie_std", "Sequence", "")
			s.CreateActor(t, c[1], "pump", "peacepie_std", "Pump", "")
			s.Ask(t, "pump", "send", clustertest.JSON(t, `{"to": "seq", "command": "next", "n": 100}`))
			hold := second.Hold(t, to, `"command":"adopted"`)
			done := moveAsync(s, "seq", to)
			hold.Wait(t)
			// Held by the root while it moves.
			s.Ask(t, "pump", "send", clustertest.JSON(t, `{"to": "seq", "command": "next", "n": 100, "from": 101}`))
			second.Crash(t)
			var err error
			select {
			case err = <-done:
			case <-time.After(15 * time.Second):
				t.Fatal("the move into a host that died has no answer")
			}
			if err == nil || !strings.Contains(err.Error(), "host second is gone") {
				t.Fatalf("the move into a host that died: %v", err)
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
			seqAnswers(t, s, c[1])
			if hosts := describeValue(s.Ask(t, s.Main.AdminName(), "get_hosts", nil).Body); !strings.Contains(hosts, `"name":"second","head":false,"state":"gone"`) {
				t.Fatalf("get_hosts after the host died: %s", hosts)
			}
		})
	}
}

package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// childPIDs returns the pids of the processes of a system other than the
// head, from get_processes.
func childPIDs(t *testing.T, ws *wsConn) []int {
	t.Helper()
	a := ws.expect(admin, "get_processes", nil, "processes")
	body, _ := a["body"].(map[string]any)
	list, _ := body["processes"].([]any)
	var pids []int
	for _, p := range list[1:] {
		po, _ := p.(map[string]any)
		if pid, err := strconv.Atoi(fmt.Sprint(po["pid"])); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	return pids
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// TestProcessesWalkthrough drives the second half of the seed README's
// walk-through with real child processes: create_process, actors there
// reached by plain names, admin requests forwarded, a CircleStarter ring
// over three processes, a dancer spliced in from a fourth, and exit
// leaving no process behind.
func TestProcessesWalkthrough(t *testing.T) {
	t.Parallel()
	in := startFresh(t)
	ws := dial(t, in)

	a := ws.expect(admin, "create_process", nil, "process_is_created")
	if node := a.bodyString("node"); node != "first.process_0.admin" {
		t.Fatalf("create_process made %q, want first.process_0.admin", node)
	}
	// An actor in the child, created through its admin, reached by its name.
	ws.expect("first.process_0.admin", "create_actor", createBody("HelloWorld", "hello_world"), "actor_is_created")
	pos := len(in.stdout.String()) - 1
	ws.expect("hello_world", "tick", nil, "hello_world")
	pos = in.waitStdout(t, 10*time.Second, "Hello, World!", pos) - 1
	// Names are unique in the whole system.
	ws.expect(admin, "create_actor", createBody("HelloWorld", "hello_world"), "actor_is_not_created")
	// seek_actor and remove_actor sent to the head are forwarded.
	if f := ws.expect(admin, "seek_actor", raw(`{"entity": "hello_world"}`), "actor_is_found"); f.bodyString("node") != "first.process_0.admin" {
		t.Errorf("seek_actor: %s", f)
	}
	ws.expect(admin, "remove_actor", raw(`{"name": "hello_world"}`), "actor_is_removed")
	ws.expect("hello_world", "tick", nil, "actor_is_not_found")

	// CircleStarter: 3 processes × 2 dancers, and the token visits every
	// dancer in order.
	ws.expect(admin, "create_actor", createBody("CircleStarter", "circle_starter"), "actor_is_created")
	ws.expect("circle_starter", "set_params", raw(`{"params": [{"name": "process_count", "value": 3}, `+
		`{"name": "dancers_per_process", "value": 2}, {"name": "period", "value": 0.2}]}`), "params_are_set")
	ws.expect("circle_starter", "begin", nil, "begun")
	nodes := []string{"first.main.admin", "first.main.admin", "first.process_1.admin", "first.process_1.admin", "first.process_2.admin", "first.process_2.admin"}
	dancer := func(i int) string { return fmt.Sprintf(`CircleDancer "dancer_%02d" from "%s"`, i, nodes[i]) }
	for i := 0; i < 6; i++ {
		pos = in.waitStdout(t, 10*time.Second, dancer(i), pos) - 1
	}
	// A fourth process with dancer_x, spliced in after dancer_05.
	a = ws.expect(admin, "create_process", nil, "process_is_created")
	x := a.bodyString("node")
	ws.expect(x, "create_actor", createBody("CircleDancer", "dancer_x"), "actor_is_created")
	ws.expect("dancer_x", "set_params", raw(`{"params": [{"name": "consumer", "value": "dancer_00"}, {"name": "period", "value": 0.2}]}`), "params_are_set")
	ws.expect("dancer_05", "set_params", raw(`{"params": [{"name": "consumer", "value": "dancer_x"}]}`), "params_are_set")
	in.waitStdout(t, 15*time.Second, fmt.Sprintf(`CircleDancer "dancer_x" from "%s"`, x), pos)

	pids := childPIDs(t, ws)
	if len(pids) != 4 {
		t.Fatalf("get_processes lists %d children, want 4 (process_0 … process_3)", len(pids))
	}
	ws.request("send", "dancer_03", "exit", nil, 0) // exit sent to an actor in a child stops everything
	if code, _ := in.waitExit(t, 10*time.Second); code != 0 {
		t.Errorf("exit code %d", code)
	}
	eventually(t, 10*time.Second, "every child process to exit", func() bool {
		for _, pid := range pids {
			if alive(pid) && !zombie(pid) {
				return false
			}
		}
		return true
	})
}

// zombie reports whether pid has exited but not been reaped (its parent,
// the head, has exited too, so init reaps it soon).
func zombie(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	f := strings.Fields(string(data))
	return len(f) > 2 && f[2] == "Z"
}

// TestChildrenDieWithTheParent: kill -9 of the head leaves no child behind.
func TestChildrenDieWithTheParent(t *testing.T) {
	t.Parallel()
	in := startFresh(t)
	ws := dial(t, in)
	ws.expect(admin, "create_process", nil, "process_is_created")
	ws.expect(admin, "create_process", nil, "process_is_created")
	pids := childPIDs(t, ws)
	if err := in.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	in.waitExit(t, 5*time.Second)
	eventually(t, 10*time.Second, "the children to exit after kill -9 of the parent", func() bool {
		for _, pid := range pids {
			if alive(pid) && !zombie(pid) {
				return false
			}
		}
		return true
	})
}

// TestRemoveProcess: remove_process stops a child; its names are free again.
func TestRemoveProcess(t *testing.T) {
	t.Parallel()
	in := startFresh(t)
	ws := dial(t, in)
	node := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	ws.expect(node, "create_actor", createBody("HelloWorld", "hw"), "actor_is_created")
	pids := childPIDs(t, ws)
	ws.expect(admin, "remove_process", raw(fmt.Sprintf(`{"node": %q}`, node)), "process_is_removed")
	eventually(t, 10*time.Second, "the child to exit", func() bool { return !alive(pids[0]) || zombie(pids[0]) })
	ws.expect("hw", "tick", nil, "actor_is_not_found")
	ws.expect(admin, "create_actor", createBody("HelloWorld", "hw"), "actor_is_created") // the name is free
	ws.expect(admin, "remove_process", raw(`{"node": "first.process_9.admin"}`), "process_is_not_removed")
}

// TestChildKilled: kill -9 of a child during an ask: the ask fails at once
// naming the dead process, the listing shows it gone, its names are free,
// and the rest of the system keeps working.
func TestChildKilled(t *testing.T) {
	t.Parallel()
	in := startFresh(t)
	ws := dial(t, in)
	node := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	ws.expect(node, "create_actor", raw(`{"class_desc": {"requires_dist": "peacepie_example", "class": "CircleDancer"}, "name": "sleepy", "params": {"consumer": "nobody", "period": 30}}`), "actor_is_created")
	ws.request("send", "sleepy", "tick", nil, 0) // sleepy now sleeps 30 s holding its mailbox
	pids := childPIDs(t, ws)

	// An ask that can only end by the child's death: its mailbox is held.
	type result struct {
		a  answer
		at time.Time
	}
	done := make(chan result, 1)
	ws2 := dial(t, in)
	go func() {
		a := ws2.request("ask", "sleepy", "get_params", nil, 20)
		done <- result{a, time.Now()}
	}()
	eventually(t, 10*time.Second, "the ask to wait in sleepy's mailbox", func() bool {
		a := ws.ask(admin, "get_actor", raw(`{"name": "sleepy"}`))
		return strings.Contains(a.String(), `"mailbox":1`)
	})
	killed := time.Now()
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.a.command() != "error" || !strings.Contains(r.a.String(), node) {
			t.Errorf("the ask ended with %s, want an error naming %s", r.a, node)
		}
		t.Logf("the ask failed %s after kill -9", r.at.Sub(killed).Round(time.Millisecond))
		if r.at.Sub(killed) > 5*time.Second {
			t.Errorf("the ask took %s to fail", r.at.Sub(killed))
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the ask to an actor of a killed process did not fail")
	}
	a := ws.expect(admin, "get_processes", nil, "processes")
	if !strings.Contains(a.String(), `"state":"gone"`) || !strings.Contains(a.String(), node) {
		t.Errorf("get_processes does not show %s gone: %s", node, a)
	}
	ws.expect("sleepy", "get_params", nil, "actor_is_not_found")
	ws.expect(admin, "create_actor", createBody("HelloWorld", "sleepy"), "actor_is_created") // the name is free
	n2 := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	if n2 == node {
		t.Errorf("process name %s reused", n2)
	}
}

// TestRestartPolicy: with restart = "always", a child killed with kill -9
// comes back under its name, and its actors are made again with their last
// known params; /metrics counts the restart.
func TestRestartPolicy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(dir+"/config", 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := "restart = \"always\"\nrestart_backoff = \"200ms\"\nconsole = \"127.0.0.1:0\"\n"
	if err := os.WriteFile(dir+"/config/peacepie.toml", []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	in := start(t, dir, "run", "config/peacepie.toml")
	ws := dial(t, in)
	node := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	ws.expect(node, "create_actor", createBody("IteratingHelloWorld", "it"), "actor_is_created")
	ws.expect("it", "set_params", raw(`{"params": [{"name": "period", "value": 0.5}, {"name": "limit", "value": 7}]}`), "params_are_set")
	old := childPIDs(t, ws)
	if err := syscall.Kill(old[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "the process to come back with its actor", func() bool {
		pids := childPIDs(t, ws)
		return len(pids) == 1 && pids[0] != old[0] && ws.ask("it", "get_params", nil).command() == "params"
	})
	p := ws.expect("it", "get_params", nil, "params")
	if s := p.String(); !strings.Contains(s, `"name":"period","value":0.5`) || !strings.Contains(s, `"name":"limit","value":7`) {
		t.Errorf("after the restart the params are %s, want period 0.5 and limit 7", s)
	}
	if f := ws.expect(admin, "seek_actor", raw(`{"entity": "it"}`), "actor_is_found"); f.bodyString("node") != node {
		t.Errorf("the actor came back in %s, want %s", f.bodyString("node"), node)
	}
	// /metrics counts the restart.
	_, families := scrape(t, in, in.token)
	if n, ok := sample(families, "peacepie_process_restarts_total", map[string]string{"process": admin}); !ok || n != 1 {
		t.Errorf("peacepie_process_restarts_total of %s: %v (found %v), want 1", admin, n, ok)
	}
	// The restarted child is listed once, as running: not also as gone.
	if a := ws.expect(admin, "get_processes", nil, "processes"); strings.Count(a.String(), `"node":"`+node+`"`) != 1 || strings.Contains(a.String(), `"state":"gone"`) {
		t.Errorf("get_processes after the restart of %s: %s, want it once, running", node, a)
	}
	// remove_process is on purpose: no restart.
	ws.expect(admin, "remove_process", raw(fmt.Sprintf(`{"node": %q}`, node)), "process_is_removed")
	ws.expect("it", "get_params", nil, "actor_is_not_found")
}

// TestMoveBetweenProcesses: recreate_actor moves actors between processes.
// A ticking actor's numbering goes on without a gap or a repeat while its
// lines name the new node; and a Sequence actor fed a stream of numbered
// messages while it moves head → child → child → head sees every one, once,
// in order.
func TestMoveBetweenProcesses(t *testing.T) {
	t.Parallel()
	in := startFresh(t)
	ws := dial(t, in)
	p0 := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	p1 := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")

	// The README's move: a ticking iterating_hello_world into process_0.
	ws.expect(admin, "create_actor", createBody("IteratingHelloWorld", "iterating_hello_world"), "actor_is_created")
	ws.expect("iterating_hello_world", "set_params", raw(`{"params": [{"name": "period", "value": 0.2}, {"name": "limit", "value": null}]}`), "params_are_set")
	ws.expect("iterating_hello_world", "tick_start", nil, "tick_started")
	line := func(node string, i int) string {
		return fmt.Sprintf(`IteratingHelloWorld "iterating_hello_world" from "%s" says "Hello, World! (%d)"`, node, i)
	}
	in.waitStdout(t, 10*time.Second, line(admin, 2), 0)
	moved := ws.expect(admin, "recreate_actor", raw(fmt.Sprintf(`{"entity": "iterating_hello_world", "node": %q}`, p0)), "actor_is_recreated")
	if moved.bodyString("node") != p0 {
		t.Errorf("recreate_actor: %s", moved)
	}
	eventually(t, 10*time.Second, "lines from "+p0, func() bool { return strings.Contains(in.stdout.String(), `from "`+p0+`"`) })
	first := -1
	for i := 0; i < 100 && first < 0; i++ {
		if strings.Contains(in.stdout.String(), line(p0, i)+"\n") {
			first = i
		}
	}
	in.waitStdout(t, 10*time.Second, line(p0, first+2), 0)
	ws.expect("iterating_hello_world", "tick_stop", nil, "tick_stopped")
	for i := 0; i < first+3; i++ {
		n := strings.Count(in.stdout.String(), fmt.Sprintf(`says "Hello, World! (%d)"`+"\n", i))
		if n != 1 {
			t.Fatalf("line %d printed %d times: a gap or a repeat across the move:\n%s", i, n, in.stdout.String())
		}
	}
	ws.expect(p0, "remove_actor", raw(`{"name": "iterating_hello_world"}`), "actor_is_removed")

	// Messages in flight during moves: none lost, repeated or reordered.
	ws.expect(admin, "create_actor", raw(`{"class_desc": {"requires_dist": "peacepie_std", "class": "Sequence"}, "name": "seq"}`), "actor_is_created")
	feeder := dial(t, in)
	const n = 3000
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		for i := 1; i <= n; i++ {
			feeder.request("send", "seq", "next", map[string]any{"n": i}, 0)
		}
	}()
	for _, node := range []string{p0, p1, admin, p1} {
		ws.expect(admin, "recreate_actor", raw(fmt.Sprintf(`{"entity": "seq", "node": %q}`, node)), "actor_is_recreated")
	}
	<-fed
	eventually(t, 20*time.Second, "every numbered message to arrive", func() bool {
		return strings.Contains(ws.ask("seq", "state", nil).String(), fmt.Sprintf(`"last":%d`, n))
	})
	if s := ws.ask("seq", "state", nil).String(); !strings.Contains(s, `"errors":0`) {
		t.Fatalf("after four moves under a stream of %d messages: %s, want no sequence error", n, s)
	}
	if f := ws.expect(admin, "seek_actor", raw(`{"entity": "seq"}`), "actor_is_found"); f.bodyString("node") != p1 {
		t.Errorf("seq is in %s, want %s", f.bodyString("node"), p1)
	}
	// Asks in flight: a Pump in one child asks a Sequence 500 times in a row
	// while the Sequence moves between all three processes.
	ws.expect(p1, "create_actor", raw(`{"class_desc": {"requires_dist": "peacepie_std", "class": "Pump"}, "name": "pump"}`), "actor_is_created")
	ws.expect(p0, "create_actor", raw(`{"class_desc": {"requires_dist": "peacepie_std", "class": "Sequence"}, "name": "seq2"}`), "actor_is_created")
	const asks = 500
	asked := make(chan answer, 1)
	go func() {
		asked <- feeder.request("ask", "pump", "ask", map[string]any{"to": "seq2", "command": "next", "n": asks}, 60)
	}()
	for _, node := range []string{admin, p1, p0, admin} {
		ws.expect(admin, "recreate_actor", raw(fmt.Sprintf(`{"entity": "seq2", "node": %q}`, node)), "actor_is_recreated")
	}
	select {
	case a := <-asked:
		if a.command() != "asked" {
			t.Fatalf("the pump's asks during the moves: %s", a)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the pump's asks did not finish")
	}
	if s := ws.ask("seq2", "state", nil).String(); !strings.Contains(s, fmt.Sprintf(`"last":%d`, asks)) || !strings.Contains(s, `"errors":0`) {
		t.Fatalf("after four moves under %d asks: %s, want every ask once and in order", asks, s)
	}

	// Bad input.
	ws.expect(admin, "recreate_actor", raw(`{"entity": "seq", "node": "first.process_9.admin"}`), "actor_is_not_recreated")
	ws.expect(admin, "recreate_actor", raw(`{"entity": "nobody", "node": "first.main.admin"}`), "actor_is_not_recreated")
	ws.expect(admin, "recreate_actor", raw(fmt.Sprintf(`{"entity": "seq", "node": %q, "class_desc": {"requires_dist": "nopkg", "class": "X"}}`, admin)), "actor_is_not_recreated")
	bad := ws.expect(admin, "recreate_actor", raw(fmt.Sprintf(`{"entity": "seq", "node": %q, "class_desc": {"requires_dist": "peacepie_std", "class": 5}}`, admin)), "actor_is_not_recreated")
	if e := bad.bodyString("error"); !strings.Contains(e, "class_desc.class must be a class name") || strings.Contains(e, `"mid"`) {
		t.Errorf("a move with a bad class: error %q, want the target's reason alone", e)
	}
	if s := ws.ask("seq", "state", nil).String(); !strings.Contains(s, fmt.Sprintf(`"last":%d`, n)) {
		t.Fatalf("after a refused move the actor is %s", s)
	}
}

// TestNamesStayCoherent: random creates, removes, moves and lookups across
// four processes; after every action every admin finds each name where it
// is (or not at all), and a message sent by name reaches it.
func TestNamesStayCoherent(t *testing.T) {
	t.Parallel()
	in := startFresh(t)
	ws := dial(t, in)
	nodes := []string{admin}
	for i := 0; i < 3; i++ {
		nodes = append(nodes, ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node"))
	}
	where := map[string]string{} // the model: name → node
	names := []string{"a0", "a1", "a2", "a3", "a4"}
	rnd := uint64(12345)
	next := func(n int) int {
		rnd = rnd*6364136223846793005 + 1442695040888963407
		return int((rnd >> 33) % uint64(n))
	}
	for step := 0; step < 60; step++ {
		name := names[next(len(names))]
		node := nodes[next(len(nodes))]
		_, exists := where[name]
		switch next(3) {
		case 0: // create
			want := "actor_is_created"
			if exists {
				want = "actor_is_not_created"
			}
			ws.expect(node, "create_actor", raw(fmt.Sprintf(`{"class_desc": {"requires_dist": "peacepie_std", "class": "Echo"}, "name": %q}`, name)), want)
			if !exists {
				where[name] = node
			}
		case 1: // remove, sent to a random admin
			want := "actor_is_removed"
			if !exists {
				want = "actor_is_absent"
			}
			ws.expect(node, "remove_actor", raw(fmt.Sprintf(`{"name": %q}`, name)), want)
			delete(where, name)
		case 2: // move
			if !exists {
				ws.expect(node, "recreate_actor", raw(fmt.Sprintf(`{"entity": %q, "node": %q}`, name, node)), "actor_is_not_recreated")
				break
			}
			ws.expect(nodes[next(len(nodes))], "recreate_actor", raw(fmt.Sprintf(`{"entity": %q, "node": %q}`, name, node)), "actor_is_recreated")
			where[name] = node
		}
		// Every admin's view, and delivery by name.
		for _, n := range names {
			for _, from := range nodes {
				a := ws.ask(from, "seek_actor", raw(fmt.Sprintf(`{"entity": %q}`, n)))
				want, ok := where[n]
				switch {
				case ok && (a.command() != "actor_is_found" || a.bodyString("node") != want):
					t.Fatalf("step %d: %s seeks %s: %s, want it in %s", step, from, n, a, want)
				case !ok && a.command() != "actor_is_not_found":
					t.Fatalf("step %d: %s seeks %s: %s, want actor_is_not_found", step, from, n, a)
				}
			}
			r := ws.ask(n, "echo", raw(`{"x": 1}`))
			if _, ok := where[n]; ok != (r.command() == "echoed") {
				t.Fatalf("step %d: echo to %s: %s (exists: %v)", step, n, r, ok)
			}
		}
	}
}

// TestHugeMessageToAnotherProcess: a 20 MiB message from an actor to an
// actor in another process is refused at once with an error saying so; the
// link and both actors keep working.
func TestHugeMessageToAnotherProcess(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(dir+"/config", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/config/peacepie.toml", []byte("repl_lua = true\nconsole = \"127.0.0.1:0\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in := start(t, dir, "run", "config/peacepie.toml")
	ws := dial(t, in)
	node := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	ws.expect(node, "create_actor", raw(`{"class_desc": {"requires_dist": "peacepie_std", "class": "Echo"}, "name": "far"}`), "actor_is_created")
	ws.expect(admin, "create_actor", raw(`{"class_desc": {"requires_dist": "peacepie_std", "class": "Echo"}, "name": "near"}`), "actor_is_created")
	// A body leaving Lua is at most 16 MiB as JSON (host.MaxBodyBytes):
	// pp.send raises, as for any body that cannot be sent.
	code := `(function() local pp = require "peacepie"; local ok, err = pcall(pp.send, "far", "echo", string.rep("x", 20 * 1024 * 1024)); return tostring(ok) .. " " .. tostring(err) end)()`
	a := ws.expect(admin, "eval", map[string]any{"name": "near", "code": code}, "evaluated")
	if s := a.String(); !strings.Contains(s, "false") || !strings.Contains(s, "larger than the limit") {
		t.Fatalf("a 20 MiB send to another process: %s, want an error saying it is too large", s)
	}
	ws.expect("far", "echo", raw(`{"x": 1}`), "echoed")
	ws.expect("near", "echo", raw(`{"x": 1}`), "echoed")
}

// TestCoresShared: with go_threads = 0 (the default) the processes of a
// host share its cores: each runs its Go code on cores ÷ processes threads,
// at least one, and the shares follow as processes come and go. Each
// process reports its own count in get_processes; the head's listing says
// what it gave each child.
func TestCoresShared(t *testing.T) {
	t.Parallel()
	in := startFresh(t)
	ws := dial(t, in)
	// threads: node's own count, and what the head's listing says of it.
	threads := func(node string) (own, listed int) {
		t.Helper()
		own, listed = -1, -1
		for _, at := range []string{node, admin} {
			a := ws.expect(at, "get_processes", nil, "processes")
			body, _ := a["body"].(map[string]any)
			list, _ := body["processes"].([]any)
			for _, p := range list {
				po, _ := p.(map[string]any)
				if po["node"] != node {
					continue
				}
				if n, err := strconv.Atoi(fmt.Sprint(po["go_threads"])); err == nil {
					if at == node {
						own = n
					} else {
						listed = n
					}
				}
			}
		}
		return own, listed
	}
	cores, _ := threads(admin)
	if cores < 1 {
		t.Fatalf("the main process reports %d threads", cores)
	}
	expectShares := func(nodes ...string) {
		t.Helper()
		want := max(1, cores/len(nodes))
		eventually(t, 10*time.Second, fmt.Sprintf("%v to run on %d threads each", nodes, want), func() bool {
			for _, n := range nodes {
				own, listed := threads(n)
				if own != want || (n != admin && listed != want) {
					t.Logf("%s: %d threads (listed: %d), want %d", n, own, listed, want)
					return false
				}
			}
			return true
		})
	}
	p0 := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	expectShares(admin, p0)
	p1 := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	expectShares(admin, p0, p1)
	ws.expect(admin, "remove_process", raw(fmt.Sprintf(`{"node": %q}`, p1)), "process_is_removed")
	expectShares(admin, p0)
	ws.expect(admin, "remove_process", raw(fmt.Sprintf(`{"node": %q}`, p0)), "process_is_removed")
	expectShares(admin)
}

// TestDirectLinksHandshakeTimeout: a child's listener for its siblings'
// direct links (listed by get_processes as direct_links) keeps the
// config's handshake limits: a stranger that connects and says nothing is
// closed after links_handshake_timeout, not the default 5 s.
func TestDirectLinksHandshakeTimeout(t *testing.T) {
	t.Parallel()
	in, _ := startAttachable(t, false, `links_handshake_timeout = "300ms"`)
	ws := dial(t, in)
	node := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	var addr string
	eventually(t, 10*time.Second, "the child's direct-links address in get_processes", func() bool {
		a := ws.expect(admin, "get_processes", nil, "processes")
		body, _ := a["body"].(map[string]any)
		list, _ := body["processes"].([]any)
		for _, p := range list {
			if po, _ := p.(map[string]any); po["node"] == node {
				addr, _ = po["direct_links"].(string)
			}
		}
		return addr != ""
	})
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	began := time.Now()
	c.SetReadDeadline(began.Add(3 * time.Second))
	_, err = c.Read(make([]byte, 64)) // the listener sends nothing before the dialer's hello
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("a silent stranger on %s (direct links of %s) was still connected after %s", addr, node, time.Since(began))
	}
}

package main

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// actorNodes reads an "actors" answer: name → node, and the scope.
func actorNodes(t *testing.T, a answer) (map[string]string, string) {
	t.Helper()
	if a.command() != "actors" {
		t.Fatalf("get_actors answered %s", a)
	}
	body, _ := a["body"].(map[string]any)
	list, _ := body["actors"].([]any)
	out := map[string]string{}
	for _, v := range list {
		o, _ := v.(map[string]any)
		name, _ := o["name"].(string)
		node, _ := o["node"].(string)
		out[name] = node
	}
	scope, _ := body["scope"].(string)
	return out, scope
}

// TestViewsSystemWide: get_actors says what it covers, and {"all": true}
// lists every actor of the system, asked at any admin; a watch on the head
// sees the events and stats of a child and of another host's processes.
func TestViewsSystemWide(t *testing.T) {
	t.Parallel()
	in := startFresh(t)
	addr, secret := joinInfo(t, in)
	second := startHost(t, "second", addr, secret, nil)
	ws := dial(t, in)
	eventually(t, 10*time.Second, "second to join", func() bool { return hostStates(ws)["second"] == "up" })
	child := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	farChild := ws.expect("second.main.admin", "create_process", nil, "process_is_created").bodyString("node")
	ws.expect(admin, "create_actor", createBody("HelloWorld", "main_hello"), "actor_is_created")
	ws.expect(child, "create_actor", createBody("HelloWorld", "child_hello"), "actor_is_created")
	ws.expect("second.main.admin", "create_actor", createBody("HelloWorld", "far_hello"), "actor_is_created")
	ws.expect(farChild, "create_actor", createBody("HelloWorld", "far_child_hello"), "actor_is_created")

	// get_actors alone: this process's actors, and it says so.
	got, scope := actorNodes(t, ws.ask(admin, "get_actors", nil))
	if scope != "process" || got["main_hello"] != admin || len(got) != 1 {
		t.Errorf("get_actors on the head: scope %q, actors %v; want scope process and main_hello only", scope, got)
	}
	// {"all": true}: every actor with its process, wherever it is asked.
	want := map[string]string{"main_hello": admin, "child_hello": child, "far_hello": "second.main.admin", "far_child_hello": farChild}
	for _, at := range []string{admin, child, "second.main.admin", farChild} {
		got, scope := actorNodes(t, ws.ask(at, "get_actors", raw(`{"all": true}`)))
		if scope != "system" || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("get_actors {all} at %s: scope %q, actors %v; want scope system and %v", at, scope, got, want)
		}
	}

	// A watch on the head: a far child's actor's printed lines, and live
	// stats of the processes of the other host.
	w := dial(t, in)
	w.writeRaw(`{"type": "watch", "id": "all", "stats": true}`)
	if a := w.read(); a.command() != "watching" {
		t.Fatalf("watch answered %s", a)
	}
	ws.expect("far_child_hello", "tick", nil, "hello_world")
	var kinds []string
	deadline := time.Now().Add(15 * time.Second)
	for !slices.Contains(kinds, "printed "+farChild) {
		if time.Now().After(deadline) {
			t.Fatalf("no printed line of far_child_hello reached the head's watch; saw %v", kinds)
		}
		a := w.read()
		body, _ := a["body"].(map[string]any)
		kind, _ := body["kind"].(string)
		node, _ := body["node"].(string)
		if kind == "printed" && (body["actor"] != "far_child_hello" || body["line"] != "Hello, World!") {
			continue
		}
		kinds = append(kinds, kind+" "+node)
		if kind != "printed" && len(kinds) > 200 {
			kinds = kinds[1:]
		}
		if kind == "stats" {
			ws.expect("far_child_hello", "tick", nil, "hello_world") // prints again
		}
	}
	for _, node := range []string{"second.main.admin", farChild, child} {
		w2 := dial(t, in)
		w2.writeRaw(fmt.Sprintf(`{"type": "watch", "id": 1, "filter": %q, "stats": true}`, node))
		w2.read() // watching
		eventually(t, 10*time.Second, "live stats of "+node, func() bool {
			a := w2.read()
			body, _ := a["body"].(map[string]any)
			_, counted := body["handled"]
			return body["kind"] == "stats" && body["node"] == node && counted
		})
	}
	_ = second
}

// watchLines reads a watch's events until until holds, counting the
// printed lines of each actor (actor → line → times seen) and noting the
// nodes whose stats came with counters; it fails after timeout.
func watchLines(t *testing.T, w *wsConn, timeout time.Duration, what string, lines map[string]map[string]int, stats map[string]bool, until func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !until() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; printed lines %v, stats of %v", timeout, what, lines, stats)
		}
		a := w.read()
		if a.command() != "event" {
			continue
		}
		body, _ := a["body"].(map[string]any)
		actor, _ := body["actor"].(string)
		node, _ := body["node"].(string)
		switch body["kind"] {
		case "printed":
			line, _ := body["line"].(string)
			if lines[actor] == nil {
				lines[actor] = map[string]int{}
			}
			lines[actor][line]++
		case "stats":
			if _, counted := body["handled"]; counted && actor == "" {
				stats[node] = true
			}
		}
	}
}

// TestViewsEveryHost: a watch on the console of a host that is not the
// first sees the printed lines of an actor in the first host's child and
// the live stats of the first host's processes; a watch on the first host
// still gets the second host's lines, each once (nothing comes back to its
// own host, nothing loops).
func TestViewsEveryHost(t *testing.T) {
	t.Parallel()
	first := startFresh(t)
	addr, secret := joinInfo(t, first)
	second := startHost(t, "second", addr, secret, nil)
	ws := dial(t, first)
	eventually(t, 10*time.Second, "second to join", func() bool { return hostStates(ws)["second"] == "up" })
	child := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	farChild := ws.expect("second.main.admin", "create_process", nil, "process_is_created").bodyString("node")
	iterating := func(name string) any {
		return raw(`{"class_desc": {"requires_dist": "peacepie_example", "class": "IteratingHelloWorld"}, "name": "` + name + `", "params": {"period": 0.1}}`)
	}
	ws.expect(child, "create_actor", iterating("near_iter"), "actor_is_created")
	ws.expect(farChild, "create_actor", iterating("far_iter"), "actor_is_created")

	// Watches on both consoles, every event and the head's stats.
	w1, w2 := dial(t, first), dial(t, second)
	for _, w := range []*wsConn{w1, w2} {
		w.writeRaw(`{"type": "watch", "id": "all", "stats": true}`)
		if a := w.read(); a.command() != "watching" {
			t.Fatalf("watch answered %s", a)
		}
	}
	// The second host's console watches the first host's processes' stats.
	w3 := dial(t, second)
	for i, node := range []string{admin, child} {
		w3.writeRaw(fmt.Sprintf(`{"type": "watch", "id": %d, "filter": %q, "stats": true}`, i, node))
		if a := w3.read(); a.command() != "watching" {
			t.Fatalf("watch answered %s", a)
		}
	}
	ws.expect("near_iter", "tick_start", nil, "tick_started")
	ws.expect("far_iter", "tick_start", nil, "tick_started")

	stats3 := map[string]bool{}
	watchLines(t, w3, 20*time.Second, "the second host's watch of the first host's processes' stats", map[string]map[string]int{}, stats3,
		func() bool { return stats3[admin] && stats3[child] })

	// At least 10 lines of each actor on each watch; then the counts.
	enough := func(lines map[string]map[string]int) func() bool {
		return func() bool { return len(lines["near_iter"]) >= 10 && len(lines["far_iter"]) >= 10 }
	}
	lines1, lines2 := map[string]map[string]int{}, map[string]map[string]int{}
	stats1, stats2 := map[string]bool{}, map[string]bool{}
	watchLines(t, w2, 30*time.Second, "printed lines of near_iter (the first host's child) and far_iter on the second host's watch", lines2, stats2, enough(lines2))
	watchLines(t, w1, 30*time.Second, "printed lines of near_iter and far_iter (the second host's child) on the first host's watch", lines1, stats1, enough(lines1))
	for name, lines := range map[string]map[string]map[string]int{"first": lines1, "second": lines2} {
		for actor, seen := range lines {
			for line, n := range seen {
				if n != 1 {
					t.Errorf("the %s host's watch got %q of %s %d times, want once", name, line, actor, n)
				}
			}
		}
	}
	_ = second
}

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

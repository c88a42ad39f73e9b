package main

import (
	"fmt"
	"syscall"
	"testing"
	"time"
)

// replicaView returns the directory as hostName's own replica has it
// (get_processes of its main admin: "directory").
func replicaView(ws *wsConn, hostName string) map[string]any {
	a := ws.request("ask", hostName+".main.admin", "get_processes", nil, 2)
	body, _ := a["body"].(map[string]any)
	view, _ := body["directory"].(map[string]any)
	return view
}

// stableEverywhere reports whether every host's replica has the three of
// them as voters, out of any joint configuration: a root that dies while
// the group is between configurations leaves one that cannot elect.
func stableEverywhere(ws *wsConn, hosts ...string) bool {
	for _, h := range hosts {
		v := replicaView(ws, h)
		voters, _ := v["voters"].([]any)
		if v == nil || v["joint"] != false || len(voters) != len(hosts) {
			return false
		}
	}
	return true
}

// hostsOf returns get_hosts as hostName asks it: host → its row.
func hostsOf(ws *wsConn, hostName string) map[string]map[string]any {
	a := ws.request("ask", hostName+".main.admin", "get_hosts", nil, 2) // no root: it fails in 2 s
	body, _ := a["body"].(map[string]any)
	list, _ := body["hosts"].([]any)
	out := map[string]map[string]any{}
	for _, h := range list {
		if o, ok := h.(map[string]any); ok {
			out[fmt.Sprint(o["name"])] = o
		}
	}
	return out
}

// TestFirstHostKilled: three hosts, each a `peacepie run`; kill -9 of the
// first, the system's root: within seconds a survivor takes its role and
// the other joins it; asks between the survivors' actors answer from both
// consoles, create_actor works on both, and an ask to the dead host's
// actor fails at once.
func TestFirstHostKilled(t *testing.T) {
	t.Parallel()
	first := startFresh(t)
	addr, secret := joinInfo(t, first)
	second := startHost(t, "second", addr, secret, nil)
	third := startHost(t, "third", addr, secret, nil)
	ws := dial(t, first)
	eventually(t, 15*time.Second, "three hosts up, each a voter of the directory in every replica", func() bool {
		return len(hostsOf(ws, "first")) == 3 && stableEverywhere(ws, "first", "second", "third")
	})
	ws.expect("first.main.admin", "create_actor", createBody("HelloWorld", "on_first"), "actor_is_created")
	ws.expect("second.main.admin", "create_actor", createBody("HelloWorld", "on_second"), "actor_is_created")
	ws.expect("third.main.admin", "create_actor", createBody("HelloWorld", "on_third"), "actor_is_created")
	ws2, ws3 := dial(t, second), dial(t, third)

	killed := time.Now()
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var root string
	eventually(t, 20*time.Second, "a survivor to head the system, with the other up", func() bool {
		for _, name := range []string{"second", "third"} {
			hosts := hostsOf(map[string]*wsConn{"second": ws2, "third": ws3}[name], name)
			other := map[string]string{"second": "third", "third": "second"}[name]
			if row := hosts[name]; row != nil && row["head"] == true && hosts[other] != nil && hosts[other]["state"] == "up" {
				root = name
				return true
			}
		}
		return false
	})
	took := time.Since(killed)
	t.Logf("%s heads the system %s after the first host's kill -9", root, took.Round(time.Millisecond))
	eventually(t, 10*time.Second, "second to list the first host as gone", func() bool {
		// (Until second has its welcome from the new root, it answers
		// get_hosts for itself alone.)
		return hostsOf(ws2, "second")["first"]["state"] == "gone"
	})
	for _, w := range []*wsConn{ws2, ws3} {
		for _, name := range []string{"on_second", "on_third"} {
			eventually(t, 10*time.Second, name+" to answer", func() bool { return w.ask(name, "tick", nil).command() == "hello_world" })
		}
		begin := time.Now()
		if a := w.ask("on_first", "tick", nil); a.command() != "actor_is_not_found" || time.Since(begin) > 5*time.Second {
			t.Errorf("an ask to the dead host's actor: %s after %s", a, time.Since(begin))
		}
	}
	ws2.expect("second.main.admin", "create_actor", createBody("HelloWorld", "made_on_second"), "actor_is_created")
	ws3.expect("third.main.admin", "create_actor", createBody("HelloWorld", "made_on_third"), "actor_is_created")
	ws2.expect("made_on_third", "tick", nil, "hello_world")
	ws3.expect(root+".main.admin", "recreate_actor", raw(`{"entity": "made_on_second", "node": "third.main.admin"}`), "actor_is_recreated")
	ws2.expect("made_on_second", "tick", nil, "hello_world")
}

// TestPackagesAfterTheFirstHostKilled: the package set outlives the first
// host, whose repo list and lock it was. After its kill -9 the new root
// leads with the set it followed: a tag nobody had pinned yet is pinned
// there and runs on both survivors, though neither's own repo list names
// the package (before, the new root refused to pin: it only followed).
func TestPackagesAfterTheFirstHostKilled(t *testing.T) {
	t.Parallel()
	h := newGitHome(t)
	firstDir := t.TempDir()
	h.config(t, firstDir)
	first := start(t, firstDir, "run", "--console", "127.0.0.1:0")
	addr, secret := joinInfo(t, first)
	second := startHost(t, "second", addr, secret, nil)
	third := startHost(t, "third", addr, secret, nil)
	ws := dial(t, first)
	eventually(t, 15*time.Second, "three hosts up, each a voter of the directory in every replica", func() bool {
		return len(hostsOf(ws, "first")) == 3 && stableEverywhere(ws, "first", "second", "third")
	})
	ws.expect("second.main.admin", "create_actor", gitCreateBody("pkg==1.0.0", "old"), "actor_is_created")
	ws2, ws3 := dial(t, second), dial(t, third)

	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "both survivors to list the first host as gone", func() bool {
		return hostsOf(ws2, "second")["first"]["state"] == "gone" && hostsOf(ws3, "third")["first"]["state"] == "gone"
	})
	for i, w := range []*wsConn{ws2, ws3} {
		name := fmt.Sprintf("new_%d", i)
		node := []string{"second.main.admin", "third.main.admin"}[i]
		var last string
		eventually(t, 20*time.Second, "pkg 2.0.0, never pinned before, to be created in "+node, func() bool {
			a := w.ask(node, "create_actor", gitCreateBody("pkg==2.0.0", name))
			last = a.String()
			return a.command() == "actor_is_created"
		})
		if c := actorCommit(w, node, name); c != h.pkg.CommitOf("v2.0.0") {
			t.Errorf("%s runs commit %q, want %s (last answer %s)", name, c, h.pkg.CommitOf("v2.0.0"), last)
		}
	}
}

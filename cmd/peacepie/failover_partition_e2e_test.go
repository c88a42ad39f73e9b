package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// makeNetnsStar makes n network namespaces joined by a bridge in a hub
// namespace, host i at 10.214.X.(i+1), each with loopback up; all are
// deleted at the end of the test. A host is cut off by setting its end of
// the veth down. Skipped where namespaces cannot be made, except in CI.
func makeNetnsStar(t *testing.T, n int) (hosts []netns) {
	t.Helper()
	buf := make([]byte, 3)
	rand.Read(buf)
	id := hex.EncodeToString(buf)
	hub := "pph" + id
	if out, err := exec.Command("ip", "netns", "add", hub).CombinedOutput(); err != nil {
		msg := fmt.Sprintf("network namespaces cannot be made here (ip netns add: %v: %s)", err, strings.TrimSpace(string(out)))
		if os.Getenv("CI") != "" {
			t.Fatal(msg + "; CI must run this test (as root)")
		}
		t.Skip(msg)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", hub).Run() })
	ipCmd(t, "-n", hub, "link", "add", "br0", "type", "bridge")
	ipCmd(t, "-n", hub, "link", "set", "br0", "up")
	for i := range n {
		ns := netns{name: fmt.Sprintf("pp%d%s", i, id), dev: fmt.Sprintf("pp%d%s", i, id), ip: fmt.Sprintf("10.214.%d.%d", buf[0], i+1)}
		ipCmd(t, "netns", "add", ns.name)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns.name).Run() })
		hubEnd := fmt.Sprintf("pq%d%s", i, id)
		ipCmd(t, "link", "add", ns.dev, "type", "veth", "peer", "name", hubEnd)
		ipCmd(t, "link", "set", ns.dev, "netns", ns.name)
		ipCmd(t, "link", "set", hubEnd, "netns", hub)
		ipCmd(t, "-n", hub, "link", "set", hubEnd, "master", "br0")
		ipCmd(t, "-n", hub, "link", "set", hubEnd, "up")
		ipCmd(t, "-n", ns.name, "addr", "add", ns.ip+"/24", "dev", ns.dev)
		ipCmd(t, "-n", ns.name, "link", "set", ns.dev, "up")
		ipCmd(t, "-n", ns.name, "link", "set", "lo", "up")
		hosts = append(hosts, ns)
	}
	return hosts
}

// TestFirstHostPartitioned: three hosts in three network namespaces on a
// bridge. The first host (the root) is cut off: it refuses new names with
// an error naming the cause while its actor answers; a survivor takes the
// root's role and gives the name the first host refused; every host's view
// has each name in one place; when the link is back, the first host joins
// the new root as one of the others.
func TestFirstHostPartitioned(t *testing.T) {
	t.Parallel()
	ns := makeNetnsStar(t, 3)
	names := []string{"first", "second", "third"}
	firstDir := t.TempDir()
	first := startCmd(t, firstDir, nil, "ip", "netns", "exec", ns[0].name, binPath, "run", "--console", "127.0.0.1:0",
		"--links", ns[0].ip+":0", "--gossip", ns[0].ip+":0")
	addr, _ := joinInfo(t, first)
	secret := filepath.Join(firstDir, "config", "secret")
	hosts := []*instance{first}
	for i := 1; i < 3; i++ {
		hosts = append(hosts, startCmd(t, t.TempDir(), nil, "ip", "netns", "exec", ns[i].name, binPath, "run", "--console", "127.0.0.1:0",
			"--host", names[i], "--join", addr, "--secret-file", secret, "--links", ns[i].ip+":0", "--gossip", ns[i].ip+":0"))
	}
	hostsSeenBy := func(i int) string {
		return nsAsk(t, ns[i], hosts[i], "--timeout", "1", names[i]+".main.admin", "get_hosts").stdout
	}
	eventually(t, 20*time.Second, "three hosts up, each a voter of the directory", func() bool {
		out := hostsSeenBy(0)
		if strings.Count(out, `"state":"up"`) != 3 {
			return false
		}
		for i := range names { // every replica has three voters, out of any joint configuration
			view := directoryIn(nsAsk(t, ns[i], hosts[i], "--timeout", "1", names[i]+".main.admin", "get_processes").stdout)
			voters, _ := view["voters"].([]any)
			if view["joint"] != false || len(voters) != 3 {
				return false
			}
		}
		return true
	})
	for _, name := range names {
		nsAsk(t, ns[0], first, name+".main.admin", "create_actor", string(createBody("HelloWorld", "on_"+name))).
			check(t, "create on_"+name, 0, "actor_is_created", "")
	}

	cut := time.Now()
	ipCmd(t, "-n", ns[0].name, "link", "set", ns[0].dev, "down")
	root := -1
	eventually(t, 20*time.Second, "a survivor to head the system", func() bool {
		for i := 1; i < 3; i++ {
			if strings.Contains(hostsSeenBy(i), fmt.Sprintf(`"name":%q,"head":true`, names[i])) {
				root = i
				return true
			}
		}
		return false
	})
	t.Logf("%s heads the system %s after the cut", names[root], time.Since(cut).Round(time.Millisecond))
	eventually(t, 10*time.Second, "the cut-off first host to refuse a new name", func() bool {
		r := nsAsk(t, ns[0], first, admin, "create_actor", string(createBody("HelloWorld", "split")))
		return r.code != 0 && strings.Contains(r.stdout+r.stderr, "cannot reach a majority")
	})
	nsAsk(t, ns[0], first, "on_first", "tick").check(t, "the cut-off host's own actor", 0, "hello_world", "")
	nsAsk(t, ns[root], hosts[root], names[root]+".main.admin", "create_actor", string(createBody("HelloWorld", "split"))).
		check(t, "create split on the majority's root", 0, "actor_is_created", "")
	if r := nsAsk(t, ns[0], first, "--timeout", "3", "split", "tick"); r.code == 0 {
		t.Errorf("the cut-off host reaches a name given on the other side: %s", r.stdout)
	}

	ipCmd(t, "-n", ns[0].name, "link", "set", ns[0].dev, "up")
	eventually(t, 30*time.Second, "the first host to join the new root as one of the others", func() bool {
		return strings.Contains(hostsSeenBy(root), `"name":"first","head":false,"state":"up"`)
	})
	for i := range names {
		eventually(t, 10*time.Second, "split and on_first to answer from "+names[i], func() bool {
			return nsAsk(t, ns[i], hosts[i], "split", "tick").code == 0 && nsAsk(t, ns[i], hosts[i], "on_first", "tick").code == 0
		})
	}
	r := nsAsk(t, ns[0], first, admin, "create_actor", string(createBody("HelloWorld", "split")))
	if r.code == 0 {
		t.Errorf("after the heal the first host gave a name held on the other side: %s", r.stdout)
	}
	nsAsk(t, ns[root], hosts[root], names[root]+".main.admin", "exit")
	for _, in := range hosts {
		in.waitExit(t, 15*time.Second)
	}
}

// directoryIn returns the "directory" of a get_processes reply that
// `peacepie ask --json` printed (nil when there is none).
func directoryIn(out string) map[string]any {
	var m map[string]any
	if json.Unmarshal([]byte(out), &m) != nil {
		return nil
	}
	if body, ok := m["body"].(map[string]any); ok {
		m = body
	}
	view, _ := m["directory"].(map[string]any)
	return view
}

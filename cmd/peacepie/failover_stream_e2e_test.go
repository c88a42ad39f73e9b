package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStreamsSurviveTheFirstHostKilled: three hosts in three network
// namespaces on a bridge, each with the mig package. A Streamer in a child
// of second streams numbered messages to a Sequence in a child of third,
// and one in third's child to a Sequence in second's, each on the direct
// route the root gave (the children listen on their host's links
// address). kill -9 of the first host, the root, while they stream: a
// survivor takes the root's role, and both streams arrive whole, in order,
// nothing repeated; create_process and create_actor work on the survivors.
func TestStreamsSurviveTheFirstHostKilled(t *testing.T) {
	t.Parallel()
	ns := makeNetnsStar(t, 3)
	names := []string{"first", "second", "third"}
	list := migHome(t)
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	for _, dir := range dirs {
		migConfig(t, dir, list)
	}
	first := startCmd(t, dirs[0], nil, "ip", "netns", "exec", ns[0].name, binPath, "run", "--console", "127.0.0.1:0",
		"--links", ns[0].ip+":0", "--gossip", ns[0].ip+":0")
	addr, _ := joinInfo(t, first)
	secret := filepath.Join(dirs[0], "config", "secret")
	hosts := []*instance{first}
	for i := 1; i < 3; i++ {
		hosts = append(hosts, startCmd(t, dirs[i], nil, "ip", "netns", "exec", ns[i].name, binPath, "run", "--console", "127.0.0.1:0",
			"--host", names[i], "--join", addr, "--secret-file", secret, "--links", ns[i].ip+":0", "--gossip", ns[i].ip+":0"))
	}
	ask := func(i int, args ...string) cliResult {
		return nsAsk(t, ns[i], hosts[i], append([]string{"--timeout", "2"}, args...)...)
	}
	eventually(t, 20*time.Second, "three hosts up, each a voter of the directory", func() bool {
		if strings.Count(ask(0, admin, "get_hosts").stdout, `"state":"up"`) != 3 {
			return false
		}
		for i := range names {
			view := directoryIn(ask(i, names[i]+".main.admin", "get_processes").stdout)
			voters, _ := view["voters"].([]any)
			if view["joint"] != false || len(voters) != 3 {
				return false
			}
		}
		return true
	})
	nodeOf := func(r cliResult) string {
		m := regexp.MustCompile(`"node":"([^"]+)"`).FindStringSubmatch(r.stdout)
		if m == nil {
			t.Fatalf("no node in %s %s", r.stdout, r.stderr)
		}
		return m[1]
	}
	newProcess := func(i int) string {
		r := ask(i, names[i]+".main.admin", "create_process")
		r.check(t, "create_process on "+names[i], 0, "process_is_created", "")
		return nodeOf(r)
	}
	p2, p3 := newProcess(1), newProcess(2)
	const limit = 40000 // 4,000 a second each: the stream lasts about 10 s
	create := func(i int, node, name, body string) {
		ask(i, node, "create_actor", fmt.Sprintf(`{"name": %q, %s}`, name, body)).check(t, "create "+name, 0, "actor_is_created", "")
	}
	create(2, p3, "seq_a", `"class_desc": {"requires_dist": "peacepie_std", "class": "Sequence"}`)
	create(1, p2, "seq_b", `"class_desc": {"requires_dist": "peacepie_std", "class": "Sequence"}`)
	streamer := func(to string) string {
		return fmt.Sprintf(`"class_desc": {"requires_dist": "mig==1.0.0", "class": "Streamer"}, "params": {"to": %q, "limit": %d, "batch": 20, "period": 0.005}`, to, limit)
	}
	create(1, p2, "streamer_a", streamer("seq_a"))
	create(2, p3, "streamer_b", streamer("seq_b"))
	ask(1, "streamer_a", "go").check(t, "streamer_a go", 0, "going", "")
	ask(2, "streamer_b", "go").check(t, "streamer_b go", 0, "going", "")
	eventually(t, 20*time.Second, "both children to stream on a direct route", func() bool {
		return strings.Contains(ask(1, p2, "get_processes").stdout, `"direct_routes":1`) &&
			strings.Contains(ask(2, p3, "get_processes").stdout, `"direct_routes":1`)
	})
	state := func(i int, name string) (last, errors float64) {
		var body struct {
			Body struct{ Last, Errors float64 }
		}
		r := ask(i, name, "state")
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &body) != nil {
			return -1, -1
		}
		return body.Body.Last, body.Body.Errors
	}
	if last, _ := state(1, "seq_b"); last >= limit {
		t.Fatalf("the stream ended before the kill (seq_b at %v): make it longer", last)
	}

	killed := time.Now()
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	root := -1
	eventually(t, 20*time.Second, "a survivor to head the system", func() bool {
		for i := 1; i < 3; i++ {
			if strings.Contains(ask(i, names[i]+".main.admin", "get_hosts").stdout, fmt.Sprintf(`"name":%q,"head":true`, names[i])) {
				root = i
				return true
			}
		}
		return false
	})
	t.Logf("%s heads the system %s after the first host's kill -9", names[root], time.Since(killed).Round(time.Millisecond))
	for _, s := range []struct {
		at   int
		name string
	}{{2, "seq_a"}, {1, "seq_b"}} {
		eventually(t, 60*time.Second, s.name+" to count to the end", func() bool {
			last, _ := state(s.at, s.name)
			return last == limit
		})
		if last, errors := state(s.at, s.name); errors != 0 {
			t.Errorf("%s saw %v messages out of order or repeated (last %v)", s.name, errors, last)
		}
	}
	for i := 1; i < 3; i++ {
		newProcess(i)
		ask(i, names[i]+".main.admin", "create_actor", string(createBody("HelloWorld", "after_"+names[i]))).
			check(t, "create_actor on "+names[i]+" after the failover", 0, "actor_is_created", "")
	}
}

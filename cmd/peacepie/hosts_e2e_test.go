package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/peacepie/peacepie/internal/gittest"
	"github.com/peacepie/peacepie/internal/testcert"
)

// lineLog records the stdout lines of several hosts in the order the test
// reads them (what dancers print a few hundred milliseconds apart).
type lineLog struct {
	mu      sync.Mutex
	partial map[string]string
	lines   []string
}

type lineTee struct {
	log  *lineLog
	name string
}

func (w lineTee) Write(p []byte) (int, error) {
	l := w.log
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.partial == nil {
		l.partial = map[string]string{}
	}
	text := l.partial[w.name] + string(p)
	for {
		i := strings.IndexByte(text, '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, text[:i])
		text = text[i+1:]
	}
	l.partial[w.name] = text
	return len(p), nil
}

func (l *lineLog) matching(re *regexp.Regexp) [][]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out [][]string
	for _, line := range l.lines {
		if m := re.FindStringSubmatch(line); m != nil {
			out = append(out, m)
		}
	}
	return out
}

var joinLineRE = regexp.MustCompile(`(?m)^other hosts join with: peacepie run --host NAME --console 127\.0\.0\.1:0 --join (\S+) --secret-file (\S+)$`)

// joinInfo reads the join address and secret file a host printed.
func joinInfo(t testing.TB, in *instance) (addr, secret string) {
	t.Helper()
	var m []string
	eventually(t, 10*time.Second, "the join line", func() bool {
		m = joinLineRE.FindStringSubmatch(in.stdout.String())
		return m != nil
	})
	return m[1], m[2]
}

// startHost runs `peacepie run --host name --join addr --secret-file secret`
// in a new directory.
func startHost(t testing.TB, name, addr, secret string, tee *lineLog, extra ...string) *instance {
	t.Helper()
	args := append([]string{"run", "--console", "127.0.0.1:0", "--host", name, "--join", addr, "--secret-file", secret}, extra...)
	return startIn(t, t.TempDir(), tee, name, args...)
}

func startIn(t testing.TB, dir string, tee *lineLog, name string, args ...string) *instance {
	t.Helper()
	if tee == nil {
		return startCmd(t, dir, nil, binPath, args...)
	}
	return startCmd(t, dir, lineTee{tee, name}, binPath, args...)
}

// hostStates returns host name → state from get_hosts.
func hostStates(ws *wsConn) map[string]string {
	a := ws.ask(admin, "get_hosts", nil)
	body, _ := a["body"].(map[string]any)
	list, _ := body["hosts"].([]any)
	out := map[string]string{}
	for _, h := range list {
		o, _ := h.(map[string]any)
		out[fmt.Sprint(o["name"])] = fmt.Sprint(o["state"])
	}
	return out
}

// systemPIDs returns the pids of every process of the given hosts.
func systemPIDs(t *testing.T, ws *wsConn, hosts ...string) []int {
	t.Helper()
	var pids []int
	for _, h := range hosts {
		a := ws.expect(h+".main.admin", "get_processes", nil, "processes")
		body, _ := a["body"].(map[string]any)
		list, _ := body["processes"].([]any)
		for _, p := range list {
			po, _ := p.(map[string]any)
			if pid, err := strconv.Atoi(fmt.Sprint(po["pid"])); err == nil && pid > 0 {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// TestHostsRingMoveExit: three hosts, each a `peacepie run` with a child
// process. A ring of CircleDancers over all six processes keeps its order;
// a ticking actor moves from host to host without a gap or a repeat in its
// numbering; exit sent to one host stops every process of every host.
func TestHostsRingMoveExit(t *testing.T) {
	t.Parallel()
	lines := &lineLog{}
	first := startIn(t, t.TempDir(), lines, "first", "run", "--console", "127.0.0.1:0")
	addr, secret := joinInfo(t, first)
	second := startHost(t, "second", addr, secret, lines)
	// third is given second's address: second sends it on to the head.
	addr2, _ := joinInfo(t, second)
	third := startHost(t, "third", addr2, secret, lines)
	ws := dial(t, first)
	eventually(t, 10*time.Second, "three hosts up", func() bool {
		s := hostStates(ws)
		return s["first"] == "up" && s["second"] == "up" && s["third"] == "up"
	})
	// The console of another host sees the same system.
	if s := hostStates(dial(t, third)); len(s) != 3 {
		t.Errorf("get_hosts on third's console: %v", s)
	}

	var nodes []string
	for _, h := range []string{"first", "second", "third"} {
		a := ws.expect(h+".main.admin", "create_process", nil, "process_is_created")
		if want := h + ".process_0.admin"; a.bodyString("node") != want {
			t.Fatalf("create_process on %s made %q, want %s", h, a.bodyString("node"), want)
		}
		nodes = append(nodes, h+".main.admin", h+".process_0.admin")
	}

	// The ring: dancer_i lives in nodes[i] and passes the token to i+1.
	for i, node := range nodes {
		ws.expect(node, "create_actor", createBody("CircleDancer", fmt.Sprintf("dancer_%02d", i)), "actor_is_created")
	}
	for i := range nodes {
		ws.expect(fmt.Sprintf("dancer_%02d", i), "set_params", raw(fmt.Sprintf(
			`{"params": [{"name": "consumer", "value": "dancer_%02d"}, {"name": "period", "value": 0.25}]}`, (i+1)%len(nodes))), "params_are_set")
	}
	// Names are unique across hosts.
	ws.expect("third.process_0.admin", "create_actor", createBody("CircleDancer", "dancer_00"), "actor_is_not_created")
	ws.request("send", "dancer_00", "tick", nil, 0)
	dancerRE := regexp.MustCompile(`^CircleDancer "dancer_(\d\d)" from "([^"]+)"$`)
	eventually(t, 30*time.Second, "two rounds of the ring", func() bool { return len(lines.matching(dancerRE)) >= 2*len(nodes)+1 })
	seen := lines.matching(dancerRE)
	for k, m := range seen {
		i, _ := strconv.Atoi(m[1])
		if i != k%len(nodes) || m[2] != nodes[i] {
			t.Fatalf("ring step %d was dancer_%s from %s, want dancer_%02d from %s (all: %v)", k, m[1], m[2], k%len(nodes), nodes[k%len(nodes)], seen)
		}
	}
	// remove_actor sent to another host's admin is forwarded; the ring stops.
	ws.expect("third.main.admin", "remove_actor", raw(`{"name": "dancer_00"}`), "actor_is_removed")

	// A ticking actor moves first.process_0 → second.process_0 → third.main.
	ws.expect("first.process_0.admin", "create_actor", createBody("IteratingHelloWorld", "iter"), "actor_is_created")
	ws.expect("iter", "set_params", raw(`{"params": [{"name": "period", "value": 0.15}, {"name": "limit", "value": null}]}`), "params_are_set")
	ws.expect("iter", "tick_start", nil, "tick_started")
	iterRE := regexp.MustCompile(`^IteratingHelloWorld "iter" from "([^"]+)" says "Hello, World! \((\d+)\)"$`)
	countFrom := func(node string) int {
		n := 0
		for _, m := range lines.matching(iterRE) {
			if m[1] == node {
				n++
			}
		}
		return n
	}
	eventually(t, 10*time.Second, "iter ticking in first.process_0", func() bool { return countFrom("first.process_0.admin") >= 3 })
	ws.expect("first.process_0.admin", "recreate_actor", raw(`{"entity": "iter", "node": "second.process_0.admin"}`), "actor_is_recreated")
	eventually(t, 10*time.Second, "iter ticking in second.process_0", func() bool { return countFrom("second.process_0.admin") >= 3 })
	ws.expect("second.main.admin", "recreate_actor", raw(`{"entity": "iter", "node": "third.main.admin"}`), "actor_is_recreated")
	eventually(t, 10*time.Second, "iter ticking in third.main", func() bool { return countFrom("third.main.admin") >= 3 })
	ws.expect("iter", "tick_stop", nil, "tick_stopped")
	got := lines.matching(iterRE)
	for k, m := range got {
		if n, _ := strconv.Atoi(m[2]); n != k {
			t.Fatalf("line %d of iter says %d: a gap or a repeat across the moves: %v", k, n, got)
		}
	}

	// exit on one host stops every process of every host.
	pids := systemPIDs(t, ws, "first", "second", "third")
	if len(pids) != 6 {
		t.Fatalf("want 6 processes, got pids %v", pids)
	}
	dial(t, second).request("send", "second.process_0.admin", "exit", nil, 0) // from another host's console
	for _, in := range []*instance{first, second, third} {
		if code, _ := in.waitExit(t, 15*time.Second); code != 0 {
			t.Errorf("a host exited with code %d", code)
		}
	}
	eventually(t, 10*time.Second, "no process of the system left", func() bool {
		for _, pid := range pids {
			if alive(pid) {
				return false
			}
		}
		return true
	})
}

// TestHostKilled: kill -9 of a host that is not the head, during traffic.
// The others notice within seconds, asks to its actors fail fast with an
// error naming it, the rest keeps working, and the host rejoins under its
// name once it runs again.
func TestHostKilled(t *testing.T) {
	t.Parallel()
	first := startFresh(t)
	addr, secret := joinInfo(t, first)
	secondDir := t.TempDir()
	args := []string{"run", "--console", "127.0.0.1:0", "--host", "second", "--join", addr, "--secret-file", secret}
	second := startIn(t, secondDir, nil, "second", args...)
	third := startHost(t, "third", addr, secret, nil)
	ws := dial(t, first)
	eventually(t, 10*time.Second, "three hosts up", func() bool { return len(hostStates(ws)) == 3 })
	ws.expect("second.main.admin", "create_process", nil, "process_is_created")
	ws.expect("second.process_0.admin", "create_actor", createBody("HelloWorld", "on_second"), "actor_is_created")
	ws.expect("third.main.admin", "create_actor", createBody("HelloWorld", "on_third"), "actor_is_created")
	ws.expect("on_second", "tick", nil, "hello_world")

	// Traffic to the host while it is killed: asks either succeed or fail
	// fast, naming it; none waits for its timeout.
	stop := make(chan struct{})
	type result struct {
		command, text string
		took          time.Duration
	}
	results := make(chan result, 1000)
	var answered atomic.Int64
	trafficWS := dial(t, first)
	go func() {
		defer close(results)
		for {
			select {
			case <-stop:
				return
			default:
			}
			begin := time.Now()
			a := trafficWS.request("ask", "on_second", "tick", nil, 8)
			if a.command() == "hello_world" {
				answered.Add(1)
			}
			results <- result{a.command(), a.String(), time.Since(begin)}
		}
	}()
	eventually(t, 10*time.Second, "some asks answered before the kill", func() bool { return answered.Load() >= 5 })
	pids := systemPIDs(t, ws, "second")
	killed := time.Now()
	if err := second.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "second to be seen gone", func() bool { return hostStates(ws)["second"] == "gone" })
	t.Logf("second was seen gone %s after kill -9", time.Since(killed).Round(time.Millisecond))
	a := ws.ask("on_second", "tick", nil)
	if a.command() != "actor_is_not_found" {
		t.Errorf("an ask to an actor of the dead host: %s, want actor_is_not_found", a)
	}
	close(stop)
	var ok, failed int
	for r := range results {
		switch {
		case r.command == "hello_world":
			ok++
		case r.took > 5*time.Second:
			t.Errorf("an ask took %s to fail: %s", r.took, r.text)
		default:
			failed++
		}
	}
	t.Logf("asks during the kill: %d answered, %d failed fast", ok, failed)
	if ok == 0 {
		t.Error("no ask succeeded before the kill")
	}
	// Its child dies with it.
	eventually(t, 10*time.Second, "second's child process to exit", func() bool {
		for _, pid := range pids {
			if alive(pid) {
				return false
			}
		}
		return true
	})
	// The rest keeps working.
	ws.expect("on_third", "tick", nil, "hello_world")
	ws.expect("third.main.admin", "create_actor", createBody("HelloWorld", "after_kill"), "actor_is_created")

	// It comes back under its name.
	startIn(t, secondDir, nil, "second", args...)
	eventually(t, 10*time.Second, "second to rejoin", func() bool { return hostStates(ws)["second"] == "up" })
	ws.expect("second.main.admin", "create_actor", createBody("HelloWorld", "on_second"), "actor_is_created")
	ws.expect("on_second", "tick", nil, "hello_world")

	// A host stopped on purpose says so: it is gone at once, with the reason.
	left := time.Now()
	if err := third.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "third to be seen gone", func() bool { return hostStates(ws)["third"] == "gone" })
	if d := time.Since(left); d > 2*time.Second {
		t.Errorf("a host that left on purpose was seen gone after %s", d)
	}
	if code, _ := third.waitExit(t, 10*time.Second); code != 0 {
		t.Errorf("third exited with code %d after SIGTERM", code)
	}
	eventually(t, 5*time.Second, "the reason in the first host's log", func() bool {
		return strings.Contains(first.stderr.String(), "the host is leaving")
	})
}

// TestHostRefused: a host with another secret cannot join (and the first
// host logs the refusal); a second host named like a running one is
// refused with a clear error.
func TestHostRefused(t *testing.T) {
	t.Parallel()
	first := startFresh(t)
	addr, secret := joinInfo(t, first)

	// Its own secret (made on first run), not the system's.
	dir := t.TempDir()
	r := runCLI(t, dir, nil, "run", "--console", "127.0.0.1:0", "--host", "intruder", "--join", addr)
	r.check(t, "a host with another secret", 1, "", "secret differs from the system's")
	eventually(t, 5*time.Second, "the refusal in the first host's log", func() bool {
		return strings.Contains(first.stderr.String(), "link refused")
	})

	second := startHost(t, "second", addr, secret, nil)
	_ = second
	r = runCLI(t, t.TempDir(), nil, "run", "--console", "127.0.0.1:0", "--host", "second", "--join", addr, "--secret-file", secret)
	r.check(t, "a second host named second", 1, "", `host name "second" is taken`)
	r = runCLI(t, t.TempDir(), nil, "run", "--console", "127.0.0.1:0", "--host", "first", "--join", addr, "--secret-file", secret)
	r.check(t, "a host named like the first", 1, "", `host name "first" is taken`)
	r = runCLI(t, t.TempDir(), nil, "run", "--console", "127.0.0.1:0", "--host", "x", "--join", addr, "--secret-file", filepath.Join(dir, "missing"))
	r.check(t, "a missing secret file", 1, "", "read secret")
	ws := dial(t, first)
	if s := hostStates(ws); len(s) != 2 || s["second"] != "up" {
		t.Errorf("hosts after the refusals: %v", s)
	}
}

// TestHostsPackages: one package set for the system. A Git package listed
// only in the first host's repo list is created in a child of a second
// host, whose own list does not name it, and moved between the hosts; each
// host fetches it into its own cache, at the commit the first host's lock
// pins, and the second host's own list is not used while it is joined.
func TestHostsPackages(t *testing.T) {
	t.Parallel()
	h := newGitHome(t)
	firstDir := t.TempDir()
	h.config(t, firstDir)
	first := start(t, firstDir, "run", "--console", "127.0.0.1:0")
	addr, secret := joinInfo(t, first)
	// second: its own repo list (without pkg, with a package of its own),
	// lock and cache.
	other := gittest.Init(t, filepath.Join(h.repos, "other"))
	gitPackageRelease(other, "other", "3.0.0", "other")
	secondDir := t.TempDir()
	cache2 := filepath.Join(secondDir, "packages")
	writeFile(t, filepath.Join(secondDir, "config", "repos.toml"), fmt.Sprintf("[[package]]\nname = \"other\"\nurl = %q\ntags = [\"v3.0.0\"]\n", other.URL()))
	writeFile(t, filepath.Join(secondDir, "config", "peacepie.toml"), fmt.Sprintf("repos = \"repos.toml\"\nlock = \"repos.lock\"\npackages = %q\n", cache2))
	second := startIn(t, secondDir, nil, "second", "run", "--console", "127.0.0.1:0", "--host", "second", "--join", addr, "--secret-file", secret)
	ws := dial(t, first)
	eventually(t, 10*time.Second, "second to join", func() bool { return hostStates(ws)["second"] == "up" })

	node := ws.expect("second.main.admin", "create_process", nil, "process_is_created").bodyString("node")
	ws.expect(node, "create_actor", gitCreateBody("pkg==2.0.0", "mover"), "actor_is_created")
	if v, _ := askVersion(ws, "mover"); v != "2.0.0" {
		t.Errorf("mover in %s answers version %q, want 2.0.0", node, v)
	}
	if c := actorCommit(ws, node, "mover"); c != h.pkg.CommitOf("v2.0.0") {
		t.Errorf("mover in %s runs commit %q, want %s", node, c, h.pkg.CommitOf("v2.0.0"))
	}
	if entries, _ := os.ReadDir(filepath.Join(cache2, "pkg")); len(entries) != 1 || !strings.HasPrefix(entries[0].Name(), "2.0.0-") {
		t.Errorf("second's own cache holds %v, want pkg 2.0.0", entries)
	}
	// The system's lock (the first host's) pins it.
	if lock, err := os.ReadFile(h.lock); err != nil || !strings.Contains(string(lock), h.pkg.CommitOf("v2.0.0")) {
		t.Errorf("the first host's lock does not pin pkg 2.0.0 (%v):\n%s", err, lock)
	}
	// The second host's own list is not the system's: its package is not there.
	a := ws.expect(node, "create_actor", gitCreateBody("other", "o"), "actor_is_not_created")
	if !strings.Contains(a.bodyString("error"), "other") {
		t.Errorf("a package of the second host's own list: %s", a)
	}

	for _, to := range []string{"first.main.admin", "second.main.admin", node} {
		ws.expect(admin, "recreate_actor", raw(fmt.Sprintf(`{"entity": "mover", "node": %q}`, to)), "actor_is_recreated")
		if f := ws.expect(admin, "seek_actor", raw(`{"entity": "mover"}`), "actor_is_found"); f.bodyString("node") != to {
			t.Errorf("after the move to %s: %s", to, f)
		}
		if v, _ := askVersion(ws, "mover"); v != "2.0.0" {
			t.Errorf("after the move to %s mover answers version %q, want 2.0.0", to, v)
		}
		if c := actorCommit(ws, to, "mover"); c != h.pkg.CommitOf("v2.0.0") {
			t.Errorf("after the move to %s mover runs commit %q, want %s", to, c, h.pkg.CommitOf("v2.0.0"))
		}
	}
	eventually(t, 10*time.Second, "second to say its own repo list is not used", func() bool {
		return strings.Contains(second.stderr.String(), "its own repo list is not used")
	})
}

// actorCommit returns the commit get_actors of the admin at node reports
// for an actor.
func actorCommit(ws *wsConn, node, name string) string {
	ws.t.Helper()
	a := ws.expect(node, "get_actors", nil, "actors")
	o, _ := a["body"].(map[string]any)
	list, _ := o["actors"].([]any)
	for _, e := range list {
		if m, _ := e.(map[string]any); m["name"] == name {
			return fmt.Sprint(m["commit"])
		}
	}
	ws.t.Fatalf("get_actors of %s does not list %s: %s", node, name, a)
	return ""
}

// TestHostsPackageMovedTag: a tag that moved is refused by a host whose
// fetch gets another commit than the system pins; once `peacepie repo
// update` on the first host accepts it, new actors of that version run
// the new commit everywhere (the first host's main process and child, the
// second host's main process and child), while an actor that ran the old
// commit keeps it.
func TestHostsPackageMovedTag(t *testing.T) {
	t.Parallel()
	h := newGitHome(t)
	firstDir := t.TempDir()
	cfg := h.config(t, firstDir)
	first := start(t, firstDir, "run", "--console", "127.0.0.1:0")
	addr, secret := joinInfo(t, first)
	secondDir := t.TempDir()
	cache2 := filepath.Join(secondDir, "packages")
	writeFile(t, filepath.Join(secondDir, "config", "peacepie.toml"), fmt.Sprintf("packages = %q\n", cache2))
	startIn(t, secondDir, nil, "second", "run", "--console", "127.0.0.1:0", "--host", "second", "--join", addr, "--secret-file", secret)
	ws := dial(t, first)
	eventually(t, 10*time.Second, "second to join", func() bool { return hostStates(ws)["second"] == "up" })
	child1 := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	child2 := ws.expect("second.main.admin", "create_process", nil, "process_is_created").bodyString("node")

	old := h.pkg.CommitOf("v1.0.0")
	ws.expect(admin, "create_actor", gitCreateBody("pkg==1.0.0", "old"), "actor_is_created")
	ws.expect(child1, "create_actor", gitCreateBody("pkg==1.0.0", "old_child"), "actor_is_created")

	// The tag moves; the first host's lock still pins the old commit.
	h.pkg.Commit("re-release 1.0.0", map[string]string{
		"peacepie.toml": "name = \"pkg\"\nversion = \"1.0.0\"\n\n[actors]\nMain = \"main\"\n",
		"main.lua":      gitMainModule("1.0.0", "moved"),
	})
	h.pkg.MoveTag("v1.0.0", false)
	moved := h.pkg.CommitOf("v1.0.0")
	// The second host has nothing cached: its fetch gets the new commit,
	// which the system does not pin.
	a := ws.expect(child2, "create_actor", gitCreateBody("pkg==1.0.0", "refused"), "actor_is_not_created")
	if e := a.bodyString("error"); !strings.Contains(e, "the system pins "+old[:12]) || !strings.Contains(e, moved[:12]) || !strings.Contains(e, "peacepie repo update pkg") {
		t.Errorf("a fetch of another commit than the pin: %s", a)
	}
	if entries, _ := os.ReadDir(filepath.Join(cache2, "pkg")); len(entries) != 0 {
		t.Errorf("the refused fetch left %v in second's cache", entries)
	}
	// The first host, from its cache, still runs the pinned commit.
	ws.expect(child1, "create_actor", gitCreateBody("pkg==1.0.0", "still_old"), "actor_is_created")
	if c := actorCommit(ws, child1, "still_old"); c != old {
		t.Errorf("before repo update, a new actor in %s runs %s, want the pinned %s", child1, c, old)
	}

	r := runCLI(t, firstDir, nil, "repo", "update", "--config", cfg, "pkg")
	r.check(t, "repo update pkg", 0, fmt.Sprintf("pkg v1.0.0: moved from %s to %s (accepted)", old[:12], moved[:12]), "")

	// One commit everywhere for new actors (the set reaches the others in
	// a moment).
	n := 0
	for _, node := range []string{admin, child1, "second.main.admin", child2} {
		eventually(t, 15*time.Second, "a new pkg==1.0.0 actor in "+node+" to run the accepted commit", func() bool {
			n++
			name := fmt.Sprintf("new_%d", n)
			a := ws.ask(node, "create_actor", gitCreateBody("pkg==1.0.0", name))
			if a.command() != "actor_is_created" {
				t.Logf("%s: %s", node, a)
				return false
			}
			c := actorCommit(ws, node, name)
			if _, build := askVersion(ws, name); c != moved || build != "moved" {
				ws.expect(node, "remove_actor", raw(fmt.Sprintf(`{"name": %q}`, name)), "actor_is_removed")
				return false
			}
			return true
		})
	}
	// Actors of the old commit keep running it.
	for _, name := range []string{"old", "old_child"} {
		if _, build := askVersion(ws, name); build != "first" {
			t.Errorf("%s answers build %q after repo update, want its old code (first)", name, build)
		}
	}
}

// TestHostsTLS: hosts whose links use mutual TLS (certificates of one CA in
// their configs) form a system, child processes included; a host without
// TLS cannot join it.
func TestHostsTLS(t *testing.T) {
	t.Parallel()
	certs := t.TempDir()
	ca := testcert.NewCA(t, "peacepie test system")
	caFile := ca.WriteCA(t, certs)
	tlsConfig := func(name string) string {
		dir := t.TempDir()
		cert, key := ca.Issue(t, certs, name)
		writeFile(t, filepath.Join(dir, "config", "peacepie.toml"), fmt.Sprintf("tls_cert = %q\ntls_key = %q\ntls_ca = %q\n", cert, key, caFile))
		return dir
	}
	first := start(t, tlsConfig("first"), "run", "--console", "127.0.0.1:0")
	addr, secret := joinInfo(t, first)
	startIn(t, tlsConfig("second"), nil, "second", "run", "--console", "127.0.0.1:0", "--host", "second", "--join", addr, "--secret-file", secret)
	ws := dial(t, first)
	eventually(t, 10*time.Second, "second to join over TLS", func() bool { return hostStates(ws)["second"] == "up" })
	ws.expect("second.main.admin", "create_process", nil, "process_is_created")
	ws.expect(admin, "create_process", nil, "process_is_created")
	ws.expect("second.process_0.admin", "create_actor", createBody("HelloWorld", "tls_hw"), "actor_is_created")
	ws.expect("first.process_0.admin", "create_actor", createBody("IteratingHelloWorld", "tls_iter"), "actor_is_created")
	ws.expect("tls_hw", "tick", nil, "hello_world")
	ws.expect("first.process_0.admin", "recreate_actor", raw(`{"entity": "tls_iter", "node": "second.process_0.admin"}`), "actor_is_recreated")
	ws.expect("tls_iter", "get_params", nil, "params")

	r := runCLI(t, t.TempDir(), nil, "run", "--console", "127.0.0.1:0", "--host", "plain", "--join", addr, "--secret-file", secret)
	r.check(t, "a host without TLS", 1, "", "cannot join")
	eventually(t, 5*time.Second, "the TLS refusal in the first host's log", func() bool {
		return strings.Contains(first.stderr.String(), "TLS:")
	})
	half := t.TempDir()
	writeFile(t, filepath.Join(half, "config", "peacepie.toml"), fmt.Sprintf("tls_cert = %q\n", caFile))
	runCLI(t, half, nil, "run", "--console", "127.0.0.1:0").check(t, "tls_cert alone", 1, "", "set all three or none")
	broken := t.TempDir()
	writeFile(t, filepath.Join(broken, "config", "peacepie.toml"), fmt.Sprintf("tls_cert = %q\ntls_key = %q\ntls_ca = %q\n", caFile, caFile, caFile))
	runCLI(t, broken, nil, "run", "--console", "127.0.0.1:0").check(t, "a CA certificate as the key", 1, "", "link TLS")
}

// TestRuntimeSettings: gc_percent and go_threads are checked, and a system
// with one Go thread per process runs, children included.
func TestRuntimeSettings(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ text, want string }{
		{"gc_percent = 5\n", "gc_percent must be 25 or more"},
		{"go_threads = -1\n", "go_threads must be 0"},
		{"gc_percent = \"a lot\"\n", "gc_percent"},
	} {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "config", "peacepie.toml"), c.text)
		runCLI(t, dir, nil, "run", "--console", "127.0.0.1:0").check(t, c.text, 1, "", c.want)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "config", "peacepie.toml"), "go_threads = 1\ngc_percent = 200\n")
	in := start(t, dir, "run", "--console", "127.0.0.1:0")
	ws := dial(t, in)
	node := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	ws.expect(node, "create_actor", createBody("HelloWorld", "one_thread"), "actor_is_created")
	ws.expect("one_thread", "tick", nil, "hello_world")
}

// TestHostRestartsItsChild: a host other than the head restarts a child
// process that was killed (restart = "always" in its config), and the head
// re-creates the child's actors with their last params.
func TestHostRestartsItsChild(t *testing.T) {
	t.Parallel()
	first := startFresh(t)
	addr, secret := joinInfo(t, first)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "config", "peacepie.toml"), "restart = \"always\"\nrestart_backoff = \"200ms\"\n")
	startIn(t, dir, nil, "second", "run", "--console", "127.0.0.1:0", "--host", "second", "--join", addr, "--secret-file", secret)
	ws := dial(t, first)
	eventually(t, 10*time.Second, "second to join", func() bool { return hostStates(ws)["second"] == "up" })
	node := ws.expect("second.main.admin", "create_process", nil, "process_is_created").bodyString("node")
	ws.expect(node, "create_actor", createBody("IteratingHelloWorld", "far"), "actor_is_created")
	ws.expect("far", "set_params", raw(`{"params": [{"name": "period", "value": 0.5}, {"name": "limit", "value": 7}]}`), "params_are_set")
	pidOf := func() int {
		for _, pid := range systemPIDs(t, ws, "second")[1:] {
			return pid
		}
		return 0
	}
	old := pidOf()
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if a := ws.ask("far", "get_params", nil); a.command() == "params" {
		t.Errorf("an actor of a killed process answered: %s", a)
	}
	eventually(t, 15*time.Second, "the child to come back with its actor", func() bool {
		pid := pidOf()
		return pid != 0 && pid != old && ws.ask("far", "get_params", nil).command() == "params"
	})
	if s := ws.expect("far", "get_params", nil, "params").String(); !strings.Contains(s, `"name":"period","value":0.5`) || !strings.Contains(s, `"name":"limit","value":7`) {
		t.Errorf("after the restart the params are %s, want period 0.5 and limit 7", s)
	}
	if f := ws.expect(admin, "seek_actor", raw(`{"entity": "far"}`), "actor_is_found"); f.bodyString("node") != node {
		t.Errorf("the actor came back in %s, want %s", f.bodyString("node"), node)
	}
}

// TestJoinLineOfASecondHost: the join line a joined host prints works as
// printed. It names the system's secret file (not the secret its own first
// run made in its config) and a console address free on this machine, so
// a third host follows it on the same machine; and `peacepie ask` in the
// second host's directory reaches the second host's own console.
func TestJoinLineOfASecondHost(t *testing.T) {
	t.Parallel()
	first := startFresh(t)
	addr, secret := joinInfo(t, first)
	secondDir := t.TempDir()
	// No --console: the second host would take the default port if it were free.
	second := startIn(t, secondDir, nil, "second", "run", "--console", "127.0.0.1:0", "--host", "second", "--join", addr, "--secret-file", secret)
	addr2, secret2 := joinInfo(t, second)
	if secret2 != secret {
		t.Errorf("the second host's join line names the secret file %s, want the system's %s", secret2, secret)
	}
	m := joinLineRE.FindStringSubmatch(second.stdout.String())
	line := strings.TrimPrefix(m[0], "other hosts join with: peacepie ")
	args := strings.Fields(strings.Replace(line, "NAME", "third", 1))
	startIn(t, t.TempDir(), nil, "third", args...)
	ws := dial(t, first)
	eventually(t, 15*time.Second, "three hosts up after following the second host's join line "+addr2, func() bool {
		states := hostStates(ws)
		return len(states) == 3 && states["third"] == "up"
	})
	r := runCLI(t, secondDir, nil, "ask", "second.main.admin", "get_processes")
	r.check(t, "peacepie ask in the second host's directory", 0, `"host": "second"`, "")
}

// TestHostsPackageGrants: the admin grants of the system's package set
// hold on every host. The second host's own repo list grants "mallory"
// everything and "trusted" nothing; it is not used: mallory's actor in a
// child of the second host may not create a process, while trusted,
// granted create_process by the first host's list, may.
func TestHostsPackageGrants(t *testing.T) {
	t.Parallel()
	firstDir := t.TempDir()
	cfg := grantsHome(t, firstDir, "", map[string]string{
		"mallory": "",
		"trusted": `admin = ["create_process"]`,
	})
	first := start(t, firstDir, "run", "--console", "127.0.0.1:0")
	addr, secret := joinInfo(t, first)
	// The second host's own list: the same packages at the same URLs, but
	// mallory has every grant and trusted none.
	text, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var firstList string
	for _, line := range strings.Split(string(text), "\n") {
		if v, ok := strings.CutPrefix(line, "repos = "); ok {
			firstList, _ = strconv.Unquote(v)
		}
	}
	list, err := os.ReadFile(firstList)
	if err != nil {
		t.Fatal(err)
	}
	secondDir := t.TempDir()
	own := strings.Replace(string(list), `admin = ["create_process"]`, "", 1)
	own = strings.Replace(own, "name = \"mallory\"", "name = \"mallory\"\nadmin = [\"all\"]", 1)
	writeFile(t, filepath.Join(secondDir, "config", "repos.toml"), own)
	startIn(t, secondDir, nil, "second", "run", "--console", "127.0.0.1:0", "--host", "second", "--join", addr, "--secret-file", secret)
	ws := dial(t, first)
	eventually(t, 10*time.Second, "second to join", func() bool { return hostStates(ws)["second"] == "up" })
	node := ws.expect("second.main.admin", "create_process", nil, "process_is_created").bodyString("node")
	ws.expect(node, "create_actor", gitCreateBody("mallory", "mallory"), "actor_is_created")
	ws.expect(node, "create_actor", gitCreateBody("trusted", "trusted"), "actor_is_created")

	if r := via(ws, "ask", "second.main.admin", "create_process", nil); r.command() != "error" ||
		!strings.Contains(fmt.Sprint(r["body"]), `not allowed: the actors of package "mallory" may not send`) {
		t.Errorf("mallory's create_process on the second host: %s, want a refusal (its own list's grant is not used)", r)
	}
	if r := viaActor(ws, "trusted", "ask", "second.main.admin", "create_process", nil); r.command() != "process_is_created" {
		t.Errorf("trusted's create_process on the second host: %s, want process_is_created (the first host's grant)", r)
	}
}

// TestHostsPackageFromRoot: a private repository whose credentials only
// the first host's list has. A second host cannot fetch it from the URL
// (credentials are not part of the system's package set), so it gets the
// pinned version's files from the first host over the link, checked by
// commit and content hash, and runs it in a child.
func TestHostsPackageFromRoot(t *testing.T) {
	t.Parallel()
	const password = "priv-pa55word-e2e"
	repos := t.TempDir()
	r := gittest.Init(t, filepath.Join(repos, "priv"))
	gitPackageRelease(r, "priv", "1.0.0", "private")
	srv := gittest.Serve(t, repos)
	srv.RequireAuth("alice", password, "")
	firstDir := t.TempDir()
	writeFile(t, filepath.Join(firstDir, "config", "pw"), password+"\n")
	writeFile(t, filepath.Join(firstDir, "config", "repos.toml"), fmt.Sprintf(
		"[[package]]\nname = \"priv\"\nurl = %q\ntags = [\"v1.0.0\"]\n[package.auth]\nusername = \"alice\"\npassword_file = \"pw\"\n", srv.RepoURL("priv")))
	first := start(t, firstDir, "run", "--console", "127.0.0.1:0")
	addr, secret := joinInfo(t, first)
	secondDir := t.TempDir()
	second := startIn(t, secondDir, nil, "second", "run", "--console", "127.0.0.1:0", "--host", "second", "--join", addr, "--secret-file", secret)
	ws := dial(t, first)
	eventually(t, 10*time.Second, "second to join", func() bool { return hostStates(ws)["second"] == "up" })
	node := ws.expect("second.main.admin", "create_process", nil, "process_is_created").bodyString("node")

	ws.expect(node, "create_actor", gitCreateBody("priv==1.0.0", "p"), "actor_is_created")
	if v, build := askVersion(ws, "p"); v != "1.0.0" || build != "private" {
		t.Errorf("priv in %s answers %s %s, want 1.0.0 private", node, v, build)
	}
	if c := actorCommit(ws, node, "p"); c != r.CommitOf("v1.0.0") {
		t.Errorf("priv in %s runs commit %s, want %s", node, c, r.CommitOf("v1.0.0"))
	}
	if entries, _ := os.ReadDir(filepath.Join(secondDir, "packages", "priv")); len(entries) != 1 || !strings.HasPrefix(entries[0].Name(), "1.0.0-") {
		t.Errorf("second's cache holds %v, want priv 1.0.0", entries)
	}
	// The child logs it before it answers, but its stderr reaches the
	// test through a pipe that another goroutine reads.
	eventually(t, 10*time.Second, "second to say where it got priv from", func() bool {
		return strings.Contains(second.stderr.String(), "package fetched from the system's root over the link")
	})
	// The second host's main process uses its cache now; a move there works.
	ws.expect(admin, "recreate_actor", raw(`{"entity": "p", "node": "second.main.admin"}`), "actor_is_recreated")
	if v, _ := askVersion(ws, "p"); v != "1.0.0" {
		t.Errorf("after the move priv answers %s", v)
	}
	for _, out := range []string{first.stdout.String(), first.stderr.String(), second.stdout.String(), second.stderr.String()} {
		if strings.Contains(out, password) {
			t.Error("the password is printed")
		}
	}
}

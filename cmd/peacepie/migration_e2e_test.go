package main

// The original's migration-under-load test (reference §9,
// simple_actor_recreate_testing), with the real binary: generators in
// several processes ask a consumer with counters while the consumer and the
// generators are moved between processes every few hundred milliseconds,
// each move switching the package version (a code swap on the way).

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/peacepie/peacepie/internal/gittest"
)

// migGenerator asks `to` "beat" {gen, n} with n = 1..limit, one ask per
// tick. n and failures are params, so they travel with the actor; start
// re-arms the ticker in the new place.
const migGenerator = `local pp = require "peacepie"
local Generator = { params = { to = "", limit = 0, period = 0.01, n = 0, failures = 0, running = false } }

function Generator:_arm()
  pp.cancel(self._timer)
  self._timer = pp.every(self.period, "tick")
end

function Generator:start()
  if self.running and self.n < self.limit then self:_arm() end
  return "started"
end

function Generator:go()
  self.running = true
  self:_arm()
  return "going"
end

function Generator:tick()
  if self.n >= self.limit then
    pp.cancel(self._timer)
    self._timer = nil
    return
  end
  local r, err = pp.ask(self.to, "beat", { gen = pp.name(), n = self.n + 1 }, 10)
  if r then
    self.n = self.n + 1
  else
    self.failures = self.failures + 1
    print("beat failed: " .. tostring(err))
  end
end

function Generator:state()
  return "state", { n = self.n, failures = self.failures, version = VERSION }
end

return Generator
`

// migConsumer checks that each generator's counter grows by exactly one per
// beat: a loss, a repeat or a reordering counts as an error.
const migConsumer = `local pp = require "peacepie"
local Consumer = { params = { last = pp.null, errors = 0, beats = 0 } }

function Consumer:beat(body)
  local last = self.last or {}
  local want = (last[body.gen] or 0) + 1
  if body.n ~= want then
    self.errors = self.errors + 1
    print(string.format("sequence error: %s sent %d, want %d", body.gen, body.n, want))
  end
  last[body.gen] = body.n
  self.last = last
  self.beats = self.beats + 1
  return "beaten"
end

function Consumer:state()
  return "state", { last = self.last or {}, errors = self.errors, beats = self.beats, version = VERSION }
end

return Consumer
`

// migStreamer sends "next" {n} to `to` with n = 1..limit, `batch` at a
// time every `period`: many messages in flight, not one ask at a time.
const migStreamer = `local pp = require "peacepie"
local Streamer = { params = { to = "", limit = 0, batch = 10, period = 0.005, n = 0, running = false } }

function Streamer:_arm()
  pp.cancel(self._timer)
  self._timer = pp.every(self.period, "tick")
end

function Streamer:start()
  if self.running and self.n < self.limit then self:_arm() end
  return "started"
end

function Streamer:go()
  self.running = true
  self:_arm()
  return "going"
end

function Streamer:tick()
  for _ = 1, self.batch do
    if self.n >= self.limit then
      pp.cancel(self._timer)
      self._timer = nil
      return
    end
    self.n = self.n + 1
    pp.send(self.to, "next", { n = self.n })
  end
end

return Streamer
`

// migRelease commits version of package "mig" and tags it; the two
// versions differ only in the VERSION they report.
func migRelease(r *gittest.Repo, version string) {
	prefix := fmt.Sprintf("VERSION = %q\n", version)
	r.Commit("mig "+version, map[string]string{
		"peacepie.toml": fmt.Sprintf("name = \"mig\"\nversion = %q\n\n[actors]\nGenerator = \"generator\"\nConsumer = \"consumer\"\nStreamer = \"streamer\"\n", version),
		"generator.lua": prefix + migGenerator,
		"consumer.lua":  prefix + migConsumer,
		"streamer.lua":  prefix + migStreamer,
	})
	r.Tag("v" + version)
}

// migHome makes the repository of "mig" with two versions and a repo list
// naming it; migConfig writes a host's config over that list, with the
// host's own lock and cache.
func migHome(t *testing.T) (list string) {
	t.Helper()
	repos := t.TempDir()
	pkg := gittest.Init(t, filepath.Join(repos, "mig"))
	migRelease(pkg, "1.0.0")
	migRelease(pkg, "1.1.0")
	list = filepath.Join(repos, "repos.toml")
	writeFile(t, list, fmt.Sprintf("[[package]]\nname = \"mig\"\nurl = %q\ntags = [\"v1.0.0\", \"v1.1.0\"]\n", pkg.URL()))
	return list
}

func migConfig(t *testing.T, dir, list string) {
	t.Helper()
	writeFile(t, filepath.Join(dir, "config", "peacepie.toml"), fmt.Sprintf("repos = %q\nlock = %q\npackages = %q\nfetch_timeout = \"20s\"\n",
		list, filepath.Join(dir, "repos.lock"), filepath.Join(dir, "packages")))
}

func TestMigrationUnderLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	migConfig(t, dir, migHome(t))
	in := start(t, dir, "run", "--console", "127.0.0.1:0")
	ws := dial(t, in)
	nodes := []string{admin}
	for i := 0; i < 2; i++ {
		nodes = append(nodes, ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node"))
	}
	migrateUnderLoad(t, ws, nodes)
}

// migTwoHosts starts a first host and a second that joins it, both with
// the mig package, and returns the first's console and the second host.
func migTwoHosts(t *testing.T) (*wsConn, *instance) {
	t.Helper()
	list := migHome(t)
	firstDir, secondDir := t.TempDir(), t.TempDir()
	migConfig(t, firstDir, list)
	migConfig(t, secondDir, list)
	first := start(t, firstDir, "run", "--console", "127.0.0.1:0")
	addr, secret := joinInfo(t, first)
	second := startIn(t, secondDir, nil, "second", "run", "--console", "127.0.0.1:0", "--host", "second", "--join", addr, "--secret-file", secret)
	ws := dial(t, first)
	eventually(t, 10*time.Second, "second to join", func() bool { return hostStates(ws)["second"] == "up" })
	return ws, second
}

// TestMigrationUnderLoadAcrossHosts is TestMigrationUnderLoad over two
// hosts with a child process each: the consumer and the generators move
// between processes and hosts, each host fetching mig itself.
func TestMigrationUnderLoadAcrossHosts(t *testing.T) {
	t.Parallel()
	ws, _ := migTwoHosts(t)
	nodes := []string{admin, "second.main.admin"}
	for _, h := range []string{admin, "second.main.admin"} {
		nodes = append(nodes, ws.expect(h, "create_process", nil, "process_is_created").bodyString("node"))
	}
	migrateUnderLoad(t, ws, nodes)
}

// TestStreamAcrossMovesBetweenHosts: a Streamer in the main process of a
// host that is not the head sends numbered messages (many in flight) to a
// Sequence that moves between that host's children, the head's child and
// that host's main process: the way from the sender changes between the
// host's own routing and the root's at every move, and not one message is
// lost, repeated or reordered.
func TestStreamAcrossMovesBetweenHosts(t *testing.T) {
	t.Parallel()
	ws, _ := migTwoHosts(t)
	nodes := []string{
		ws.expect("second.main.admin", "create_process", nil, "process_is_created").bodyString("node"),
		ws.expect("second.main.admin", "create_process", nil, "process_is_created").bodyString("node"),
		ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node"),
		"second.main.admin",
	}
	streamAcrossMoves(t, ws, "second.main.admin", nodes)
}

// TestStreamAcrossMovesBetweenAHostsChildren: a Streamer in a child of a
// host that is not the head streams to a Sequence that moves between two
// other children of that host (reached on direct links that its head gives
// and takes back before each move) and a child of the first host.
func TestStreamAcrossMovesBetweenAHostsChildren(t *testing.T) {
	t.Parallel()
	ws, second := migTwoHosts(t)
	var children []string
	for range 3 {
		children = append(children, ws.expect("second.main.admin", "create_process", nil, "process_is_created").bodyString("node"))
	}
	firstChild := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	streamAcrossMoves(t, ws, children[0], []string{children[1], children[2], children[1], firstChild})
	// The children's log (second's stderr) says the stream took a direct link.
	eventually(t, 10*time.Second, "a direct link between second's children", func() bool {
		return regexp.MustCompile(`a direct link to a process is open".* to=second\.process_`).MatchString(second.stderr.String())
	})
}

// TestStreamAcrossMovesBetweenProcesses is the same in one host: a
// Streamer in a child process streams to a Sequence that moves between the
// head, that child and two others (into the sender's own process too).
func TestStreamAcrossMovesBetweenProcesses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	migConfig(t, dir, migHome(t))
	in := start(t, dir, "run", "--console", "127.0.0.1:0")
	ws := dial(t, in)
	var children []string
	for range 3 {
		children = append(children, ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node"))
	}
	streamAcrossMoves(t, ws, children[0], []string{children[1], children[0], admin, children[2]})
}

// streamAcrossMoves runs a Streamer in streamerNode that sends 30,000
// numbered messages to a Sequence created in nodes[0] and moved round
// nodes every 40 ms, and checks that they all arrived in order.
func streamAcrossMoves(t *testing.T, ws *wsConn, streamerNode string, nodes []string) {
	t.Helper()
	const limit = 30000
	ws.expect(nodes[0], "create_actor", raw(`{"class_desc": {"requires_dist": "peacepie_std", "class": "Sequence"}, "name": "seq"}`), "actor_is_created")
	ws.expect(streamerNode, "create_actor", raw(fmt.Sprintf(`{"class_desc": {"requires_dist": "mig==1.0.0", "class": "Streamer"}, "name": "streamer", "params": {"to": "seq", "limit": %d, "batch": 40, "period": 0.002}}`, limit)), "actor_is_created")
	ws.expect("streamer", "go", nil, "going")
	state := func() string { return ws.ask("seq", "state", nil).String() }
	moves := 0
	for i := 0; !strings.Contains(state(), fmt.Sprintf(`"last":%d`, limit)); i++ {
		if moves > 200 {
			t.Fatalf("the stream did not end after %d moves: %s", moves, state())
		}
		to := nodes[i%len(nodes)]
		if a := ws.ask(nodes[(i+1)%len(nodes)], "recreate_actor", raw(fmt.Sprintf(`{"entity": "seq", "node": %q}`, to))); a.command() != "actor_is_recreated" {
			t.Fatalf("move %d of seq to %s: %s", i+1, to, a)
		}
		moves++
		time.Sleep(40 * time.Millisecond) // the pace of the moves, not a wait for a condition
	}
	if s := state(); !strings.Contains(s, `"errors":0`) {
		t.Fatalf("after %d moves the sequence saw errors: %s", moves, s)
	}
	if moves < 4 {
		t.Errorf("only %d moves happened while the stream ran", moves)
	}
	t.Logf("%d messages in order over %d moves", limit, moves)
}

// migrateUnderLoad runs generators in nodes that ask a consumer, while it
// and they move between nodes with a code swap each time, and checks that
// the consumer saw every counter exactly once and in order.
func migrateUnderLoad(t *testing.T, ws *wsConn, nodes []string) {
	t.Helper()
	classDesc := func(class, version string) string {
		return fmt.Sprintf(`{"requires_dist": "mig==%s", "class": %q}`, version, class)
	}
	ws.expect(nodes[1], "create_actor", raw(`{"class_desc": `+classDesc("Consumer", "1.0.0")+`, "name": "consumer"}`), "actor_is_created")
	const gens, limit = 8, 250
	class := map[string]string{"consumer": "Consumer"}
	for i := 0; i < gens; i++ {
		name := fmt.Sprintf("gen_%d", i)
		class[name] = "Generator"
		ws.expect(nodes[i%len(nodes)], "create_actor", raw(fmt.Sprintf(`{"class_desc": %s, "name": %q, "params": {"to": "consumer", "limit": %d, "period": 0.02}}`,
			classDesc("Generator", "1.0.0"), name, limit)), "actor_is_created")
	}
	for i := 0; i < gens; i++ {
		ws.expect(fmt.Sprintf("gen_%d", i), "go", nil, "going")
	}

	// Move the consumer or a generator every 150 ms to a random process
	// (sometimes where it already is: a restart in place), switching the
	// package version each time, until every generator is done.
	rnd := uint64(2024)
	next := func(n int) int {
		rnd = rnd*6364136223846793005 + 1442695040888963407
		return int((rnd >> 33) % uint64(n))
	}
	version := map[string]string{}
	for name := range class {
		version[name] = "1.0.0"
	}
	names := []string{"consumer"}
	for i := 0; i < gens; i++ {
		names = append(names, fmt.Sprintf("gen_%d", i))
	}
	done := func() bool {
		var st struct {
			Body struct {
				Last   map[string]int `json:"last"`
				Errors int            `json:"errors"`
			} `json:"body"`
		}
		a := ws.ask("consumer", "state", nil)
		data, _ := json.Marshal(map[string]any(a))
		if err := json.Unmarshal(data, &st); err != nil || a.command() != "state" {
			return false
		}
		for i := 0; i < gens; i++ {
			if st.Body.Last[fmt.Sprintf("gen_%d", i)] != limit {
				return false
			}
		}
		return true
	}
	moves, movedOf := 0, map[string]int{}
	deadline := time.Now().Add(60 * time.Second)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("the generators did not finish within a minute; consumer: %s", ws.ask("consumer", "state", nil))
		}
		name := names[next(len(names))]
		to := nodes[next(len(nodes))]
		v := "1.1.0"
		if version[name] == v {
			v = "1.0.0"
		}
		a := ws.ask(nodes[next(len(nodes))], "recreate_actor", raw(fmt.Sprintf(`{"entity": %q, "node": %q, "class_desc": %s}`, name, to, classDesc(class[name], v))))
		if a.command() != "actor_is_recreated" {
			t.Fatalf("move %d: recreate_actor %s to %s with mig %s: %s", moves+1, name, to, v, a)
		}
		version[name] = v
		moves++
		movedOf[name]++
		time.Sleep(150 * time.Millisecond) // the pace of the moves, not a wait for a condition
	}
	if moves < 10 || movedOf["consumer"] < 2 {
		t.Errorf("only %d moves (%d of the consumer) happened while the generators ran", moves, movedOf["consumer"])
	}

	if s := ws.expect("consumer", "state", nil, "state"); s.bodyString("version") != version["consumer"] {
		t.Errorf("consumer runs mig %s after its moves, want %s", s.bodyString("version"), version["consumer"])
	}
	if s := ws.ask("consumer", "state", nil).String(); !strings.Contains(s, `"errors":0`) || !strings.Contains(s, fmt.Sprintf(`"beats":%d`, gens*limit)) {
		t.Fatalf("consumer after %d moves: %s, want %d beats and no sequence error", moves, s, gens*limit)
	}
	for i := 0; i < gens; i++ {
		name := fmt.Sprintf("gen_%d", i)
		s := ws.expect(name, "state", nil, "state")
		if s.bodyString("version") != version[name] {
			t.Errorf("%s runs mig %s, want %s", name, s.bodyString("version"), version[name])
		}
		if str := s.String(); !strings.Contains(str, `"failures":0`) || !strings.Contains(str, fmt.Sprintf(`"n":%d`, limit)) {
			t.Errorf("%s: %s, want n = %d and no failed ask", name, str, limit)
		}
	}
	t.Logf("%d moves with a code swap each (%v); %d beats", moves, movedOf, gens*limit)
}

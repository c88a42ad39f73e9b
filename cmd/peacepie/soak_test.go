//go:build soak

package main

// The soak test (make soak; CI runs it): about a minute of mixed traffic
// between Lua actors in three processes while strangers hit the links port
// and hostile actors run. It is behind the soak build tag because it takes
// a minute by design; PEACEPIE_SOAK sets another duration ("20s").

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/peacepie/peacepie/internal/gittest"
)

// soakPackage is the Git package of the soak: a victim that must keep
// answering, chatters that stream to each other across processes, and two
// bombs.
var soakPackage = map[string]string{
	"peacepie.toml": `name = "soak"
version = "1.0.0"

[actors]
Echo = "echo"
Chatter = "chatter"
MemoryBomb = "membomb"
PatternBomb = "patbomb"
`,
	"echo.lua": `local Echo = {}
function Echo:ping(body) return "pong", body end
return Echo
`,
	"chatter.lua": `local pp = require "peacepie"
local Chatter = { params = { peer = "", got = 0 } }
function Chatter:start()
  pp.every(0.01, "tick")
  return "started"
end
function Chatter:tick()
  for i = 1, 50 do pp.send(self.peer, "msg", { n = i, s = "chat" }) end
end
function Chatter:msg(body) self.got = self.got + 1 end
function Chatter:count() return "count", { got = self.got } end
return Chatter
`,
	// boom asks for a gigabyte at once; grow keeps adding to self until
	// the actor's memory bound stops it.
	"membomb.lua": `local MemoryBomb = {}
function MemoryBomb:boom()
  self.blob = string.rep("x", 2^30)
  return "survived"
end
function MemoryBomb:grow()
  local t = self.t or {}
  self.t = t
  for i = 1, 1e8 do t[#t + 1] = string.rep("y", 64) .. i end
  return "survived"
end
return MemoryBomb
`,
	"patbomb.lua": `local PatternBomb = {}
function PatternBomb:boom()
  return "survived", { at = string.find(string.rep("a", 120), string.rep("a*", 4) .. "b") }
end
return PatternBomb
`,
}

func soakDuration(t *testing.T) time.Duration {
	d := time.Minute
	if s := os.Getenv("PEACEPIE_SOAK"); s != "" {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			t.Fatalf("PEACEPIE_SOAK=%q: %v", s, err)
		}
	}
	return d
}

// soakConn is a console WebSocket for one goroutine of the soak: it
// returns errors instead of failing the test, which only the test's own
// goroutine may do.
type soakConn struct {
	c    *websocket.Conn
	next int
}

func soakDial(in *instance) (*soakConn, error) {
	c, _, err := websocket.DefaultDialer.Dial("ws://"+in.addr+"/ws?token="+in.token, nil)
	if err != nil {
		return nil, err
	}
	return &soakConn{c: c}, nil
}

// ask sends an ask and waits up to wait for its answer.
func (s *soakConn) ask(recipient, command string, body any, wait time.Duration) (answer, error) {
	s.next++
	id := s.next
	req, _ := json.Marshal(map[string]any{"id": id, "type": "ask", "recipient": recipient, "command": command, "body": body, "timeout": wait.Seconds()})
	if err := s.c.WriteMessage(websocket.TextMessage, req); err != nil {
		return nil, err
	}
	_ = s.c.SetReadDeadline(time.Now().Add(wait + 5*time.Second))
	for {
		_, data, err := s.c.ReadMessage()
		if err != nil {
			return nil, err
		}
		var a answer
		if err := json.Unmarshal(data, &a); err != nil {
			return nil, err
		}
		if n, ok := a["id"].(float64); ok && int(n) == id {
			return a, nil
		}
	}
}

// rssKiB reads a process's resident set size.
func rssKiB(pid int) (int, bool) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n, err == nil
		}
	}
	return 0, false
}

var linksAddrLine = regexp.MustCompile(`--join (127\.0\.0\.1:\d+) `)

// TestSoak: mixed traffic between Lua actors in three processes, while
// strangers send garbage, slow handshakes, oversized hellos and floods to
// the links port, and a memory bomb and a pattern bomb run. A victim actor
// must answer every ask in time throughout, no process may die or grow
// past its bound, and the attacks must show up as bounded log lines.
func TestSoak(t *testing.T) {
	duration := soakDuration(t)
	// Per process: a 1 GiB bomb that got through would pass it, while an
	// actor at its 32 MiB bound, with the default gc_percent = 400 (the heap
	// may grow to 5 times what is live), stays under it.
	const rssBoundKiB = 768 << 10

	repos := t.TempDir()
	pkg := gittest.Init(t, filepath.Join(repos, "soak"))
	pkg.Commit("soak 1.0.0", soakPackage)
	pkg.Tag("v1.0.0")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "repos.toml"), fmt.Sprintf("[[package]]\nname = \"soak\"\nurl = %q\ntags = [\"v1.0.0\"]\n", pkg.URL()))
	writeFile(t, filepath.Join(dir, "config", "peacepie.toml"), fmt.Sprintf(
		"repos = %q\nhandler_budget = \"1s\"\nactor_memory = \"32MiB\"\nfetch_timeout = \"20s\"\n", filepath.Join(dir, "repos.toml")))
	in := start(t, dir, "run", "--console", "127.0.0.1:0")
	var linksAddr string
	eventually(t, 10*time.Second, "the line \"other hosts join with: …\"", func() bool {
		m := linksAddrLine.FindStringSubmatch(in.stdout.String())
		if m != nil {
			linksAddr = m[1]
		}
		return m != nil
	})

	ws := dial(t, in)
	ws.expect(admin, "create_process", nil, "process_is_created")
	ws.expect(admin, "create_process", nil, "process_is_created")
	create := func(node, class, name string) {
		t.Helper()
		ws.expect(node, "create_actor", raw(fmt.Sprintf(`{"class_desc": {"requires_dist": "soak==1.0.0", "class": %q}, "name": %q}`, class, name)), "actor_is_created")
	}
	create(admin, "Echo", "victim")
	create(admin, "MemoryBomb", "membomb")
	create(admin, "PatternBomb", "patbomb")
	chatters := map[string]string{"c0": "first.process_0.admin", "c1": "first.process_1.admin", "c2": admin}
	peers := map[string]string{"c0": "c1", "c1": "c2", "c2": "c0"}
	for name, node := range chatters {
		create(node, "Chatter", name)
	}
	for name, peer := range peers {
		ws.expect(name, "set_params", raw(fmt.Sprintf(`{"params": [{"name": "peer", "value": %q}]}`, peer)), "params_are_set")
	}
	for name := range chatters {
		ws.expect(name, "start", nil, "started")
	}
	pids := append([]int{in.cmd.Process.Pid}, childPIDs(t, ws)...)
	if len(pids) != 3 {
		t.Fatalf("processes %v, want 3", pids)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failures sync.Map // what went wrong, by kind
	fail := func(kind string, err error) { failures.LoadOrStore(kind, err) }
	run := func(name string, every time.Duration, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(every)
			defer tick.Stop()
			for {
				if err := f(); err != nil {
					fail(name, err)
				}
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
		}()
	}

	// The victim answers every ask within 3 s.
	var victimAsks atomic.Int64
	victim, err := soakDial(in)
	if err != nil {
		t.Fatal(err)
	}
	defer victim.c.Close()
	run("victim", 100*time.Millisecond, func() error {
		a, err := victim.ask("victim", "ping", map[string]any{"n": victimAsks.Load()}, 3*time.Second)
		if err != nil {
			return fmt.Errorf("ask victim: %w", err)
		}
		if a.command() != "pong" {
			return fmt.Errorf("victim answered %s", a)
		}
		victimAsks.Add(1)
		return nil
	})

	// The bombs go off again and again; an actor stopped by its bound is
	// made again.
	bombs, err := soakDial(in)
	if err != nil {
		t.Fatal(err)
	}
	defer bombs.c.Close()
	var bombAnswers sync.Map // command → count
	run("bombs", 500*time.Millisecond, func() error {
		for _, b := range []struct{ name, class, command string }{
			{"membomb", "MemoryBomb", "boom"}, {"membomb", "MemoryBomb", "grow"}, {"patbomb", "PatternBomb", "boom"},
		} {
			a, err := bombs.ask(b.name, b.command, nil, 10*time.Second)
			if err != nil {
				return fmt.Errorf("ask %s %s: %w", b.name, b.command, err)
			}
			if a.command() == "survived" {
				return fmt.Errorf("%s %s was not stopped: %s", b.name, b.command, a)
			}
			n, _ := bombAnswers.LoadOrStore(b.name+" "+b.command+" → "+a.command(), new(atomic.Int64))
			n.(*atomic.Int64).Add(1)
			if a.command() == "actor_is_not_found" {
				body := raw(fmt.Sprintf(`{"class_desc": {"requires_dist": "soak==1.0.0", "class": %q}, "name": %q}`, b.class, b.name))
				if _, err := bombs.ask(admin, "create_actor", body, 10*time.Second); err != nil {
					return fmt.Errorf("create %s again: %w", b.name, err)
				}
			}
		}
		return nil
	})

	// Strangers on the links port.
	strangers := func(name string, every time.Duration, conns int, attack func(net.Conn)) {
		run(name, every, func() error {
			var inner sync.WaitGroup
			for i := 0; i < conns; i++ {
				c, err := net.DialTimeout("tcp", linksAddr, time.Second)
				if err != nil {
					continue // refused or over the cap: that is the point
				}
				inner.Add(1)
				go func() {
					defer inner.Done()
					defer c.Close()
					_ = c.SetDeadline(time.Now().Add(6 * time.Second))
					attack(c)
				}()
			}
			inner.Wait()
			return nil
		})
	}
	strangers("garbage", 50*time.Millisecond, 2, func(c net.Conn) {
		junk := make([]byte, 1024)
		_, _ = rand.Read(junk)
		_, _ = c.Write(junk)
		_, _ = c.Read(junk)
	})
	strangers("slow handshake", time.Second, 8, func(c net.Conn) {
		hello := []byte{1, 1, 0, 0, 0, 40}
		for _, b := range hello {
			if _, err := c.Write([]byte{b}); err != nil {
				return
			}
			time.Sleep(500 * time.Millisecond)
		}
	})
	strangers("oversized hello", 200*time.Millisecond, 10, func(c net.Conn) {
		var h [6]byte
		h[0], h[1] = 1, 1
		binary.BigEndian.PutUint32(h[2:], 16<<20)
		_, _ = c.Write(h[:])
		_, _ = c.Read(make([]byte, 1))
	})
	strangers("wrong secret", 300*time.Millisecond, 3, func(c net.Conn) {
		name := strings.Repeat("\x00", 1<<20)
		var h [6]byte
		h[0], h[1] = 1, 1
		binary.BigEndian.PutUint32(h[2:], uint32(32+len(name)))
		_, _ = c.Write(append(append(h[:], make([]byte, 32)...), name...))
		_, _ = c.Read(make([]byte, 64))
	})
	strangers("flood", 2*time.Second, 100, func(c net.Conn) { _, _ = c.Read(make([]byte, 1)) })

	// Every process stays alive and within its bound.
	maxRSS := make(map[int]int)
	deadline := time.Now().Add(duration)
	for time.Now().Before(deadline) {
		for _, pid := range pids {
			kib, ok := rssKiB(pid)
			if !ok || !alive(pid) {
				close(stop)
				t.Fatalf("process %d of %v died during the soak", pid, pids)
			}
			maxRSS[pid] = max(maxRSS[pid], kib)
			if kib > rssBoundKiB {
				close(stop)
				t.Fatalf("process %d holds %d MiB, over the bound of %d MiB", pid, kib>>10, rssBoundKiB>>10)
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	close(stop)
	wg.Wait()

	failures.Range(func(k, v any) bool {
		t.Errorf("%s: %v", k, v)
		return true
	})
	if n := victimAsks.Load(); n < int64(duration/time.Second) {
		t.Errorf("the victim answered only %d asks in %s", n, duration)
	}
	// Traffic kept flowing between the processes.
	for name := range chatters {
		a := ws.expect(name, "count", nil, "count")
		o, _ := a["body"].(map[string]any)
		if got, _ := o["got"].(json.Number).Int64(); got < 1000 {
			t.Errorf("chatter %s received only %d messages", name, got)
		}
	}
	// The attacks show as bounded log lines.
	logText := in.stderr.String()
	if len(logText) > 4<<20 {
		t.Errorf("the log grew to %d bytes in %s", len(logText), duration)
	}
	refused := strings.Count(logText, "link refused")
	if refused == 0 || refused > 12*int(duration/time.Second)+20 {
		t.Errorf("%d link refused lines in %s: want some, at most about 10 a second", refused, duration)
	}
	for _, line := range strings.Split(logText, "\n") {
		if len(line) > 4096 {
			t.Errorf("a log line of %d bytes: %.200q…", len(line), line)
			break
		}
	}
	bombAnswers.Range(func(k, v any) bool {
		t.Logf("%s: %d", k, v.(*atomic.Int64).Load())
		return true
	})
	for pid, kib := range maxRSS {
		t.Logf("process %d: at most %d MiB resident", pid, kib>>10)
	}
	t.Logf("victim answered %d asks; %d link refused lines, %d bytes of log", victimAsks.Load(), refused, len(logText))
}

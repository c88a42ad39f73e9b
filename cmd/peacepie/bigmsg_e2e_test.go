package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// burnCPU keeps every thread of the test process busy until the test
// ends: the system under test runs on a loaded machine.
func burnCPU(t *testing.T) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for x := uint64(1); ; x = x*6364136223846793005 + 1 {
				if x&0xffff == 0 {
					select {
					case <-stop:
						return
					default:
					}
				}
			}
		}()
	}
	t.Cleanup(func() { close(stop); wg.Wait() })
}

// freezes are the times the test stopped the child (SIGSTOP … SIGCONT).
type freezes struct {
	mu    sync.Mutex
	spans [][2]time.Time
}

// begin records a freeze from now, without an end yet; end ends it.
func (f *freezes) begin() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	f.spans = append(f.spans, [2]time.Time{now, now.Add(time.Hour)})
	return len(f.spans) - 1
}

func (f *freezes) end(i int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.spans[i][1] = time.Now()
}

// within returns how much of [from, to] the child spent frozen.
func (f *freezes) within(from, to time.Time) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	var d time.Duration
	for _, s := range f.spans {
		if lo, hi := later(from, s[0]), earlier(to, s[1]); hi.After(lo) {
			d += hi.Sub(lo)
		}
	}
	return d
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// asker asks actor to echo, one ask after the other on a console
// connection of its own, until stop is closed; it reports every ask that
// was not answered echoed within limit, not counting the time the child
// spent frozen meanwhile (the system's deadline of each ask is 5 s).
func asker(addr, token, actor string, limit time.Duration, stop <-chan struct{}, frozen *freezes, asked, slowest *atomic.Int64) <-chan string {
	bad := make(chan string, 100)
	go func() {
		defer close(bad)
		c, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws?token="+token, nil)
		if err != nil {
			bad <- fmt.Sprintf("dial console: %v", err)
			return
		}
		defer c.Close()
		for id := 1; ; id++ {
			select {
			case <-stop:
				return
			default:
			}
			req, _ := json.Marshal(map[string]any{"id": id, "type": "ask", "recipient": actor, "command": "echo", "body": map[string]any{"n": id}, "timeout": 5})
			began := time.Now()
			if err := c.WriteMessage(websocket.TextMessage, req); err != nil {
				bad <- fmt.Sprintf("ask %d: %v", id, err)
				return
			}
			_ = c.SetReadDeadline(began.Add(10 * time.Second))
			_, data, err := c.ReadMessage()
			if err != nil {
				bad <- fmt.Sprintf("ask %d: no answer: %v", id, err)
				return
			}
			took := time.Since(began)
			took -= frozen.within(began, began.Add(took))
			var a answer
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.UseNumber()
			if int64(took) > slowest.Load() {
				slowest.Store(int64(took))
			}
			if err := dec.Decode(&a); err != nil || a.command() != "echoed" || took > limit {
				bad <- fmt.Sprintf("ask %d: %s after %v (unfrozen)", id, data, took.Round(time.Millisecond))
			}
			asked.Add(1)
			time.Sleep(20 * time.Millisecond) // a client's pace, not a wait for something
		}
	}()
	return bad
}

// TestLargeMessagesDoNotStallTheLink: an actor of the head sends an actor
// in a child ("far") a 20 MiB message (refused: over the 16 MiB frame
// limit) and a 15 MiB one (delivered), ten times, on a loaded machine (the
// whole system on one core when taskset exists, and a busy thread per core
// in the test process); every third time the child is frozen (SIGSTOP) for
// 2 s while the message is on its way, as on a slow machine. Meanwhile the
// console asks far, and "other" in a second child, to echo. Nothing looks
// dead: far answers every ask within 2 s (the time it spent frozen not
// counted), other within 1 s whatever far's link does, no link is
// declared dead, no child is restarted. Before the fix the head
// held its lock while it wrote the message to the frozen child, so asks of
// other waited 2 s, and a link was declared dead.
func TestLargeMessagesDoNotStallTheLink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(dir+"/config", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/config/peacepie.toml", []byte("repl_lua = true\nconsole = \"127.0.0.1:0\"\nrestart = \"always\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var in *instance
	if taskset, err := exec.LookPath("taskset"); err == nil {
		in = startCmd(t, dir, nil, taskset, "-c", "0", binPath, "run", "config/peacepie.toml")
	} else {
		in = start(t, dir, "run", "config/peacepie.toml")
	}
	ws := dial(t, in)
	node := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	node1 := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	pids := childPIDs(t, ws)
	ws.expect(node, "create_actor", raw(`{"class_desc": {"requires_dist": "peacepie_std", "class": "Echo"}, "name": "far"}`), "actor_is_created")
	ws.expect(node1, "create_actor", raw(`{"class_desc": {"requires_dist": "peacepie_std", "class": "Echo"}, "name": "other"}`), "actor_is_created")
	ws.expect(admin, "create_actor", raw(`{"class_desc": {"requires_dist": "peacepie_std", "class": "Echo"}, "name": "near"}`), "actor_is_created")
	burnCPU(t)

	stop := make(chan struct{})
	var asked, askedOther, slowest, slowestOther atomic.Int64
	var frozen, never freezes
	bad := asker(in.addr, in.token, "far", 2*time.Second, stop, &frozen, &asked, &slowest)
	badOther := asker(in.addr, in.token, "other", time.Second, stop, &never, &askedOther, &slowestOther)
	// Each round: a 20 MiB message (refused as it leaves Lua: pp.send
	// raises for a body over 16 MiB of JSON) and a 15 MiB one. Every third
	// round the child is frozen for 2 s while the 15 MiB one is on its way:
	// a slow machine, on which a frame takes seconds. Its asks wait for it;
	// those to the other child must not.
	code := `(function()
		local pp = require "peacepie"
		local ok, err = pcall(pp.send, "far", "echo", string.rep("x", 20 * 1024 * 1024))
		local ok2, err2 = pp.send("far", "echo", string.rep("y", 15 * 1024 * 1024))
		return tostring(ok) .. " " .. tostring(err) .. " | " .. tostring(ok2) .. " " .. tostring(err2)
	end)()`
	for i := range 10 {
		freeze := i%3 == 1
		var f int
		if freeze {
			f = frozen.begin()
			if err := syscall.Kill(pids[0], syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
		}
		req, _ := json.Marshal(map[string]any{"id": 1000 + i, "type": "ask", "recipient": admin, "command": "eval",
			"body": map[string]any{"name": "near", "code": code}, "timeout": 30})
		ws.writeRaw(string(req))
		if freeze {
			time.Sleep(2 * time.Second) // the length of the freeze
			if err := syscall.Kill(pids[0], syscall.SIGCONT); err != nil {
				t.Fatal(err)
			}
			frozen.end(f)
		}
		a := ws.read()
		if s := a.String(); a.command() != "evaluated" || !strings.Contains(s, "larger than the limit") || !strings.Contains(s, "| true nil") {
			t.Fatalf("round %d: %s, want the 20 MiB send refused as too large and the 15 MiB one sent", i, s)
		}
		// Behind the large message on the link: it has been delivered.
		r := ws.request("ask", "far", "echo", raw(`{"round": 1}`), 10)
		if r.command() != "echoed" {
			t.Fatalf("round %d: an ask behind the large message: %s", i, r)
		}
	}
	close(stop)
	for msg := range bad {
		t.Error("far: " + msg)
	}
	for msg := range badOther {
		t.Error("other: " + msg)
	}
	if asked.Load() == 0 || askedOther.Load() == 0 {
		t.Fatal("no ask was answered")
	}
	t.Logf("%d asks of far (the slowest in %v) and %d of other (%v) answered in time while 10 large messages went by",
		asked.Load(), time.Duration(slowest.Load()).Round(time.Millisecond), askedOther.Load(), time.Duration(slowestOther.Load()).Round(time.Millisecond))

	if got := childPIDs(t, ws); len(got) != 2 || got[0] != pids[0] || got[1] != pids[1] {
		t.Errorf("the child's pid went from %v to %v: it was restarted", pids, got)
	}
	a := ws.expect(admin, "get_processes", nil, "processes")
	if strings.Contains(a.String(), `"gone"`) {
		t.Errorf("a process is listed as gone: %s", a)
	}
	for _, dead := range []string{"it is dead", "process is gone", "the link to the head ended", "restarting a process"} {
		if strings.Contains(in.stderr.String(), dead) || strings.Contains(in.stdout.String(), dead) {
			t.Errorf("the log says %q", dead)
		}
	}
}

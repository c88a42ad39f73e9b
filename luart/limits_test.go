package luart_test

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/internal/testhost"
)

// limitsPackage holds the hostile actors of the hardening tests.
var limitsPackage = fstest.MapFS{
	"peacepie.toml": file(`
name = "limits"
version = "1.0.0"

[actors]
Hostile = "hostile"
`),
	"hostile.lua": file(`
local pp = require "peacepie"
local Hostile = {}
function Hostile:echo(body) return "echoed", body end
-- a pcall at every level until the call stack is full (issue item 14)
function Hostile:pcall_rec()
  local function f() return pcall(f) end
  local r = {pcall(f)}
  return "recursed", {n = #r, ok = r[#r - 1], err = tostring(r[#r])}
end
function Hostile:pcall_rec_plain()
  local function f() return pcall(f) end
  pcall(f)
  return "survived"
end
-- exponential backtracking in Go code (issue item 7: 38 s against a 5 s budget)
function Hostile:pattern_bomb()
  return "found", {string.find(string.rep('a', 120), string.rep('a*', 4) .. 'b')}
end
function Hostile:gsub_bomb()
  return "found", {string.gsub(string.rep('a', 120), string.rep('a*', 4) .. 'b', 'x')}
end
-- memory (issue item 6)
function Hostile:rep_gib() self.big = string.rep("x", 2^30) return "kept" end
function Hostile:hoard(body)
  -- fills the state up to its limit, catching the refusal, then keeps
  -- what it was sent, which is counted but not checked
  self.t = {}
  pcall(function() for i = 1, 1e7 do self.t[i] = string.rep("x", 1000) .. i end end)
  self.extra = body
  return "hoarded"
end
function Hostile:timers()
  local n, s = 0, string.rep("y", 1000)
  local ok, err = pcall(function() for i = 1, 1e6 do pp.every(1000, "x", {s = s}) n = n + 1 end end)
  return "timers", {n = n, err = tostring(err)}
end
function Hostile:nap(body) pp.sleep(body) return "napped" end
-- sends n messages to body.to and asks it once (mailbox bound)
function Hostile:flood(body)
  local sent, refused, first = 0, 0, nil
  for i = 1, body.n do
    local ok, err = pp.send(body.to, "echo", {i = i})
    if ok then sent = sent + 1 else refused = refused + 1; first = first or err end
  end
  local r, err = pp.ask(body.to, "echo", {}, 5)
  return "flooded", {sent = sent, refused = refused, first = first, ask_err = err, asked = r ~= nil}
end
-- sends n copies of a table of size numbers to body.to
function Hostile:flood_big(body)
  local t = {}
  for i = 1, body.size do t[i] = i end
  local sent, refused, first = 0, 0, nil
  for i = 1, body.n do
    local ok, err = pp.send(body.to, "echo", t)
    if ok then sent = sent + 1 else refused = refused + 1; first = first or err end
  end
  return "flooded", {sent = sent, refused = refused, first = first}
end
function Hostile:size() return "size", {n = self.t and #self.t or 0} end
return Hostile
`),
}

// startLimits starts a process with the test packages and limits.
func startLimits(t *testing.T, cfg host.Config) *luaHost {
	t.Helper()
	log := &testhost.Output{}
	cfg.Logger = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return &luaHost{t: t, p: testhost.Start(t, cfg, testPackage, otherPackage, limitsPackage), log: log}
}

func (h *luaHost) mustCreateHostile(name string) {
	h.t.Helper()
	if r := h.createFrom("limits", name, "Hostile", ""); r.Command != "actor_is_created" {
		h.t.Fatalf("create %s: %s %s", name, r.Command, jsonOf(r.Body))
	}
}

// TestPCallRecursion: a pcall at every level until the call stack is full
// ends in the ordinary "stack overflow" error, not a Go nil-pointer error
// from inside the VM, and the actor goes on.
func TestPCallRecursion(t *testing.T) {
	h := startLimits(t, host.Config{})
	h.mustCreateHostile("h")
	r := h.ask("h", "pcall_rec", "")
	body, _ := r.Body.(host.Object)
	if r.Command != "recursed" || body.String("err") == "" {
		t.Fatalf("pcall_rec: %s %s", r.Command, jsonOf(r.Body))
	}
	if msg := body.String("err"); !strings.Contains(msg, "stack overflow") || strings.Contains(msg, "nil pointer") {
		t.Fatalf("innermost pcall failed with %q, want a stack overflow", msg)
	}
	if ok, _ := body.Get("ok"); ok != false {
		t.Fatalf("innermost pcall returned %v, want false", ok)
	}
	h.expect("h", "pcall_rec_plain", "", "survived", "null")
	h.expect("h", "echo", `{"n":1}`, "echoed", `{"n":1}`)
}

// TestPatternBombIsInterrupted: a pattern that backtracks exponentially in
// the Go matcher is interrupted by the time budget like Lua code, the
// actor keeps answering, and remove_actor stops it while it runs.
func TestPatternBombIsInterrupted(t *testing.T) {
	const budget = 300 * time.Millisecond
	h := startLimits(t, host.Config{Budget: budget})
	h.mustCreateHostile("h")
	for _, cmd := range []string{"pattern_bomb", "gsub_bomb"} {
		start := time.Now()
		r := h.ask("h", cmd, "")
		if r.Command != "error" || !strings.Contains(errorText(r), "time budget") {
			t.Fatalf("%s: %s %s, want an error about the time budget", cmd, r.Command, jsonOf(r.Body))
		}
		// The watchdog scans about 20 times a budget; 5 s is for a loaded machine.
		if d := time.Since(start); d > budget+5*time.Second {
			t.Fatalf("%s was interrupted only after %s", cmd, d)
		}
		h.expect("h", "echo", `{"n":1}`, "echoed", `{"n":1}`)
	}

	// remove_actor while the bomb runs, with a budget too long to help
	h2 := startLimits(t, host.Config{Budget: time.Hour})
	h2.mustCreateHostile("h2")
	if err := h2.p.Send(host.Message{Command: "pattern_bomb", Recipient: host.Address{Entity: "h2"}}); err != nil {
		t.Fatal(err)
	}
	testhost.Eventually(t, 5*time.Second, "the bomb to begin", func() bool {
		a := h2.p.Lookup("h2")
		return a != nil && a.MailboxLen() == 0
	})
	start := time.Now()
	if r := h2.remove("h2"); r.Command != "actor_is_removed" {
		t.Fatalf("remove: %s %s", r.Command, jsonOf(r.Body))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("remove took %s", d)
	}
}

// heapBound fails the test when the Go heap has grown past max bytes
// since before: a regression of the memory limit fails instead of taking
// the machine's memory.
func heapBound(t *testing.T, max uint64) func() {
	t.Helper()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.TotalAlloc
	return func() {
		t.Helper()
		runtime.ReadMemStats(&ms)
		if grown := ms.TotalAlloc - before; grown > max {
			t.Fatalf("the process allocated %d MiB, more than %d MiB", grown>>20, max>>20)
		}
	}
}

// TestActorMemoryLimit: an allocation past the actor's memory limit fails
// the handler with a clear error, reported by a log line and an event; the
// actor goes on when it keeps nothing, and is stopped when it keeps more
// than its limit; the process and the other actors go on.
func TestActorMemoryLimit(t *testing.T) {
	const limit = 8 << 20
	check := heapBound(t, 1<<30)
	h := startLimits(t, host.Config{ActorMemory: limit})
	w := h.p.Watch()
	defer w.Close()
	h.mustCreateHostile("hog")
	h.mustCreateHostile("bystander")

	// string.rep("x", 2^30) is refused before it is allocated.
	r := h.ask("hog", "rep_gib", "")
	if r.Command != "error" || !strings.Contains(errorText(r), "memory limit of 8 MiB exceeded") {
		t.Fatalf("rep_gib: %s %s, want the memory error", r.Command, jsonOf(r.Body))
	}
	check()
	h.expect("hog", "echo", `{"n":1}`, "echoed", `{"n":1}`)
	waitEvent(t, w, "memory_exceeded", "hog")
	testhost.Eventually(t, 5*time.Second, "the log line", func() bool {
		return strings.Contains(h.log.String(), "memory limit exceeded")
	})

	// Keeping more than the limit stops the actor.
	r = h.ask("hog", "hoard", jsonOf(strings.Repeat("y", 2<<20)))
	if r.Command != "error" || !strings.Contains(errorText(r), "memory limit") {
		t.Fatalf("hoard: %s %s, want the memory error", r.Command, jsonOf(r.Body))
	}
	waitEvent(t, w, "removed", "hog")
	testhost.Eventually(t, 5*time.Second, "hog to be gone", func() bool { return h.p.Lookup("hog") == nil })
	check()
	if !strings.Contains(h.log.String(), "actor is stopped: over its memory limit") {
		t.Errorf("no log line says why hog was stopped:\n%s", h.log.String())
	}
	h.expect("bystander", "echo", `{"n":2}`, "echoed", `{"n":2}`)

	// Timers and their messages count: pp.every is refused at the bound.
	h.mustCreateHostile("ticker")
	r = h.ask("ticker", "timers", "")
	tb, _ := r.Body.(host.Object)
	switch {
	case r.Command == "timers":
		if n, _ := tb.Get("n"); n.(int64) >= 1e5 || !strings.Contains(tb.String("err"), "memory limit of 8 MiB exceeded") {
			t.Fatalf("timers: %s, want the memory error before 100000 timers", jsonOf(tb))
		}
	case r.Command == "error" && strings.Contains(errorText(r), "memory limit"):
		// it holds more than its bound and was stopped
	default:
		t.Fatalf("timers: %s %s", r.Command, jsonOf(r.Body))
	}
	check()
	h.mustCreateHostile("hog") // the name is free again
	h.expect("hog", "echo", `{"n":3}`, "echoed", `{"n":3}`)
}

// waitEvent waits for an event of kind about actor.
func waitEvent(t *testing.T, w *host.Watch, kind, actor string) host.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-w.C:
			if e.Kind == kind && e.Actor == actor {
				return e
			}
		case <-deadline:
			t.Fatalf("no %s event for %s", kind, actor)
		}
	}
}

// TestMailboxLimit: a sleeping actor's mailbox takes mailbox_limit
// messages; past it a send fails and is counted, an ask is answered
// mailbox_is_full at once, an event says so, memory stays bounded, and
// remove_actor (a system task) still gets through.
func TestMailboxLimit(t *testing.T) {
	check := heapBound(t, 1<<30)
	h := startLimits(t, host.Config{}) // the default bound
	limit := host.DefaultMailboxLimit
	w := h.p.Watch()
	defer w.Close()
	h.mustCreateHostile("sleepy")
	h.mustCreateHostile("flooder")
	to := host.Address{Entity: "sleepy"}
	if err := h.p.Send(host.Message{Command: "nap", Body: int64(60), Recipient: to}); err != nil {
		t.Fatal(err)
	}
	testhost.Eventually(t, 5*time.Second, "the nap to begin", func() bool {
		return h.p.Lookup("sleepy").MailboxLen() == 0
	})

	var sent, refused int
	for i := range 2 * limit {
		err := h.p.Send(host.Message{Command: "echo", Body: int64(i), Recipient: to})
		switch {
		case err == nil:
			sent++
		case errors.Is(err, host.ErrMailboxFull):
			refused++
		default:
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if sent != limit || refused != limit {
		t.Fatalf("sent %d, refused %d; want %d each", sent, refused, limit)
	}
	check()

	// An ask is answered at once.
	start := time.Now()
	r, err := h.p.Process.Ask(context.Background(), host.Message{Command: "echo", Recipient: to}, 30*time.Second)
	if !errors.Is(err, host.ErrMailboxFull) || r.Command != "mailbox_is_full" {
		t.Fatalf("ask: %s %s, %v; want mailbox_is_full", r.Command, jsonOf(r.Body), err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the ask was answered after %s", d)
	}

	// From Lua: pp.send fails, pp.ask returns nil, "mailbox_is_full: ...".
	r = h.ask("flooder", "flood", `{"to":"sleepy","n":10}`)
	body, _ := r.Body.(host.Object)
	if r.Command != "flooded" || jsonOf(body) == "" {
		t.Fatalf("flood: %s %s", r.Command, jsonOf(r.Body))
	}
	if sent, _ := body.Get("sent"); sent != int64(0) {
		t.Errorf("flood sent %v messages into a full mailbox", sent)
	}
	if !strings.Contains(body.String("first"), "mailbox is full") || !strings.HasPrefix(body.String("ask_err"), "mailbox_is_full: ") {
		t.Errorf("flood: %s", jsonOf(body))
	}

	// The count is visible.
	info := h.ask("first.main.admin", "get_actor", `{"name":"sleepy"}`)
	ib, _ := info.Body.(host.Object)
	want := int64(limit + 1 + 11)
	if got, _ := ib.Get("refused"); got != want {
		t.Errorf("get_actor refused = %v, want %d (%s)", got, want, jsonOf(info.Body))
	}
	if got, _ := h.p.Stats("sleepy").Get("refused"); got != want {
		t.Errorf("stats refused = %v, want %d", got, want)
	}
	waitEvent(t, w, "mailbox_full", "sleepy")
	if n := strings.Count(h.log.String(), "mailbox is full"); n != 1 {
		t.Errorf("%d log lines about the full mailbox, want 1", n)
	}

	// Stop gets through the backlog.
	start = time.Now()
	if r := h.remove("sleepy"); r.Command != "actor_is_removed" {
		t.Fatalf("remove: %s %s", r.Command, jsonOf(r.Body))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("remove took %s", d)
	}
	check()
}

// TestMailboxBytes: the bodies waiting in a mailbox are bounded by the
// actor's memory bound too, so large messages to a sleeping actor cannot
// take the process's memory either.
func TestMailboxBytes(t *testing.T) {
	const limit = 8 << 20
	check := heapBound(t, 1<<30)
	h := startLimits(t, host.Config{ActorMemory: limit, Budget: time.Minute}) // the flood is slow under -race
	h.mustCreateHostile("sleepy")
	h.mustCreateHostile("flooder")
	if err := h.p.Send(host.Message{Command: "nap", Body: int64(60), Recipient: host.Address{Entity: "sleepy"}}); err != nil {
		t.Fatal(err)
	}
	testhost.Eventually(t, 5*time.Second, "the nap to begin", func() bool {
		return h.p.Lookup("sleepy").MailboxLen() == 0
	})
	// Each body is an array of 5000 numbers (about 160 KB as a value):
	// 500 of them would be 80 MB.
	r, err := h.p.Process.Ask(context.Background(), host.Message{Command: "flood_big", Recipient: host.Address{Entity: "flooder"},
		Body: h.body(`{"to":"sleepy","n":500,"size":5000}`)}, time.Minute)
	body, _ := r.Body.(host.Object)
	if err != nil || r.Command != "flooded" {
		t.Fatalf("flood_big: %s %s, %v", r.Command, jsonOf(r.Body), err)
	}
	sent, _ := body.Get("sent")
	if n := sent.(int64); n == 0 || n*5000*16 > 2*limit {
		t.Errorf("%d bodies were queued, want a few and less than the bound", n)
	}
	if !strings.Contains(body.String("first"), "MiB of messages") {
		t.Errorf("flood_big: %s", jsonOf(body))
	}
	check()
	if r := h.remove("sleepy"); r.Command != "actor_is_removed" {
		t.Fatalf("remove: %s %s", r.Command, jsonOf(r.Body))
	}
}

// TestAdminFloodIsBounded: an actor that floods its admin with commands
// gets refusals past host.AdminActorMessages waiting, and the operator's
// and the system's messages to the admin are never refused: the console's
// remove_actor of the flooder works at once. With the mailbox bound of
// ordinary actors (100000) the flood was queued whole.
func TestAdminFloodIsBounded(t *testing.T) {
	h := startLimits(t, host.Config{Budget: time.Minute})
	h.mustCreateHostile("flooder")
	r, err := h.p.Process.Ask(context.Background(), host.Message{Command: "flood", Recipient: host.Address{Entity: "flooder"},
		Body: h.body(`{"to":"first.main.admin","n":50000}`)}, time.Minute)
	body, _ := r.Body.(host.Object)
	if err != nil || r.Command != "flooded" {
		t.Fatalf("flood: %s %s, %v", r.Command, jsonOf(r.Body), err)
	}
	if refused, _ := body.Get("refused"); refused.(int64) == 0 || !strings.Contains(body.String("first"), "mailbox is full") {
		t.Errorf("50000 sends to the admin: %s, want refusals", jsonOf(body))
	}
	if r := h.remove("flooder"); r.Command != "actor_is_removed" {
		t.Fatalf("the console's remove_actor: %s %s", r.Command, jsonOf(r.Body))
	}
}

// TestMailboxFullReportedAgain: with no count bound (mailbox_limit = 0),
// a mailbox refused by its byte bound, then drained, reports its next
// backlog again (the count bound's half was never reached before, so a
// mailbox was "full" for good after its first backlog).
func TestMailboxFullReportedAgain(t *testing.T) {
	h := startLimits(t, host.Config{ActorMemory: 1 << 20, MailboxLimit: -1, Budget: time.Minute})
	h.mustCreateHostile("sleepy")
	h.mustCreateHostile("flooder")
	for round := 1; round <= 2; round++ {
		if err := h.p.Send(host.Message{Command: "nap", Body: int64(2), Recipient: host.Address{Entity: "sleepy"}}); err != nil {
			t.Fatal(err)
		}
		testhost.Eventually(t, 5*time.Second, "the nap to begin", func() bool { return h.p.Lookup("sleepy").MailboxLen() == 0 })
		r, err := h.p.Process.Ask(context.Background(), host.Message{Command: "flood_big", Recipient: host.Address{Entity: "flooder"},
			Body: h.body(`{"to":"sleepy","n":100,"size":5000}`)}, time.Minute)
		if body, _ := r.Body.(host.Object); err != nil || !strings.Contains(body.String("first"), "MiB of messages") {
			t.Fatalf("round %d: flood_big: %s %s, %v", round, r.Command, jsonOf(r.Body), err)
		}
		testhost.Eventually(t, 10*time.Second, "the mailbox to drain", func() bool {
			return h.p.Lookup("sleepy").MailboxLen() == 0 && h.log.String() != "" && h.ask("sleepy", "echo", `{}`).Command == "echoed"
		})
		if n := strings.Count(h.log.String(), "mailbox is full: messages are refused"); n != round {
			t.Fatalf("after backlog %d: %d log lines about it, want %d", round, n, round)
		}
	}
}

package luart_test

import (
	"context"
	"runtime"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/internal/testhost"
)

// victimPackage and attackerPackage are two packages of one process: the
// attacker must not be able to touch what the victim does.
var victimPackage = fstest.MapFS{
	"peacepie.toml": file("name = \"victim\"\nversion = \"1.0.0\"\n[actors]\nWaiter = \"waiter\"\nSlow = \"slow\"\nJanitor = \"janitor\"\n"),
	"janitor.lua": file(`
local pp = require "peacepie"
local Janitor = {}
function Janitor:remove(b)
  local r = pp.ask(pp.node(), "remove_actor", {name = b.name})
  return "removed", {command = r.command}
end
return Janitor
`),
	"waiter.lua": file(`
local pp = require "peacepie"
local Waiter = {}
-- wait asks body.to and tells what came back.
function Waiter:wait(body)
  print("waiter is asking")
  local r, err = pp.ask(body.to, "slow", {delay = body.delay}, 20)
  if not r then return "failed", {error = err} end
  return "got", {command = r.command}
end
return Waiter
`),
	"slow.lua": file(`
local pp = require "peacepie"
local Slow = {}
function Slow:slow(body) pp.sleep(body.delay) return "slow_done" end
return Slow
`),
}

var attackerPackage = fstest.MapFS{
	"peacepie.toml": file("name = \"attacker\"\nversion = \"1.0.0\"\n[actors]\nForger = \"forger\"\n"),
	"forger.lua": file(`
local pp = require "peacepie"
local Forger = {}
-- forge answers the reply addresses _1 … _n of its own process.
function Forger:forge(body)
  for i = 1, body.n do
    pp.send({node = pp.node(), entity = "_" .. i}, "FORGED_REPLY", {})
  end
  return "forged"
end
return Forger
`),
}

// TestForgedRepliesDoNotCompleteAsks is the attack of the hardening issue:
// an actor sends FORGED_REPLY to the reply addresses _1 … _12000 of its
// process while another package's actor and a console client each wait for
// a reply there. Neither may take the forgery for its reply.
func TestForgedRepliesDoNotCompleteAsks(t *testing.T) {
	p := testhost.Start(t, host.Config{}, victimPackage, attackerPackage)
	for _, a := range []struct{ pkg, class, name string }{
		{"victim", "Slow", "slow"}, {"victim", "Slow", "slow2"}, {"victim", "Waiter", "waiter"}, {"attacker", "Forger", "forger"},
	} {
		body := host.Object{{Key: "class_desc", Value: host.Object{{Key: "requires_dist", Value: a.pkg}, {Key: "class", Value: a.class}}}, {Key: "name", Value: a.name}}
		if r := p.Ask(t, "first.main.admin", "create_actor", body); r.Command != "actor_is_created" {
			t.Fatalf("create %s: %s %v", a.name, r.Command, r.Body)
		}
	}
	// The victim actor's ask: the test asks the waiter, which asks slow.
	waiter := make(chan host.Message, 1)
	go func() {
		r, _ := p.Process.Ask(context.Background(), host.Message{Command: "wait", Recipient: host.Address{Entity: "waiter"},
			Body: host.Object{{Key: "to", Value: "slow"}, {Key: "delay", Value: 1.5}}}, 20*time.Second)
		waiter <- r
	}()
	// A console client's ask (web.Gateway.Ask is Process.Ask).
	console, _, err := p.StartAsk(host.Message{Command: "slow", Recipient: host.Address{Entity: "slow2"},
		Body: host.Object{{Key: "delay", Value: 1.5}}}, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	testhost.Eventually(t, 5*time.Second, "the waiter to ask", func() bool { return p.Printed("waiter is asking") })

	if r := p.Ask(t, "forger", "forge", host.Object{{Key: "n", Value: int64(12000)}}); r.Command != "forged" {
		t.Fatalf("forge: %s %v", r.Command, r.Body)
	}

	r, err := console.Wait(context.Background(), 20*time.Second)
	if err != nil || r.Command != "slow_done" {
		t.Errorf("the console's ask got %s %v (%v), want slow_done", r.Command, r.Body, err)
	}
	select {
	case r := <-waiter:
		if got := jsonOf(r.Body); r.Command != "got" || got != `{"command":"slow_done"}` {
			t.Errorf("the victim actor's ask got %s %s, want got {\"command\":\"slow_done\"}", r.Command, got)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the victim actor's ask did not end")
	}
}

// malloryPackage sends and asks whatever it is told: an actor of a package
// that is not trusted with anything.
var malloryPackage = fstest.MapFS{
	"peacepie.toml": file("name = \"mallory\"\nversion = \"1.0.0\"\n[actors]\nMallory = \"mallory\"\n"),
	"mallory.lua": file(`
local pp = require "peacepie"
local Mallory = {}
function Mallory:ask(b)
  local r, err = pp.ask(b.to, b.command, b.body, b.timeout)
  if not r then return "asked", {error = err} end
  return "asked", {command = r.command, body = r.body}
end
function Mallory:send(b)
  local ok, err = pp.send(b.to, b.command, b.body)
  return "sent", {ok = ok or false, error = err}
end
-- answer replies with the command it is told to (exit, quit, …).
function Mallory:answer(b) return b.command end
return Mallory
`),
}

// TestInternalVerbsRefusedToActors: an actor asks its admin to move another
// package's actor out (move_out), and the other internal verbs; each gets
// is_not_handled and nothing happens (the attack of the hardening issue:
// the victim vanished with no removal event).
func TestInternalVerbsRefusedToActors(t *testing.T) {
	p := testhost.Start(t, host.Config{}, victimPackage, malloryPackage)
	for _, a := range []struct{ pkg, class, name string }{{"victim", "Slow", "victim"}, {"mallory", "Mallory", "mallory"}} {
		body := host.Object{{Key: "class_desc", Value: host.Object{{Key: "requires_dist", Value: a.pkg}, {Key: "class", Value: a.class}}}, {Key: "name", Value: a.name}}
		if r := p.Ask(t, "first.main.admin", "create_actor", body); r.Command != "actor_is_created" {
			t.Fatalf("create %s: %s %v", a.name, r.Command, r.Body)
		}
	}
	entity := host.Object{{Key: "entity", Value: "victim"}}
	for _, c := range []struct {
		command string
		body    any
	}{
		{"move_out", entity},
		{"adopt_actor", host.Object{{Key: "entity", Value: "victim2"}, {Key: "class_desc", Value: host.Object{{Key: "requires_dist", Value: "victim"}, {Key: "class", Value: "Slow"}}}}},
		{"activate", entity},
		{"release_name", host.Object{{Key: "name", Value: "victim"}, {Key: "node", Value: "first.main.admin"}}},
		{"reserve_name", host.Object{{Key: "name", Value: "victim"}, {Key: "node", Value: "first.main.admin"}}},
		{"route_flush", entity}, {"route_flushed", entity}, {"name_here", host.Object{{Key: "name", Value: "victim"}, {Key: "node", Value: "first.main.admin"}}},
		{"go_threads", host.Object{{Key: "n", Value: int64(1)}}}, {"exit_process", nil}, {"exit_host", nil}, {"restore_process", host.Object{{Key: "node", Value: "first.main.admin"}}},
	} {
		r := p.Ask(t, "mallory", "ask", host.Object{{Key: "to", Value: "first.main.admin"}, {Key: "command", Value: c.command}, {Key: "body", Value: c.body}})
		if got := jsonOf(r.Body); r.Command != "asked" || !strings.Contains(got, `"command":"is_not_handled"`) {
			t.Errorf("an actor's %s: %s %s, want is_not_handled", c.command, r.Command, got)
		}
	}
	// The same from the console (Process.Ask is web.Gateway.Ask).
	if r := p.Ask(t, "first.main.admin", "move_out", entity); r.Command != "is_not_handled" {
		t.Errorf("the console's move_out: %s %v, want is_not_handled", r.Command, r.Body)
	}
	if r := p.Ask(t, "victim", "slow", host.Object{{Key: "delay", Value: 0}}); r.Command != "slow_done" {
		t.Errorf("the victim after the attack: %s %v, want slow_done", r.Command, r.Body)
	}
}

// createOf makes an actor of pkg's class through the admin, as the console.
func createOf(t *testing.T, p *testhost.Process, pkg, class, name string) {
	t.Helper()
	body := host.Object{{Key: "class_desc", Value: host.Object{{Key: "requires_dist", Value: pkg}, {Key: "class", Value: class}}}, {Key: "name", Value: name}}
	if r := p.Ask(t, "first.main.admin", "create_actor", body); r.Command != "actor_is_created" {
		t.Fatalf("create %s: %s %v", name, r.Command, r.Body)
	}
}

// TestAdminCommandsNeedAGrant: an actor whose package the repo list grants
// nothing may read (get_actors, …), create and remove actors of its own
// package, and nothing else: another package's actors, processes, eval and
// exit get a clear refusal. A grant opens what it names.
func TestAdminCommandsNeedAGrant(t *testing.T) {
	grants := map[string][]string{"victim": {"remove_actor"}}
	p := testhost.Start(t, host.Config{AllowEval: true, Grants: func(pkg string) []string { return grants[pkg] }}, victimPackage, malloryPackage)
	createOf(t, p, "victim", "Slow", "victim")
	createOf(t, p, "mallory", "Mallory", "mallory")
	createOf(t, p, "victim", "Janitor", "janitor")
	ask := func(command string, body any) string {
		t.Helper()
		r := p.Ask(t, "mallory", "ask", host.Object{{Key: "to", Value: "first.main.admin"}, {Key: "command", Value: command}, {Key: "body", Value: body}})
		return jsonOf(r.Body)
	}
	victimDesc := host.Object{{Key: "requires_dist", Value: "victim"}, {Key: "class", Value: "Slow"}}
	ownDesc := host.Object{{Key: "requires_dist", Value: "mallory==1.0.0"}, {Key: "class", Value: "Mallory"}}
	refused := []struct {
		command string
		body    any
	}{
		{"create_actor", host.Object{{Key: "class_desc", Value: victimDesc}, {Key: "name", Value: "fake"}}},
		{"create_actors", host.Object{{Key: "class_desc", Value: victimDesc}, {Key: "names", Value: host.Array{"fake1", "fake2"}}}},
		{"remove_actor", host.Object{{Key: "name", Value: "victim"}}},
		{"recreate_actor", host.Object{{Key: "entity", Value: "victim"}}},
		{"eval", host.Object{{Key: "name", Value: "victim"}, {Key: "code", Value: "self"}}},
		{"create_process", nil},
		{"remove_process", host.Object{{Key: "node", Value: "first.process_0.admin"}}},
		{"exit", nil},
	}
	for _, c := range refused {
		got := ask(c.command, c.body)
		if !strings.Contains(got, `not allowed: the actors of package \"mallory\" may not send `+c.command) {
			t.Errorf("mallory's %s: %s, want a refusal", c.command, got)
		}
	}
	if r, _ := p.Process.Ask(context.Background(), host.Message{Command: "send", Recipient: host.Address{Entity: "mallory"},
		Body: host.Object{{Key: "to", Value: "victim"}, {Key: "command", Value: "quit"}}}, 10*time.Second); !strings.Contains(jsonOf(r.Body), "not allowed") {
		t.Errorf("mallory's pp.send quit: %s, want nil and a refusal", jsonOf(r.Body))
	}
	for _, c := range []struct{ command, want string }{
		{"get_actors", `"command":"actors"`}, {"get_commands", `"command":"commands"`}, {"get_processes", `"command":"processes"`},
		{"get_hosts", `"command":"hosts"`},
	} {
		if got := ask(c.command, nil); !strings.Contains(got, c.want) {
			t.Errorf("mallory's %s: %s, want %s", c.command, got, c.want)
		}
	}
	if got := ask("get_actor", host.Object{{Key: "name", Value: "victim"}}); !strings.Contains(got, `"command":"actor"`) {
		t.Errorf("mallory's get_actor: %s", got)
	}
	if got := ask("seek_actor", host.Object{{Key: "entity", Value: "victim"}}); !strings.Contains(got, `"command":"actor_is_found"`) {
		t.Errorf("mallory's seek_actor: %s", got)
	}
	// Its own package's actors: made and removed.
	if got := ask("create_actor", host.Object{{Key: "class_desc", Value: ownDesc}, {Key: "name", Value: "minion"}}); !strings.Contains(got, `"command":"actor_is_created"`) {
		t.Errorf("mallory's create_actor of its own class: %s", got)
	}
	if got := ask("create_actors", host.Object{{Key: "class_desc", Value: ownDesc}, {Key: "names", Value: host.Array{"m1", "m2"}}}); !strings.Contains(got, `"command":"actors_are_created"`) {
		t.Errorf("mallory's create_actors of its own class: %s", got)
	}
	if got := ask("remove_actor", host.Object{{Key: "name", Value: "minion"}}); !strings.Contains(got, `"command":"actor_is_removed"`) {
		t.Errorf("mallory's remove_actor of its own actor: %s", got)
	}
	// Nothing happened to the others, and the system runs.
	if r := p.Ask(t, "victim", "slow", host.Object{{Key: "delay", Value: 0}}); r.Command != "slow_done" {
		t.Errorf("the victim: %s %v", r.Command, r.Body)
	}
	for _, name := range []string{"fake", "fake1"} {
		if p.Lookup(name) != nil {
			t.Errorf("%s was created", name)
		}
	}
	// The console may do all of it.
	if r := p.Ask(t, "first.main.admin", "eval", host.Object{{Key: "name", Value: "victim"}, {Key: "code", Value: "1 + 1"}}); r.Command != "evaluated" {
		t.Errorf("the console's eval: %s %v", r.Command, r.Body)
	}
	// A package granted remove_actor removes another package's actor.
	if r := p.Ask(t, "janitor", "remove", host.Object{{Key: "name", Value: "m1"}}); jsonOf(r.Body) != `{"command":"actor_is_removed"}` {
		t.Errorf("remove_actor from a package granted it: %s %s", r.Command, jsonOf(r.Body))
	}
}

// TestReplyingExitStopsNothing: a handler that answers its asker with the
// command "exit" (or "quit") only answers: the reply reaches the asker and
// the system keeps running. Replies used to be taken for an exit sent by
// an operator, so an actor without the exit grant could stop the system.
func TestReplyingExitStopsNothing(t *testing.T) {
	p := testhost.Start(t, host.Config{Grants: func(string) []string { return nil }}, malloryPackage)
	createOf(t, p, "mallory", "Mallory", "mallory")
	createOf(t, p, "mallory", "Mallory", "mallory2")
	for _, command := range []string{"exit", "quit"} {
		// The console asks.
		if r := p.Ask(t, "mallory2", "answer", host.Object{{Key: "command", Value: command}}); r.Command != command {
			t.Errorf("the console's ask: %s %v, want the reply %s", r.Command, r.Body, command)
		}
		// An actor asks.
		r := p.Ask(t, "mallory", "ask", host.Object{{Key: "to", Value: "mallory2"}, {Key: "command", Value: "answer"}, {Key: "body", Value: host.Object{{Key: "command", Value: command}}}})
		if got := jsonOf(r.Body); !strings.Contains(got, `"command":"`+command+`"`) {
			t.Errorf("an actor's ask: %s %s, want the reply %s", r.Command, got, command)
		}
		select {
		case <-p.Done():
			t.Fatalf("the process stopped after an actor replied %q", command)
		default:
		}
	}
	if r := p.Ask(t, "mallory", "answer", host.Object{{Key: "command", Value: "still_here"}}); r.Command != "still_here" {
		t.Errorf("after the replies: %s %v", r.Command, r.Body)
	}
}

// amplifierPackage holds a string of 1 MiB once and sends a table that
// refers to it 400 times: 400 MiB once written as JSON.
var amplifierPackage = fstest.MapFS{
	"peacepie.toml": file("name = \"amplifier\"\nversion = \"1.0.0\"\n[actors]\nAmplifier = \"amplifier\"\n"),
	"amplifier.lua": file(`
local pp = require "peacepie"
local Amplifier = {}
local function big()
  local s, t = string.rep("x", 2^20), {}
  for i = 1, 400 do t[i] = s end
  return t
end
function Amplifier:reply() return "big", big() end
function Amplifier:keyed()
  local k, t = string.rep("k", 2^20), {}
  local inner = {[k] = 1}
  for i = 1, 400 do t[i] = inner end
  return "big", t
end
function Amplifier:send(b)
  local ok, err = pp.send(b.to, "big", big())
  return "sent", {ok = ok or false, error = err}
end
return Amplifier
`),
}

// TestRepeatedStringsDoNotAmplify: a value that holds one string many
// times is counted as it would be written: past host.MaxBodyBytes of JSON
// it is refused with a clear error, whether it is a reply (which the
// console would write out), a send here, or a send to another process
// (written as JSON at once). The actor's memory bound does not see it: the
// string is kept once.
func TestRepeatedStringsDoNotAmplify(t *testing.T) {
	p := testhost.Start(t, host.Config{ActorMemory: 8 << 20}, amplifierPackage)
	createOf(t, p, "amplifier", "Amplifier", "amp")
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, command := range []string{"reply", "keyed"} {
		r := p.Ask(t, "amp", command, nil)
		if got := jsonOf(r.Body); r.Command != "error" || !strings.Contains(got, "larger than the limit of 16 MiB as JSON") {
			t.Errorf("%s: %s %.300s, want an error saying it is too large", command, r.Command, got)
		}
	}
	for _, to := range []string{"amp", "first.process_9.admin/someone"} {
		r := p.Ask(t, "amp", "send", host.Object{{Key: "to", Value: to}})
		if got := jsonOf(r.Body); !strings.Contains(got, "larger than the limit of 16 MiB as JSON") {
			t.Errorf("send to %s: %s %.300s, want an error saying it is too large", to, r.Command, got)
		}
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := int64(after.TotalAlloc - before.TotalAlloc); grew > 200<<20 {
		t.Errorf("the refused values allocated %d MiB", grew>>20)
	}
	if r := p.Ask(t, "amp", "keyed", nil); r.Command != "error" {
		t.Errorf("amp after the refusals: %s", r.Command)
	}
}

// TestAskTimeoutZeroIsTheDefault: pp.ask with a timeout of 0 waits the
// default 10 s, as documented; it used to give up at once (from a child
// process it failed "timed out after 0s").
func TestAskTimeoutZeroIsTheDefault(t *testing.T) {
	p := testhost.Start(t, host.Config{}, victimPackage, malloryPackage)
	createOf(t, p, "victim", "Slow", "slow")
	createOf(t, p, "mallory", "Mallory", "mallory")
	r := p.Ask(t, "mallory", "ask", host.Object{{Key: "to", Value: "slow"}, {Key: "command", Value: "slow"},
		{Key: "body", Value: host.Object{{Key: "delay", Value: 0.2}}}, {Key: "timeout", Value: int64(0)}})
	if got := jsonOf(r.Body); !strings.Contains(got, `"command":"slow_done"`) {
		t.Errorf("pp.ask with timeout 0 of an actor that answers after 0.2 s: %s %s", r.Command, got)
	}
}

// TestAdminCommandsAreSorted: get_commands lists the admin's commands in
// order, as docs/protocol.md says.
func TestAdminCommandsAreSorted(t *testing.T) {
	p := testhost.Start(t, host.Config{})
	r := p.Ask(t, "first.main.admin", "get_commands", nil)
	o, _ := r.Body.(host.Object)
	v, _ := o.Get("commands")
	list, _ := v.(host.Array)
	var names []string
	for _, c := range list {
		names = append(names, c.(string))
	}
	if len(names) == 0 || !sort.StringsAreSorted(names) {
		t.Errorf("get_commands: %v, want a sorted list", names)
	}
}

package luart_test

import (
	"context"
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
	"peacepie.toml": file("name = \"victim\"\nversion = \"1.0.0\"\n[actors]\nWaiter = \"waiter\"\nSlow = \"slow\"\n"),
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

package luart_test

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/internal/testhost"
)

// sleepers is a package whose Sleeper hibernates: it counts messages (and
// checks their order), keeps plain data of every kind on self, counts its
// hibernations and wakes, and prints from its stop hook.
func sleepers(version string) fstest.MapFS {
	return fstest.MapFS{
		"peacepie.toml": {Data: []byte("name = \"sleepy\"\nversion = \"" + version + "\"\n[actors]\nSleeper = \"sleeper\"\nAwake = \"awake\"\nQuiet = \"quiet\"\n")},
		"sleeper.lua": {Data: []byte(`
local pp = require "peacepie"
local Sleeper = { hibernate = true, params = { count = 0, errors = 0, label = "none" } }
function Sleeper:init()
  self.hibernations, self.wakes = 0, 0
  self.nested = { deep = { list = pp.array({ 1, 2.5, "three", true }), gone = pp.null }, [7] = "seven", [false] = 0 }
  self.empty = pp.array({})
end
function Sleeper:add(body)
  if body.n ~= self.count + 1 then self.errors = self.errors + 1 end
  self.count = body.n
end
function Sleeper:arm(body) self.timer = nil; pp.after(body.seconds, "rang") end
function Sleeper:rang() end
function Sleeper:nap(body) pp.sleep(body.seconds) return "napped" end
function Sleeper:state()
  return "state", { count = self.count, errors = self.errors, label = self.label,
    hibernations = self.hibernations, wakes = self.wakes, deep = self.nested and self.nested.deep, empty = self.empty,
    seven = self.nested and self.nested[7], zero = self.nested and self.nested[false], version = "` + version + `" }
end
function Sleeper:on_hibernate() self.hibernations = (self.hibernations or 0) + 1 end
function Sleeper:on_wake() self.wakes = (self.wakes or 0) + 1 end
function Sleeper:stop() print("stop hook ran with count " .. self.count) end
return Sleeper
`)},
		"quiet.lua": {Data: []byte(`
local Quiet = { hibernate = true }
function Quiet:on_wake() print("quiet woke") end
return Quiet
`)},
		"awake.lua": {Data: []byte(`
local Awake = { hibernate = true }
function Awake:init() self.callback = function() end end
function Awake:ping() return "pong" end
return Awake
`)},
	}
}

// actorInfo returns get_actor's body for name, as JSON.
func actorInfo(t *testing.T, p *testhost.Process, name string) string {
	t.Helper()
	r := p.Ask(t, "first.main.admin", "get_actor", testhost.MustJSON(t, `{"name": "`+name+`"}`))
	got, _ := host.MarshalValue(r.Body)
	return string(got)
}

func waitHibernating(t *testing.T, p *testhost.Process, name string) {
	t.Helper()
	testhost.Eventually(t, 10*time.Second, name+" hibernates", func() bool {
		return strings.Contains(actorInfo(t, p, name), `"hibernating":true`)
	})
}

func createSleeper(t *testing.T, p *testhost.Process, class, name string) {
	t.Helper()
	body := testhost.MustJSON(t, `{"class_desc": {"requires_dist": "sleepy", "class": "`+class+`"}, "name": "`+name+`"}`)
	if r := p.Ask(t, "first.main.admin", "create_actor", body); r.Command != "actor_is_created" {
		t.Fatalf("create %s: %s %v", name, r.Command, r.Body)
	}
}

// TestHibernationIsInvisible: an idle Sleeper hibernates; a burst of
// messages wakes it, each handled once and in order; its state (params,
// nested tables, arrays, null, number and boolean keys) is what it was;
// its hooks ran; it hibernates again, and its removal runs its stop hook.
func TestHibernationIsInvisible(t *testing.T) {
	p := testhost.Start(t, host.Config{HibernateAfter: 100 * time.Millisecond}, sleepers("1.0.0"))
	createSleeper(t, p, "Sleeper", "s")
	p.Ask(t, "s", "set_params", testhost.MustJSON(t, `{"params": [{"name": "label", "value": "kept"}]}`))
	waitHibernating(t, p, "s")
	packageMetrics := func() string {
		r := p.Ask(t, "first.main.admin", "get_metrics", nil)
		got, _ := host.MarshalValue(r.Body)
		return string(got)
	}
	if m := packageMetrics(); !strings.Contains(m, `{"package":"sleepy","version":"1.0.0","actors":1,"handled":1,`) || !strings.Contains(m, `"hibernating":1`) {
		t.Errorf("get_metrics with s hibernating: %s", m)
	}
	if !strings.Contains(actorInfo(t, p, "s"), `"mem_bytes"`) {
		t.Errorf("a hibernating actor's info has no memory figure: %s", actorInfo(t, p, "s"))
	}
	const n = 2000
	for i := 1; i <= n; i++ {
		p.Send(host.Message{Command: "add", Body: host.Object{{Key: "n", Value: int64(i)}}, Recipient: host.Address{Entity: "s"}})
	}
	r := p.Ask(t, "s", "state", nil)
	got, _ := host.MarshalValue(r.Body)
	for _, want := range []string{`"count":2000`, `"errors":0`, `"label":"kept"`, `"hibernations":1`, `"wakes":1`,
		`"deep":{"gone":null,"list":[1,2.5,"three",true]}`, `"empty":[]`, `"seven":"seven"`, `"zero":0`} {
		if !strings.Contains(string(got), want) {
			t.Errorf("state after a hibernation: %s, want %s", got, want)
		}
	}
	waitHibernating(t, p, "s")
	if m := packageMetrics(); !strings.Contains(m, `{"package":"sleepy","version":"1.0.0","actors":1,"handled":2002,`) {
		t.Errorf("get_metrics with s hibernating again after 2,001 messages: %s", m)
	}
	if r := p.Ask(t, "first.main.admin", "remove_actor", testhost.MustJSON(t, `{"name": "s"}`)); r.Command != "actor_is_removed" {
		t.Fatalf("remove: %s %v", r.Command, r.Body)
	}
	testhost.Eventually(t, 5*time.Second, "the stop hook of a hibernating actor", func() bool {
		return p.Printed("stop hook ran with count 2000")
	})

	// Without a stop hook, a hibernating actor is removed asleep.
	createSleeper(t, p, "Quiet", "q")
	waitHibernating(t, p, "q")
	if r := p.Ask(t, "first.main.admin", "remove_actor", testhost.MustJSON(t, `{"name": "q"}`)); r.Command != "actor_is_removed" {
		t.Fatalf("remove q: %s %v", r.Command, r.Body)
	}
	if p.Printed("quiet woke") {
		t.Errorf("an actor without a stop hook was woken to be removed")
	}
	if n := p.Hibernating(); n != 0 {
		t.Errorf("%d actors hibernate after both were removed", n)
	}
	if m := packageMetrics(); !strings.Contains(m, `{"package":"sleepy","version":"1.0.0","actors":0,"handled":2002,`) {
		t.Errorf("get_metrics once both were removed: %s", m)
	}
}

// TestHibernationAndTimersAndUpgrades: an actor with a timer armed never
// hibernates; one whose self holds a function stays awake and says why;
// a hibernating actor upgraded (recreate_actor) keeps its params.
func TestHibernationAndTimersAndUpgrades(t *testing.T) {
	p := testhost.Start(t, host.Config{HibernateAfter: 50 * time.Millisecond}, sleepers("1.0.0"), sleepers("2.0.0"))
	createSleeper(t, p, "Sleeper", "timed")
	p.Ask(t, "timed", "arm", testhost.MustJSON(t, `{"seconds": 30}`))
	createSleeper(t, p, "Awake", "awake")
	testhost.Eventually(t, 10*time.Second, "awake says why it stays awake", func() bool {
		return strings.Contains(actorInfo(t, p, "awake"), `"stays_awake":"self.callback is a function"`)
	})
	testhost.Eventually(t, 10*time.Second, "timed says a timer keeps it awake", func() bool {
		return strings.Contains(actorInfo(t, p, "timed"), `"stays_awake":"a timer is armed"`)
	})
	if info := actorInfo(t, p, "timed"); strings.Contains(info, `"hibernating"`) {
		t.Fatalf("an actor with a timer armed hibernated: %s", info)
	}
	if r := p.Ask(t, "awake", "ping", nil); r.Command != "pong" {
		t.Fatalf("the actor that stays awake: %s", r.Command)
	}

	createSleeper(t, p, "Sleeper", "up")
	p.Ask(t, "up", "set_params", testhost.MustJSON(t, `{"params": [{"name": "count", "value": 41}]}`))
	waitHibernating(t, p, "up")
	r := p.Ask(t, "first.main.admin", "recreate_actor", testhost.MustJSON(t, `{"entity": "up", "class_desc": {"requires_dist": "sleepy==2.0.0", "class": "Sleeper"}}`))
	if r.Command != "actor_is_recreated" {
		t.Fatalf("upgrade a hibernating actor: %s %v", r.Command, r.Body)
	}
	p.Send(host.Message{Command: "add", Body: host.Object{{Key: "n", Value: int64(42)}}, Recipient: host.Address{Entity: "up"}})
	got, _ := host.MarshalValue(p.Ask(t, "up", "state", nil).Body)
	if !strings.Contains(string(got), `"count":42`) || !strings.Contains(string(got), `"version":"2.0.0"`) || !strings.Contains(string(got), `"errors":0`) {
		t.Fatalf("after upgrading a hibernating actor: %s", got)
	}
}

// TestHibernationWaitsForALongHandler: an actor inside one long handler
// (a sleep) for longer than hibernate_after is not idle: it does not
// hibernate the moment the handler ends (it did: the scanner saw its
// handled count unchanged, and the task it queued ran after the handler).
func TestHibernationWaitsForALongHandler(t *testing.T) {
	p := testhost.Start(t, host.Config{HibernateAfter: time.Second}, sleepers("1.0.0"))
	createSleeper(t, p, "Sleeper", "napper")
	if r := p.Ask(t, "napper", "nap", testhost.MustJSON(t, `{"seconds": 2.5}`)); r.Command != "napped" {
		t.Fatalf("nap: %s %v", r.Command, r.Body)
	}
	got, _ := host.MarshalValue(p.Ask(t, "napper", "state", nil).Body)
	if !strings.Contains(string(got), `"hibernations":0`) {
		t.Fatalf("the actor hibernated between the end of its long handler and the next message: %s", got)
	}
}

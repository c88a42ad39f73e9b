package luart_test

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/internal/testhost"
)

var sandboxPackage = fstest.MapFS{
	"peacepie.toml": {Data: []byte("name = \"sbx\"\nversion = \"1.0.0\"\n[actors]\nProbe = \"probe\"\n")},
	"probe.lua": {Data: []byte(`
local Probe = {}
-- try to change what every actor shares
function Probe:vandalise()
  string.upper = function() return "hacked" end
  rawset(string, "lower", function() return "hacked" end)
  pcall(setmetatable, string, {})
  local mt = getmetatable(string)
  if type(mt) == "table" then mt.__index = {} end
  local smt = getmetatable("")
  smt.__index = { upper = function() return "hacked" end }
  _G.pairs = nil
  return "done"
end
function Probe:check()
  return "checked", { upper = ("abc"):upper(), lower = string.lower("ABC"), pairs = type(pairs), mt = tostring(getmetatable(string)) }
end
function Probe:spin_wrapped()
  local f = coroutine.wrap(function() while true do end end)
  f()
end
function Probe:spin_created()
  local co = coroutine.create(function() while true do end end)
  return "resumed", { ok = coroutine.resume(co) }
end
function Probe:ping() return "pong" end
return Probe
`)},
}

func spawnProbe(t *testing.T, p *testhost.Process, name string) {
	t.Helper()
	body := testhost.MustJSON(t, `{"class_desc": {"requires_dist": "sbx", "class": "Probe"}, "name": "`+name+`"}`)
	if r := p.Ask(t, "first.main.admin", "create_actor", body); r.Command != "actor_is_created" {
		t.Fatalf("create %s: %s %v", name, r.Command, r.Body)
	}
}

// Actors share the library functions; one actor must not be able to change
// what another sees.
func TestSharedLibrariesAreIsolated(t *testing.T) {
	p := testhost.Start(t, host.Config{}, sandboxPackage)
	spawnProbe(t, p, "vandal")
	spawnProbe(t, p, "victim")
	if r := p.Ask(t, "vandal", "vandalise", nil); r.Command != "done" {
		t.Fatalf("vandalise: %s %v", r.Command, r.Body)
	}
	r := p.Ask(t, "victim", "check", nil)
	got, _ := host.MarshalValue(r.Body)
	want := `{"lower":"abc","mt":"locked","pairs":"function","upper":"ABC"}`
	if r.Command != "checked" || string(got) != want {
		t.Fatalf("victim sees %s %s, want checked %s", r.Command, got, want)
	}
}

// A busy loop in a coroutine (made by wrap or create) is interrupted like
// one in the handler, and the actor works afterwards.
func TestCoroutineLoopsAreInterrupted(t *testing.T) {
	p := testhost.Start(t, host.Config{Budget: 200 * time.Millisecond}, sandboxPackage)
	spawnProbe(t, p, "spinner")
	for _, cmd := range []string{"spin_wrapped", "spin_created"} {
		r := p.Ask(t, "spinner", cmd, nil)
		msg, _ := host.MarshalValue(r.Body)
		if cmd == "spin_wrapped" && (r.Command != "error" || !strings.Contains(string(msg), "budget")) {
			t.Errorf("%s: %s %s, want an error about the budget", cmd, r.Command, msg)
		}
		if cmd == "spin_created" && r.Command != "error" && !(r.Command == "resumed" && strings.Contains(string(msg), "false")) {
			t.Errorf("%s: %s %s, want the loop interrupted", cmd, r.Command, msg)
		}
		if r := p.Ask(t, "spinner", "ping", nil); r.Command != "pong" {
			t.Fatalf("after %s: %s", cmd, r.Command)
		}
	}
}

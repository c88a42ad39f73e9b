package luart_test

import (
	"testing"
	"testing/fstest"

	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/internal/testhost"
)

// TestClock: pp.clock counts seconds on a monotonic clock, finely enough
// to time a 50 ms sleep, and never goes back.
func TestClock(t *testing.T) {
	p := testhost.Start(t, host.Config{}, fstest.MapFS{
		"peacepie.toml": {Data: []byte("name = \"timing\"\nversion = \"1.0.0\"\n[actors]\nTimer = \"timer\"\n")},
		"timer.lua": {Data: []byte(`
local pp = require "peacepie"
local Timer = {}
function Timer:time()
  local t0 = pp.clock()
  pp.sleep(0.05)
  local slept = pp.clock() - t0
  local back, last = false, pp.clock()
  for i = 1, 1000 do
    local now = pp.clock()
    if now < last then back = true end
    last = now
  end
  return "timed", { slept = slept, back = back, positive = t0 > 0 }
end
return Timer
`)},
	})
	body := testhost.MustJSON(t, `{"class_desc": {"requires_dist": "timing", "class": "Timer"}, "name": "timer"}`)
	if r := p.Ask(t, "first.main.admin", "create_actor", body); r.Command != "actor_is_created" {
		t.Fatalf("create: %s %v", r.Command, r.Body)
	}
	r := p.Ask(t, "timer", "time", nil)
	o, _ := r.Body.(host.Object)
	slept, _ := o.Get("slept")
	back, _ := o.Get("back")
	positive, _ := o.Get("positive")
	s, ok := slept.(float64)
	if !ok || s < 0.05 || s > 5 || back != false || positive != true {
		t.Fatalf("pp.clock around a 50 ms sleep: %s %v", r.Command, r.Body)
	}
}

package luart_test

import (
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/internal/testhost"
)

var spinPackage = fstest.MapFS{
	"peacepie.toml": file("name = \"spinpkg\"\nversion = \"1.0.0\"\n[actors]\nSpinner = \"spinner\"\n"),
	"spinner.lua": file(`
local Spinner = {}
local function spin_here(n)
  local x = 0
  for i = 1, n do x = x + i % 7 end
  return x
end
local function busy(n) for _ = 1, n do spin_here(1000) end end
function Spinner:work(body) busy(body.n) end
return Spinner
`),
}

// TestProfileLua: profile_lua samples an actor that spins in a known
// function while it works: the collapsed stacks name it under the handler,
// "Spinner:work;(spinner.lua:9);busy (spinner.lua:8);spin_here
// (spinner.lua:3)" (the file starts with an empty line); by package too;
// bad requests are refused clearly.
func TestProfileLua(t *testing.T) {
	p := testhost.Start(t, host.Config{}, spinPackage)
	body := testhost.MustJSON(t, `{"class_desc": {"requires_dist": "spinpkg", "class": "Spinner"}, "name": "s"}`)
	if r := p.Ask(t, "first.main.admin", "create_actor", body); r.Command != "actor_is_created" {
		t.Fatalf("create: %s %v", r.Command, r.Body)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // keep it busy
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			p.Ask(t, "s", "work", host.Object{{Key: "n", Value: int64(50)}})
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	for _, req := range []string{`{"actor": "s", "seconds": 0.5}`, `{"package": "spinpkg", "seconds": 0.5}`} {
		r := p.Ask(t, "first.main.admin", "profile_lua", testhost.MustJSON(t, req))
		o, _ := r.Body.(host.Object)
		collapsed := o.String("collapsed")
		if r.Command != "lua_profile" || !strings.Contains(collapsed, "Spinner:work;(spinner.lua:9);busy (spinner.lua:8);spin_here (spinner.lua:3) ") {
			t.Fatalf("%s: %s %v", req, r.Command, r.Body)
		}
		if n, _ := o.Get("actors"); n != int64(1) {
			t.Errorf("%s: %v actors sampled, want 1", req, n)
		}
		if n, _ := o.Get("samples"); n.(int64) < 20 {
			t.Errorf("%s: %v samples in 0.5 s at 1 ms, want at least 20", req, n)
		}
	}
	// One profile at a time per actor: of two at once, one is refused and
	// the other is not cut short by it. (Each tries again if they did not
	// overlap: the machine may be slow.)
	overlapped := false
	for try := 0; try < 5 && !overlapped; try++ {
		answers := make(chan host.Message, 2)
		for range 2 {
			go func() {
				answers <- p.Ask(t, "first.main.admin", "profile_lua", testhost.MustJSON(t, `{"actor": "s", "seconds": 1}`))
			}()
		}
		a, b := <-answers, <-answers
		if a.Command == "error" {
			a, b = b, a
		}
		if b.Command != "error" {
			continue
		}
		overlapped = true
		if o, _ := b.Body.(host.Object); !strings.Contains(o.String("message"), "another profile samples") {
			t.Errorf("the refused profile: %v", b.Body)
		}
		if a.Command != "lua_profile" {
			t.Errorf("both profiles failed: %v; %v", a.Body, b.Body)
		} else if n, _ := a.Body.(host.Object).Get("samples"); n.(int64) < 40 {
			t.Errorf("the profile has %v samples in 1 s at 1 ms, want at least 40: the refused one cut it short", n)
		}
	}
	if !overlapped {
		t.Errorf("two profiles of one actor at once never overlapped in 5 tries")
	}
	for req, want := range map[string]string{
		`{"actor": "s", "package": "spinpkg"}`: "not both",
		`{"actor": "s", "seconds": 600}`:       "at most 60",
		`{"actor": "s", "interval_ms": 0}`:     "interval",
		`{"actor": "nobody"}`:                  "nobody",
		`{}`:                                   "give an actor",
		`"s"`:                                  "must be an object",
		`{"actor": "s", "seconds": "x"}`:       `"seconds" must be a number, not a string`,
		`{"actor": "s", "interval_ms": [1]}`:   `"interval_ms" must be a number, not an array`,
	} {
		r := p.Ask(t, "first.main.admin", "profile_lua", testhost.MustJSON(t, req))
		if o, _ := r.Body.(host.Object); r.Command != "error" && r.Command != "actor_is_not_found" || !strings.Contains(o.String("message")+o.String("entity"), want) {
			t.Errorf("profile_lua %s: %s %v, want an error with %q", req, r.Command, r.Body, want)
		}
	}
	// get_go_profile reads its seconds the same way.
	r := p.Ask(t, "first.main.admin", "get_go_profile", testhost.MustJSON(t, `{"profile": "profile", "seconds": "ten"}`))
	if o, _ := r.Body.(host.Object); r.Command != "error" || !strings.Contains(o.String("message"), `get_go_profile: bad request: "seconds" must be a number, not a string`) {
		t.Errorf("get_go_profile with seconds \"ten\": %s %v", r.Command, r.Body)
	}
}

// TestProfileFollowsAWake: profile_lua of an actor that hibernates samples
// it once a message wakes it during the profile (the profile picks up its
// new state), and a profile through which it sleeps says so.
func TestProfileFollowsAWake(t *testing.T) {
	pkg := fstest.MapFS{
		"peacepie.toml": file("name = \"spinpkg\"\nversion = \"1.0.0\"\n[actors]\nSpinner = \"spinner\"\n"),
		"spinner.lua":   file(strings.Replace(string(spinPackage["spinner.lua"].Data), "local Spinner = {}", "local Spinner = { hibernate = true }", 1)),
	}
	p := testhost.Start(t, host.Config{HibernateAfter: 100 * time.Millisecond}, pkg)
	body := testhost.MustJSON(t, `{"class_desc": {"requires_dist": "spinpkg", "class": "Spinner"}, "name": "s"}`)
	if r := p.Ask(t, "first.main.admin", "create_actor", body); r.Command != "actor_is_created" {
		t.Fatalf("create: %s %v", r.Command, r.Body)
	}
	asleep := func() {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for a := p.Lookup("s"); !a.Hibernating(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the actor does not hibernate")
			}
		}
	}
	asleep()
	r := p.Ask(t, "first.main.admin", "profile_lua", testhost.MustJSON(t, `{"actor": "s", "seconds": 0.3}`))
	if o, _ := r.Body.(host.Object); r.Command != "lua_profile" || o.String("collapsed") != "" {
		t.Fatalf("a profile of a sleeping actor: %s %v", r.Command, r.Body)
	} else if n, _ := o.Get("actors"); n != int64(0) {
		t.Errorf("a sleeping actor: %v actors sampled, want 0", n)
	} else if n, _ := o.Get("hibernating"); n != int64(1) {
		t.Errorf("a sleeping actor: %v hibernating, want 1", n)
	}

	// Asleep when the profile starts, woken by work within it.
	asleep()
	answer := make(chan host.Message, 1)
	go func() {
		answer <- p.Ask(t, "first.main.admin", "profile_lua", testhost.MustJSON(t, `{"actor": "s", "seconds": 2}`))
	}()
	time.Sleep(200 * time.Millisecond) // the profile has started (and rescanned once): the actor is not yet sampled
	var r2 host.Message
	for done := false; !done; {
		select {
		case r2 = <-answer:
			done = true
		default:
			p.Ask(t, "s", "work", host.Object{{Key: "n", Value: int64(50)}})
		}
	}
	o, _ := r2.Body.(host.Object)
	if r2.Command != "lua_profile" || !strings.Contains(o.String("collapsed"), "busy (spinner.lua:8);spin_here (spinner.lua:3) ") {
		t.Fatalf("a profile through a wake: %s %v", r2.Command, r2.Body)
	}
	if n, _ := o.Get("actors"); n != int64(1) {
		t.Errorf("woken: %v actors sampled, want 1", n)
	}
	if n, _ := o.Get("hibernating"); n != int64(0) {
		t.Errorf("woken: %v hibernating, want 0", n)
	}
}

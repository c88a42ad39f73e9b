package luart_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/internal/testhost"
	"github.com/peacepie/peacepie/luart"
)

// svcPackage uses the services of these tests; nogrant is the same code
// in a package the grants leave out.
var svcPackage = fstest.MapFS{
	"peacepie.toml": file("name = \"svcpkg\"\nversion = \"1.0.0\"\n[actors]\nUser = \"user\"\nLoadsKV = \"loads_kv\"\n"),
	"user.lua": file(`
local User = {}
function User:kv_dot(body) local kv = require "kv"; kv.set(body.k, body.v); return "got", {v = kv.get(body.k)} end
function User:kv_colon(body) local kv = require "kv"; kv:Set(body.k, body.v); return "got", {v = kv:Get(body.k)} end
function User:kv_missing(body) local v, err = (require "kv").lookup(body.k); return "got", {v = v, err = err} end
function User:kv_write() local kv = require "kv"; kv.get = 1 end
function User:add(body) return "sum", (require "add")(body.a, body.b) end
function User:map() local m = require "info"; return "info", {version = m.version, double = m.double(21)} end
function User:boom() (require "kv").boom() end
function User:wait(body) return "waited", (require "kv").wait(body) end
function User:block() (require "kv").block() return "unblocked" end
function User:count(body) local kv = require "kv"; for _ = 1, body do kv.inc() end return "counted" end
function User:unknown() require "nosuch" end
function User:add_loop(n) local add, s = require "add", 0; for _ = 1, n do s = add(s, 1) end return "sum", s end
function User:pp_loop(n) local pp = require "peacepie"; for _ = 1, n do pp.name() end return "done" end
return User
`),
	"loads_kv.lua": file(`
local kv = require "kv"
local LoadsKV = {}
function LoadsKV:get(body) return "got", {v = kv.get(body)} end
return LoadsKV
`),
}

var noGrantPackage = fstest.MapFS{
	"peacepie.toml": file("name = \"nogrant\"\nversion = \"1.0.0\"\n[actors]\nLoadsKV = \"loads_kv\"\nUser = \"user\"\n"),
	"loads_kv.lua":  svcPackage["loads_kv.lua"],
	"user.lua":      svcPackage["user.lua"],
}

// kvService is a service with methods, some blocking.
type kvService struct {
	mu      sync.Mutex
	m       map[string]string
	n       atomic.Int64
	blocked chan struct{} // Block signals here once it waits
	ended   chan error    // and here when its context is done
}

func (s *kvService) Set(k, v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[k] = v
}

func (s *kvService) Get(k string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[k]
}

func (s *kvService) Lookup(k string) (string, error) {
	if v := s.Get(k); v != "" {
		return v, nil
	}
	return "", fmt.Errorf("no key %q", k)
}

func (s *kvService) Boom() { panic("the service broke") }

func (s *kvService) Inc() { s.n.Add(1) }

func (s *kvService) Wait(ctx context.Context, seconds float64) string {
	select {
	case <-time.After(time.Duration(seconds * float64(time.Second))):
		return "done"
	case <-ctx.Done():
		return "cancelled"
	}
}

func (s *kvService) Block(ctx context.Context) {
	s.blocked <- struct{}{}
	<-ctx.Done()
	s.ended <- ctx.Err()
}

func startServices(t *testing.T, cfg host.Config, granted map[string][]string) (*luaHost, *kvService) {
	t.Helper()
	p, kv := servicesProcess(t, cfg, granted)
	return &luaHost{t: t, p: p, log: &testhost.Output{}}, kv
}

// servicesProcess starts a process whose Lua runtime offers the services
// of these tests.
func servicesProcess(t testing.TB, cfg host.Config, granted map[string][]string) (*testhost.Process, *kvService) {
	t.Helper()
	kv := &kvService{m: map[string]string{}, blocked: make(chan struct{}, 1), ended: make(chan error, 1)}
	svcs, err := luart.NewServices(map[string]any{
		"kv":   kv,
		"add":  func(a, b int) int { return a + b },
		"info": map[string]any{"version": "1.2", "double": func(n int) int { return 2 * n }},
	}, func(pkg string) []string { return granted[pkg] })
	if err != nil {
		t.Fatal(err)
	}
	return processWithServices(t, cfg, svcs, testPackage, svcPackage, noGrantPackage), kv
}

// processWithServices starts a process of cfg whose runtime offers svcs,
// with the packages pkgs besides the built-in ones.
func processWithServices(t testing.TB, cfg host.Config, svcs *luart.Services, pkgs ...fs.FS) *testhost.Process {
	t.Helper()
	cfg, out, err := testhost.Config(cfg, pkgs...)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Resolver.(*luart.Runtime).SetServices(svcs)
	p, err := host.NewProcess(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Shutdown()
		<-p.Done()
	})
	return &testhost.Process{Process: p, Out: out}
}

// blockIn has u (a User) call kv.block and waits until the call blocks.
func blockIn(t *testing.T, h *luaHost, kv *kvService) {
	t.Helper()
	if err := h.p.Send(host.Message{Command: "block", Recipient: host.Address{Entity: "u"}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-kv.blocked:
	case <-time.After(10 * time.Second):
		t.Fatal("the service was not called")
	}
}

// callEnded waits for kv.block's context to end, cancelled, because of why.
func callEnded(t *testing.T, kv *kvService, why string) {
	t.Helper()
	select {
	case err := <-kv.ended:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("the call's context ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the call's context was not cancelled by %s", why)
	}
}

var allGranted = map[string][]string{"svcpkg": {"kv", "add", "info"}}

// TestServiceCalls: a struct's methods (with a dot or a colon, under both
// names), a function and a map reach Go; a Go error comes back as its
// text, a panic as a handler error; the service's table is read-only.
func TestServiceCalls(t *testing.T) {
	h, _ := startServices(t, host.Config{}, allGranted)
	h.mustCreateFrom("svcpkg", "u", "User")
	h.expect("u", "kv_dot", `{"k": "a", "v": "1"}`, "got", `{"v":"1"}`)
	h.expect("u", "kv_colon", `{"k": "b", "v": "2"}`, "got", `{"v":"2"}`)
	h.expect("u", "kv_missing", `{"k": "a"}`, "got", `{"v":"1"}`)
	h.expect("u", "kv_missing", `{"k": "zz"}`, "got", `{"err":"no key \"zz\"","v":""}`)
	h.expect("u", "add", `{"a": 2, "b": 40}`, "sum", `42`)
	h.expect("u", "map", ``, "info", `{"double":42,"version":"1.2"}`)
	if r := h.ask("u", "kv_write", ``); !strings.Contains(errorText(r), `the service "kv" is read-only`) {
		t.Fatalf("a write to the service's table: %s %s", r.Command, jsonOf(r.Body))
	}
	if r := h.ask("u", "boom", ``); !strings.Contains(errorText(r), "kv.Boom") || !strings.Contains(errorText(r), "the service broke") {
		t.Fatalf("a panic in the service: %s %s", r.Command, jsonOf(r.Body))
	}
	h.expect("u", "kv_dot", `{"k": "c", "v": "3"}`, "got", `{"v":"3"}`) // the actor lives on
}

// TestServiceNeedsAGrant: a package the repo list does not grant a service
// cannot require it (a class that needs it at load is not created, with
// the grant to add); an unknown name says which services there are.
func TestServiceNeedsAGrant(t *testing.T) {
	h, _ := startServices(t, host.Config{}, allGranted)
	r := h.createFrom("nogrant", "x", "LoadsKV", "")
	if r.Command != "actor_is_not_created" || !strings.Contains(errorText(r), `may not require the service "kv"`) ||
		!strings.Contains(errorText(r), `services = ["kv"]`) {
		t.Fatalf("create without the grant: %s %s", r.Command, jsonOf(r.Body))
	}
	h.mustCreateFrom("nogrant", "y", "User")
	if r := h.ask("y", "add", `{"a": 1, "b": 2}`); !strings.Contains(errorText(r), "may not require the service") {
		t.Fatalf("a call without the grant: %s %s", r.Command, jsonOf(r.Body))
	}
	h.mustCreateFrom("svcpkg", "u", "User")
	if r := h.ask("u", "unknown", ``); !strings.Contains(errorText(r), "nor a service of this process (services: add, info, kv)") {
		t.Fatalf("an unknown service: %s %s", r.Command, jsonOf(r.Body))
	}
	h.mustCreateFrom("svcpkg", "z", "LoadsKV")
}

// TestServiceBlockingCallIsOffTheBudget: a service call that waits three
// times the handler's budget does not interrupt the handler, and other
// actors of the process run meanwhile.
func TestServiceBlockingCallIsOffTheBudget(t *testing.T) {
	h, _ := startServices(t, host.Config{Budget: 100 * time.Millisecond}, allGranted)
	h.mustCreateFrom("svcpkg", "u", "User")
	h.mustCreate("e", "Echo", "")
	done := make(chan host.Message, 1)
	go func() { done <- h.p.Ask(t, "u", "wait", 0.3) }()
	h.expect("e", "echo", `1`, "echoed", `1`)
	if r := <-done; r.Command != "waited" || jsonOf(r.Body) != `"done"` {
		t.Fatalf("a blocking call of three budgets: %s %s", r.Command, jsonOf(r.Body))
	}
}

// TestServiceCallEndsWhenTheActorIsRemoved: a call blocked in a service
// gets its context cancelled when its actor is removed.
func TestServiceCallEndsWhenTheActorIsRemoved(t *testing.T) {
	h, kv := startServices(t, host.Config{}, allGranted)
	h.mustCreateFrom("svcpkg", "u", "User")
	blockIn(t, h, kv)
	removed := make(chan host.Message, 1)
	go func() { removed <- h.remove("u") }()
	callEnded(t, kv, "the removal")
	if r := <-removed; r.Command != "actor_is_removed" {
		t.Fatalf("remove: %s %s", r.Command, jsonOf(r.Body))
	}
}

// TestServiceCallEndsWhenTheActorMoves: a move of an actor blocked in a
// service call cancels the call's context (the move waits for the
// handler), and the move goes on.
func TestServiceCallEndsWhenTheActorMoves(t *testing.T) {
	h, kv := startServices(t, host.Config{}, allGranted)
	h.mustCreateFrom("svcpkg", "u", "User")
	blockIn(t, h, kv)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	extracted := make(chan error, 1)
	go func() {
		_, _, _, err := h.p.Extract(ctx, "u")
		extracted <- err
	}()
	callEnded(t, kv, "the move")
	if err := <-extracted; err != nil {
		t.Fatalf("the move: %v", err)
	}
}

// TestServiceConcurrentCalls: actors call one service at once, each from
// its own goroutine and Lua state (run with -race).
func TestServiceConcurrentCalls(t *testing.T) {
	h, kv := startServices(t, host.Config{}, allGranted)
	const actors, calls = 4, 500
	var wg sync.WaitGroup
	for i := range actors {
		name := fmt.Sprintf("u%d", i)
		h.mustCreateFrom("svcpkg", name, "User")
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := h.p.Ask(t, name, "count", int64(calls)); r.Command != "counted" {
				t.Errorf("%s: %s %s", name, r.Command, jsonOf(r.Body))
			}
		}()
	}
	wg.Wait()
	if n := kv.n.Load(); n != actors*calls {
		t.Fatalf("%d calls counted, want %d", n, actors*calls)
	}
}

// TestNewServicesRefusesWhatItCannotOffer: bad names and values are
// refused with the reason.
func TestNewServicesRefusesWhatItCannotOffer(t *testing.T) {
	var nilKV *kvService
	for name, v := range map[string]any{"peacepie": func() {}, "a.b": func() {}, "9x": func() {}, "nilptr": nilKV, "int": 3, "nil": nil, "slice": []int{1}} {
		if _, err := luart.NewServices(map[string]any{name: v}, nil); !errors.Is(err, luart.ErrBadService) {
			t.Errorf("service %q = %#v: %v, want ErrBadService", name, v, err)
		}
	}
}

func (h *luaHost) mustCreateFrom(pkg, name, class string) {
	h.t.Helper()
	if r := h.createFrom(pkg, name, class, ""); r.Command != "actor_is_created" {
		h.t.Fatalf("create %s (%s of %s): %s %s", name, class, pkg, r.Command, jsonOf(r.Body))
	}
}

var _ fs.FS = svcPackage

// BenchmarkServiceCall: one call of a Go function service, add(a, b),
// from a Lua handler's loop (gopher-luar's conversion, the budget pause
// and the scheduler's note that the actor may block); next to
// BenchmarkPPCall, a call of a function of the peacepie module.
func BenchmarkServiceCall(b *testing.B) { benchLoop(b, "add_loop", "sum") }

// BenchmarkPPCall: one call of pp.name() from a Lua handler's loop.
func BenchmarkPPCall(b *testing.B) { benchLoop(b, "pp_loop", "done") }

func benchLoop(b *testing.B, command, want string) {
	p, _ := servicesProcess(b, host.Config{Budget: -1}, allGranted)
	if r := p.Ask(b, "first.main.admin", "create_actor", host.Object{
		{Key: "class_desc", Value: host.Object{{Key: "requires_dist", Value: "svcpkg"}, {Key: "class", Value: "User"}}},
		{Key: "name", Value: "u"}}); r.Command != "actor_is_created" {
		b.Fatalf("create: %s %v", r.Command, r.Body)
	}
	b.ResetTimer()
	if r := p.Ask(b, "u", command, int64(b.N)); r.Command != want {
		b.Fatalf("%s: %s %v", command, r.Command, r.Body)
	}
}

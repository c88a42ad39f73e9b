package luart_test

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/internal/testhost"
)

// sandboxProbes are Lua expressions that must all be true inside an actor.
var sandboxProbes = []struct{ name, expr string }{
	{"io is absent", `io == nil`},
	{"os.execute is absent", `os.execute == nil`},
	{"os.exit is absent", `os.exit == nil`},
	{"os.getenv is absent", `os.getenv == nil`},
	{"os.remove is absent", `os.remove == nil`},
	{"os.rename is absent", `os.rename == nil`},
	{"os.tmpname is absent", `os.tmpname == nil`},
	{"calling os.exit fails", `not pcall(function() os.exit(1) end)`},
	{"calling os.execute fails", `not pcall(function() return os.execute("true") end)`},
	{"dofile is absent", `dofile == nil`},
	{"loadfile is absent", `loadfile == nil`},
	{"calling dofile fails", `not pcall(function() return dofile("/etc/passwd") end)`},
	{"package is absent", `package == nil`},
	{"debug is absent", `debug == nil`},
	{"collectgarbage is absent", `collectgarbage == nil`},
	{"require io fails", `not pcall(require, "io")`},
	{"require os fails", `not pcall(require, "os")`},
	{"require debug fails", `not pcall(require, "debug")`},
	{"require of another package's module fails", `not pcall(require, "secret")`},
	{"require of the example package fails", `not pcall(require, "hello_world")`},
	{"require with a path fails", `not pcall(require, "../secret")`},
	{"require with an absolute path fails", `not pcall(require, "/etc/passwd")`},
	{"require of the manifest fails", `not pcall(require, "peacepie.toml")`},
	{"require peacepie works", `require("peacepie") == pp`},
	{"string works", `string.format("%d-%s", 3, string.upper("a")) == "3-A" and ("abc"):sub(2) == "bc"`},
	{"string.rep works", `string.rep("ab", 3) == "ababab"`},
	{"table works", `(function() local t = {3, 1, 2}; table.sort(t); table.insert(t, 4); return table.concat(t, ",") == "1,2,3,4" end)()`},
	{"math works", `math.floor(2.7) == 2 and math.max(1, 5) == 5 and math.abs(-3) == 3 and math.huge > 0`},
	{"os.time works", `type(os.time()) == "number" and os.time() > 1600000000`},
	{"os.clock works", `type(os.clock()) == "number"`},
	{"os.date works", `type(os.date("%Y")) == "string"`},
	{"coroutine works", `(function() local co = coroutine.wrap(function() coroutine.yield(1) end); return co() == 1 end)()`},
	{"pcall and error work", `(function() local ok, e = pcall(error, "x", 0); return not ok and e == "x" end)()`},
	{"pp.name", `pp.name() == "sandbox"`},
	{"pp.node", `pp.node() == "first.main.admin"`},
	{"tostring of pp.null", `tostring(pp.null) == "null"`},
}

func sandboxModule() string {
	var sb strings.Builder
	sb.WriteString("local pp = require \"peacepie\"\nlocal Sandbox = {}\nfunction Sandbox:probe()\n  local r = {}\n")
	for _, p := range sandboxProbes {
		fmt.Fprintf(&sb, "  do local ok, v = pcall(function() return %s end); r[%q] = ok and v == true end\n", p.expr, p.name)
	}
	sb.WriteString("  return \"probed\", r\nend\nreturn Sandbox\n")
	return sb.String()
}

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

// testPackage is the package "tpkg" of these tests.
var testPackage = fstest.MapFS{
	"peacepie.toml": file(`
name = "tpkg"
version = "1.0.0"

[actors]
Echo = "echo"
Sandbox = "sandbox"
UsesHelper = "uses_helper"
Broken = "broken"
NotTable = "not_table"
NoReturn = "no_return"
LoadError = "load_error"
BadInit = "bad_init"
Stopper = "stopper"
SpinStop = "spin_stop"
Recorder = "recorder"
Params = "params"
Asker = "asker"
Ticker = "ticker"
Missing = "missing_module"
Gen = "gen"
`),
	"gen.lua": file(`
local Gen = {}
function Gen:init()
  self.gen = coroutine.wrap(function() local i = 0 while true do i = i + 1 coroutine.yield(i) end end)
end
function Gen:next() return "next", self.gen() end
function Gen:spin() while true do end end
return Gen
`),
	"echo.lua": file(`
local pp = require "peacepie"
local Echo = {}

function Echo:echo(body) return "echoed", body end
function Echo:slow_echo(body) pp.sleep(body.delay) return "echoed", body end
function Echo:nothing() end
function Echo:boom()
  local function inner() error("boom") end
  inner()
end
function Echo:spin() while true do end end
function Echo:spin_co() coroutine.wrap(function() while true do end end)() end
function Echo:spin_pcall() while true do pcall(function() while true do end end) end end
function Echo:nap(body) pp.sleep(body) return "napped" end
function Echo:fn() return "x", function() end end
function Echo:number() return 42 end
function Echo:table_cmd() return {} end
function Echo:cycle() local t = {} t.self = t return "x", t end
function Echo:mixed() return "x", {1, 2, x = 3} end
function Echo:nan() return "x", 0/0 end
function Echo:nulls() return "nulls", {a = pp.null, list = pp.array(), arr = {1, pp.null, 3}, empty = {}} end
function Echo:env(body, msg)
  return "env", {command = msg.command, mid = msg.mid, has_sender = msg.sender ~= nil, body = msg.body, timeout = msg.timeout}
end
function Echo:_private() return "leaked" end
function Echo:say(body) print("said:", body) return "said" end
return Echo
`),
	"sandbox.lua": file(sandboxModule()),
	"uses_helper.lua": file(`
local helper = require "helper"
local util = require "lib.util"
local UsesHelper = {}
function UsesHelper:use()
  return "used", {name = helper.name, twice = util.twice(21), same = require("helper") == helper, loads = helper.loads()}
end
return UsesHelper
`),
	"helper.lua": file(`
local loads = 0
loads = loads + 1
return {name = "helper", loads = function() return loads end}
`),
	"lib/util.lua": file(`return {twice = function(x) return x * 2 end}`),
	"broken.lua": file(`
local Broken = {}
function Broken:oops(
return Broken
`),
	"not_table.lua":  file(`return 42`),
	"no_return.lua":  file(`local x = 1`),
	"load_error.lua": file(`error("load failed")`),
	"bad_init.lua": file(`
local BadInit = {}
function BadInit:init() error("init failed") end
function BadInit:ping() return "pong" end
return BadInit
`),
	"stopper.lua": file(`
local pp = require "peacepie"
local Stopper = { params = { notify = pp.null } }
function Stopper:stop()
  print("stopper stopped " .. pp.name())
  if self.notify then pp.send(self.notify, "stopped", { who = pp.name() }) end
end
return Stopper
`),
	"spin_stop.lua": file(`
local SpinStop = {}
function SpinStop:stop() while true do end end
return SpinStop
`),
	"recorder.lua": file(`
local Recorder = {}
function Recorder:stopped(body) self.who = body.who end
function Recorder:get() return "got", { who = self.who } end
return Recorder
`),
	"params.lua": file(`
local pp = require "peacepie"
local Params = { params = { a = 1, b = pp.null, c = "x", list = {1, 2} } }
function Params:init() self.seen_a = self.a; self.seen_b = self.b end
function Params:seen() return "seen", { a = self.seen_a, b = self.seen_b } end
function Params:bump() self.a = self.a + 1; table.insert(self.list, 9); return "bumped" end
return Params
`),
	"asker.lua": file(`
local pp = require "peacepie"
local Asker = {}
function Asker:ask(body)
  local r, err = pp.ask(body.to, body.command, body.body, body.timeout)
  if not r then return "ask_failed", { error = err } end
  return "asked", { command = r.command, body = r.body }
end
function Asker:ask_all(body)
  local reqs = {}
  for i, q in ipairs(body.requests) do reqs[i] = { q.to, q.command, q.body } end
  local replies, failures = pp.ask_all(reqs, body.timeout)
  local out = {}
  for i, r in ipairs(replies) do out[i] = { command = r.command, body = r.body } end
  return "all", { replies = out, failures = failures }
end
function Asker:send(body)
  local ok, err = pp.send(body.to, body.command or "echo", body.body)
  return "sent", { ok = ok == true, err = err }
end
return Asker
`),
	"ticker.lua": file(`
local pp = require "peacepie"
local Ticker = {}
function Ticker:init() self.n = 0 end
function Ticker:start_every(body) self.timer = pp.every(body.period, "tick") return "started" end
function Ticker:tick() self.n = self.n + 1 end
function Ticker:count() return "count", { n = self.n, fired = self.fired_x } end
function Ticker:stop_every() local was = pp.cancel(self.timer) return "cancelled", { was_active = was, n = self.n } end
function Ticker:start_after(body) self.fired_x = nil; pp.after(body.delay, "fired", { x = 7 }) return "started" end
function Ticker:fired(body) self.fired_x = body.x end
function Ticker:cancel_nil() return "cancelled", { r = pp.cancel(nil) } end
function Ticker:zero_period() pp.every(0, "tick") end
return Ticker
`),
}

// otherPackage holds a module that tpkg must not be able to require.
var otherPackage = fstest.MapFS{
	"peacepie.toml": file("name = \"otherpkg\"\nversion = \"2.0.0\"\n[actors]\nSecret = \"secret\"\n"),
	"secret.lua":    file(`return { secret = 42 }`),
}

type luaHost struct {
	t   *testing.T
	p   *testhost.Process
	log *testhost.Output
}

func startLua(t *testing.T, cfg host.Config, extra ...fs.FS) *luaHost {
	t.Helper()
	log := &testhost.Output{}
	cfg.Logger = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return &luaHost{t: t, p: testhost.Start(t, cfg, append([]fs.FS{testPackage, otherPackage}, extra...)...), log: log}
}

func jsonOf(v any) string {
	b, err := host.MarshalValue(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}

// body parses JSON; "" is null.
func (h *luaHost) body(s string) any {
	h.t.Helper()
	if s == "" {
		return nil
	}
	return testhost.MustJSON(h.t, s)
}

func (h *luaHost) ask(to, command, body string) host.Message {
	h.t.Helper()
	return h.p.Ask(h.t, to, command, h.body(body))
}

// expect asks and checks the reply's command and (unless want is "*") body.
func (h *luaHost) expect(to, command, body, wantCommand, wantBody string) host.Message {
	h.t.Helper()
	r := h.ask(to, command, body)
	if r.Command != wantCommand || (wantBody != "*" && jsonOf(r.Body) != wantBody) {
		h.t.Fatalf("%s %s %s:\n got %s %s\nwant %s %s", to, command, body, r.Command, jsonOf(r.Body), wantCommand, wantBody)
	}
	return r
}

func (h *luaHost) create(name, class, params string) host.Message {
	h.t.Helper()
	return h.createFrom("tpkg", name, class, params)
}

func (h *luaHost) createFrom(pkg, name, class, params string) host.Message {
	h.t.Helper()
	b := host.Object{
		{Key: "class_desc", Value: host.Object{{Key: "requires_dist", Value: pkg}, {Key: "class", Value: class}}},
		{Key: "name", Value: name},
	}
	if params != "" {
		b = append(b, host.Field{Key: "params", Value: h.body(params)})
	}
	return h.p.Ask(h.t, "first.main.admin", "create_actor", b)
}

func (h *luaHost) mustCreate(name, class, params string) {
	h.t.Helper()
	if r := h.create(name, class, params); r.Command != "actor_is_created" {
		h.t.Fatalf("create %s (%s): %s %s", name, class, r.Command, jsonOf(r.Body))
	}
}

func (h *luaHost) remove(name string) host.Message {
	h.t.Helper()
	return h.p.Ask(h.t, "first.main.admin", "remove_actor", host.Object{{Key: "name", Value: name}})
}

// errorText returns the "error" or "message" field of a reply body.
func errorText(r host.Message) string {
	o, _ := r.Body.(host.Object)
	if s := o.String("error"); s != "" {
		return s
	}
	return o.String("message")
}

func TestCreateFailures(t *testing.T) {
	h := startLua(t, host.Config{})
	tests := []struct {
		name, pkg, class string
		want             []string // parts of the error
	}{
		{"unknown package", "no_such_pkg", "Echo", []string{"no_such_pkg"}},
		{"unknown version", "tpkg==9.9.9", "Echo", []string{"9.9.9", "1.0.0"}},
		{"bad requirement", "tpkg>>1.0.0", "Echo", []string{"tpkg>>1.0.0"}},
		{"no version satisfies", "tpkg>=2.0.0", "Echo", []string{"tpkg>=2.0.0", "1.0.0"}},
		{"unknown class", "tpkg", "Nope", []string{"Nope", "Echo", "Ticker", "Sandbox"}},
		{"class of another package", "tpkg", "Secret", []string{"Secret"}},
		{"syntax error", "tpkg", "Broken", []string{"broken.lua"}},
		{"module file missing", "tpkg", "Missing", []string{"missing_module"}},
		{"module returns a number", "tpkg", "NotTable", []string{"not_table", "class table", "number"}},
		{"module returns nothing", "tpkg", "NoReturn", []string{"no_return", "class table"}},
		{"module raises", "tpkg", "LoadError", []string{"load failed"}},
		{"init raises", "tpkg", "BadInit", []string{"init failed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.t = t
			r := h.createFrom(tt.pkg, "victim", tt.class, "")
			if r.Command != "actor_is_not_created" {
				t.Fatalf("create: %s %s, want actor_is_not_created", r.Command, jsonOf(r.Body))
			}
			msg := errorText(r)
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
			// Nothing is left behind: the name is free.
			if r := h.ask("victim", "echo", ""); r.Command != "actor_is_not_found" {
				t.Fatalf("victim after a failed create: %s", r.Command)
			}
			h.mustCreate("victim", "Echo", "")
			h.expect("victim", "echo", `[1]`, "echoed", `[1]`)
			if r := h.remove("victim"); r.Command != "actor_is_removed" {
				t.Fatalf("remove: %s", r.Command)
			}
		})
	}
}

func TestDuplicateActor(t *testing.T) {
	h := startLua(t, host.Config{})
	h.mustCreate("dup", "Echo", "")
	r := h.create("dup", "Ticker", "")
	if r.Command != "actor_is_not_created" || !strings.Contains(errorText(r), "dup") {
		t.Fatalf("second create: %s %s", r.Command, jsonOf(r.Body))
	}
	// The first one is still the Echo.
	h.expect("dup", "echo", `"still"`, "echoed", `"still"`)
}

func TestHandlerErrorIsReportedWithTraceback(t *testing.T) {
	h := startLua(t, host.Config{})
	h.mustCreate("e", "Echo", "")
	for i := 0; i < 2; i++ {
		r := h.ask("e", "boom", "")
		if r.Command != "error" {
			t.Fatalf("boom: %s %s, want error", r.Command, jsonOf(r.Body))
		}
		if msg := errorText(r); !strings.Contains(msg, "boom") || !strings.Contains(msg, "echo.lua") {
			t.Fatalf("error message %q does not carry the Lua error and its place", msg)
		}
		if mid, _ := r.Body.(host.Object).Get("mid"); mid == nil {
			t.Fatalf("error reply without a mid: %s", jsonOf(r.Body))
		}
		h.expect("e", "echo", `{"after":"boom"}`, "echoed", `{"after":"boom"}`)
	}
	testhost.Eventually(t, 5*time.Second, "the traceback in the log", func() bool {
		l := h.log.String()
		return strings.Contains(l, "boom") && strings.Contains(l, "stack traceback") && strings.Contains(l, "echo.lua")
	})
	for _, line := range strings.Split(h.log.String(), "\n") {
		if strings.Contains(line, "boom") && strings.Contains(line, "level=ERROR") {
			if !strings.Contains(line, "traceback=") || !strings.Contains(line, "inner") {
				t.Fatalf("the log line has no traceback through the function that raised:\n%s", line)
			}
			return
		}
	}
	t.Fatalf("no error line in the log:\n%s", h.log.String())
}

func TestTimeBudget(t *testing.T) {
	h := startLua(t, host.Config{Budget: 200 * time.Millisecond})
	h.mustCreate("e", "Echo", "")
	for _, cmd := range []string{"spin", "spin_pcall", "spin_co", "spin"} {
		t.Run(cmd, func(t *testing.T) {
			h.t = t
			start := time.Now()
			r := h.ask("e", cmd, "")
			if r.Command != "error" {
				t.Fatalf("%s: %s %s, want error", cmd, r.Command, jsonOf(r.Body))
			}
			if msg := errorText(r); !strings.Contains(msg, "time budget") {
				t.Fatalf("error %q does not mention the time budget", msg)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("interrupted only after %s", d)
			}
			// The actor keeps working.
			h.expect("e", "echo", `{"n":1}`, "echoed", `{"n":1}`)
		})
	}
	t.Run("sleep does not count", func(t *testing.T) {
		h.t = t
		h.expect("e", "nap", `0.5`, "napped", `null`)
	})
}

// TestCoroutineSurvivesBudgetInterrupt: after a handler is interrupted for
// its time budget the actor keeps running, so a coroutine it keeps in its
// state (made by an earlier handler or init) must keep working too.
func TestCoroutineSurvivesBudgetInterrupt(t *testing.T) {
	h := startLua(t, host.Config{Budget: 200 * time.Millisecond})
	h.mustCreate("gen", "Gen", "")
	h.expect("gen", "next", "", "next", "1")
	h.expect("gen", "next", "", "next", "2")
	if r := h.ask("gen", "spin", ""); r.Command != "error" {
		t.Fatalf("spin: %s", r.Command)
	}
	h.expect("gen", "next", "", "next", "3")
}

func TestStopHookRunsOnRemove(t *testing.T) {
	h := startLua(t, host.Config{})
	h.mustCreate("rec", "Recorder", "")
	h.mustCreate("st1", "Stopper", `{"notify":"rec"}`)
	if r := h.remove("st1"); r.Command != "actor_is_removed" {
		t.Fatalf("remove: %s %s", r.Command, jsonOf(r.Body))
	}
	testhost.Eventually(t, 5*time.Second, "the stop hook's line", func() bool { return h.p.Printed("stopper stopped st1\n") })
	testhost.Eventually(t, 5*time.Second, "the stop hook's message", func() bool {
		return jsonOf(h.ask("rec", "get", "").Body) == `{"who":"st1"}`
	})
	if r := h.ask("st1", "echo", ""); r.Command != "actor_is_not_found" {
		t.Fatalf("st1 after remove: %s", r.Command)
	}
	if r := h.remove("st1"); r.Command != "actor_is_absent" {
		t.Fatalf("second remove: %s", r.Command)
	}
}

func TestRunawayStopHookDoesNotBlockRemove(t *testing.T) {
	h := startLua(t, host.Config{Budget: 200 * time.Millisecond})
	h.mustCreate("ss", "SpinStop", "")
	start := time.Now()
	if r := h.remove("ss"); r.Command != "actor_is_removed" {
		t.Fatalf("remove: %s %s", r.Command, jsonOf(r.Body))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("remove took %s", d)
	}
	h.mustCreate("ss", "Echo", "")
}

func TestRemoveInterruptsSleep(t *testing.T) {
	h := startLua(t, host.Config{})
	h.mustCreate("sleeper", "Echo", "")
	if err := h.p.Send(host.Message{Command: "nap", Body: int64(30), Recipient: host.Address{Entity: "sleeper"}}); err != nil {
		t.Fatal(err)
	}
	testhost.Eventually(t, 5*time.Second, "the nap to begin", func() bool {
		a := h.p.Lookup("sleeper")
		return a != nil && a.MailboxLen() == 0
	})
	start := time.Now()
	if r := h.remove("sleeper"); r.Command != "actor_is_removed" {
		t.Fatalf("remove: %s %s", r.Command, jsonOf(r.Body))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("remove waited %s for a sleeping handler", d)
	}
}

func TestSandbox(t *testing.T) {
	h := startLua(t, host.Config{})
	h.mustCreate("sandbox", "Sandbox", "")
	r := h.expect("sandbox", "probe", "", "probed", "*")
	results, ok := r.Body.(host.Object)
	if !ok {
		t.Fatalf("probe: %s", jsonOf(r.Body))
	}
	for _, p := range sandboxProbes {
		t.Run(p.name, func(t *testing.T) {
			if v, _ := results.Get(p.name); v != true {
				t.Fatalf("%s is not true in an actor", p.expr)
			}
		})
	}
}

func TestRequireSiblingModules(t *testing.T) {
	h := startLua(t, host.Config{})
	h.mustCreate("u1", "UsesHelper", "")
	h.mustCreate("u2", "UsesHelper", "")
	want := `{"loads":1,"name":"helper","same":true,"twice":42}`
	h.expect("u1", "use", "", "used", want)
	h.expect("u2", "use", "", "used", want)
}

func TestConversionRoundTrip(t *testing.T) {
	h := startLua(t, host.Config{})
	h.mustCreate("echo", "Echo", "")
	tests := []struct {
		name, in, out string // out "" means the same as in
	}{
		{"null", `null`, ""},
		{"true", `true`, ""},
		{"false", `false`, ""},
		{"integer", `42`, ""},
		{"negative integer", `-7`, ""},
		{"zero", `0`, ""},
		{"large integer", `1000000000000000`, ""},
		{"2^53", `9007199254740992`, ""},
		{"float", `2.5`, ""},
		{"huge float", `1e300`, `1e+300`},
		{"small float", `1.5e-7`, `1.5e-07`},
		{"negative float", `-0.125`, ""},
		{"string", `"hello"`, ""},
		{"unicode string", `"héllo ✓ 世界"`, ""},
		{"string with zero byte", `"a\u0000b"`, ""},
		{"empty string", `""`, ""},
		{"empty array", `[]`, ""},
		{"empty object", `{}`, ""},
		{"array", `[1,"a",true,2.5]`, ""},
		{"null inside an array", `[1,null,3]`, ""},
		{"null at the end of an array", `[1,null]`, ""},
		{"only nulls", `[null,null]`, ""},
		{"null inside an object", `{"a":null,"b":1}`, ""},
		{"empty containers inside", `{"a":[],"o":{},"x":[[],{}]}`, ""},
		{"numeric string keys stay an object", `{"1":"a","2":"b"}`, ""},
		{"nested", `{"a":{"b":[1,{"c":[null,true,"s",2.5,{"d":[]}]}]},"z":-1}`, ""},
		{"keys come back sorted", `{"b":1,"a":2}`, `{"a":2,"b":1}`},
		{"array of objects", `[{"x":1},{"y":[2]}]`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.t = t
			want := tt.out
			if want == "" {
				want = tt.in
			}
			h.expect("echo", "echo", tt.in, "echoed", want)
		})
	}
	t.Run("null and array from Lua", func(t *testing.T) {
		h.t = t
		h.expect("echo", "nulls", "", "nulls", `{"a":null,"arr":[1,null,3],"empty":{},"list":[]}`)
	})
	t.Run("deep nesting", func(t *testing.T) {
		h.t = t
		in := strings.Repeat("[", 40) + "1" + strings.Repeat("]", 40)
		h.expect("echo", "echo", in, "echoed", in)
	})
}

func TestBadReplies(t *testing.T) {
	h := startLua(t, host.Config{})
	h.mustCreate("e", "Echo", "")
	tests := []struct {
		command string
		want    string // part of the error message
	}{
		{"fn", "function"},
		{"number", "number"},
		{"table_cmd", "table"},
		{"cycle", "body.self: a table that contains itself"},
		{"mixed", "neither an array"},
		{"nan", "JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.command, func(t *testing.T) {
			h.t = t
			r := h.ask("e", tt.command, "")
			if r.Command != "error" {
				t.Fatalf("%s: %s %s, want error", tt.command, r.Command, jsonOf(r.Body))
			}
			if msg := errorText(r); !strings.Contains(msg, tt.want) {
				t.Fatalf("error %q does not mention %q", msg, tt.want)
			}
			h.expect("e", "echo", `1`, "echoed", `1`)
		})
	}
}

func TestHandlerCalls(t *testing.T) {
	h := startLua(t, host.Config{})
	h.mustCreate("e", "Echo", "")

	t.Run("nothing returned is is_handled", func(t *testing.T) {
		h.t = t
		mid := h.p.NewMID()
		r, err := h.p.Process.Ask(context.Background(), host.Message{ID: mid, Command: "nothing", Recipient: host.Address{Entity: "e"}}, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if r.Command != "is_handled" || jsonOf(r.Body) != `{"mid":"`+mid.String()+`"}` {
			t.Fatalf("got %s %s", r.Command, jsonOf(r.Body))
		}
	})

	t.Run("the message is the third argument", func(t *testing.T) {
		h.t = t
		mid := h.p.NewMID()
		r, err := h.p.Process.Ask(context.Background(), host.Message{ID: mid, Command: "env", Body: host.Array{"x"}, Recipient: host.Address{Entity: "e"}}, 4*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		want := `{"body":["x"],"command":"env","has_sender":true,"mid":"` + mid.String() + `","timeout":4}`
		if r.Command != "env" || jsonOf(r.Body) != want {
			t.Fatalf("got %s %s, want env %s", r.Command, jsonOf(r.Body), want)
		}
	})

	for _, cmd := range []string{"no_such_command", "init", "stop", "params", "_private"} {
		t.Run("not handled: "+cmd, func(t *testing.T) {
			h.t = t
			mid := h.p.NewMID()
			r, err := h.p.Process.Ask(context.Background(), host.Message{ID: mid, Command: cmd, Recipient: host.Address{Entity: "e"}}, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if r.Command != "is_not_handled" {
				t.Fatalf("%s: %s %s, want is_not_handled", cmd, r.Command, jsonOf(r.Body))
			}
			if v, _ := r.Body.(host.Object).Get("mid"); v != mid.String() {
				t.Fatalf("is_not_handled carries mid %v, want %s", v, mid)
			}
		})
	}

	t.Run("print", func(t *testing.T) {
		h.t = t
		h.expect("e", "say", `"hi"`, "said", "null")
		testhost.Eventually(t, 5*time.Second, "the printed line", func() bool { return h.p.Printed("said:\thi\n") })
	})
}

func TestParams(t *testing.T) {
	h := startLua(t, host.Config{})
	defaults := `{"params":[{"name":"a","value":1},{"name":"b","value":null},{"name":"c","value":"x"},{"name":"list","value":[1,2]}]}`

	t.Run("get_params lists declared params with nulls", func(t *testing.T) {
		h.t = t
		h.mustCreate("p1", "Params", "")
		h.expect("p1", "get_params", "", "params", defaults)
	})

	t.Run("create params are applied before init", func(t *testing.T) {
		h.t = t
		h.mustCreate("p2", "Params", `{"a":5,"b":"given"}`)
		h.expect("p2", "seen", "", "seen", `{"a":5,"b":"given"}`)
		h.expect("p2", "get_params", "", "params",
			`{"params":[{"name":"a","value":5},{"name":"b","value":"given"},{"name":"c","value":"x"},{"name":"list","value":[1,2]}]}`)
	})

	t.Run("unknown create param", func(t *testing.T) {
		h.t = t
		r := h.create("p3", "Params", `{"a":5,"zzz":1}`)
		if r.Command != "actor_is_not_created" || !strings.Contains(errorText(r), "zzz") {
			t.Fatalf("create: %s %s", r.Command, jsonOf(r.Body))
		}
		h.mustCreate("p3", "Params", "")
	})

	t.Run("set_params", func(t *testing.T) {
		h.t = t
		h.mustCreate("p4", "Params", "")
		h.expect("p4", "set_params", `{"params":[{"name":"a","value":7},{"name":"b","value":{"k":[]}}]}`, "params_are_set", "*")
		h.expect("p4", "get_params", "", "params",
			`{"params":[{"name":"a","value":7},{"name":"b","value":{"k":[]}},{"name":"c","value":"x"},{"name":"list","value":[1,2]}]}`)
		// The object form works too, and null clears a param.
		h.expect("p4", "set_params", `{"params":{"b":null,"c":"y"}}`, "params_are_set", "*")
		h.expect("p4", "get_params", "", "params",
			`{"params":[{"name":"a","value":7},{"name":"b","value":null},{"name":"c","value":"y"},{"name":"list","value":[1,2]}]}`)
	})

	t.Run("set_params with an unknown name changes nothing", func(t *testing.T) {
		h.t = t
		h.mustCreate("p5", "Params", "")
		r := h.ask("p5", "set_params", `{"params":[{"name":"a","value":99},{"name":"zzz","value":1}]}`)
		if r.Command != "error" || !strings.Contains(errorText(r), "zzz") {
			t.Fatalf("set_params: %s %s, want an error naming zzz", r.Command, jsonOf(r.Body))
		}
		h.expect("p5", "get_params", "", "params", defaults)
	})

	t.Run("set_params with a bad body", func(t *testing.T) {
		h.t = t
		h.mustCreate("p6", "Params", "")
		for _, b := range []string{"", `"a"`, `{}`, `{"params":5}`, `{"params":[{"value":1}]}`, `{"params":[5]}`} {
			if r := h.ask("p6", "set_params", b); r.Command != "error" {
				t.Fatalf("set_params %s: %s %s, want error", b, r.Command, jsonOf(r.Body))
			}
		}
		h.expect("p6", "get_params", "", "params", defaults)
	})

	t.Run("table defaults are per actor", func(t *testing.T) {
		h.t = t
		h.mustCreate("p7", "Params", "")
		h.mustCreate("p8", "Params", "")
		h.expect("p7", "bump", "", "bumped", "*")
		h.expect("p7", "get_params", "", "params",
			`{"params":[{"name":"a","value":2},{"name":"b","value":null},{"name":"c","value":"x"},{"name":"list","value":[1,2,9]}]}`)
		h.expect("p8", "get_params", "", "params", defaults)
	})

	t.Run("actor without params", func(t *testing.T) {
		h.t = t
		h.mustCreate("p9", "Echo", "")
		h.expect("p9", "get_params", "", "params", `{"params":[]}`)
		if r := h.ask("p9", "set_params", `{"params":{"x":1}}`); r.Command != "error" {
			t.Fatalf("set_params on an actor without params: %s", r.Command)
		}
	})
}

func TestLuaAsk(t *testing.T) {
	h := startLua(t, host.Config{})
	h.mustCreate("asker", "Asker", "")
	h.mustCreate("e1", "Echo", "")
	h.mustCreate("e2", "Echo", "")

	t.Run("ask another actor", func(t *testing.T) {
		h.t = t
		h.expect("asker", "ask", `{"to":"e1","command":"echo","body":{"x":[1,null]}}`, "asked", `{"body":{"x":[1,null]},"command":"echoed"}`)
	})
	t.Run("ask by node and entity", func(t *testing.T) {
		h.t = t
		h.expect("asker", "ask", `{"to":{"node":"first.main.admin","entity":"e2"},"command":"echo","body":3}`, "asked", `{"body":3,"command":"echoed"}`)
	})
	t.Run("ask the admin", func(t *testing.T) {
		h.t = t
		r := h.expect("asker", "ask", `{"to":"first.main.admin","command":"seek_actor","body":{"entity":"e1"}}`, "asked", "*")
		if c := r.Body.(host.Object).String("command"); c != "actor_is_found" {
			t.Fatalf("seek_actor through pp.ask: %s", jsonOf(r.Body))
		}
	})
	t.Run("ask a missing actor", func(t *testing.T) {
		h.t = t
		start := time.Now()
		r := h.expect("asker", "ask", `{"to":"nobody","command":"echo"}`, "ask_failed", "*")
		if msg := errorText(r); !strings.Contains(msg, "actor_is_not_found") {
			t.Fatalf("error %q does not say actor_is_not_found", msg)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("the failure took %s", d)
		}
	})
	t.Run("ask times out", func(t *testing.T) {
		h.t = t
		start := time.Now()
		r := h.expect("asker", "ask", `{"to":"e1","command":"slow_echo","body":{"delay":1},"timeout":0.1}`, "ask_failed", "*")
		if msg := errorText(r); !strings.Contains(msg, "timed out") {
			t.Fatalf("error %q does not say timed out", msg)
		}
		if d := time.Since(start); d > 900*time.Millisecond {
			t.Fatalf("the timeout of 0.1s took %s", d)
		}
	})
	t.Run("ask_all keeps the order of the requests", func(t *testing.T) {
		h.t = t
		r := h.expect("asker", "ask_all", `{"timeout":5,"requests":[
			{"to":"e1","command":"slow_echo","body":{"delay":0.2,"i":1}},
			{"to":"nobody","command":"echo","body":{"i":2}},
			{"to":"e2","command":"echo","body":{"i":3}},
			{"to":"e2","command":"no_such_command"}]}`, "all", "*")
		o := r.Body.(host.Object)
		if f, _ := o.Get("failures"); f != int64(1) {
			t.Fatalf("failures = %v, want 1: %s", f, jsonOf(r.Body))
		}
		replies, _ := o.Get("replies")
		list, _ := replies.(host.Array)
		if len(list) != 4 {
			t.Fatalf("replies: %s", jsonOf(replies))
		}
		if got := jsonOf(list[0]); got != `{"body":{"delay":0.2,"i":1},"command":"echoed"}` {
			t.Errorf("reply 1: %s", got)
		}
		if c := list[1].(host.Object).String("command"); c != "error" || !strings.Contains(jsonOf(list[1]), "actor_is_not_found") {
			t.Errorf("reply 2: %s", jsonOf(list[1]))
		}
		if got := jsonOf(list[2]); got != `{"body":{"i":3},"command":"echoed"}` {
			t.Errorf("reply 3: %s", got)
		}
		if c := list[3].(host.Object).String("command"); c != "is_not_handled" {
			t.Errorf("reply 4: %s", jsonOf(list[3]))
		}
	})
	t.Run("send", func(t *testing.T) {
		h.t = t
		h.expect("asker", "send", `{"to":"e1"}`, "sent", `{"ok":true}`)
		r := h.expect("asker", "send", `{"to":"nobody"}`, "sent", "*")
		o := r.Body.(host.Object)
		if ok, _ := o.Get("ok"); ok != false || !strings.Contains(o.String("err"), "nobody") {
			t.Fatalf("send to a missing actor: %s", jsonOf(r.Body))
		}
	})
	t.Run("bad recipient raises", func(t *testing.T) {
		h.t = t
		for _, to := range []string{`5`, `true`, `{"node":"nonsense","entity":"x"}`, `""`} {
			if r := h.ask("asker", "ask", `{"to":`+to+`,"command":"echo"}`); r.Command != "error" {
				t.Fatalf("ask to %s: %s %s, want error", to, r.Command, jsonOf(r.Body))
			}
		}
	})
}

func TestLuaTimers(t *testing.T) {
	h := startLua(t, host.Config{})
	h.mustCreate("tk", "Ticker", "")
	count := func() (int64, any) {
		r := h.expect("tk", "count", "", "count", "*")
		o := r.Body.(host.Object)
		n, _ := o.Get("n")
		f, _ := o.Get("fired")
		i, ok := n.(int64)
		if !ok {
			t.Fatalf("count: %s", jsonOf(r.Body))
		}
		return i, f
	}

	t.Run("every and cancel", func(t *testing.T) {
		h.t = t
		h.expect("tk", "start_every", `{"period":0.02}`, "started", "null")
		testhost.Eventually(t, 5*time.Second, "three ticks", func() bool { n, _ := count(); return n >= 3 })
		r := h.expect("tk", "stop_every", "", "cancelled", "*")
		if was, _ := r.Body.(host.Object).Get("was_active"); was != true {
			t.Fatalf("cancel of a running timer: %s", jsonOf(r.Body))
		}
		n1, _ := count()
		time.Sleep(150 * time.Millisecond) // several periods: no more ticks may come
		if n2, _ := count(); n2 > n1+1 {
			t.Fatalf("%d ticks after cancel", n2-n1)
		}
		r = h.expect("tk", "stop_every", "", "cancelled", "*")
		if was, _ := r.Body.(host.Object).Get("was_active"); was != false {
			t.Fatalf("second cancel: %s", jsonOf(r.Body))
		}
	})
	t.Run("after", func(t *testing.T) {
		h.t = t
		h.expect("tk", "start_after", `{"delay":0.05}`, "started", "null")
		testhost.Eventually(t, 5*time.Second, "the after timer", func() bool { _, f := count(); return f == int64(7) })
	})
	t.Run("cancel nil", func(t *testing.T) {
		h.t = t
		h.expect("tk", "cancel_nil", "", "cancelled", `{"r":false}`)
	})
	t.Run("zero period is refused", func(t *testing.T) {
		h.t = t
		if r := h.ask("tk", "zero_period", ""); r.Command != "error" {
			t.Fatalf("every(0): %s", r.Command)
		}
	})
	t.Run("timers end with the actor", func(t *testing.T) {
		h.t = t
		h.mustCreate("tk2", "Ticker", "")
		h.expect("tk2", "start_every", `{"period":0.01}`, "started", "null")
		testhost.Eventually(t, 5*time.Second, "ticks", func() bool {
			r := h.ask("tk2", "count", "")
			o, _ := r.Body.(host.Object)
			n, _ := o.Get("n")
			i, _ := n.(int64)
			return i >= 2
		})
		a := h.p.Lookup("tk2")
		if r := h.remove("tk2"); r.Command != "actor_is_removed" {
			t.Fatalf("remove: %s", r.Command)
		}
		handled := a.Handled()
		time.Sleep(60 * time.Millisecond)
		if a.Handled() != handled {
			t.Fatalf("the removed actor handled %d more messages", a.Handled()-handled)
		}
	})
}

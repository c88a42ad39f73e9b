package luart_test

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/internal/testhost"
)

// cyclePackage has classes whose declared params, replies, bodies and
// params contain themselves, or are nested too deep: every way a Lua value
// is converted or copied must refuse them with the path, and the process
// must keep running (a copy of a cyclic default once overflowed the stack
// and took the whole process down).
var cyclePackage = fstest.MapFS{
	"peacepie.toml": file(`
name = "cyc"
version = "1.0.0"

[actors]
Cyclic = "cyclic"
Deep = "deep"
Plain = "plain"
Dag = "dag"
`),
	"dag.lua":    file(`local t = {} for i = 1, 60 do t = {a = t, b = t} end return {params = {d = t}}`),
	"cyclic.lua": file(`local t = {} t.self = t; return {params = {cyc = t}}`),
	"deep.lua": file(`
local root = {}
local t = root
for i = 1, 70 do t.next = {} t = t.next end
return {params = {deep = root}}
`),
	"plain.lua": file(`
local pp = require "peacepie"
local Plain = {params = {x = 1}}
local function cyc() local t = {a = {}} t.a.back = t return t end
local function deep() local root = {} local t = root for i = 1, 70 do t[1] = {} t = t[1] end return root end
local function try(f, ...) local ok, err = pcall(f, ...) return "refused", {ok = ok, err = tostring(err)} end
local function dag() local t = {} for i = 1, 60 do t = {a = t, b = t} end return t end
function Plain:ping() return "pong" end
function Plain:reply_dag() return "x", dag() end
function Plain:send_remote_dag() return try(pp.send, "nobody_here", "x", dag()) end
function Plain:reply_cycle() return "x", {list = {cyc()}} end
function Plain:reply_deep() return "x", deep() end
function Plain:send_cycle() return try(pp.send, "peer", "x", cyc()) end
function Plain:send_remote_cycle() return try(pp.send, "nobody_here", "x", cyc()) end
function Plain:ask_cycle() return try(pp.ask, "peer", "x", cyc()) end
function Plain:ask_all_cycle() return try(pp.ask_all, {{"peer", "x", cyc()}}) end
function Plain:timer_cycle() return try(pp.after, 1, "x", cyc()) end
function Plain:recipient_cycle() local t = {node = "first.main.admin"} t.entity = t return try(pp.send, t, "x") end
function Plain:make_cycle() self.x = cyc() end
function Plain:print_cycle()
  local t = setmetatable({}, {__tostring = function(x) return tostring(x) end})
  return try(print, t)
end
function Plain:log_cycle()
  local t = setmetatable({}, {__tostring = function(x) return tostring(x) end})
  return try(pp.log.info, t)
end
return Plain
`),
}

func TestCyclesAndDepthAreRefusedWithThePath(t *testing.T) {
	h := startLua(t, host.Config{}, cyclePackage)
	alive := func() {
		t.Helper()
		h.mustCreate("alive", "Echo", "")
		h.expect("alive", "echo", `1`, "echoed", `1`)
		h.remove("alive")
	}
	createFails := func(class, want string) {
		t.Helper()
		r := h.createFrom("cyc", "c", class, "")
		if r.Command == "actor_is_created" || !strings.Contains(errorText(r), want) {
			t.Fatalf("create %s: %s %s, want an error with %q", class, r.Command, jsonOf(r.Body), want)
		}
		alive()
	}
	createFails("Cyclic", "params.cyc.self: a table that contains itself")
	createFails("Deep", "params.deep"+strings.Repeat(".next", 64)+": tables nested deeper than 64")
	createFails("Dag", "more than 1048576 tables in one value")

	if r := h.createFrom("cyc", "p", "Plain", ""); r.Command != "actor_is_created" {
		t.Fatalf("create Plain: %s %s", r.Command, jsonOf(r.Body))
	}
	h.mustCreate("peer", "Echo", "")
	t.Run("recreate_actor with a cyclic class", func(t *testing.T) {
		h.t = t
		r := h.ask("first.main.admin", "recreate_actor", `{"entity": "p", "class_desc": {"requires_dist": "cyc", "class": "Cyclic"}}`)
		if r.Command == "actor_is_recreated" || !strings.Contains(errorText(r), "params.cyc.self: a table that contains itself") {
			t.Fatalf("recreate: %s %s", r.Command, jsonOf(r.Body))
		}
		h.expect("p", "ping", "", "pong", "null")
	})
	for _, tt := range []struct{ command, want string }{
		{"reply_cycle", `body.list[1].a.back: a table that contains itself`},
		{"reply_deep", `body` + strings.Repeat("[1]", 64) + `: tables nested deeper than 64`},
		{"send_cycle", `body.a.back: a table that contains itself`},
		{"send_remote_cycle", `body.a.back: a table that contains itself`}, // written as JSON for a link
		{"ask_cycle", `body.a.back: a table that contains itself`},
		{"ask_all_cycle", `request 1: value cannot be sent: body.a.back: a table that contains itself`},
		{"timer_cycle", `body.a.back: a table that contains itself`},
		{"recipient_cycle", `recipient.entity: a table that contains itself`},
		{"reply_dag", `more than 1048576 tables in one value`},
		{"send_remote_dag", `more than 1048576 tables in one value`},
		{"print_cycle", `stack overflow`},
		{"log_cycle", `stack overflow`},
	} {
		t.Run(tt.command, func(t *testing.T) {
			h.t = t
			r := h.ask("p", tt.command, "")
			if got := jsonOf(r.Body) + errorText(r); !strings.Contains(got, tt.want) {
				t.Fatalf("%s: %s %s, want %q in it", tt.command, r.Command, got, tt.want)
			}
			if r.Command == "refused" {
				if ok, _ := r.Body.(host.Object).Get("ok"); ok != false {
					t.Fatalf("%s: the call succeeded: %s", tt.command, jsonOf(r.Body))
				}
			}
			h.expect("p", "ping", "", "pong", "null")
		})
	}
	t.Run("params that came to contain themselves", func(t *testing.T) {
		h.t = t
		h.expect("p", "make_cycle", "", "is_handled", "*")
		const want = "params.x.a.back: a table that contains itself"
		if r := h.ask("p", "get_params", ""); r.Command != "error" || !strings.Contains(errorText(r), want) {
			t.Fatalf("get_params: %s %s, want an error with %q", r.Command, jsonOf(r.Body), want)
		}
		// recreate_actor reads the params as a move does (host.ParamsGetter).
		r := h.ask("first.main.admin", "recreate_actor", `{"entity": "p", "class_desc": {"requires_dist": "cyc", "class": "Plain"}}`)
		if r.Command == "actor_is_recreated" || !strings.Contains(errorText(r), want) {
			t.Fatalf("recreate: %s %s, want an error with %q", r.Command, jsonOf(r.Body), want)
		}
		h.expect("p", "ping", "", "pong", "null")
		// set_params notes the params for a restart: they cannot be, and say why.
		h.expect("p", "set_params", `{"params": {}}`, "params_are_set", "null")
		testhost.Eventually(t, 5*time.Second, "the params not noted, logged", func() bool {
			return strings.Contains(h.log.String(), want)
		})
		h.expect("p", "set_params", `{"params": {"x": 2}}`, "params_are_set", "null")
		h.expect("p", "get_params", "", "params", `{"params":[{"name":"x","value":2}]}`)
	})
	alive()
}

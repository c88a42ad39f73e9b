package luart_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/peacepie/peacepie/host"
)

// declaredPackage has a class with declared params whose hooks say when
// they run, and one whose module never finishes loading.
var declaredPackage = fstest.MapFS{
	"peacepie.toml": file(`
name = "declared"
version = "1.0.0"

[actors]
Tuned = "tuned"
Endless = "endless"
`),
	"tuned.lua": file(`
local pp = require "peacepie"
local Tuned = { params = { period = 2, label = "x", limit = pp.null, shape = { w = 1 } } }
function Tuned:init() print("init ran") end
function Tuned:stop() print("stop ran") end
return Tuned
`),
	"endless.lua": file(`
while true do end
return {}
`),
}

// TestDeclaredParams: a class's declared defaults (what the console's
// create form offers) come from its module without an actor: no hook
// runs and nothing is registered; a module that never finishes loading
// is stopped by the handler budget.
func TestDeclaredParams(t *testing.T) {
	h := startLua(t, host.Config{Budget: 300 * time.Millisecond}, declaredPackage)
	ctx := context.Background()
	params, err := h.p.DeclaredParams(ctx, host.ClassDesc{RequiresDist: "declared", Class: "Tuned"})
	if err != nil {
		t.Fatal(err)
	}
	if got := jsonOf(params); got != `{"label":"x","limit":null,"period":2,"shape":{"w":1}}` {
		t.Errorf("declared params: %s", got)
	}
	if out := h.p.Out.String(); strings.Contains(out, "ran") {
		t.Errorf("a hook ran: %q", out)
	}
	if n := len(h.p.Actors()); n != 0 {
		t.Errorf("%d actors registered", n)
	}
	_, err = h.p.DeclaredParams(ctx, host.ClassDesc{RequiresDist: "declared", Class: "Endless"})
	if !errors.Is(err, host.ErrBudget) {
		t.Errorf("a module that loops: %v, want the budget's error", err)
	}
	if _, err := h.p.DeclaredParams(ctx, host.ClassDesc{RequiresDist: "declared", Class: "Nope"}); err == nil || !strings.Contains(err.Error(), "no class") {
		t.Errorf("an unknown class: %v", err)
	}
}

// TestEndlessModuleIsStopped: creating an actor whose module never
// finishes loading fails with the budget's error (before, create_actor
// waited for ever and the name stayed taken), the name is free again, and
// so is a recreate_actor to such a class.
func TestEndlessModuleIsStopped(t *testing.T) {
	h := startLua(t, host.Config{Budget: 300 * time.Millisecond}, declaredPackage)
	r := h.createFrom("declared", "e", "Endless", "")
	if r.Command != "actor_is_not_created" || !strings.Contains(jsonOf(r.Body), "budget") {
		t.Fatalf("create of a class whose module loops: %s %s", r.Command, jsonOf(r.Body))
	}
	if r := h.createFrom("declared", "e", "Tuned", ""); r.Command != "actor_is_created" {
		t.Fatalf("the name after the failed create: %s %s", r.Command, jsonOf(r.Body))
	}
	r = h.ask(h.p.AdminName(), "recreate_actor", `{"entity": "e", "class_desc": {"requires_dist": "declared", "class": "Endless"}}`)
	if r.Command == "actor_is_recreated" || !strings.Contains(jsonOf(r.Body), "budget") {
		t.Fatalf("recreate to a class whose module loops: %s %s", r.Command, jsonOf(r.Body))
	}
	h.expect("e", "get_params", "", "params", `{"params":[{"name":"label","value":"x"},{"name":"limit","value":null},{"name":"period","value":2},{"name":"shape","value":{"w":1}}]}`)
}

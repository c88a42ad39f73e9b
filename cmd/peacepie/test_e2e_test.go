package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestPeacepieTest: `peacepie test` passes a package's tests (exit 0),
// reports a broken one with its line and exits 1, prints JSON with
// --json, and exits 2 for a directory that is no package.
func TestPeacepieTest(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	runCLI(t, work, nil, "new", "counter").check(t, "new", 0, "next:", "")
	test := filepath.Join(work, "counter", "counter_test.lua")
	writeFile(t, test, `local t = require "peacepie.test"
t.test("adds", function()
  local c = t.create("Counter")
  t.eq(t.ask(c, "add", {n = 2}).body.count, 2)
end)
`)
	runCLI(t, work, nil, "test", "counter").check(t, "test passing", 0, "1 passed, 0 failed", "")
	writeFile(t, test, `local t = require "peacepie.test"
t.test("adds", function()
  local c = t.create("Counter")
  t.eq(t.ask(c, "add", {n = 2}).body.count, 3, "count")
end)
`)
	runCLI(t, work, nil, "test", "counter").check(t, "test failing", 1, "counter_test.lua:4: count: expected 3, got 2", "")
	r := runCLI(t, work, nil, "test", "--json", "counter")
	var doc struct{ Passed, Failed int }
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc.Failed != 1 || r.code != 1 {
		t.Errorf("--json: %v %+v exit %d\n%s", err, doc, r.code, r.stdout)
	}
	os.MkdirAll(filepath.Join(work, "empty"), 0o755)
	runCLI(t, work, nil, "test", "empty").check(t, "no package", 2, "", "peacepie.toml")
}

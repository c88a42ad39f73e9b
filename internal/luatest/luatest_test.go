package luatest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/peacepie/peacepie/internal/luatest"
)

// writePackage writes files into a new package directory.
func writePackage(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var napperPackage = map[string]string{
	"peacepie.toml": "name = \"napper\"\nversion = \"1.0.0\"\n[actors]\nNapper = \"napper\"\n",
	"napper.lua": `local pp = require "peacepie"
local Napper = { params = { naps = 0 } }
function Napper:nap(body) pp.sleep(body) self.naps = self.naps + 1 print("woke " .. self.naps) return "napped" end
function Napper:later(body) pp.after(body, "nap", 0) return "later" end
return Napper
`,
	"napper_test.lua": `local t = require "peacepie.test"
t.test("a sleep of an hour takes no time", function()
  local n = t.create("Napper")
  t.send(n, "nap", 3600)
  t.advance(3599)
  t.eq(t.printed(), {}, "lines before the hour") -- it sleeps: an ask would wait
  t.advance(1)
  t.eq(t.printed(), {"woke 1"}, "lines after the hour")
  t.eq(t.params(n).naps, 1)
end)
t.test("after fires once", function()
  local n = t.create("Napper")
  t.eq(t.ask(n, "later", 10).command, "later")
  t.advance(100)
  t.eq(t.params(n).naps, 1)
end)
t.test("this one fails", function()
  local n = t.create("Napper")
  t.eq(t.params(n).naps, 7, "naps")
end)
t.test("a Lua error fails too", function()
  local x = nil
  return x.y
end)
t.test("echo of another package", function()
  local e = t.create("peacepie_std:Echo")
  t.eq(t.ask(e, "echo", {a = 1}).body, {a = 1})
end)
`,
	"sub/broken_test.lua": "local t = require \"peacepie.test\"\nt.test(\"x\", function()\n  if true\nend)\n",
}

// TestRunReportsEachTest: tests pass and fail with the test file's line
// and what was expected; the fake clock makes an hour's sleep instant; a
// test file that does not compile is one failure naming its line.
func TestRunReportsEachTest(t *testing.T) {
	dir := writePackage(t, napperPackage)
	start := time.Now()
	rs, err := luatest.Run(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 30*time.Second {
		t.Errorf("the run took %s: the fake clock is not used", time.Since(start))
	}
	byName := map[string]luatest.Result{}
	for _, r := range rs {
		byName[r.File+": "+r.Test] = r
	}
	want := map[string]struct {
		passed bool
		has    string
	}{
		"napper_test.lua: a sleep of an hour takes no time": {true, ""},
		"napper_test.lua: after fires once":                 {true, ""},
		"napper_test.lua: this one fails":                   {false, "napper_test.lua:19: naps: expected 7, got 0"},
		"napper_test.lua: a Lua error fails too":            {false, "napper_test.lua:23"},
		"napper_test.lua: echo of another package":          {true, ""},
		"sub/broken_test.lua: (the file)":                   {false, "broken_test.lua:3"},
	}
	if len(rs) != len(want) {
		t.Errorf("%d results, want %d: %+v", len(rs), len(want), rs)
	}
	for name, w := range want {
		r, ok := byName[name]
		if !ok || r.Passed != w.passed || !strings.Contains(r.Failure, w.has) {
			t.Errorf("%s: %+v, want passed %v with %q", name, r, w.passed, w.has)
		}
	}
	var buf bytes.Buffer
	failed, err := luatest.Report(&buf, rs, false)
	if err != nil || failed != 3 || !strings.HasSuffix(buf.String(), "3 passed, 3 failed\n") ||
		!strings.Contains(buf.String(), "FAIL napper napper_test.lua: this one fails\n       napper_test.lua:19: naps: expected 7, got 0") {
		t.Errorf("the report (%d failed, %v):\n%s", failed, err, buf.String())
	}
	buf.Reset()
	if _, err := luatest.Report(&buf, rs, true); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Results        []luatest.Result
		Passed, Failed int
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil || doc.Passed != 3 || doc.Failed != 3 || len(doc.Results) != 6 {
		t.Errorf("the JSON report: %v %+v", err, doc)
	}
}

// TestRunRefusesWhatIsNoPackage: a directory without a manifest, and a
// package without tests.
func TestRunRefusesWhatIsNoPackage(t *testing.T) {
	if _, err := luatest.Run(context.Background(), t.TempDir()); err == nil || !strings.Contains(err.Error(), "peacepie.toml") {
		t.Errorf("no manifest: %v", err)
	}
	dir := writePackage(t, map[string]string{"peacepie.toml": napperPackage["peacepie.toml"], "napper.lua": napperPackage["napper.lua"]})
	if _, err := luatest.Run(context.Background(), dir); !errors.Is(err, luatest.ErrNoTests) {
		t.Errorf("no tests: %v", err)
	}
}

// TestExamplePackagesPass: the tests of the built-in packages pass.
func TestExamplePackagesPass(t *testing.T) {
	for _, dir := range []string{"../../examples/peacepie_example", "../../actors/peacepie_std"} {
		rs, err := luatest.Run(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if !r.Passed {
				t.Errorf("%s %s: %s", r.File, r.Test, r.Failure)
			}
		}
	}
}

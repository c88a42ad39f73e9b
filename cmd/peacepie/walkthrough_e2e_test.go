package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWritingActorsWalkThrough follows the README's "Writing actors":
// peacepie new; peacepie test, passing, then failing after a deliberate
// break with the test's line; the package run from its directory (a
// development entry); an edit to a handler picked up by the running
// actor, which keeps its state; and a broken edit that leaves the old
// code running and reports its line.
func TestWritingActorsWalkThrough(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	runCLI(t, work, nil, "new", "counter").check(t, "peacepie new counter", 0, "next:", "")
	pkg := filepath.Join(work, "counter")
	runCLI(t, pkg, nil, "test").check(t, "peacepie test", 0, "2 passed, 0 failed", "")

	src := filepath.Join(pkg, "counter.lua")
	orig := readFile(t, src)
	writeFile(t, src, strings.Replace(orig, "self.count = self.count + n", "self.count = self.count + n + 1", 1))
	runCLI(t, pkg, nil, "test").check(t, "peacepie test after a break", 1, "counter_test.lua:13: expected 3, got 4", "")
	writeFile(t, src, orig)

	list := filepath.Join(work, "repos.toml")
	writeFile(t, list, fmt.Sprintf("[[package]]\nname = \"counter\"\npath = %q\n", pkg))
	in := start(t, t.TempDir(), "run", "--console", "127.0.0.1:0", "--repos", list)
	ws := dial(t, in)
	ws.expect(admin, "create_actor", raw(`{"class_desc": {"requires_dist": "counter", "class": "Counter"}, "name": "counter_1"}`), "actor_is_created")
	ws.expect("counter_1", "add", raw(`{"n": 2}`), "count")

	writeFile(t, src, strings.Replace(orig, `"hello, "`, `"hi, "`, 1))
	start := time.Now()
	eventually(t, 10*time.Second, "the edited hello", func() bool {
		return strings.Contains(ws.ask("counter_1", "hello", raw(`{"name": "you"}`)).String(), "hi, you")
	})
	t.Logf("the edit was picked up in %s", time.Since(start).Round(10*time.Millisecond))
	if a := ws.expect("counter_1", "add", raw(`{"n": 1}`), "count"); !strings.Contains(a.String(), `"count":3`) {
		t.Errorf("the state did not survive the reload: %s", a)
	}

	writeFile(t, src, strings.Replace(orig, `"hello, "`, `"hi, "`, 1)+"\nlocal broken =\n")
	eventually(t, 10*time.Second, "the broken edit to be reported with its line", func() bool {
		s := in.stderr.String()
		return strings.Contains(s, "does not load: the old code runs on") && strings.Contains(s, "counter.lua:")
	})
	if a := ws.ask("counter_1", "hello", raw(`{"name": "you"}`)); !strings.Contains(a.String(), "hi, you") {
		t.Errorf("after a broken edit the old code should run on: %s", a)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/peacepie/peacepie/internal/gittest"
)

// TestNewPackageWalkThrough follows what `peacepie new` prints: the
// package is made and committed, tagged, listed in a repo list, and a
// system runs its actor.
func TestNewPackageWalkThrough(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	r := runCLI(t, work, nil, "new", "counter")
	r.check(t, "peacepie new counter", 0, "next:", "")
	m := regexp.MustCompile(`url  = "([^"]+)"`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no repo-list entry in:\n%s", r.stdout)
	}
	pkgDir := m[1]
	if pkgDir != filepath.Join(work, "counter") {
		t.Errorf("the package is in %s, want %s", pkgDir, filepath.Join(work, "counter"))
	}
	runCLI(t, work, nil, "new", "counter").check(t, "peacepie new counter again", 1, "", "not empty")
	runCLI(t, work, nil, "new", "my-counter").check(t, "a bad name", 1, "", "bad package name")

	runCLI(t, pkgDir, nil, "test").check(t, "peacepie test in the new package", 0, "2 passed, 0 failed", "")
	gittest.Git(t, pkgDir, "tag", "v0.1.0")
	list := filepath.Join(work, "repos.toml")
	writeFile(t, list, fmt.Sprintf("[[package]]\nname = \"counter\"\nurl = %q\ntags = [\"v0.1.0\"]\n", pkgDir))
	in := start(t, t.TempDir(), "run", "--console", "127.0.0.1:0", "--repos", list)
	ws := dial(t, in)
	ws.expect(admin, "create_actor", raw(`{"class_desc": {"requires_dist": "counter", "class": "Counter"}, "name": "counter_1"}`), "actor_is_created")
	if a := ws.expect("counter_1", "hello", raw(`{"name": "you"}`), "hello"); a.bodyString("greeting") != "hello, you from counter_1" {
		t.Errorf("hello: %s", a)
	}
	ws.expect("counter_1", "add", raw(`{"n": 2}`), "count")
	if a := ws.expect("counter_1", "add", raw(`{"n": 3}`), "count"); fmt.Sprint(a["body"]) != "map[count:5]" {
		t.Errorf("add: %s", a)
	}
}

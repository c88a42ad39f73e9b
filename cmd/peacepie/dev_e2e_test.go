package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const devCounterV1 = `local Counter = { params = { count = 0 } }
function Counter:add(body) self.count = self.count + body.n return "count", { count = self.count } end
function Counter:version() return "version", "v1" end
return Counter
`

// TestDevPackageLiveReload: a repo-list entry with a path runs the
// package from its directory; saving a change reloads the running actor
// in place within seconds, in the main process and in a child (its
// params kept); a change that does not
// compile leaves the old code running and logs the file and line; a
// config that says production refuses such an entry.
func TestDevPackageLiveReload(t *testing.T) {
	t.Parallel()
	pkg := t.TempDir()
	writeFile(t, filepath.Join(pkg, "peacepie.toml"), "name = \"counter\"\nversion = \"0.1.0\"\n[actors]\nCounter = \"counter\"\n")
	src := filepath.Join(pkg, "counter.lua")
	writeFile(t, src, devCounterV1)
	list := filepath.Join(t.TempDir(), "repos.toml")
	writeFile(t, list, fmt.Sprintf("[[package]]\nname = \"counter\"\npath = %q\n", pkg))

	dir := t.TempDir()
	in := start(t, dir, "run", "--console", "127.0.0.1:0", "--repos", list)
	ws := dial(t, in)
	ws.expect(admin, "create_actor", raw(`{"class_desc": {"requires_dist": "counter", "class": "Counter"}, "name": "c"}`), "actor_is_created")
	ws.expect("c", "add", raw(`{"n": 2}`), "count")
	child := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	ws.expect(child, "create_actor", raw(`{"class_desc": {"requires_dist": "counter", "class": "Counter"}, "name": "in_child"}`), "actor_is_created")
	if a := ws.expect("c", "version", nil, "version"); fmt.Sprint(a["body"]) != "v1" {
		t.Fatalf("version: %s", a)
	}
	runCLI(t, dir, nil, "repo", "list", "--repos", list).check(t, "repo list", 0, "development: "+pkg, "")

	writeFile(t, src, strings.Replace(devCounterV1, `"v1"`, `"v2"`, 1))
	for _, name := range []string{"c", "in_child"} {
		eventually(t, 10*time.Second, name+" to run the saved change", func() bool {
			return fmt.Sprint(ws.ask(name, "version", nil)["body"]) == "v2"
		})
	}
	if a := ws.expect("c", "add", raw(`{"n": 1}`), "count"); !strings.Contains(a.String(), `"count":3`) {
		t.Errorf("the params did not survive the reload: %s", a)
	}

	writeFile(t, src, strings.Replace(devCounterV1, "function Counter:version()", "function Counter:version(", 1))
	eventually(t, 10*time.Second, "the broken change to be reported with its line", func() bool {
		return strings.Contains(in.stderr.String(), "does not load: the old code runs on") && strings.Contains(in.stderr.String(), "counter.lua:")
	})
	if a := ws.ask("c", "version", nil); fmt.Sprint(a["body"]) != "v2" {
		t.Errorf("after a broken change the old code should run on: %s", a)
	}

	prod := t.TempDir()
	if err := os.MkdirAll(filepath.Join(prod, "config"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(prod, "config", "peacepie.toml"), "production = true\n")
	r := runCLI(t, prod, nil, "run", "--console", "127.0.0.1:0", "--repos", list)
	if r.code == 0 || !strings.Contains(r.stderr, "development package") || !strings.Contains(r.stderr, "production = true") {
		t.Errorf("production with a development package: exit %d\n%s", r.code, r.stderr)
	}
}

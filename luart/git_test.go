package luart_test

// Lua actors from packages fetched from real Git repositories
// (internal/gittest) through a repo.Store, in one process.

import (
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/internal/gittest"
	"github.com/peacepie/peacepie/internal/testhost"
	"github.com/peacepie/peacepie/luart"
	"github.com/peacepie/peacepie/repo"
)

// gitVersionModule answers "version" with its package and version.
func gitVersionModule(name, version string) string {
	return fmt.Sprintf(`local M = {}
function M:version() return "version", { package = %q, version = %q } end
return M
`, name, version)
}

// gitManifestText is a manifest with the given classes and [requires].
func gitManifestText(name, version string, actors, requires map[string]string) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "name = %q\nversion = %q\n\n[actors]\n", name, version)
	writeTable := func(m map[string]string) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&sb, "%s = %q\n", k, m[k])
		}
	}
	writeTable(actors)
	if len(requires) > 0 {
		sb.WriteString("\n[requires]\n")
		writeTable(requires)
	}
	return sb.String()
}

// gitRelease commits files plus a manifest with the class Main (module
// main) and tags the commit "v"+version.
func gitRelease(r *gittest.Repo, name, version string, requires map[string]string, files map[string]string) string {
	all := map[string]string{"peacepie.toml": gitManifestText(name, version, map[string]string{"Main": "main"}, requires)}
	for k, v := range files {
		all[k] = v
	}
	c := r.Commit(name+" "+version, all)
	r.Tag("v" + version)
	return c
}

// gitRepos holds a test's repositories and builds the repo list.
type gitRepos struct {
	t       testing.TB
	root    string
	entries []string
}

func newGitRepos(t testing.TB) *gitRepos { return &gitRepos{t: t, root: t.TempDir()} }

// add makes a package repository with one release per version (files
// gives each version's files; nil: a main answering its version) and
// lists it with those tags.
func (g *gitRepos) add(name string, versions []string, requires map[string]string, files func(version string) map[string]string) *gittest.Repo {
	g.t.Helper()
	r := gittest.Init(g.t, filepath.Join(g.root, name))
	var tags []string
	for _, v := range versions {
		content := map[string]string{"main.lua": gitVersionModule(name, v)}
		if files != nil {
			content = files(v)
		}
		gitRelease(r, name, v, requires, content)
		tags = append(tags, fmt.Sprintf("%q", "v"+v))
	}
	g.list(name, r.URL(), strings.Join(tags, ", "))
	return r
}

// list adds an entry to the repo list; tags is written as is.
func (g *gitRepos) list(name, url, tags string) {
	g.entries = append(g.entries, fmt.Sprintf("[[package]]\nname = %q\nurl = %q\ntags = [%s]\n", name, url, tags))
}

// store makes a Store over the repo list, a new cache and a new lock.
func (g *gitRepos) store() *repo.Store {
	g.t.Helper()
	list, err := repo.ParseList([]byte(strings.Join(g.entries, "\n")), filepath.Join(g.root, "repos.toml"))
	if err != nil {
		g.t.Fatalf("repo list: %v", err)
	}
	lock, err := repo.LoadLock(filepath.Join(g.t.TempDir(), "repos.lock"))
	if err != nil {
		g.t.Fatal(err)
	}
	return &repo.Store{List: list, Lock: lock, CacheDir: g.t.TempDir(), FetchTimeout: 20 * time.Second,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Fetches: &atomic.Int64{}}
}

// startWithStore starts a process whose classes come from store.
func startWithStore(t testing.TB, store *repo.Store) *testhost.Process {
	t.Helper()
	out := &testhost.Output{}
	p, err := host.NewProcess(host.Config{
		Resolver: luart.NewRuntime(store),
		Output:   out,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("new process: %v", err)
	}
	t.Cleanup(func() {
		p.Shutdown()
		select {
		case <-p.Done():
		case <-time.After(10 * time.Second):
			t.Errorf("process did not shut down")
		}
	})
	return &testhost.Process{Process: p, Out: out}
}

func createFromGit(t *testing.T, p *testhost.Process, requiresDist, class, name string) host.Message {
	t.Helper()
	body := host.Object{
		{Key: "class_desc", Value: host.Object{{Key: "requires_dist", Value: requiresDist}, {Key: "class", Value: class}}},
		{Key: "name", Value: name},
	}
	return p.Ask(t, "first.main.admin", "create_actor", body)
}

func mustCreateFromGit(t *testing.T, p *testhost.Process, requiresDist, class, name string) {
	t.Helper()
	if r := createFromGit(t, p, requiresDist, class, name); r.Command != "actor_is_created" {
		t.Fatalf("create %s from %s: %s %s", name, requiresDist, r.Command, jsonOf(r.Body))
	}
}

func bodyField(m host.Message, key string) any {
	o, _ := m.Body.(host.Object)
	v, _ := o.Get(key)
	return v
}

func TestGitTwoVersionsInOneProcess(t *testing.T) {
	t.Parallel()
	g := newGitRepos(t)
	r := g.add("pkg", []string{"1.0.0", "2.0.0"}, nil, nil)
	store := g.store()
	p := startWithStore(t, store)

	mustCreateFromGit(t, p, "pkg==1.0.0", "Main", "old")
	mustCreateFromGit(t, p, "pkg", "Main", "new")
	for name, want := range map[string]string{"old": "1.0.0", "new": "2.0.0"} {
		reply := p.Ask(t, name, "version", nil)
		if reply.Command != "version" || bodyField(reply, "version") != want || bodyField(reply, "package") != "pkg" {
			t.Errorf("%s answers %s %s, want version %s of pkg", name, reply.Command, jsonOf(reply.Body), want)
		}
	}
	// Asked again, in the other order: neither state leaked into the other.
	if v := bodyField(p.Ask(t, "new", "version", nil), "version"); v != "2.0.0" {
		t.Errorf("new answers version %v the second time", v)
	}
	if v := bodyField(p.Ask(t, "old", "version", nil), "version"); v != "1.0.0" {
		t.Errorf("old answers version %v the second time", v)
	}

	commits := map[string]string{"old": r.CommitOf("v1.0.0"), "new": r.CommitOf("v2.0.0")}
	versions := map[string]string{"old": "1.0.0", "new": "2.0.0"}
	list := p.Ask(t, "first.main.admin", "get_actors", nil)
	actors, _ := bodyField(list, "actors").(host.Array)
	found := 0
	for _, a := range actors {
		o, _ := a.(host.Object)
		name := o.String("name")
		if _, ok := versions[name]; !ok {
			continue
		}
		found++
		if o.String("package") != "pkg" || o.String("version") != versions[name] || o.String("commit") != commits[name] || o.String("class") != "Main" {
			t.Errorf("get_actors entry of %s: %s, want package pkg, class Main, version %s, commit %s", name, jsonOf(o), versions[name], commits[name])
		}
	}
	if found != 2 {
		t.Errorf("get_actors lists %d of old and new: %s", found, jsonOf(list.Body))
	}
	for name, v := range versions {
		seek := p.Ask(t, "first.main.admin", "seek_actor", host.Object{{Key: "entity", Value: name}})
		desc, _ := bodyField(seek, "class_desc").(host.Object)
		if seek.Command != "actor_is_found" || desc.String("requires_dist") != "pkg=="+v || desc.String("class") != "Main" {
			t.Errorf("seek_actor %s: %s %s, want class_desc pkg==%s Main", name, seek.Command, jsonOf(seek.Body), v)
		}
		if bodyField(seek, "commit") != commits[name] || bodyField(seek, "version") != v {
			t.Errorf("seek_actor %s: %s, want version %s and commit %s", name, jsonOf(seek.Body), v, commits[name])
		}
		one := p.Ask(t, "first.main.admin", "get_actor", host.Object{{Key: "name", Value: name}})
		if bodyField(one, "version") != v || bodyField(one, "commit") != commits[name] {
			t.Errorf("get_actor %s: %s", name, jsonOf(one.Body))
		}
	}
	// The class_desc seek_actor gives makes another actor of the same version.
	seek := p.Ask(t, "first.main.admin", "seek_actor", host.Object{{Key: "entity", Value: "old"}})
	desc, _ := bodyField(seek, "class_desc").(host.Object)
	if r := p.Ask(t, "first.main.admin", "create_actor", host.Object{{Key: "class_desc", Value: desc}, {Key: "name", Value: "old_again"}}); r.Command != "actor_is_created" {
		t.Fatalf("create from seek_actor's class_desc: %s %s", r.Command, jsonOf(r.Body))
	}
	if v := bodyField(p.Ask(t, "old_again", "version", nil), "version"); v != "1.0.0" {
		t.Errorf("an actor made from old's class_desc answers version %v, want 1.0.0", v)
	}
	if n := store.Fetches.Load(); n != 2 {
		t.Errorf("%d fetches for two versions and three actors, want 2", n)
	}
}

// bModule is module b_mod of package blib at a version: it requires
// b_inner of the same package, and says which version each is.
func blibFiles(version string) map[string]string {
	return map[string]string{
		"main.lua":    gitVersionModule("blib", version),
		"b_mod.lua":   fmt.Sprintf("local inner = require \"b_inner\"\nreturn { who = \"blib %s\", inner = inner.who }\n", version),
		"b_inner.lua": fmt.Sprintf("return { who = \"blib %s inner\" }\n", version),
		"shared.lua":  "return { who = \"blib\" }\n",
	}
}

// probeModule requires b_mod and shared and reports what it got.
const probeModule = `local ok_b, b = pcall(require, "b_mod")
local ok_s, s = pcall(require, "shared")
local M = {}
function M:probe()
  local r = {}
  if ok_b then r.b = b.who; r.inner = b.inner else r.b_error = tostring(b) end
  if ok_s then r.shared = s.who else r.shared_error = tostring(s) end
  return "probed", r
end
return M
`

func TestGitRequireIsolation(t *testing.T) {
	t.Parallel()
	g := newGitRepos(t)
	g.add("blib", []string{"1.0.0", "2.0.0"}, nil, blibFiles)
	g.add("apkg", []string{"1.0.0"}, map[string]string{"blib": "==1.0.0"}, func(string) map[string]string {
		return map[string]string{"main.lua": probeModule, "shared.lua": "return { who = \"apkg\" }\n"}
	})
	g.add("dpkg", []string{"1.0.0"}, map[string]string{"blib": ">=2.0.0"}, func(string) map[string]string {
		return map[string]string{"main.lua": probeModule}
	})
	g.add("cpkg", []string{"1.0.0"}, nil, func(string) map[string]string {
		return map[string]string{"main.lua": probeModule}
	})
	p := startWithStore(t, g.store())
	mustCreateFromGit(t, p, "apkg", "Main", "a")
	mustCreateFromGit(t, p, "dpkg", "Main", "d")
	mustCreateFromGit(t, p, "cpkg", "Main", "c")

	// A requires blib 1.0.0: it gets b_mod of blib 1.0.0, whose own require
	// of b_inner is also blib 1.0.0; A's shared shadows blib's.
	ra := p.Ask(t, "a", "probe", nil)
	if got := jsonOf(ra.Body); got != `{"b":"blib 1.0.0","inner":"blib 1.0.0 inner","shared":"apkg"}` {
		t.Errorf("a (apkg requiring blib==1.0.0) probed %s %s", ra.Command, got)
	}
	// D requires blib 2.0.0 in the same process: never 1.0.0.
	rd := p.Ask(t, "d", "probe", nil)
	if got := jsonOf(rd.Body); got != `{"b":"blib 2.0.0","inner":"blib 2.0.0 inner","shared":"blib"}` {
		t.Errorf("d (dpkg requiring blib>=2.0.0) probed %s %s", rd.Command, got)
	}
	// C requires nothing: blib's modules are out of reach.
	rc := p.Ask(t, "c", "probe", nil)
	o, _ := rc.Body.(host.Object)
	if o.String("b") != "" || o.String("shared") != "" || !strings.Contains(o.String("b_error"), "b_mod") || !strings.Contains(o.String("shared_error"), "shared") {
		t.Errorf("c (cpkg, no [requires]) probed %s %s: want errors for b_mod and shared", rc.Command, jsonOf(rc.Body))
	}
	// Again after D loaded blib 2.0.0: A still sees 1.0.0 (a new actor too).
	mustCreateFromGit(t, p, "apkg", "Main", "a2")
	if got := jsonOf(p.Ask(t, "a2", "probe", nil).Body); got != `{"b":"blib 1.0.0","inner":"blib 1.0.0 inner","shared":"apkg"}` {
		t.Errorf("a2 (apkg, after dpkg loaded blib 2.0.0) probed %s", got)
	}
}

func TestGitLuaSyntaxError(t *testing.T) {
	t.Parallel()
	g := newGitRepos(t)
	g.add("broken", []string{"1.0.0"}, nil, func(string) map[string]string {
		return map[string]string{"main.lua": "local M = {}\nfunction M:x(\n  return 1\nend\nreturn M\n"}
	})
	g.add("brokenhelper", []string{"1.0.0"}, nil, func(string) map[string]string {
		return map[string]string{
			"main.lua":       "local h = require \"sub.helper\"\nreturn { x = function() return \"x\" end }\n",
			"sub/helper.lua": "return {{{\n",
		}
	})
	g.add("good", []string{"1.0.0"}, nil, nil)
	p := startWithStore(t, g.store())
	for _, tt := range []struct{ pkg, file string }{{"broken", "main.lua"}, {"brokenhelper", "sub/helper.lua"}} {
		start := time.Now()
		r := createFromGit(t, p, tt.pkg, "Main", tt.pkg)
		if r.Command != "actor_is_not_created" {
			t.Fatalf("create from %s: %s %s, want actor_is_not_created", tt.pkg, r.Command, jsonOf(r.Body))
		}
		if e := errorText(r); !strings.Contains(e, tt.file) || !strings.Contains(e, tt.pkg+"@1.0.0") {
			t.Errorf("create from %s: error %q does not name the file %s of %s@1.0.0", tt.pkg, e, tt.file, tt.pkg)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("create from %s took %s", tt.pkg, d)
		}
	}
	mustCreateFromGit(t, p, "good", "Main", "good")
	if v := bodyField(p.Ask(t, "good", "version", nil), "version"); v != "1.0.0" {
		t.Errorf("good answers version %v", v)
	}
}

// TestGitBadInputCreateActor: bad packages give actor_is_not_created with
// a clear error in seconds, leave nothing in the cache, and the process
// keeps working.
func TestGitBadInputCreateActor(t *testing.T) {
	t.Parallel()
	g := newGitRepos(t)
	pkgRepo := g.add("pkg", []string{"1.0.0"}, nil, nil)
	g.list("missingtag", pkgRepo.URL(), `"v1.0.0", "v9.0.0"`)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	g.list("unreachable", "http://"+closed+"/x.git", `"v1.0.0"`)
	nm := gittest.NewPackage(t, g.root, "nomanifest2", map[string]string{"main.lua": "return {}\n"}, "v1.0.0")
	g.list("nomanifest2", nm.URL(), `"v1.0.0"`)
	g.add("nomodule", []string{"1.0.0"}, nil, func(string) map[string]string { return map[string]string{"other.lua": "return {}\n"} })
	g.add("cyc_a", []string{"1.0.0"}, map[string]string{"cyc_b": ""}, nil)
	g.add("cyc_b", []string{"1.0.0"}, map[string]string{"cyc_a": ""}, nil)
	g.add("base", []string{"1.0.0", "2.0.0"}, nil, nil)
	g.add("lefty", []string{"1.0.0"}, map[string]string{"base": "<2.0.0"}, nil)
	g.add("righty", []string{"1.0.0"}, map[string]string{"base": ">=2.0.0"}, nil)
	g.add("top", []string{"1.0.0"}, map[string]string{"lefty": "", "righty": ""}, nil)
	store := g.store()
	p := startWithStore(t, store)

	for _, tt := range []struct {
		req, class string
		mention    []string
	}{
		{"nothere", "Main", []string{"nothere"}},
		{"pkg==1.5.0", "Main", []string{"not pinned", "v1.0.0"}},
		{"pkg", "NoSuchClass", []string{"NoSuchClass", "Main"}},
		{"missingtag==9.0.0", "Main", []string{"v9.0.0"}},
		{"unreachable", "Main", []string{closed}},
		{"nomanifest2", "Main", []string{"peacepie.toml"}},
		{"nomodule", "Main", []string{"main.lua"}},
		{"cyc_a", "Main", []string{"cycle", "cyc_a → cyc_b → cyc_a"}},
		{"top", "Main", []string{"conflicting", "base"}},
	} {
		start := time.Now()
		r := createFromGit(t, p, tt.req, tt.class, "bad")
		d := time.Since(start)
		if r.Command != "actor_is_not_created" {
			t.Errorf("create from %s: %s %s, want actor_is_not_created", tt.req, r.Command, jsonOf(r.Body))
			continue
		}
		for _, m := range tt.mention {
			if !strings.Contains(errorText(r), m) {
				t.Errorf("create from %s: error %q does not mention %q", tt.req, errorText(r), m)
			}
		}
		if d > 10*time.Second {
			t.Errorf("create from %s: the answer took %s", tt.req, d)
		}
	}
	// Nothing half-fetched in the cache: only whole version directories.
	_ = filepath.WalkDir(store.CacheDir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".fetch-") {
			t.Errorf("left in the cache: %s", path)
		}
		return nil
	})
	for _, name := range []string{"missingtag", "unreachable", "nomanifest2", "nomodule"} {
		if entries, _ := os.ReadDir(filepath.Join(store.CacheDir, name)); len(entries) != 0 {
			t.Errorf("the cache holds %s/%v after a failed fetch", name, entries)
		}
	}
	mustCreateFromGit(t, p, "pkg", "Main", "fine")
	if v := bodyField(p.Ask(t, "fine", "version", nil), "version"); v != "1.0.0" {
		t.Errorf("after the failures, a good actor answers version %v", v)
	}
}

// TestGitSymlinkOutsidePackage: "require finds modules of its own package
// first, then of its resolved dependencies — never ... the file system
// outside them". A package whose repository holds a symbolic link to a
// file outside the package (here a file of key = "value" lines, which is
// valid Lua) must not get that file's contents through require.
func TestGitSymlinkOutsidePackage(t *testing.T) {
	t.Parallel()
	outsideDir := t.TempDir()
	outside := filepath.Join(outsideDir, "secrets.conf")
	if err := os.WriteFile(outside, []byte("api_password = \"hunter2-outside\"\nreturn { who = \"a file outside the package\" }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	g := newGitRepos(t)
	r := gittest.Init(t, filepath.Join(g.root, "sym"))
	// Enough ../ to reach / from wherever the cache is, then the file.
	up := strings.Repeat("../", 40)
	if err := os.Symlink(up+strings.TrimPrefix(outside, "/"), filepath.Join(r.Dir, "relative.lua")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(r.Dir, "absolute.lua")); err != nil {
		t.Fatal(err)
	}
	gitRelease(r, "sym", "1.0.0", nil, map[string]string{"main.lua": `local M = {}
function M:probe(body)
  local ok, v = pcall(require, body.module)
  local r = { ok = ok, password = tostring(api_password) }
  if ok and type(v) == "table" then r.who = v.who else r.err = tostring(v) end
  return "probed", r
end
return M
`})
	g.list("sym", r.URL(), `"v1.0.0"`)
	st := g.store()
	p := startWithStore(t, st)
	// The package is refused as a whole: a package may not hold links.
	body := testhost.MustJSON(t, `{"class_desc": {"requires_dist": "sym", "class": "Main"}, "name": "sym_main"}`)
	reply := p.Ask(t, "first.main.admin", "create_actor", body)
	if reply.Command != "actor_is_not_created" || !strings.Contains(jsonOf(reply.Body), "symbolic link") {
		t.Fatalf("a package with symbolic links: %s %s, want actor_is_not_created naming the link", reply.Command, jsonOf(reply.Body))
	}
	if entries, _ := os.ReadDir(filepath.Join(st.CacheDir, "sym")); len(entries) != 0 {
		t.Errorf("the refused package is in the cache: %v", entries)
	}
}

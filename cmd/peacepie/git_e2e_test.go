package main

// End-to-end tests of packages from Git with the real binary: two
// processes sharing a repo list, lock and cache, each running another
// version of one package; `peacepie repo list/fetch/verify/update`; and
// `peacepie run --repos FILE`.

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peacepie/peacepie/internal/gittest"
)

// gitMainModule answers "version" with its version and a build label.
func gitMainModule(version, build string) string {
	return fmt.Sprintf(`local M = {}
function M:version() return "version", { version = %q, build = %q } end
return M
`, version, build)
}

// gitPackageRelease commits version of package name (class Main, module
// main) and tags it v+version.
func gitPackageRelease(r *gittest.Repo, name, version, build string) {
	r.Commit(name+" "+version, map[string]string{
		"peacepie.toml": fmt.Sprintf("name = %q\nversion = %q\n\n[actors]\nMain = \"main\"\n", name, version),
		"main.lua":      gitMainModule(version, build),
	})
	r.Tag("v" + version)
}

// gitHome is a host's shared package state: a repo list, a lock file and a
// cache, in one directory, with the repositories they name.
type gitHome struct {
	dir   string
	repos string // the repositories
	list  string // repos.toml
	lock  string
	cache string
	pkg   *gittest.Repo // "pkg", v1.0.0 and v2.0.0
}

func newGitHome(t *testing.T) *gitHome {
	t.Helper()
	h := &gitHome{dir: t.TempDir(), repos: t.TempDir()}
	h.list = filepath.Join(h.dir, "repos.toml")
	h.lock = filepath.Join(h.dir, "repos.lock")
	h.cache = filepath.Join(h.dir, "packages")
	h.pkg = gittest.Init(t, filepath.Join(h.repos, "pkg"))
	gitPackageRelease(h.pkg, "pkg", "1.0.0", "first")
	gitPackageRelease(h.pkg, "pkg", "2.0.0", "first")
	writeFile(t, h.list, fmt.Sprintf("# the test's repo list\n[[package]]\nname = \"pkg\"\nurl = %q\ntags = [\"v1.0.0\", \"v2.0.0\"]\n", h.pkg.URL()))
	return h
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// config writes dir/config/peacepie.toml pointing at the home's list, lock
// and cache (absolute paths) and returns its path.
func (h *gitHome) config(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "config", "peacepie.toml")
	writeFile(t, path, fmt.Sprintf("repos = %q\nlock = %q\npackages = %q\nfetch_timeout = \"20s\"\n", h.list, h.lock, h.cache))
	return path
}

func gitCreateBody(requiresDist, name string) any {
	return raw(fmt.Sprintf(`{"class_desc": {"requires_dist": %q, "class": "Main"}, "name": %q}`, requiresDist, name))
}

// askVersion asks an actor "version" and returns the version and build.
func askVersion(ws *wsConn, name string) (string, string) {
	ws.t.Helper()
	a := ws.expect(name, "version", nil, "version")
	return a.bodyString("version"), a.bodyString("build")
}

// actorFields returns the get_actors entry of an actor.
func actorFields(ws *wsConn, name string) map[string]any {
	ws.t.Helper()
	a := ws.expect(admin, "get_actors", nil, "actors")
	o, _ := a["body"].(map[string]any)
	list, _ := o["actors"].([]any)
	for _, e := range list {
		if m, _ := e.(map[string]any); m["name"] == name {
			return m
		}
	}
	ws.t.Fatalf("get_actors does not list %s: %s", name, a)
	return nil
}

// TestGitTwoProcessesTwoVersions runs two processes over one repo list,
// lock and cache; one runs pkg 1.0.0, the other pkg 2.0.0.
func TestGitTwoProcessesTwoVersions(t *testing.T) {
	t.Parallel()
	h := newGitHome(t)
	dir1, dir2 := t.TempDir(), t.TempDir()
	h.config(t, dir1)
	h.config(t, dir2)
	in1 := start(t, dir1, "run", "--console", "127.0.0.1:0")
	in2 := start(t, dir2, "run", "--console", "127.0.0.1:0")
	ws1, ws2 := dial(t, in1), dial(t, in2)
	if in1.cmd.Process.Pid == in2.cmd.Process.Pid {
		t.Fatal("one process")
	}

	// Both ask for the same tag at once: both get it, from one cache.
	ws1.writeRaw(`{"id": "s1", "type": "ask", "recipient": "first.main.admin", "command": "create_actor", "body": {"class_desc": {"requires_dist": "pkg==1.0.0", "class": "Main"}, "name": "shared"}}`)
	ws2.writeRaw(`{"id": "s2", "type": "ask", "recipient": "first.main.admin", "command": "create_actor", "body": {"class_desc": {"requires_dist": "pkg==1.0.0", "class": "Main"}, "name": "shared"}}`)
	for _, ws := range []*wsConn{ws1, ws2} {
		if a := ws.read(); a.command() != "actor_is_created" {
			t.Fatalf("concurrent create_actor of pkg==1.0.0 in two processes: %s", a)
		}
	}

	ws1.expect(admin, "create_actor", gitCreateBody("pkg==1.0.0", "pkg_actor"), "actor_is_created")
	ws2.expect(admin, "create_actor", gitCreateBody("pkg==2.0.0", "pkg_actor"), "actor_is_created")
	if v, _ := askVersion(ws1, "pkg_actor"); v != "1.0.0" {
		t.Errorf("process 1: pkg_actor answers version %q, want 1.0.0", v)
	}
	if v, _ := askVersion(ws2, "pkg_actor"); v != "2.0.0" {
		t.Errorf("process 2: pkg_actor answers version %q, want 2.0.0", v)
	}
	for _, c := range []struct {
		ws      *wsConn
		version string
	}{{ws1, "1.0.0"}, {ws2, "2.0.0"}} {
		f := actorFields(c.ws, "pkg_actor")
		if f["package"] != "pkg" || f["version"] != c.version || f["commit"] != h.pkg.CommitOf("v"+c.version) {
			t.Errorf("get_actors entry %v, want pkg %s at %s", f, c.version, h.pkg.CommitOf("v"+c.version))
		}
	}
	// The highest version in process 1 too, next to 1.0.0.
	ws1.expect(admin, "create_actor", gitCreateBody("pkg", "newest"), "actor_is_created")
	if v, _ := askVersion(ws1, "newest"); v != "2.0.0" {
		t.Errorf("process 1: newest answers version %q, want 2.0.0", v)
	}
	if v, _ := askVersion(ws1, "pkg_actor"); v != "1.0.0" {
		t.Errorf("process 1: pkg_actor answers version %q after 2.0.0 was loaded, want 1.0.0", v)
	}

	// The shared lock and cache hold both versions, and agree.
	cfg := filepath.Join(dir1, "config", "peacepie.toml")
	r := runCLI(t, dir1, nil, "repo", "verify", "--config", cfg)
	r.check(t, "repo verify after two processes fetched pkg 1.0.0 and 2.0.0", 0, "ok: 2 locked tag(s)", "")
	lock, err := os.ReadFile(h.lock)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1.0.0", "2.0.0"} {
		if !strings.Contains(string(lock), h.pkg.CommitOf("v"+v)) {
			t.Errorf("the lock file lacks the commit of %s:\n%s", v, lock)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(h.cache, "pkg"))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 2 {
		t.Errorf("the cache holds %v, want the two versions only", names)
	}
}

// TestGitRepoCLI runs `peacepie repo list/fetch/verify/update`.
func TestGitRepoCLI(t *testing.T) {
	t.Parallel()
	h := newGitHome(t)
	dir := t.TempDir()
	cfg := h.config(t, dir)
	// The token file is made by `peacepie run`; the repo commands read the
	// config like clients do and need it.
	writeFile(t, filepath.Join(dir, "config", "token"), "0123456789abcdef0123456789abcdef\n")
	repoCmd := func(args ...string) cliResult {
		t.Helper()
		full := append([]string{"repo", args[0], "--config", cfg}, args[1:]...) // flags before arguments
		return runCLI(t, dir, nil, full...)
	}
	c1, c2 := h.pkg.CommitOf("v1.0.0"), h.pkg.CommitOf("v2.0.0")

	r := repoCmd("list")
	r.check(t, "repo list before any fetch", 0, "v1.0.0 v2.0.0", "")
	if !strings.Contains(r.stdout, h.pkg.URL()) || strings.Contains(r.stdout, c1[:12]) {
		t.Errorf("repo list before any fetch:\n%s", r.stdout)
	}
	repoCmd("verify").check(t, "repo verify of an empty cache and lock", 0, "ok: 0", "")

	r = repoCmd("fetch")
	r.check(t, "repo fetch", 0, "", "[2/2]")
	if !strings.Contains(r.stderr, "pkg@1.0.0 "+c1[:12]) || !strings.Contains(r.stderr, "pkg@2.0.0 "+c2[:12]) {
		t.Errorf("repo fetch does not report both versions with their commits:\n%s", r.stderr)
	}
	r = repoCmd("list")
	r.check(t, "repo list after fetch", 0, "1.0.0@"+c1[:12], "")
	for _, want := range []string{"2.0.0@" + c2[:12], "v1.0.0=" + c1[:12], "v2.0.0=" + c2[:12]} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("repo list after fetch lacks %q:\n%s", want, r.stdout)
		}
	}
	repoCmd("verify").check(t, "repo verify after fetch", 0, "ok: 2 locked tag(s)", "")

	// A locked version missing from the cache.
	v1dir := filepath.Join(h.cache, "pkg", "1.0.0-"+c1[:12])
	if err := os.RemoveAll(v1dir); err != nil {
		t.Fatal(err)
	}
	r = repoCmd("verify")
	if r.code == 0 || !strings.Contains(r.stdout, "pkg 1.0.0") || !strings.Contains(r.stdout, "not in the cache") {
		t.Errorf("repo verify with a cached version deleted: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	repoCmd("fetch", "pkg==1.0.0").check(t, "repo fetch pkg==1.0.0", 0, "", "[1/1] pkg@1.0.0")
	repoCmd("verify").check(t, "repo verify after fetching again", 0, "ok: 2", "")

	// The tag v1.0.0 moves; an empty cache refuses it until repo update.
	h.pkg.Commit("re-release 1.0.0", map[string]string{
		"peacepie.toml": "name = \"pkg\"\nversion = \"1.0.0\"\n\n[actors]\nMain = \"main\"\n",
		"main.lua":      gitMainModule("1.0.0", "moved"),
	})
	h.pkg.MoveTag("v1.0.0", false)
	moved := h.pkg.CommitOf("v1.0.0")
	if err := os.RemoveAll(h.cache); err != nil {
		t.Fatal(err)
	}
	r = repoCmd("fetch", "pkg==1.0.0")
	if r.code == 0 || !strings.Contains(r.stderr, "tag moved") || !strings.Contains(r.stderr, "peacepie repo update pkg") {
		t.Errorf("repo fetch of a moved tag: exit %d, want a failure saying the tag moved and naming `peacepie repo update pkg`\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = repoCmd("update", "pkg")
	r.check(t, "repo update pkg", 0, fmt.Sprintf("pkg v1.0.0: moved from %s to %s (accepted)", c1[:12], moved[:12]), "")
	if !strings.Contains(r.stdout, "pkg v2.0.0: unchanged at "+c2[:12]) {
		t.Errorf("repo update does not say v2.0.0 is unchanged:\n%s", r.stdout)
	}
	lock, err := os.ReadFile(h.lock)
	if err != nil || !strings.Contains(string(lock), moved) || strings.Contains(string(lock), c1) {
		t.Errorf("lock file after repo update (%v):\n%s", err, lock)
	}
	repoCmd("verify").check(t, "repo verify after repo update", 0, "ok: 2", "")
	repoCmd("update").check(t, "repo update without a name", 2, "", "usage")
	repoCmd("update", "nothere").check(t, "repo update of an unknown package", 1, "", "nothere")
	repoCmd("fetch", "nothere").check(t, "repo fetch of an unknown package", 1, "", "nothere")

	// A run over this lock and cache uses the accepted commit.
	in := start(t, dir, "run", "--console", "127.0.0.1:0")
	ws := dial(t, in)
	ws.expect(admin, "create_actor", gitCreateBody("pkg==1.0.0", "one"), "actor_is_created")
	if v, build := askVersion(ws, "one"); v != "1.0.0" || build != "moved" {
		t.Errorf("after repo update, pkg==1.0.0 answers %s %s, want 1.0.0 moved", v, build)
	}
}

// TestGitRunReposFlag: `peacepie run --repos FILE` and `repo --repos FILE`
// use another repo list; a malformed one stops run with the line named;
// credentials in a URL are never printed.
func TestGitRunReposFlag(t *testing.T) {
	t.Parallel()
	h := newGitHome(t)
	other := gittest.Init(t, filepath.Join(h.repos, "other"))
	gitPackageRelease(other, "other", "3.0.0", "other")
	otherList := filepath.Join(t.TempDir(), "other.toml")
	writeFile(t, otherList, fmt.Sprintf("[[package]]\nname = \"other\"\nurl = %q\ntags = [\"v3.0.0\"]\n", other.URL()))
	dir := t.TempDir()
	cfg := h.config(t, dir)

	in := start(t, dir, "run", "--console", "127.0.0.1:0", "--repos", otherList)
	ws := dial(t, in)
	ws.expect(admin, "create_actor", gitCreateBody("other", "o"), "actor_is_created")
	if v, _ := askVersion(ws, "o"); v != "3.0.0" {
		t.Errorf("other answers version %q, want 3.0.0", v)
	}
	a := ws.expect(admin, "create_actor", gitCreateBody("pkg", "p"), "actor_is_not_created")
	if !strings.Contains(a.bodyString("error"), "pkg") {
		t.Errorf("pkg is not in the --repos list, yet: %s", a)
	}
	ws.expect(admin, "get_actors", nil, "actors") // still running
	// The children of the host use the --repos list too.
	ws.expect(admin, "create_process", nil, "process_is_created")
	ws.expect("first.process_0.admin", "create_actor", gitCreateBody("other", "o_child"), "actor_is_created")
	if v, _ := askVersion(ws, "o_child"); v != "3.0.0" {
		t.Errorf("other in a child answers version %q, want 3.0.0", v)
	}

	repoCmd := func(list string, args ...string) cliResult {
		t.Helper()
		full := append([]string{"repo", args[0], "--config", cfg, "--repos", list}, args[1:]...)
		return runCLI(t, dir, nil, full...)
	}
	r := repoCmd(otherList, "list")
	r.check(t, "repo list --repos", 0, "other", "")
	if strings.Contains(r.stdout, h.pkg.URL()) {
		t.Errorf("repo list --repos shows the config's list:\n%s", r.stdout)
	}

	// A malformed list stops run, naming the line.
	bad := filepath.Join(t.TempDir(), "bad.toml")
	writeFile(t, bad, "[[package]]\nname = \"x\"\nurl = \"file:///nowhere\"\ntags = [\"v1\"]\n")
	r = runCLI(t, dir, nil, "run", "--console", "127.0.0.1:0", "--repos", bad)
	if r.code == 0 || !strings.Contains(r.stderr, "line 4") || !strings.Contains(r.stderr, "v1") {
		t.Errorf("run with a malformed repo list: exit %d, want a failure naming line 4\n%s%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout, "peacepie is running") {
		t.Errorf("run with a malformed repo list started:\n%s", r.stdout)
	}

	// Credentials in a URL are not shown by list or fetch.
	const secret = "pw-s3cr3t-e2e"
	secretList := filepath.Join(t.TempDir(), "secret.toml")
	ln := closedAddrE2E(t)
	writeFile(t, secretList, fmt.Sprintf("[[package]]\nname = \"priv\"\nurl = \"http://alice:%s@%s/priv.git\"\ntags = [\"v1.0.0\"]\n", secret, ln))
	r = repoCmd(secretList, "list")
	r.check(t, "repo list of a URL with a password", 0, "priv", "")
	r2 := repoCmd(secretList, "fetch")
	if r2.code == 0 || !strings.Contains(r2.stderr, ln) {
		t.Errorf("repo fetch from a closed port: exit %d\n%s", r2.code, r2.stderr)
	}
	for _, out := range []string{r.stdout, r.stderr, r2.stdout, r2.stderr} {
		if strings.Contains(out, secret) {
			t.Errorf("the password of the URL is printed:\n%s", out)
		}
	}
}

// closedAddrE2E returns 127.0.0.1:PORT where nobody listens.
func closedAddrE2E(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

package repo_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/peacepie/peacepie/internal/gittest"
	"github.com/peacepie/peacepie/repo"
)

// TestStoreFollowSet: a store that follows the system's set (a child, a
// joined host) has the root's packages and grants, not its own list's;
// gets the root's commits; asks the root to pin a tag the set does not pin
// yet; refuses a fetch that gets another commit than the pin; takes a new
// pin (an accepted moved tag) for new loads; and never writes its lock.
func TestStoreFollowSet(t *testing.T) {
	t.Parallel()
	e := newStoreEnv(t)
	r := gittest.Init(t, filepath.Join(e.repos, "pkg"))
	c1 := release(r, "pkg", "1.0.0", nil, false)
	c2 := release(r, "pkg", "2.0.0", nil, false)
	mine := makePackage(t, e.repos, "mine", "1.0.0")
	rootList := listTOML(listEntry{"pkg", r.URL(), []string{"v1.0.0", "v2.0.0"}}) + "admin = [\"create_process\"]\n"
	root := e.store(rootList)
	mustFind(t, root, "pkg==1.0.0")
	set := root.SystemSet()
	if len(set.Packages) != 1 || len(set.Pins) != 1 || set.Pins[0].Commit != c1 || !slices.Equal(set.Packages[0].Admin, []string{"create_process"}) {
		t.Fatalf("the root's set: %+v", set)
	}

	// A follower elsewhere: its own list, cache and lock.
	own := &storeEnv{t: t, repos: e.repos, cache: t.TempDir(), lockPath: filepath.Join(t.TempDir(), "repos.lock"), log: &logBuffer{}}
	f := own.store(listTOML(listEntry{"mine", mine.URL(), []string{"v1.0.0"}}))
	var asked atomic.Int64
	f.AskPin = func(ctx context.Context, name, version string) (string, error) {
		asked.Add(1)
		return root.PinTag(ctx, name, version)
	}
	text, err := root.SystemSetJSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.FollowJSON(text); err != nil {
		t.Fatal(err)
	}
	if f.Leading() || !root.Leading() {
		t.Fatal("Leading: the follower leads, or the root does not")
	}
	if !strings.Contains(own.log.String(), "its own repo list is not used") {
		t.Errorf("the follower does not warn that its own list is not used:\n%s", own.log.String())
	}
	if g, listed := f.Grants("pkg"); !listed || !slices.Equal(g, []string{"create_process"}) {
		t.Errorf("the follower's grants of pkg: %v %v, want the root's", g, listed)
	}
	if _, err := findPkg(t, f, "mine"); !errors.Is(err, repo.ErrNoPackage) {
		t.Errorf("a package of the follower's own list: %v, want ErrNoPackage", err)
	}
	checkPackage(t, mustFind(t, f, "pkg==1.0.0"), "pkg", "1.0.0", c1)
	if n := asked.Load(); n != 0 {
		t.Errorf("a pinned tag: %d pin requests, want 0", n)
	}
	checkPackage(t, mustFind(t, f, "pkg==2.0.0"), "pkg", "2.0.0", c2)
	if n := asked.Load(); n != 1 {
		t.Errorf("a tag the set did not pin: %d pin requests, want 1", n)
	}
	if le, ok := root.Lock.Get("pkg", "2.0.0"); !ok || le.Commit != c2 {
		t.Errorf("the root's lock after the pin request: %+v %v", le, ok)
	}
	if _, err := os.Stat(own.lockPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the follower wrote its own lock file (%v)", err)
	}
	if _, err := f.Update(context.Background(), "pkg"); err == nil || !strings.Contains(err.Error(), "first host") {
		t.Errorf("Update in a follower: %v", err)
	}

	// The tag v1.0.0 moves. A follower with an empty cache gets the new
	// commit and refuses it.
	moved := r.Commit("re-release", map[string]string{"peacepie.toml": gitManifest("pkg", "1.0.0", nil), "main.lua": gitMain("pkg", "1.0.0") + "-- moved\n"})
	r.MoveTag("v1.0.0", false)
	fresh := (&storeEnv{t: t, repos: e.repos, cache: t.TempDir(), lockPath: filepath.Join(t.TempDir(), "repos.lock"), log: &logBuffer{}}).store("")
	if err := fresh.Follow(root.SystemSet()); err != nil {
		t.Fatal(err)
	}
	_, err = findPkg(t, fresh, "pkg==1.0.0")
	if !errors.Is(err, repo.ErrPinMismatch) {
		t.Fatalf("a fetch of another commit than the pin: %v, want ErrPinMismatch", err)
	}
	for _, m := range []string{"the system pins " + shortHash(c1), shortHash(moved), "peacepie repo update pkg"} {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error %q does not mention %q", err, m)
		}
	}

	// Another leading store over the root's lock (the first host's main
	// process, say) loaded the old commit; the root accepts the move.
	main := e.store(rootList)
	checkPackage(t, mustFind(t, main, "pkg==1.0.0"), "pkg", "1.0.0", c1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := root.Update(ctx, "pkg"); err != nil {
		t.Fatal(err)
	}
	checkPackage(t, mustFind(t, main, "pkg==1.0.0"), "pkg", "1.0.0", moved)
	// The followers take the new pin for new loads.
	for _, s := range []*repo.Store{f, fresh} {
		if err := s.Follow(root.SystemSet()); err != nil {
			t.Fatal(err)
		}
		checkPackage(t, mustFind(t, s, "pkg==1.0.0"), "pkg", "1.0.0", moved)
		checkPackage(t, mustFind(t, s, "pkg==2.0.0"), "pkg", "2.0.0", c2)
	}
}

// TestStoreTreeFromRoot: a follower that cannot fetch a pinned version
// from its URL gets its files from the root (FetchTree), checked against
// the commit and the content hash the set pins; files changed on the way
// are refused and leave nothing in the cache.
func TestStoreTreeFromRoot(t *testing.T) {
	t.Parallel()
	e := newStoreEnv(t)
	r := makePackage(t, e.repos, "pkg", "1.0.0")
	root := e.store(listTOML(listEntry{"pkg", r.URL(), []string{"v1.0.0"}}))
	commit := mustFind(t, root, "pkg").Commit
	set := root.SystemSet()
	if len(set.Pins) != 1 || !strings.HasPrefix(set.Pins[0].Hash, "sha256:") {
		t.Fatalf("the root's pins carry no content hash: %+v", set.Pins)
	}
	// The follower's URL leads nowhere.
	set.Packages[0].URL = "http://" + closedAddr(t) + "/pkg.git"

	follower := func(tamper func(*repo.Tree)) (*repo.Store, string) {
		cache := t.TempDir()
		f := (&storeEnv{t: t, repos: e.repos, cache: cache, lockPath: filepath.Join(t.TempDir(), "repos.lock"), log: &logBuffer{}}).store("")
		f.FetchTree = func(ctx context.Context, name, version, commit string) (string, error) {
			text, err := root.PackageTreeJSON(name, version, commit)
			if err != nil || tamper == nil {
				return text, err
			}
			var tr repo.Tree
			if err := json.Unmarshal([]byte(text), &tr); err != nil {
				return "", err
			}
			tamper(&tr)
			b, _ := json.Marshal(tr)
			return string(b), nil
		}
		if err := f.Follow(set); err != nil {
			t.Fatal(err)
		}
		return f, cache
	}

	f, _ := follower(nil)
	checkPackage(t, mustFind(t, f, "pkg"), "pkg", "1.0.0", commit)

	for what, tamper := range map[string]func(*repo.Tree){
		"a file changed, the hash not": func(tr *repo.Tree) { tr.Files["main.lua"] = append(tr.Files["main.lua"], "\n-- evil"...) },
		"a file changed, and the hash": func(tr *repo.Tree) { tr.Files["main.lua"] = []byte("return {}"); tr.Hash = repo.TreeHash(tr.Files) },
		"another commit":               func(tr *repo.Tree) { tr.Commit = strings.Repeat("0", 40) },
		"a path out of the package":    func(tr *repo.Tree) { tr.Files["../x.lua"] = []byte("x"); tr.Hash = repo.TreeHash(tr.Files) },
	} {
		f, cache := follower(tamper)
		if _, err := findPkg(t, f, "pkg"); !errors.Is(err, repo.ErrFetch) || !strings.Contains(err.Error(), "from the system's root") {
			t.Errorf("%s: %v, want a refusal", what, err)
		}
		checkCacheClean(t, cache)
	}
	// The root sends only what it pins.
	if _, err := root.PackageTreeJSON("pkg", "1.0.0", strings.Repeat("1", 40)); !errors.Is(err, repo.ErrTree) {
		t.Errorf("a tree at another commit than the pin: %v", err)
	}
}

// TestStoreLeadsTheSetItFollowed: a follower whose host takes over as the
// root (the root was lost) leads with the set it followed, not with its
// own list: the root's packages and pins, and it pins a new tag itself
// (where it refused before), in its own lock file.
func TestStoreLeadsTheSetItFollowed(t *testing.T) {
	t.Parallel()
	e := newStoreEnv(t)
	r := gittest.Init(t, filepath.Join(e.repos, "pkg"))
	c1 := release(r, "pkg", "1.0.0", nil, false)
	c2 := release(r, "pkg", "2.0.0", nil, false)
	mine := makePackage(t, e.repos, "mine", "1.0.0")
	root := e.store(listTOML(listEntry{"pkg", r.URL(), []string{"v1.0.0", "v2.0.0"}}))
	mustFind(t, root, "pkg==1.0.0")

	own := &storeEnv{t: t, repos: e.repos, cache: t.TempDir(), lockPath: filepath.Join(t.TempDir(), "repos.lock"), log: &logBuffer{}}
	f := own.store(listTOML(listEntry{"mine", mine.URL(), []string{"v1.0.0"}}))
	if err := f.Follow(root.SystemSet()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := f.PinTag(ctx, "pkg", "2.0.0"); err == nil {
		t.Fatal("a follower pinned a tag")
	}

	f.Lead()
	if !f.Leading() {
		t.Fatal("Lead: the store still follows")
	}
	set := f.SystemSet()
	if len(set.Packages) != 1 || set.Packages[0].Name != "pkg" || len(set.Pins) != 1 || set.Pins[0].Commit != c1 {
		t.Fatalf("the set after Lead: %+v, want the root's (pkg, pinned at %s)", set, shortHash(c1))
	}
	commit, err := f.PinTag(ctx, "pkg", "2.0.0")
	if err != nil || commit != c2 {
		t.Fatalf("PinTag after Lead: %q %v, want %s", commit, err, c2)
	}
	onDisk, err := repo.LoadLock(own.lockPath)
	if err != nil {
		t.Fatal(err)
	}
	for v, c := range map[string]string{"1.0.0": c1, "2.0.0": c2} {
		if le, ok := onDisk.Get("pkg", v); !ok || le.Commit != c {
			t.Errorf("the lock file after the pin: pkg %s is %+v %v, want %s", v, le, ok, shortHash(c))
		}
	}
	if _, err := findPkg(t, f, "mine"); !errors.Is(err, repo.ErrNoPackage) {
		t.Errorf("a package of its own list after Lead: %v, want ErrNoPackage", err)
	}
	f.Lead() // leading already: nothing changes
	if got := f.SystemSet(); len(got.Pins) != 2 {
		t.Errorf("a second Lead changed the set: %+v", got)
	}
}

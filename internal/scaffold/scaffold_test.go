package scaffold_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"

	"github.com/peacepie/peacepie/internal/scaffold"
	"github.com/peacepie/peacepie/repo"
)

// TestNewPackage: the package has a manifest that parses, its actor, the
// editor's definitions and a first commit with all of it on main.
func TestNewPackage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "my_counter")
	p, err := scaffold.New(dir, "my_counter", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if p.Class != "MyCounter" {
		t.Errorf("class %q, want MyCounter", p.Class)
	}
	m, err := repo.LoadManifest(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "my_counter" || m.Actors["MyCounter"] != "my_counter" {
		t.Errorf("manifest: %+v", m)
	}
	for _, f := range []string{"my_counter.lua", "my_counter_test.lua", "README.md", ".gitignore", ".luarc.json", ".peacepie/lua/peacepie.lua", ".peacepie/lua/http.lua"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	r, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	head, err := r.Head()
	if err != nil || head.Name().Short() != "main" || head.Hash().String() != p.Commit {
		t.Fatalf("head %v (%v), want main at %s", head, err, p.Commit)
	}
	st, err := mustWorktree(t, r).Status()
	if err != nil || !st.IsClean() {
		t.Errorf("the work tree is not clean after the first commit: %v %v", st, err)
	}
}

// TestNewPackageRefuses: a bad name, and a directory with files in it.
func TestNewPackageRefuses(t *testing.T) {
	for _, name := range []string{"", "9lives", "my-pkg", "a.b", "../x"} {
		if _, err := scaffold.New(filepath.Join(t.TempDir(), "x"), name, time.Now()); !errors.Is(err, scaffold.ErrBadName) {
			t.Errorf("name %q: %v, want ErrBadName", name, err)
		}
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("mine"), 0o644)
	if _, err := scaffold.New(dir, "ok", time.Now()); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("a directory with files: %v", err)
	}
}

func mustWorktree(t *testing.T, r *git.Repository) *git.Worktree {
	t.Helper()
	wt, err := r.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	return wt
}

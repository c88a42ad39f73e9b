package repo_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/peacepie/peacepie/repo"
)

// TestStoreCatalog: a store lists the repo list's packages with their
// pinned versions, highest first, and the classes of a version, fetched
// from Git for the purpose; an unknown package or version is an error.
func TestStoreCatalog(t *testing.T) {
	t.Parallel()
	e := newStoreEnv(t)
	r := makePackage(t, e.repos, "pkg", "1.0.0", "2.0.0")
	s := e.store(listTOML(listEntry{"pkg", r.URL(), []string{"v1.0.0", "v2.0.0"}}))
	cat := s.Catalog()
	if len(cat) != 1 || cat[0].Name != "pkg" || cat[0].Source != "git" || !slices.Equal(cat[0].Versions, []string{"2.0.0", "1.0.0"}) {
		t.Fatalf("Catalog: %+v", cat)
	}
	for _, c := range []struct{ version, want string }{{"", "2.0.0"}, {"1.0.0", "1.0.0"}} {
		v, classes, err := s.Classes(context.Background(), "pkg", c.version)
		if err != nil || v != c.want || !slices.Equal(classes, []string{"Main"}) {
			t.Errorf("Classes(pkg, %q): %q %v %v, want %s [Main]", c.version, v, classes, err, c.want)
		}
	}
	if _, _, err := s.Classes(context.Background(), "pkg", "3.0.0"); !errors.Is(err, repo.ErrNoPackage) {
		t.Errorf("Classes of a version not pinned: %v", err)
	}
	if _, _, err := s.Classes(context.Background(), "nothing", ""); !errors.Is(err, repo.ErrNoPackage) {
		t.Errorf("Classes of an unknown package: %v", err)
	}
}

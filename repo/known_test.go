package repo_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/peacepie/peacepie/internal/gittest"
	"github.com/peacepie/peacepie/repo"
)

// TestUnknownPackageNamesTheKnownOnes: a requirement of a package neither
// listed nor built in names both kinds in its error.
func TestUnknownPackageNamesTheKnownOnes(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "repos.toml")
	if err := os.WriteFile(list, []byte("[[package]]\nname = \"from_git\"\nurl = \"file:///nowhere\"\ntags = [\"v1.0.0\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	builtin, err := repo.NewEmbedded(fstest.MapFS{"peacepie.toml": {Data: []byte("name = \"built_in\"\nversion = \"1.0.0\"\n[actors]\nA = \"a\"\n")}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := repo.OpenStore(list, filepath.Join(dir, "repos.lock"), filepath.Join(dir, "cache"), builtin, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	req, err := repo.ParseRequirement("nosuch")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Find(context.Background(), req)
	if !errors.Is(err, repo.ErrNoPackage) || !strings.Contains(err.Error(), "known packages: built_in, from_git") {
		t.Fatalf("an unknown package: %v", err)
	}
}

// TestMissingPinnedTag: a plain requirement skips a pinned tag that the
// repository does not have (with a warning) and takes the highest one it
// has; an exact requirement of the missing one fails naming it.
func TestMissingPinnedTag(t *testing.T) {
	dir := t.TempDir()
	r := gittest.NewPackage(t, dir, "pkg", map[string]string{
		"peacepie.toml": "name = \"pkg\"\nversion = \"1.0.0\"\n[actors]\nA = \"a\"\n", "a.lua": "return {}\n"}, "v1.0.0")
	list := filepath.Join(dir, "repos.toml")
	if err := os.WriteFile(list, []byte(fmt.Sprintf("[[package]]\nname = \"pkg\"\nurl = %q\ntags = [\"v1.0.0\", \"v2.0.0\"]\n", r.URL())), 0o644); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	s, err := repo.OpenStore(list, filepath.Join(dir, "repos.lock"), filepath.Join(dir, "cache"), nil, slog.New(slog.NewTextHandler(&log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	find := func(text string) (*repo.Package, error) {
		req, err := repo.ParseRequirement(text)
		if err != nil {
			t.Fatal(err)
		}
		return s.Find(context.Background(), req)
	}
	p, err := find("pkg")
	if err != nil || p.Manifest.Version != "1.0.0" {
		t.Fatalf("pkg: %v %v, want version 1.0.0", p, err)
	}
	if !strings.Contains(log.String(), "pinned tags are not in the repository") || !strings.Contains(log.String(), "v2.0.0") {
		t.Errorf("no warning about v2.0.0:\n%s", log.String())
	}
	if _, err := find("pkg==2.0.0"); err == nil || !strings.Contains(err.Error(), `no tag "v2.0.0"`) {
		t.Errorf("pkg==2.0.0: %v", err)
	}
}

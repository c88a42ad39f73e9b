package luart_test

// Benchmarks of create_actor for a package fetched from Git: not yet
// cached (every iteration clones into an empty cache), cached, and built
// into the binary, for comparison. They run only with -bench.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/internal/gittest"
	"github.com/peacepie/peacepie/internal/testhost"
	"github.com/peacepie/peacepie/luart"
	"github.com/peacepie/peacepie/repo"
)

// benchPackageFiles is a package of a few files: the manifest, a class
// that requires a helper, the helper and a README.
func benchPackageFiles(name string) map[string]string {
	return map[string]string{
		"peacepie.toml": gitManifestText(name, "1.0.0", map[string]string{"Main": "main"}, nil),
		"main.lua": `local util = require "lib.util"
local M = { params = { count = 0 } }
function M:add(body) self.count = util.add(self.count, body and body.n or 1); return "added", { count = self.count } end
return M
`,
		"lib/util.lua": "local U = {}\nfunction U.add(a, b) return a + b end\nreturn U\n",
		"README.md":    "# " + name + "\n\nA package for benchmarks.\n",
	}
}

// swapResolver lets a benchmark give one process a new resolver (a fresh
// store) per iteration.
type swapResolver struct{ rt atomic.Pointer[luart.Runtime] }

func (s *swapResolver) Resolve(ctx context.Context, desc host.ClassDesc) (host.Class, error) {
	return s.rt.Load().Resolve(ctx, desc)
}

func benchProcess(b *testing.B, r host.Resolver) *testhost.Process {
	b.Helper()
	out := &testhost.Output{}
	p, err := host.NewProcess(host.Config{Resolver: r, Output: out, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		p.Shutdown()
		<-p.Done()
	})
	return &testhost.Process{Process: p, Out: out}
}

// benchCreate creates one actor through the admin and waits for its
// actor_is_created.
func benchCreate(b *testing.B, p *testhost.Process, requiresDist, name string) {
	body := host.Object{
		{Key: "class_desc", Value: host.Object{{Key: "requires_dist", Value: requiresDist}, {Key: "class", Value: "Main"}}},
		{Key: "name", Value: name},
	}
	if r := p.Ask(b, "first.main.admin", "create_actor", body); r.Command != "actor_is_created" {
		b.Fatalf("create %s: %s %s", name, r.Command, jsonOf(r.Body))
	}
}

// benchRemoveAll removes the actors made so far (timer stopped), so long
// runs do not pile up idle Lua states.
func benchRemoveAll(b *testing.B, p *testhost.Process) {
	b.StopTimer()
	for _, a := range p.Actors() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := p.Remove(ctx, a.Name); err != nil {
			b.Fatal(err)
		}
		cancel()
	}
	b.StartTimer()
}

// benchRepo makes a repository of a few files tagged v1.0.0.
func benchRepo(b *testing.B, name string) string {
	b.Helper()
	r := gittest.NewPackage(b, "", name, benchPackageFiles(name), "v1.0.0")
	return fmt.Sprintf("[[package]]\nname = %q\nurl = %q\ntags = [\"v1.0.0\"]\n", name, r.URL())
}

func benchStore(b *testing.B, list *repo.List, dir string) *repo.Store {
	b.Helper()
	lock, err := repo.LoadLock(filepath.Join(dir, "repos.lock"))
	if err != nil {
		b.Fatal(err)
	}
	return &repo.Store{List: list, Lock: lock, CacheDir: filepath.Join(dir, "packages"),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Fetches: &atomic.Int64{}}
}

// BenchmarkCreateActorUncached: every iteration makes a fresh store with an
// empty cache and lock, so create_actor clones the package.
func BenchmarkCreateActorUncached(b *testing.B) {
	listText := benchRepo(b, "benchpkg")
	list, err := repo.ParseList([]byte(listText), "repos.toml")
	if err != nil {
		b.Fatal(err)
	}
	sw := &swapResolver{}
	p := benchProcess(b, sw)
	root := b.TempDir()
	var fetches int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dir, err := os.MkdirTemp(root, "store-")
		if err != nil {
			b.Fatal(err)
		}
		s := benchStore(b, list, dir)
		sw.rt.Store(luart.NewRuntime(s))
		benchCreate(b, p, "benchpkg", fmt.Sprintf("a_%d", i))
		fetches += s.Fetches.Load()
		if (i+1)%200 == 0 {
			benchRemoveAll(b, p)
		}
	}
	b.StopTimer()
	if fetches != int64(b.N) {
		b.Fatalf("%d fetches in %d iterations, want one each", fetches, b.N)
	}
}

// BenchmarkCreateActorCached: the store has the package already; every
// iteration creates one more actor of it.
func BenchmarkCreateActorCached(b *testing.B) {
	listText := benchRepo(b, "benchpkg")
	list, err := repo.ParseList([]byte(listText), "repos.toml")
	if err != nil {
		b.Fatal(err)
	}
	s := benchStore(b, list, b.TempDir())
	p := benchProcess(b, luart.NewRuntime(s))
	benchCreate(b, p, "benchpkg", "warm_up")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		benchCreate(b, p, "benchpkg", fmt.Sprintf("a_%d", i))
		if (i+1)%2000 == 0 {
			benchRemoveAll(b, p)
		}
	}
	b.StopTimer()
	if n := s.Fetches.Load(); n != 1 {
		b.Fatalf("%d fetches, want 1", n)
	}
}

// BenchmarkCreateActorBuiltin: the same package built into the binary.
func BenchmarkCreateActorBuiltin(b *testing.B) {
	tree := fstest.MapFS{}
	for path, content := range benchPackageFiles("benchpkg") {
		tree[path] = &fstest.MapFile{Data: []byte(content)}
	}
	p := testhost.Start(b, host.Config{}, tree)
	benchCreate(b, p, "benchpkg", "warm_up")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		benchCreate(b, p, "benchpkg", fmt.Sprintf("a_%d", i))
		if (i+1)%2000 == 0 {
			benchRemoveAll(b, p)
		}
	}
}

// BenchmarkCreateActorDiskCached: the package is in the cache and the lock
// on disk, but every iteration has a fresh store and runtime (a new
// process): no clone, the manifest is read and the class compiled again.
func BenchmarkCreateActorDiskCached(b *testing.B) {
	listText := benchRepo(b, "benchpkg")
	list, err := repo.ParseList([]byte(listText), "repos.toml")
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := benchStore(b, list, dir).Fetch(ctx, nil, nil); err != nil {
		b.Fatal(err)
	}
	sw := &swapResolver{}
	p := benchProcess(b, sw)
	var fetches int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := benchStore(b, list, dir)
		sw.rt.Store(luart.NewRuntime(s))
		benchCreate(b, p, "benchpkg", fmt.Sprintf("a_%d", i))
		fetches += s.Fetches.Load()
		if (i+1)%2000 == 0 {
			benchRemoveAll(b, p)
		}
	}
	b.StopTimer()
	if fetches != 0 {
		b.Fatalf("%d fetches with a full cache and lock, want 0", fetches)
	}
}

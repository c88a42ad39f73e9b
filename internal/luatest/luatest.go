// Package luatest runs the tests of a Lua package (`peacepie test`): the
// package is loaded from its working directory into a throwaway process
// with a fake clock, and each of its *_test.lua files runs in a tester
// actor that the module peacepie.test serves (test.lua, runner.lua).
package luatest

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing/fstest"
	"time"

	lua "github.com/yuin/gopher-lua"
	luar "layeh.com/gopher-luar"

	"github.com/peacepie/peacepie/actors"
	"github.com/peacepie/peacepie/examples"
	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/luart"
	"github.com/peacepie/peacepie/repo"
)

//go:embed test.lua
var testModule string

//go:embed runner.lua
var runnerModule string

// testerPackage is the package of the tester actor.
const testerPackage = "peacepie_tester"

// Result is the outcome of one test.
type Result struct {
	Package string `json:"package"`
	File    string `json:"file"`
	Test    string `json:"test"`
	Passed  bool   `json:"passed"`
	Failure string `json:"failure,omitempty"`
}

// ErrNoTests reports a package directory without test files.
var ErrNoTests = errors.New("no tests")

// Run runs the tests of the package in dir: each *_test.lua file (in dir
// and below) in a process of its own, files in parallel (as many at once
// as GOMAXPROCS), a file's tests one after another. A file that does not
// load is one failed result. Results come in file order. It returns an
// error when dir is no package.
func Run(ctx context.Context, dir string) ([]Result, error) {
	pkg := os.DirFS(dir)
	m, err := repo.LoadManifest(pkg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	files, err := testFiles(pkg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: %w: no *_test.lua file in package %s", dir, ErrNoTests, m.Name)
	}
	per := make([][]Result, len(files))
	errs := make([]error, len(files))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, f := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			per[i], errs[i] = runFile(ctx, pkg, m.Name, f)
		}()
	}
	wg.Wait()
	var out []Result
	for i := range files {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out = append(out, per[i]...)
	}
	return out, nil
}

// testFiles lists the package's test files, sorted.
func testFiles(pkg fs.FS) ([]string, error) {
	var files []string
	err := fs.WalkDir(pkg, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != "." && strings.HasPrefix(d.Name(), ".") {
			return fs.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, "_test.lua") {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

// moduleOf is the module name of a test file's path ("a/b_test.lua" →
// "a.b_test").
func moduleOf(file string) string {
	return strings.ReplaceAll(strings.TrimSuffix(file, ".lua"), "/", ".")
}

// runFile runs one test file in a new process.
func runFile(ctx context.Context, pkg fs.FS, name, file string) ([]Result, error) {
	src, err := fs.ReadFile(pkg, file)
	if err != nil {
		return nil, err
	}
	tester := fstest.MapFS{
		"peacepie.toml":              {Data: []byte(fmt.Sprintf("name = %q\nversion = \"1.0.0\"\n\n[actors]\nTester = \"peacepie_tester_runner\"\n", testerPackage))},
		"peacepie_tester_runner.lua": {Data: []byte(runnerModule)},
		"peacepie/test.lua":          {Data: []byte(testModule)},
		file:                         {Data: src},
	}
	trees := []fs.FS{pkg, tester}
	for _, b := range []fs.FS{actors.Std(), examples.PeacepieExample()} {
		if m, err := repo.LoadManifest(b); err == nil && m.Name != name {
			trees = append(trees, b)
		}
	}
	source, err := repo.NewEmbedded(trees...)
	if err != nil {
		return nil, fmt.Errorf("load the packages: %w", err)
	}
	clock := host.NewFakeClock()
	out := &lineBuffer{}
	svc := &testingService{clock: clock, out: out, pkg: name}
	rt := luart.NewRuntime(source)
	services, err := luart.NewServices(map[string]any{"peacepie_testing": svc}, func(p string) []string {
		if p == testerPackage {
			return []string{"peacepie_testing"}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rt.SetServices(services)
	proc, err := host.NewProcess(host.Config{
		Resolver: rt, Output: out, Clock: clock,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Grants: func(p string) []string {
			if p == testerPackage {
				return []string{host.GrantAll}
			}
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	defer func() {
		proc.Shutdown()
		<-proc.Done()
	}()
	svc.proc = proc
	admin := host.Address{Node: proc.AdminName()}
	r, err := proc.Ask(ctx, host.Message{Command: "create_actor", Recipient: admin, Body: host.Object{
		{Key: "class_desc", Value: host.Object{{Key: "requires_dist", Value: testerPackage}, {Key: "class", Value: "Tester"}}},
		{Key: "name", Value: testerName}}}, 30*time.Second)
	if err != nil || r.Command != "actor_is_created" {
		return nil, fmt.Errorf("start the tester: %s %v %v", r.Command, r.Body, err)
	}
	r, err = proc.Ask(ctx, host.Message{Command: "run", Recipient: host.Address{Entity: testerName},
		Body: host.Object{{Key: "module", Value: moduleOf(file)}}}, 10*time.Minute)
	if err != nil && r.Command == "" {
		return []Result{{Package: name, File: file, Test: "(the file)", Failure: err.Error()}}, nil
	}
	body, _ := r.Body.(host.Object)
	switch r.Command {
	case "loaded":
		return []Result{{Package: name, File: file, Test: "(the file)", Failure: body.String("error")}}, nil
	case "ran":
	default:
		return []Result{{Package: name, File: file, Test: "(the file)", Failure: fmt.Sprintf("%s %v", r.Command, r.Body)}}, nil
	}
	list, _ := mustGet(body, "results").(host.Array)
	out2 := make([]Result, 0, len(list))
	for _, v := range list {
		o, _ := v.(host.Object)
		passed, _ := mustGet(o, "passed").(bool)
		out2 = append(out2, Result{Package: name, File: file, Test: o.String("name"), Passed: passed, Failure: o.String("failure")})
	}
	return out2, nil
}

const testerName = "peacepie_tester"

func mustGet(o host.Object, key string) any {
	v, _ := o.Get(key)
	return v
}

// testingService is the service "peacepie_testing" of the tester's
// package: the fake clock, the printed lines, the package's name.
type testingService struct {
	clock *host.FakeClock
	out   *lineBuffer
	pkg   string
	proc  *host.Process
}

// settleTimeout bounds a wait for the actors to handle what they were sent.
const settleTimeout = 10 * time.Second

// Settle waits until every actor but the tester is idle or waits (an
// error text when that does not come in time).
func (s *testingService) Settle() string {
	deadline := time.Now().Add(settleTimeout)
	quiet := 0
	for quiet < 3 { // three looks in a row: a message may be between two actors
		if s.proc.Quiet(testerName) {
			quiet++
		} else {
			quiet = 0
		}
		if time.Now().After(deadline) {
			return fmt.Sprintf("the actors are still busy after %s", settleTimeout)
		}
		time.Sleep(time.Millisecond)
	}
	return ""
}

// Advance moves the clock on by seconds, one due time after another, with
// the actors settled before each: a timer fires only once they have
// handled what the earlier ones brought (a handler's cancel stops the
// next tick, as in real time).
func (s *testingService) Advance(seconds float64) string {
	if seconds < 0 || seconds > 1e9 {
		return fmt.Sprintf("advance wants seconds >= 0, got %v", seconds)
	}
	end := s.clock.Now() + time.Duration(seconds*float64(time.Second))
	for steps := 0; ; steps++ {
		if err := s.Settle(); err != "" {
			return err
		}
		if steps >= maxSteps {
			return fmt.Sprintf("advance: more than %d timer firings before the end (a timer of period 0?)", maxSteps)
		}
		if !s.clock.Step(end) {
			break
		}
	}
	s.clock.Advance(end - s.clock.Now())
	return ""
}

// maxSteps bounds the timer firings of one advance.
const maxSteps = 100_000

// Printed returns the lines printed since the last call.
func (s *testingService) Printed() string { return s.out.take() }

// Package returns the name of the package under test.
func (s *testingService) Package() string { return s.pkg }

// Where returns the positions of the test's Lua functions on the stack
// (peacepie.test's own and Go's left out), innermost first, one a line:
// a failure's traceback.
func (s *testingService) Where(L *luar.LState) int {
	L.Push(lua.LString(strings.Join(positions(L.LState), "\n")))
	return 1
}

// Caller returns the innermost position of the test's own code, for a
// failed assertion ("counter_test.lua:12").
func (s *testingService) Caller(L *luar.LState) int {
	pos := positions(L.LState)
	if len(pos) == 0 {
		L.Push(lua.LString("?"))
	} else {
		L.Push(lua.LString(pos[0]))
	}
	return 1
}

func positions(L *lua.LState) []string {
	var out []string
	for level := 1; level < 64; level++ {
		w := strings.TrimSuffix(L.Where(level), ":")
		if w == "" || strings.HasPrefix(w, "[G]") || strings.HasPrefix(w, "peacepie/test.lua") || strings.HasPrefix(w, "peacepie_tester_runner") {
			continue
		}
		out = append(out, w)
	}
	return out
}

// lineBuffer keeps what actors print until the tests take it.
type lineBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() < 1<<20 { // a test that prints without end keeps the first MiB
		b.buf.Write(p)
	}
	return len(p), nil
}

func (b *lineBuffer) take() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	b.buf.Reset()
	return s
}

package luart

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"

	lua "github.com/yuin/gopher-lua"

	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/repo"
)

// ErrNoClass reports a class its package does not declare.
var ErrNoClass = errors.New("class is not found")

// ErrCompile reports a Lua module that does not compile.
var ErrCompile = errors.New("lua module does not compile")

// Runtime resolves class descriptions to Lua classes. It is safe for
// concurrent use.
type Runtime struct {
	source   repo.Source
	services *Services // set before use (SetServices); nil: none

	mu       sync.Mutex // guards packages
	packages map[string]*compiledPackage
}

// NewRuntime returns a runtime that finds packages in source.
func NewRuntime(source repo.Source) *Runtime {
	return &Runtime{source: source, packages: make(map[string]*compiledPackage)}
}

// compiledPackage holds the compiled modules of one package version.
type compiledPackage struct {
	pkg *repo.Package

	mu     sync.Mutex // guards protos
	protos map[string]*lua.FunctionProto
}

// Resolve implements host.Resolver.
func (rt *Runtime) Resolve(ctx context.Context, desc host.ClassDesc) (host.Class, error) {
	req, err := repo.ParseRequirement(desc.RequiresDist)
	if err != nil {
		return nil, err
	}
	pkg, err := rt.source.Find(ctx, req)
	if err != nil {
		return nil, err
	}
	cp := rt.compiled(pkg)
	module, ok := pkg.Manifest.Actors[desc.Class]
	if !ok {
		return nil, fmt.Errorf("%w: package %s has no class %q (it has: %s)", ErrNoClass, pkg.ID(), desc.Class, classNames(pkg.Manifest))
	}
	c := &class{rt: rt, pkg: cp, name: desc.Class, module: module}
	for _, d := range pkg.Deps {
		c.deps = append(c.deps, rt.compiled(d))
	}
	if _, err := cp.proto(module); err != nil {
		return nil, err
	}
	return c, nil
}

func classNames(m *repo.Manifest) string {
	names := make([]string, 0, len(m.Actors))
	for n := range m.Actors {
		names = append(names, n)
	}
	sortStrings(names)
	return strings.Join(names, ", ")
}

func (rt *Runtime) compiled(pkg *repo.Package) *compiledPackage {
	key := pkg.ID() + "@" + pkg.Commit
	rt.mu.Lock()
	defer rt.mu.Unlock()
	cp := rt.packages[key]
	if cp == nil {
		cp = &compiledPackage{pkg: pkg, protos: make(map[string]*lua.FunctionProto)}
		rt.packages[key] = cp
	}
	return cp
}

// proto returns the compiled module, compiling it on first use. ok is false
// when the package has no such module.
func (cp *compiledPackage) proto(module string) (*lua.FunctionProto, error) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if p, ok := cp.protos[module]; ok {
		return p, nil
	}
	path := repo.ModulePath(module)
	src, err := fs.ReadFile(cp.pkg.Files, path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: module %q (file %s) is not in package %s", errNoModule, module, path, cp.pkg.ID())
		}
		return nil, fmt.Errorf("read module %q of %s: %w", module, cp.pkg.ID(), err)
	}
	// A scratch state parses and compiles (LState.Load is parse.Parse and
	// lua.Compile): peacepie imports no package of gopher-lua's but lua,
	// so a build before `make` stops at the patched module's one-line hint
	// (third_party/gopher-lua/README.md). The proto outlives the state.
	scratch := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer scratch.Close()
	fn, err := scratch.Load(strings.NewReader(string(src)), path)
	if err != nil {
		return nil, fmt.Errorf("%w: package %s: %s", ErrCompile, cp.pkg.ID(), compileError(path, src, err))
	}
	cp.protos[module] = fn.Proto
	return fn.Proto, nil
}

var errNoModule = errors.New("module is not found")

// class is one actor class of a compiled package, with the packages its
// package requires (resolved when the class was).
type class struct {
	rt     *Runtime
	pkg    *compiledPackage
	deps   []*compiledPackage
	name   string
	module string
}

// proto finds a module for require: in the class's own package first, then
// in its dependencies, in resolution order. Nothing else is visible.
func (c *class) proto(module string) (*lua.FunctionProto, error) {
	p, err := c.pkg.proto(module)
	if err == nil || !errors.Is(err, errNoModule) || len(c.deps) == 0 {
		return p, err
	}
	for _, d := range c.deps {
		if p, derr := d.proto(module); derr == nil {
			return p, nil
		} else if !errors.Is(derr, errNoModule) {
			return nil, derr
		}
	}
	return nil, fmt.Errorf("%w: module %q is neither in package %s nor in its dependencies", errNoModule, module, c.pkg.pkg.ID())
}

func (c *class) Info() host.ClassInfo {
	m := c.pkg.pkg.Manifest
	return host.ClassInfo{Package: m.Name, Version: m.Version, Commit: c.pkg.pkg.Commit, Class: c.name}
}

func (c *class) New(a *host.Actor, params host.Object) (host.Behaviour, error) {
	return newActor(c, a, params, false)
}

// NewCarrying is New for recreate_actor: params the class does not declare
// (an upgrade may drop some) are left out instead of refused.
func (c *class) NewCarrying(a *host.Actor, params host.Object) (host.Behaviour, error) {
	return newActor(c, a, params, true)
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

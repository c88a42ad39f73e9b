package repo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Store finds packages: in the repo list (Git repositories at pinned tags,
// fetched once into the cache and checked against the lock), else among
// the packages built into the binary. A repo list entry overrides a
// built-in package of the same name. Find also resolves a package's
// [requires]. It is safe for concurrent use.
type Store struct {
	Embedded     *Embedded     // built-in packages; may be nil
	List         *List         // the repo list; may be empty; replaced when its file changes
	Lock         *Lock         // the lock file
	CacheDir     string        // where fetched packages live (./packages)
	FetchTimeout time.Duration // per fetch; 1 minute
	Log          *slog.Logger
	Fetches      *atomic.Int64 // counts clones, for tests and benchmarks; may be nil
	// AskPin asks the system's root for the commit of a tag the followed
	// set does not pin yet (Follow); nil in a process that follows no root.
	AskPin func(ctx context.Context, name, version string) (string, error)
	// FetchTree asks the system's root for the files of a pinned version
	// (PackageTreeJSON) when this host cannot fetch it from its URL; nil:
	// the URL only.
	FetchTree func(ctx context.Context, name, version, commit string) (string, error)

	mu        sync.Mutex // guards loaded, inflight, List, listStamp, lockStamp, following, pins
	loaded    map[string]*Package
	inflight  map[string]*fetchCall
	listPath  string // re-read when it changes, so new entries need no restart
	listStamp string
	lockStamp string            // the lock file as last read; re-read when it changes (repo update)
	following *Set              // the system's set this store follows (Follow), or nil: it leads
	pins      map[string]Pin    // following: the system's pins, name@version → pin
	hashes    map[string]string // cache directory → TreeHash (treeHash)
}

// OpenStore makes a store from the repo list at listPath, the lock file at
// lockPath and the cache directory.
func OpenStore(listPath, lockPath, cacheDir string, embedded *Embedded, log *slog.Logger) (*Store, error) {
	list, err := LoadList(listPath)
	if err != nil {
		return nil, err
	}
	lock, err := LoadLock(lockPath)
	if err != nil {
		return nil, err
	}
	return &Store{Embedded: embedded, List: list, Lock: lock, CacheDir: cacheDir, Log: log,
		listPath: listPath, listStamp: stamp(listPath), lockStamp: stamp(lockPath)}, nil
}

// stamp identifies a version of a file by its size, modification time and
// inode (a file replaced by rename, as the lock file is written, is a new
// inode even when the clock did not tick).
func stamp(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	var ino uint64
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		ino = st.Ino
	}
	return fmt.Sprint(fi.Size(), fi.ModTime().UnixNano(), ino)
}

// refreshList re-reads the repo list when its file has changed since it
// was read. A list that no longer parses is logged (once per change) and
// the old list stays in use until the file is fixed.
func (s *Store) refreshList() error {
	if s.listPath == "" {
		return nil
	}
	st := stamp(s.listPath)
	s.mu.Lock()
	same := st == s.listStamp || s.following != nil
	s.mu.Unlock()
	if same {
		return nil
	}
	list, err := LoadList(s.listPath)
	if err != nil {
		s.mu.Lock()
		s.listStamp = st // report this version of the file once
		s.mu.Unlock()
		s.log().Error("the repo list does not parse; the previous one stays in use until it is fixed", "error", err.Error())
		return nil
	}
	s.mu.Lock()
	s.List, s.listStamp = list, st
	s.mu.Unlock()
	s.log().Info("repo list read again", "file", s.listPath, "packages", len(list.Packages))
	return nil
}

// refreshLock reads the lock file again when it changed since it was
// read (`peacepie repo update` accepted a moved tag, say) in a leading
// store: versions loaded at a commit the lock no longer names are
// forgotten, so new actors load the accepted commit.
func (s *Store) refreshLock() {
	if s.Lock == nil || s.Lock.path == "" {
		return
	}
	st := stamp(s.Lock.path)
	s.mu.Lock()
	same := st == s.lockStamp || s.following != nil
	s.mu.Unlock()
	if same {
		return
	}
	fresh, err := LoadLock(s.Lock.path)
	s.mu.Lock()
	s.lockStamp = st
	s.mu.Unlock()
	if err != nil {
		s.log().Error("the lock file does not parse; the previous one stays in use until it is fixed", "error", err.Error())
		return
	}
	s.Lock.replace(fresh)
	// Every loaded version is checked, not only the entries that changed
	// since the last read: Lock.Set merges what others wrote into memory.
	var moved []LockEntry
	s.mu.Lock()
	for key, p := range s.loaded {
		if le, ok := fresh.Get(p.Manifest.Name, p.Manifest.Version); ok && p.Commit != "" && le.Commit != p.Commit {
			delete(s.loaded, key)
			moved = append(moved, le)
		}
	}
	s.mu.Unlock()
	for _, le := range moved {
		s.log().Info("the lock file pins a tag at another commit now; new actors load it", "package", le.Name, "tag", le.Tag, "commit", shortCommit(le.Commit))
	}
}

// Grants returns the admin commands the repo list grants the actors of
// package name (Entry.Admin), and whether the list has the package at all.
func (s *Store) Grants(name string) ([]string, bool) {
	if e := s.list().Entry(name); e != nil {
		return e.Admin, true
	}
	return nil, false
}

// ServiceGrants returns the Go services the repo list grants the actors of
// package name (Entry.Services).
func (s *Store) ServiceGrants(name string) []string {
	if e := s.list().Entry(name); e != nil {
		return e.Services
	}
	return nil
}

// HTTPHosts returns the hosts the repo list lets package name reach with
// the service "http" (Entry.HTTPHosts).
func (s *Store) HTTPHosts(name string) []string {
	if e := s.list().Entry(name); e != nil {
		return e.HTTPHosts
	}
	return nil
}

func (s *Store) list() *List {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.List
}

func (s *Store) init() {
	s.mu.Lock()
	if s.loaded == nil {
		s.loaded = make(map[string]*Package)
		s.inflight = make(map[string]*fetchCall)
	}
	if s.List == nil {
		s.List = &List{}
	}
	if s.Lock == nil {
		s.Lock = &Lock{entries: map[string]LockEntry{}}
	}
	s.mu.Unlock()
}

// Find returns the highest version of req's package that req allows, with
// its dependencies resolved (Package.Deps).
func (s *Store) Find(ctx context.Context, req Requirement) (*Package, error) {
	s.init()
	if err := s.refreshList(); err != nil {
		return nil, err
	}
	s.refreshLock()
	root, err := s.resolve(ctx, req.Name, []constraint{{req, "the request"}})
	if err != nil {
		return nil, err
	}
	if len(root.Manifest.Requires) == 0 {
		return root, nil
	}
	deps, err := s.resolveDeps(ctx, root)
	if err != nil {
		return nil, fmt.Errorf("dependencies of %s: %w", root.ID(), err)
	}
	withDeps := *root
	withDeps.Deps = deps
	return &withDeps, nil
}

// constraint is a requirement and who made it, for error messages.
type constraint struct {
	req Requirement
	by  string
}

// ErrConflict reports requirements that no version satisfies together.
var ErrConflict = errors.New("conflicting version constraints")

// ErrCycle reports packages that require each other.
var ErrCycle = errors.New("dependency cycle")

// resolve picks the highest version of name allowed by every constraint.
func (s *Store) resolve(ctx context.Context, name string, cs []constraint) (*Package, error) {
	allows := func(v Version) bool {
		for _, c := range cs {
			if !c.req.Allows(v) {
				return false
			}
		}
		return true
	}
	describe := func() string {
		parts := make([]string, len(cs))
		for i, c := range cs {
			parts[i] = c.req.String() + " (" + c.by + ")"
		}
		return strings.Join(parts, ", ")
	}
	e := s.list().Entry(name)
	if e == nil {
		if s.Embedded == nil {
			return nil, fmt.Errorf("%w: %q is not in the repo list", ErrNoPackage, name)
		}
		if len(s.Embedded.versions(name)) == 0 {
			return nil, fmt.Errorf("%w: %q (known packages: %s)", ErrNoPackage, name, s.knownNames())
		}
		if len(cs) == 1 {
			return s.Embedded.Find(ctx, cs[0].req)
		}
		for _, v := range s.Embedded.versions(name) {
			if allows(v) {
				return s.Embedded.Find(ctx, Requirement{Name: name, Constraint: "==" + v.String(), check: exactCheck(v)})
			}
		}
		return nil, fmt.Errorf("%w: no built-in version of %s satisfies %s", ErrConflict, name, describe())
	}
	if e.Path != "" {
		p, err := DevPackage(e)
		if err != nil {
			return nil, err
		}
		if v, _ := ParseVersion(p.Manifest.Version); !allows(v) {
			return nil, fmt.Errorf("%w: development package %s at %s is version %s, which does not satisfy %s", ErrNoPackage, name, e.Path, p.Manifest.Version, describe())
		}
		return p, nil
	}
	_, exact := cs[0].req.Exact()
	exact = exact && len(cs) == 1
	var missing []string
	for _, v := range e.Versions() {
		if !allows(v) {
			continue
		}
		p, err := s.gitPackage(ctx, e, v)
		if exact || !errors.Is(err, ErrNoTag) {
			if err == nil && len(missing) > 0 {
				s.log().Warn("pinned tags are not in the repository: a lower one is used", "package", name, "missing", strings.Join(missing, ", "), "using", v.String())
			}
			return p, err
		}
		// A pinned tag the repository does not have: the next highest
		// that it has serves a requirement that names no version.
		tag, _ := e.Tag(v)
		missing = append(missing, tag)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: %s: the repository has none of the pinned tags that satisfy %s (%s)", ErrNoPackage, name, describe(), strings.Join(missing, ", "))
	}
	pinned := strings.Join(e.Tags, ", ")
	if len(cs) > 1 {
		return nil, fmt.Errorf("%w: no pinned tag of %s (%s) satisfies %s", ErrConflict, name, pinned, describe())
	}
	if v, ok := cs[0].req.Exact(); ok {
		return nil, fmt.Errorf("%w: %s: version %s is not pinned in the repo list (pinned tags: %s)", ErrNoPackage, cs[0].req, v, pinned)
	}
	return nil, fmt.Errorf("%w: no pinned tag of %s satisfies %s (pinned tags: %s)", ErrNoPackage, name, cs[0].req, pinned)
}

// knownNames lists the packages a requirement may name: the repo list's
// and the built-in ones, sorted.
func (s *Store) knownNames() string {
	seen := map[string]bool{}
	var names []string
	for _, e := range s.list().Packages {
		if !seen[e.Name] {
			seen[e.Name] = true
			names = append(names, e.Name)
		}
	}
	if s.Embedded != nil {
		for _, n := range strings.Split(s.Embedded.names(), ", ") {
			if n != "" && !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// gitPackage returns version v of a listed package: from memory, from the
// cache when the lock names its commit (no network), or fetched.
func (s *Store) gitPackage(ctx context.Context, e *Entry, v Version) (*Package, error) {
	key := e.Name + "@" + v.String()
	s.mu.Lock()
	p := s.loaded[key]
	s.mu.Unlock()
	if p != nil {
		return p, nil
	}
	var dir, commit string
	locked, ok := s.locked(e.Name, v.String())
	if !ok && !s.Leading() {
		c, err := s.pinFromRoot(ctx, e, v)
		if err != nil {
			return nil, err
		}
		locked, ok = c, true
	}
	if ok {
		if d := s.cacheDir(e.Name, v, locked); isDir(d) {
			dir, commit = d, locked
		}
	}
	if dir == "" {
		var err error
		if dir, commit, err = s.fetch(ctx, e, v, false); err != nil {
			return nil, err
		}
	}
	files, err := packageFS(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	m, err := LoadManifest(files)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	p = &Package{Manifest: m, Files: files, Commit: commit}
	s.mu.Lock()
	if q := s.loaded[key]; q != nil {
		p = q
	} else {
		s.loaded[key] = p
	}
	s.mu.Unlock()
	return p, nil
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// resolveDeps resolves the [requires] of root and of its dependencies,
// depth first. Every package gets one version: the highest that satisfies
// every constraint known when it is chosen. When a later constraint rules
// the choice out, the resolution starts again with that constraint known
// from the start (a few rounds at most); if no version satisfies them all,
// that is a conflict. A package that requires itself through others is a
// cycle.
func (s *Store) resolveDeps(ctx context.Context, root *Package) ([]*Package, error) {
	known := map[string][]constraint{} // learnt from earlier rounds
	for round := 0; ; round++ {
		deps, retry, err := s.resolveRound(ctx, root, known)
		if err == nil || retry == "" || round >= 8 {
			return deps, err
		}
	}
}

// resolveRound is one round of resolveDeps. On a conflict with an earlier
// choice it returns the name to retry, having added the constraint to known.
func (s *Store) resolveRound(ctx context.Context, root *Package, known map[string][]constraint) ([]*Package, string, error) {
	chosen := map[string]*Package{root.Manifest.Name: root}
	seen := map[string][]constraint{}
	for name, cs := range known {
		seen[name] = append(seen[name], cs...)
	}
	var order []*Package
	var retry string
	var visit func(p *Package, path []string) error
	visit = func(p *Package, path []string) error {
		names := make([]string, 0, len(p.Manifest.Requires))
		for n := range p.Manifest.Requires {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, name := range names {
			req, err := NewRequirement(name, p.Manifest.Requires[name])
			if err != nil {
				return fmt.Errorf("%s: [requires]: %w", p.ID(), err)
			}
			for i, on := range path {
				if on == name {
					return fmt.Errorf("%w: %s", ErrCycle, strings.Join(append(path[i:], name), " → "))
				}
			}
			c := constraint{req, p.ID()}
			seen[name] = append(seen[name], c)
			if prev := chosen[name]; prev != nil {
				v, _ := ParseVersion(prev.Manifest.Version)
				if !req.Allows(v) {
					if prev != root && !hasConstraint(known[name], c) {
						known[name] = append(known[name], c)
						retry = name
					}
					parts := make([]string, len(seen[name]))
					for i, c := range seen[name] {
						parts[i] = c.req.String() + " (" + c.by + ")"
					}
					return fmt.Errorf("%w: %s %s was chosen, but the packages require %s", ErrConflict, name, v, strings.Join(parts, ", "))
				}
				continue
			}
			dep, err := s.resolve(ctx, name, seen[name])
			if err != nil {
				return fmt.Errorf("%s requires %s: %w", p.ID(), req, err)
			}
			chosen[name] = dep
			order = append(order, dep)
			if err := visit(dep, append(path, name)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := visit(root, []string{root.Manifest.Name}); err != nil {
		return nil, retry, err
	}
	return order, "", nil
}

func hasConstraint(cs []constraint, c constraint) bool {
	for _, x := range cs {
		if x.by == c.by && x.req.String() == c.req.String() {
			return true
		}
	}
	return false
}

// Update fetches every pinned tag of a package again and accepts the
// commits the tags point to now, replacing the locked ones.
func (s *Store) Update(ctx context.Context, name string) ([]LockEntry, error) {
	s.init()
	if !s.Leading() {
		return nil, fmt.Errorf("repo update %s: this process follows the system's package set: run `peacepie repo update` with the config of the system's first host", name)
	}
	e := s.list().Entry(name)
	if e == nil {
		return nil, fmt.Errorf("%w: %q is not in the repo list", ErrNoPackage, name)
	}
	var out []LockEntry
	for _, v := range e.Versions() {
		if _, _, err := s.fetch(ctx, e, v, true); err != nil {
			return out, err
		}
		s.mu.Lock()
		delete(s.loaded, e.Name+"@"+v.String())
		s.mu.Unlock()
		le, _ := s.Lock.Get(name, v.String())
		out = append(out, le)
	}
	return out, nil
}

// Fetch makes sure the packages of the repo list (or the one req names)
// are in the cache and the lock, with their dependencies. progress, if
// not nil, is told about each package as it is done.
func (s *Store) Fetch(ctx context.Context, req *Requirement, progress func(done, total int, p *Package, err error)) error {
	s.init()
	var reqs []Requirement
	if req != nil {
		reqs = append(reqs, *req)
	} else {
		for _, e := range s.list().Packages {
			for _, v := range e.Versions() {
				reqs = append(reqs, Requirement{Name: e.Name, Constraint: "==" + v.String(), check: exactCheck(v)})
			}
		}
	}
	var errs []error
	for i, r := range reqs {
		p, err := s.Find(ctx, r)
		if progress != nil {
			progress(i+1, len(reqs), p, err)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Problem is a disagreement between the cache and the lock.
type Problem struct {
	Name, Version, What string
}

// Verify checks that every locked tag is in the cache with a manifest of
// the right name and version, and that every cached version is locked.
func (s *Store) Verify() []Problem {
	s.init()
	var out []Problem
	locked := map[string]bool{}
	for _, le := range s.Lock.Entries() {
		v, err := ParseVersion(le.Version)
		if err != nil {
			out = append(out, Problem{le.Name, le.Version, "the lock file has a bad version"})
			continue
		}
		dir := s.cacheDir(le.Name, v, le.Commit)
		locked[dir] = true
		if !isDir(dir) {
			out = append(out, Problem{le.Name, le.Version, "locked at " + shortCommit(le.Commit) + " but not in the cache (peacepie repo fetch)"})
			continue
		}
		if err := checkTree(os.DirFS(dir), le.Name, v); err != nil {
			out = append(out, Problem{le.Name, le.Version, "cache " + dir + ": " + err.Error()})
		}
	}
	for _, c := range s.Cached() {
		if !locked[c.Dir] {
			out = append(out, Problem{c.Name, c.Version, "in the cache (" + c.Dir + ") but not in the lock file"})
		}
	}
	return out
}

// CachedVersion is one package version in the cache.
type CachedVersion struct {
	Name, Version, Commit, Dir string
}

// Cached lists the package versions in the cache.
func (s *Store) Cached() []CachedVersion {
	var out []CachedVersion
	names, _ := os.ReadDir(s.CacheDir)
	for _, n := range names {
		if !n.IsDir() {
			continue
		}
		vers, _ := os.ReadDir(filepath.Join(s.CacheDir, n.Name()))
		for _, d := range vers {
			ver, commit, ok := strings.Cut(d.Name(), "-")
			if !d.IsDir() || !ok || strings.HasPrefix(d.Name(), ".") {
				continue
			}
			out = append(out, CachedVersion{n.Name(), ver, commit, filepath.Join(s.CacheDir, n.Name(), d.Name())})
		}
	}
	return out
}

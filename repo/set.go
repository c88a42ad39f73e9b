package repo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Set is the system's package set: the repo list and the lock of the
// system's root, which every other process of the system follows
// (Store.Follow), so that `pkg` and `pkg==X.Y.Z` name the same commit and
// carry the same admin grants in every process of every host.
// Credentials are not part of it: they stay on the host whose list names
// them (a follower uses those of its own list's entry of the same name
// and URL, if any).
type Set struct {
	Packages []SetEntry `json:"packages"`
	Pins     []Pin      `json:"pins"`
}

// SetEntry is a repo list entry of a Set.
type SetEntry struct {
	Name      string   `json:"name"`
	URL       string   `json:"url"`
	Tags      []string `json:"tags"`
	Admin     []string `json:"admin,omitempty"`
	Services  []string `json:"services,omitempty"`
	HTTPHosts []string `json:"http_hosts,omitempty"`
	Path      string   `json:"path,omitempty"`
}

// Pin is a locked tag of a Set: the commit every process uses for it.
type Pin struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Tag     string `json:"tag"`
	Commit  string `json:"commit"`
	// Hash is the TreeHash of the version's files, when the root has
	// them in its cache: files sent over a link are checked against it.
	Hash string `json:"hash,omitempty"`
}

// ErrPinMismatch reports a fetch that got another commit than the one the
// system pins.
var ErrPinMismatch = errors.New("commit differs from the system's pin")

// Leading reports whether this store serves its own repo list and lock
// (a process alone, or the system's root), not a set it follows.
func (s *Store) Leading() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.following == nil
}

// SystemSet returns the package set of a leading store: its repo list and
// lock as they are now (both read again when their files changed). A
// following store returns the set it follows.
func (s *Store) SystemSet() Set {
	s.init()
	s.mu.Lock()
	if f := s.following; f != nil {
		out := *f
		out.Pins = s.pinList()
		s.mu.Unlock()
		return out
	}
	s.mu.Unlock()
	_ = s.refreshList()
	s.refreshLock()
	var out Set
	for _, e := range s.list().Packages {
		out.Packages = append(out.Packages, SetEntry{Name: e.Name, URL: e.URL, Tags: append([]string(nil), e.Tags...), Admin: append([]string(nil), e.Admin...),
			Services: append([]string(nil), e.Services...), HTTPHosts: append([]string(nil), e.HTTPHosts...), Path: e.Path})
	}
	for _, le := range s.Lock.Entries() {
		p := Pin{Name: le.Name, Version: le.Version, Tag: le.Tag, Commit: le.Commit}
		if v, err := ParseVersion(le.Version); err == nil {
			if dir := s.cacheDir(le.Name, v, le.Commit); isDir(dir) {
				p.Hash = s.treeHash(dir)
			}
		}
		out.Pins = append(out.Pins, p)
	}
	return out
}

// SystemSetJSON is SystemSet encoded, as the root sends it over links.
func (s *Store) SystemSetJSON() (string, error) {
	b, err := json.Marshal(s.SystemSet())
	if err != nil {
		return "", fmt.Errorf("encode the package set: %w", err)
	}
	return string(b), nil
}

// FollowJSON is Follow of a set encoded by SystemSetJSON.
func (s *Store) FollowJSON(text string) error {
	var set Set
	if err := json.Unmarshal([]byte(text), &set); err != nil {
		return fmt.Errorf("decode the system's package set: %w", err)
	}
	return s.Follow(set)
}

// Follow makes the store use the system's package set instead of its own
// repo list and lock: the set's entries are the packages there are (a
// built-in package stays available unless an entry replaces it), its pins
// the commits of their tags. A tag the set does not pin yet is pinned by
// the root first (PinTag) before it is fetched here; a fetch that gets
// another commit than the pin is refused (ErrPinMismatch). Versions loaded
// before whose pin changed (an accepted moved tag) are forgotten: actors
// running their code keep it, new actors load the new commit. The lock
// file of a following store is not written: the system's lock is the
// root's.
func (s *Store) Follow(set Set) error {
	s.init()
	list := &List{}
	own := s.list()
	for _, se := range set.Packages {
		e := Entry{Name: se.Name, URL: se.URL, Tags: se.Tags, Admin: se.Admin, Services: se.Services, HTTPHosts: se.HTTPHosts, Path: se.Path, versions: map[Version]string{}}
		if !namePattern.MatchString(e.Name) || e.URL == "" {
			return fmt.Errorf("%w: the system's package set has a bad entry %q", ErrBadList, e.Name)
		}
		for _, tag := range e.Tags {
			v, err := ParseVersion(tag)
			if err != nil {
				return fmt.Errorf("%w: the system's package set: package %q: tag %q is not a version tag", ErrBadList, e.Name, tag)
			}
			e.versions[v] = tag
		}
		if mine := own.Entry(e.Name); mine != nil && mine.URL == e.URL {
			e.Auth = mine.Auth
		}
		list.Packages = append(list.Packages, e)
	}
	pins := make(map[string]Pin, len(set.Pins))
	for _, p := range set.Pins {
		pins[lockKey(p.Name, p.Version)] = p
	}
	s.mu.Lock()
	first := s.following == nil
	for key, p := range s.loaded {
		name, version := p.Manifest.Name, p.Manifest.Version
		if pin, ok := pins[lockKey(name, version)]; (ok && pin.Commit != p.Commit) || (!ok && p.Commit != "") {
			delete(s.loaded, key)
		}
	}
	f := Set{Packages: set.Packages}
	s.following = &f
	s.pins = pins
	s.List = list
	s.mu.Unlock()
	switch {
	case !first:
	case sameEntries(own, list):
		s.log().Info("this process follows the system's package set", "packages", len(list.Packages), "pins", len(pins))
	default:
		s.log().Warn("this process follows the system's package set (the repo list and lock of the system's first host); its own repo list is not used while it is part of the system",
			"own_list", s.listPath, "own_packages", len(own.Packages), "packages", len(list.Packages), "pins", len(pins))
	}
	return nil
}

// Lead makes a following store lead with the set it followed: its host
// took over as the system's root after the root was lost. The set's
// entries become its repo list and its pins its lock (written to its lock
// file at the next pin), both kept over its own files until either file
// changes: then that file is read, as a leading store does, and becomes
// the system's. A store that leads already is unchanged.
func (s *Store) Lead() {
	s.init()
	s.mu.Lock()
	if s.following == nil {
		s.mu.Unlock()
		return
	}
	pins := s.pinList()
	s.following, s.pins = nil, nil
	s.listStamp = stamp(s.listPath)
	if s.Lock.path != "" {
		s.lockStamp = stamp(s.Lock.path)
	}
	packages := len(s.List.Packages)
	s.mu.Unlock()
	fresh := &Lock{entries: make(map[string]LockEntry, len(pins))}
	for _, p := range pins {
		fresh.entries[lockKey(p.Name, p.Version)] = LockEntry{Name: p.Name, Version: p.Version, Tag: p.Tag, Commit: p.Commit}
	}
	s.Lock.replace(fresh)
	s.log().Info("this process leads the system's package set now (the root it followed is lost)", "packages", packages, "pins", len(pins))
}

// sameEntries reports whether two lists name the same packages at the same
// URLs and tags.
func sameEntries(a, b *List) bool {
	if len(a.Packages) != len(b.Packages) {
		return false
	}
	for _, e := range a.Packages {
		f := b.Entry(e.Name)
		if f == nil || f.URL != e.URL || strings.Join(f.Tags, ",") != strings.Join(e.Tags, ",") {
			return false
		}
	}
	return true
}

// pinList returns the pins of a following store, sorted (under s.mu).
func (s *Store) pinList() []Pin {
	out := make([]Pin, 0, len(s.pins))
	for _, p := range s.pins {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		return lockKey(out[i].Name, out[i].Version) < lockKey(out[j].Name, out[j].Version)
	})
	return out
}

// locked returns the commit a tag is locked at: the lock file's for a
// leading store, the system's pin for a following one.
func (s *Store) locked(name, version string) (string, bool) {
	s.mu.Lock()
	if s.following != nil {
		p, ok := s.pins[lockKey(name, version)]
		s.mu.Unlock()
		return p.Commit, ok
	}
	s.mu.Unlock()
	le, ok := s.Lock.Get(name, version)
	return le.Commit, ok
}

// PinTag returns the commit that tag version of package name is pinned at
// in a leading store, fetching it first when it is not locked yet (the
// root does this for the processes that follow it).
func (s *Store) PinTag(ctx context.Context, name, version string) (string, error) {
	s.init()
	if !s.Leading() {
		return "", fmt.Errorf("pin %s %s: this process follows the system's package set", name, version)
	}
	req, err := NewRequirement(name, "=="+version)
	if err != nil {
		return "", err
	}
	if err := s.refreshList(); err != nil {
		return "", err
	}
	p, err := s.resolve(ctx, name, []constraint{{req, "a pin request"}})
	if err != nil {
		return "", err
	}
	if p.Commit == "" {
		return "", fmt.Errorf("%w: %s is built in, not from Git", ErrNoPackage, p.ID())
	}
	return p.Commit, nil
}

// pinFromRoot asks the root for the pin of a tag the followed set does not
// pin yet, and records it.
func (s *Store) pinFromRoot(ctx context.Context, e *Entry, v Version) (string, error) {
	if s.AskPin == nil {
		return "", fmt.Errorf("%w: %s %s: the system's package set does not pin it and there is no root to ask", ErrFetch, e.Name, v)
	}
	commit, err := s.AskPin(ctx, e.Name, v.String())
	if err != nil {
		return "", fmt.Errorf("%s %s: the system's root could not pin it: %w", e.Name, v, err)
	}
	tag, _ := e.Tag(v)
	s.mu.Lock()
	if s.following != nil {
		if p, ok := s.pins[lockKey(e.Name, v.String())]; ok { // a newer set came meanwhile
			commit = p.Commit
		} else {
			s.pins[lockKey(e.Name, v.String())] = Pin{Name: e.Name, Version: v.String(), Tag: tag, Commit: commit}
		}
	}
	s.mu.Unlock()
	return commit, nil
}

// Tree is a cached package version's files, as the root sends them over
// a link to a host that cannot fetch the version from its URL
// (Store.FetchTree).
type Tree struct {
	Name    string            `json:"name"`
	Version string            `json:"version"`
	Commit  string            `json:"commit"`
	Hash    string            `json:"hash"`  // TreeHash of Files
	Files   map[string][]byte `json:"files"` // slash-separated path → content
}

// MaxTreeBytes bounds the files of a package sent over a link.
const MaxTreeBytes = 8 << 20

// ErrTree reports package files from another host that cannot be used.
var ErrTree = errors.New("package files from the system's root")

// TreeHash is the content hash of a package's files: SHA-256 over each
// regular file, in path order, as path, NUL, size, NUL, content.
func TreeHash(files map[string][]byte) string {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	h := sha256.New()
	for _, p := range paths {
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(files[p]))
		h.Write(files[p])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// readTree reads the files of a cached package directory, at most
// MaxTreeBytes.
func readTree(dir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	total := 0
	err := fs.WalkDir(os.DirFS(dir), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", path)
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(path)))
		if err != nil {
			return err
		}
		if total += len(b); total > MaxTreeBytes {
			return fmt.Errorf("the package's files are larger than %d bytes", MaxTreeBytes)
		}
		files[path] = b
		return nil
	})
	return files, err
}

// treeHash returns the TreeHash of a cached package directory, computed
// once (a cache directory never changes); "" when it cannot be read.
func (s *Store) treeHash(dir string) string {
	s.mu.Lock()
	h, ok := s.hashes[dir]
	s.mu.Unlock()
	if ok {
		return h
	}
	if files, err := readTree(dir); err == nil {
		h = TreeHash(files)
	} // else "" (too large to send, say), and not read again
	s.mu.Lock()
	if s.hashes == nil {
		s.hashes = map[string]string{}
	}
	s.hashes[dir] = h
	s.mu.Unlock()
	return h
}

// PackageTreeJSON returns the files of a version this leading store has
// pinned at commit and cached, encoded (Tree), for a host that cannot
// fetch it from its URL.
func (s *Store) PackageTreeJSON(name, version, commit string) (string, error) {
	s.init()
	v, err := ParseVersion(version)
	if err != nil {
		return "", err
	}
	locked, ok := s.locked(name, v.String())
	if !ok || locked != commit {
		return "", fmt.Errorf("%w: %s %s at %s is not what the system pins (%s)", ErrTree, name, v, shortCommit(commit), shortCommit(locked))
	}
	dir := s.cacheDir(name, v, commit)
	files, err := readTree(dir)
	if err != nil {
		return "", fmt.Errorf("%w: %s %s: %v", ErrTree, name, v, err)
	}
	b, err := json.Marshal(Tree{Name: name, Version: v.String(), Commit: commit, Hash: TreeHash(files), Files: files})
	if err != nil {
		return "", fmt.Errorf("encode package files: %w", err)
	}
	return string(b), nil
}

// treeFromRoot gets version v of e at the pinned commit from the system's
// root (FetchTree), checks it (the commit, the content hash the set pins
// and the one sent, the manifest) and puts it in the cache.
func (s *Store) treeFromRoot(ctx context.Context, e *Entry, v Version, commit, hash string) (string, error) {
	text, err := s.FetchTree(ctx, e.Name, v.String(), commit)
	if err != nil {
		return "", fmt.Errorf("%w: %s %s: %v", ErrTree, e.Name, v, err)
	}
	var t Tree
	if err := json.Unmarshal([]byte(text), &t); err != nil {
		return "", fmt.Errorf("%w: %s %s: decode: %v", ErrTree, e.Name, v, err)
	}
	got := TreeHash(t.Files)
	switch {
	case t.Name != e.Name || t.Version != v.String() || t.Commit != commit:
		return "", fmt.Errorf("%w: asked for %s %s at %s, got %s %s at %s", ErrTree, e.Name, v, shortCommit(commit), t.Name, t.Version, shortCommit(t.Commit))
	case got != t.Hash:
		return "", fmt.Errorf("%w: %s %s: the files hash to %s, the root says %s", ErrTree, e.Name, v, got, t.Hash)
	case hash != "" && got != hash:
		return "", fmt.Errorf("%w: %s %s: the files hash to %s, the system pins %s", ErrTree, e.Name, v, got, hash)
	}
	if err := os.MkdirAll(filepath.Join(s.CacheDir, e.Name), 0o755); err != nil {
		return "", fmt.Errorf("%w: %s %s: %v", ErrTree, e.Name, v, err)
	}
	tmp, err := os.MkdirTemp(filepath.Join(s.CacheDir, e.Name), ".fetch-")
	if err != nil {
		return "", fmt.Errorf("%w: %s %s: %v", ErrTree, e.Name, v, err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	for p, b := range t.Files {
		if !fs.ValidPath(p) || p == "." {
			return "", fmt.Errorf("%w: %s %s: bad path %q", ErrTree, e.Name, v, p)
		}
		dst := filepath.Join(tmp, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return "", fmt.Errorf("%w: %s %s: %v", ErrTree, e.Name, v, err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return "", fmt.Errorf("%w: %s %s: %v", ErrTree, e.Name, v, err)
		}
	}
	if err := checkTree(os.DirFS(tmp), e.Name, v); err != nil {
		return "", fmt.Errorf("%s %s from the system's root: %w", e.Name, v, err)
	}
	dir := s.cacheDir(e.Name, v, commit)
	if err := os.Rename(tmp, dir); err != nil {
		if !isDir(dir) {
			return "", fmt.Errorf("%w: %s %s: %v", ErrTree, e.Name, v, err)
		}
		os.RemoveAll(tmp)
	}
	ok = true
	return dir, nil
}

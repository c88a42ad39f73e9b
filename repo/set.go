package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	Name  string   `json:"name"`
	URL   string   `json:"url"`
	Tags  []string `json:"tags"`
	Admin []string `json:"admin,omitempty"`
}

// Pin is a locked tag of a Set: the commit every process uses for it.
type Pin struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Tag     string `json:"tag"`
	Commit  string `json:"commit"`
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
		out.Packages = append(out.Packages, SetEntry{Name: e.Name, URL: e.URL, Tags: append([]string(nil), e.Tags...), Admin: append([]string(nil), e.Admin...)})
	}
	for _, le := range s.Lock.Entries() {
		out.Pins = append(out.Pins, Pin(le))
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
		e := Entry{Name: se.Name, URL: se.URL, Tags: se.Tags, Admin: se.Admin, versions: map[Version]string{}}
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

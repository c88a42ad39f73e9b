package repo

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/BurntSushi/toml"
)

// Lock is the lock file (config/repos.lock): the commit of every package
// tag in use. A tag that later points to another commit is refused until
// `peacepie repo update NAME` accepts it. It is safe for concurrent use.
type Lock struct {
	path string

	mu      sync.Mutex // guards entries
	entries map[string]LockEntry
}

// LockEntry is one locked tag.
type LockEntry struct {
	Name    string `toml:"name"`
	Version string `toml:"version"`
	Tag     string `toml:"tag"`
	Commit  string `toml:"commit"`
}

func lockKey(name, version string) string { return name + "@" + version }

// ErrTagMoved reports a tag whose commit differs from the locked one.
var ErrTagMoved = errors.New("tag moved")

// LoadLock reads a lock file; a missing file is an empty lock.
func LoadLock(path string) (*Lock, error) {
	l := &Lock{path: path, entries: map[string]LockEntry{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read lock file: %w", err)
	}
	var f struct {
		Package []LockEntry `toml:"package"`
	}
	if _, err := toml.Decode(string(data), &f); err != nil {
		return nil, fmt.Errorf("lock file %s: %w", path, err)
	}
	for _, e := range f.Package {
		l.entries[lockKey(e.Name, e.Version)] = e
	}
	return l, nil
}

// Get returns the locked entry of name at version.
func (l *Lock) Get(name, version string) (LockEntry, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[lockKey(name, version)]
	return e, ok
}

// Entries returns all entries, sorted.
func (l *Lock) Entries() []LockEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]LockEntry, 0, len(l.entries))
	for _, e := range l.entries {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Version < out[j].Version
	})
	return out
}

// Set records e and writes the file. Entries that other processes of the
// host wrote to the file meanwhile are kept. A file that cannot be read
// now (someone wrote garbage into it since start-up) is refused with
// LoadLock's error and left as it is: overwriting it would drop what the
// lock protects.
func (l *Lock) Set(e LockEntry) error {
	if l.path != "" {
		onDisk, err := LoadLock(l.path)
		if err != nil {
			return err
		}
		l.mu.Lock()
		for k, v := range onDisk.entries {
			l.entries[k] = v
		}
		l.mu.Unlock()
	}
	l.mu.Lock()
	l.entries[lockKey(e.Name, e.Version)] = e
	l.mu.Unlock()
	return l.save()
}

// replace takes the entries of fresh (the file read again).
func (l *Lock) replace(fresh *Lock) {
	fresh.mu.Lock()
	entries := make(map[string]LockEntry, len(fresh.entries))
	for k, e := range fresh.entries {
		entries[k] = e
	}
	fresh.mu.Unlock()
	l.mu.Lock()
	l.entries = entries
	l.mu.Unlock()
}

// save writes the lock file atomically (a temporary file, then rename).
func (l *Lock) save() error {
	if l.path == "" {
		return nil
	}
	var buf bytes.Buffer
	buf.WriteString("# peacepie lock file: the commit of every package tag in use.\n" +
		"# Written by peacepie. A tag that moves is refused until `peacepie repo update NAME`.\n")
	f := struct {
		Package []LockEntry `toml:"package"`
	}{Package: l.Entries()}
	if err := toml.NewEncoder(&buf).Encode(f); err != nil {
		return fmt.Errorf("encode lock file: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	tmp, err := os.CreateTemp(filepath.Dir(l.path), ".repos.lock-*")
	if err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("write lock file: %w", err)
	}
	tmp.Close()
	if err := os.Rename(tmp.Name(), l.path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write lock file: %w", err)
	}
	return nil
}

package repo

import (
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing/fstest"
)

// Development packages: a repo-list entry with a path instead of a URL
// and tags (Entry.Path). Each Find reads the directory as it is now: its
// files are taken into memory at once (a change made meanwhile is not half
// seen), and its commit is "dev-" and the hash of its files, so that the
// code of each change is told apart (luart compiles per commit). Nothing
// of it is locked.

// DevPrefix starts the commit of a development package.
const DevPrefix = "dev-"

// maxDevBytes bounds what a development package's directory may hold.
const maxDevBytes = 64 << 20

// DevPackage reads the development package of entry e.
func DevPackage(e *Entry) (*Package, error) {
	files, err := readDevFiles(e.Path)
	if err != nil {
		return nil, fmt.Errorf("development package %s: %w", e.Name, err)
	}
	tree := fstest.MapFS{}
	for p, data := range files {
		tree[p] = &fstest.MapFile{Data: data, Mode: 0o644}
	}
	m, err := LoadManifest(tree)
	if err != nil {
		return nil, fmt.Errorf("development package %s at %s: %w", e.Name, e.Path, err)
	}
	if m.Name != e.Name {
		return nil, fmt.Errorf("%w: development package %s at %s is named %q in its manifest", ErrNoPackage, e.Name, e.Path, m.Name)
	}
	return &Package{Manifest: m, Files: tree, Commit: DevPrefix + TreeHash(files)[:16]}, nil
}

// DevHash returns the hash of the files of the development package at
// dir, to see whether it changed ("" when it cannot be read).
func DevHash(dir string) string {
	files, err := readDevFiles(dir)
	if err != nil {
		return ""
	}
	return TreeHash(files)
}

// readDevFiles reads the files under dir, but those in directories whose
// name starts with a dot (.git, .peacepie).
func readDevFiles(dir string) (map[string][]byte, error) {
	root := os.DirFS(dir)
	files := map[string][]byte{}
	total := 0
	err := fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		total += len(data)
		if total > maxDevBytes {
			return fmt.Errorf("%s holds more than %d MiB", dir, maxDevBytes>>20)
		}
		files[p] = data
		return nil
	})
	if err != nil {
		return nil, err
	}
	return files, nil
}

// DevEntries returns the development packages of the repo list.
func (s *Store) DevEntries() []Entry {
	s.init()
	_ = s.refreshList()
	var out []Entry
	for _, e := range s.list().Packages {
		if e.Path != "" {
			out = append(out, e)
		}
	}
	return out
}

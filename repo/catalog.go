package repo

import (
	"context"
	"fmt"
	"sort"
)

// What may be created: the packages a store knows and the classes of a
// version (the console's create form, get_classes).

// CatalogEntry is one package a store can resolve: its versions, highest
// first (a repo-list entry's pinned tags, a development package's
// version, or the built-in versions), and where it comes from ("git",
// "path" or "builtin").
type CatalogEntry struct {
	Name     string
	Versions []string
	Source   string
}

// Catalog lists the packages the store resolves, sorted by name: the repo
// list's (or the followed set's) entries, then the built-in packages no
// entry replaces.
func (s *Store) Catalog() []CatalogEntry {
	s.init()
	_ = s.refreshList()
	seen := map[string]bool{}
	var out []CatalogEntry
	for _, e := range s.list().Packages {
		if seen[e.Name] {
			continue
		}
		seen[e.Name] = true
		c := CatalogEntry{Name: e.Name, Source: "git"}
		if e.Path != "" {
			c.Source = "path"
		}
		for _, v := range e.Versions() {
			c.Versions = append(c.Versions, v.String())
		}
		out = append(out, c)
	}
	if s.Embedded != nil {
		for _, name := range s.Embedded.sortedNames() {
			if seen[name] {
				continue
			}
			c := CatalogEntry{Name: name, Source: "builtin"}
			for _, v := range s.Embedded.versions(name) {
				c.Versions = append(c.Versions, v.String())
			}
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Classes resolves package name (at version, or its highest when version
// is "") and returns the version found and its classes, sorted; a Git
// version not in the cache is fetched first.
func (s *Store) Classes(ctx context.Context, name, version string) (string, []string, error) {
	spec := name
	if version != "" {
		spec += "==" + version
	}
	req, err := ParseRequirement(spec)
	if err != nil {
		return "", nil, err
	}
	p, err := s.Find(ctx, req)
	if err != nil {
		return "", nil, fmt.Errorf("classes of %s: %w", spec, err)
	}
	classes := make([]string, 0, len(p.Manifest.Actors))
	for c := range p.Manifest.Actors {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	return p.Manifest.Version, classes, nil
}

// sortedNames lists the built-in packages' names, sorted.
func (e *Embedded) sortedNames() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	names := make([]string, 0, len(e.packages))
	for n := range e.packages {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

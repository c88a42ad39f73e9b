package repo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"
)

// Package is one version of a package, ready to be compiled.
type Package struct {
	Manifest *Manifest
	Files    fs.FS      // the package's files, the manifest at the root
	Commit   string     // the Git commit, empty for built-in packages
	Deps     []*Package // its resolved [requires], transitively, as Find returned them
}

// ID returns "name@version".
func (p *Package) ID() string { return p.Manifest.Name + "@" + p.Manifest.Version }

// ErrNoPackage reports a package or version that no source has.
var ErrNoPackage = errors.New("package is not found")

// Source finds packages. Find is called concurrently.
type Source interface {
	Find(ctx context.Context, req Requirement) (*Package, error)
}

// Embedded is a Source of packages built into the binary, each an fs.FS with
// a manifest at its root.
type Embedded struct {
	mu       sync.Mutex // guards packages
	packages map[string][]*Package
}

// NewEmbedded reads the manifests of the given package trees.
func NewEmbedded(trees ...fs.FS) (*Embedded, error) {
	e := &Embedded{packages: make(map[string][]*Package)}
	for _, t := range trees {
		if err := e.Add(t); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Add adds one package tree.
func (e *Embedded) Add(tree fs.FS) error {
	m, err := LoadManifest(tree)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.packages[m.Name] = append(e.packages[m.Name], &Package{Manifest: m, Files: tree})
	return nil
}

// Find returns the requested version, or the highest one.
func (e *Embedded) Find(_ context.Context, req Requirement) (*Package, error) {
	e.mu.Lock()
	list := e.packages[req.Name]
	e.mu.Unlock()
	if len(list) == 0 {
		return nil, fmt.Errorf("%w: %q (known packages: %s)", ErrNoPackage, req.Name, e.names())
	}
	var best *Package
	var bestV Version
	var versions []string
	for _, p := range list {
		v, _ := ParseVersion(p.Manifest.Version)
		versions = append(versions, v.String())
		if !req.Allows(v) {
			continue
		}
		if best == nil || v.Compare(bestV) > 0 {
			best, bestV = p, v
		}
	}
	if best == nil {
		return nil, fmt.Errorf("%w: no version satisfies %s (available: %s)", ErrNoPackage, req, strings.Join(versions, ", "))
	}
	return best, nil
}

func (e *Embedded) names() string { return strings.Join(e.sortedNames(), ", ") }

// versions lists the built-in versions of a package, highest first.
func (e *Embedded) versions(name string) []Version {
	e.mu.Lock()
	defer e.mu.Unlock()
	var vs []Version
	for _, p := range e.packages[name] {
		v, _ := ParseVersion(p.Manifest.Version)
		vs = append(vs, v)
	}
	sortVersionsDesc(vs)
	return vs
}

// exactCheck makes the constraint "=v".
func exactCheck(v Version) *semver.Constraints {
	c, _ := semver.NewConstraint("=" + v.String())
	return c
}

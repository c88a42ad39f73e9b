package repo

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"
)

// ManifestFile is the name of the manifest at a package's root.
const ManifestFile = "peacepie.toml"

// Manifest describes a package:
//
//	name    = "peacepie_example"
//	version = "0.2.0"
//
//	[actors]                 # class name = module name
//	HelloWorld = "hello_world"
//	Nested     = "sub.nested" # the file sub/nested.lua
//
//	[requires]               # package = version constraint
//	other = ">=1.0.0"
type Manifest struct {
	Name     string            `toml:"name"`
	Version  string            `toml:"version"`
	Actors   map[string]string `toml:"actors"`
	Requires map[string]string `toml:"requires"`
}

var (
	namePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_\-]*$`)
	// httpHostPattern is an http_hosts entry: a host name or an IPv4 or
	// bracketed IPv6 address, with a port, or *. in front of a name.
	httpHostPattern = regexp.MustCompile(`^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$`)
	modulePattern   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)
)

// ErrBadManifest reports a manifest that cannot be used.
var ErrBadManifest = errors.New("bad package manifest")

// ParseManifest reads and checks a manifest.
func ParseManifest(data []byte) (*Manifest, error) {
	var m Manifest
	md, err := toml.Decode(string(data), &m)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadManifest, err)
	}
	if undec := md.Undecoded(); len(undec) > 0 {
		return nil, fmt.Errorf("%w: unknown key %q", ErrBadManifest, undec[0].String())
	}
	if !namePattern.MatchString(m.Name) {
		return nil, fmt.Errorf("%w: name %q must start with a letter and hold only letters, digits, _ and -", ErrBadManifest, m.Name)
	}
	if v, err := ParseVersion(m.Version); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadManifest, err)
	} else if v.String() != m.Version {
		return nil, fmt.Errorf("%w: version %q must be written X.Y.Z (as %q)", ErrBadManifest, m.Version, v.String())
	}
	if len(m.Actors) == 0 {
		return nil, fmt.Errorf("%w: [actors] names no class", ErrBadManifest)
	}
	for class, module := range m.Actors {
		if !modulePattern.MatchString(module) {
			return nil, fmt.Errorf("%w: module %q of class %s is not a dotted Lua module name", ErrBadManifest, module, class)
		}
	}
	return &m, nil
}

// LoadManifest reads the manifest at the root of fsys.
func LoadManifest(fsys fs.FS) (*Manifest, error) {
	data, err := fs.ReadFile(fsys, ManifestFile)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadManifest, err)
	}
	return ParseManifest(data)
}

// ModulePath returns the file of a module: "a.b" is "a/b.lua".
func ModulePath(module string) string {
	return strings.ReplaceAll(module, ".", "/") + ".lua"
}

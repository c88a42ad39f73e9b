package repo

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Version is a semantic version X.Y.Z.
type Version struct{ Major, Minor, Patch int }

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// Compare returns -1, 0 or +1.
func (v Version) Compare(w Version) int {
	for _, d := range [3]int{v.Major - w.Major, v.Minor - w.Minor, v.Patch - w.Patch} {
		if d != 0 {
			if d < 0 {
				return -1
			}
			return 1
		}
	}
	return 0
}

// ParseVersion reads "X.Y.Z", also with a leading "v".
func ParseVersion(s string) (Version, error) {
	parts := strings.Split(strings.TrimPrefix(s, "v"), ".")
	if len(parts) != 3 {
		return Version{}, fmt.Errorf("version %q is not of the form X.Y.Z", s)
	}
	var n [3]int
	for i, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil || x < 0 || strings.TrimLeft(p, "0123456789") != "" || len(p) > 9 {
			return Version{}, fmt.Errorf("version %q is not of the form X.Y.Z", s)
		}
		n[i] = x
	}
	return Version{n[0], n[1], n[2]}, nil
}

// Requirement is a parsed requires_dist: a package name and an optional
// exact version ("name" or "name==X.Y.Z").
type Requirement struct {
	Name    string
	Version *Version // nil: the highest available
}

func (r Requirement) String() string {
	if r.Version == nil {
		return r.Name
	}
	return r.Name + "==" + r.Version.String()
}

// ErrBadRequirement reports a requires_dist that cannot be parsed.
var ErrBadRequirement = errors.New("bad requirement")

// ParseRequirement reads "name" or "name==X.Y.Z".
func ParseRequirement(s string) (Requirement, error) {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "<>!~,"); i >= 0 || strings.Count(s, "=") > 2 || (strings.Contains(s, "=") && !strings.Contains(s, "==")) {
		return Requirement{}, fmt.Errorf("%w: %q: only \"package\" and \"package==X.Y.Z\" are supported in this version", ErrBadRequirement, s)
	}
	name, ver, exact := strings.Cut(s, "==")
	name = strings.TrimSpace(name)
	if !namePattern.MatchString(name) {
		return Requirement{}, fmt.Errorf("%w: %q: want \"package\" or \"package==X.Y.Z\"", ErrBadRequirement, s)
	}
	if !exact {
		if strings.ContainsAny(name, "<>=!~,") {
			return Requirement{}, fmt.Errorf("%w: %q: only == constraints are supported", ErrBadRequirement, s)
		}
		return Requirement{Name: name}, nil
	}
	v, err := ParseVersion(strings.TrimSpace(ver))
	if err != nil {
		return Requirement{}, fmt.Errorf("%w: %q: %v", ErrBadRequirement, s, err)
	}
	return Requirement{Name: name, Version: &v}, nil
}

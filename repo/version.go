package repo

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
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

// semver returns v as a Masterminds semantic version.
func (v Version) semver() *semver.Version {
	return semver.New(uint64(v.Major), uint64(v.Minor), uint64(v.Patch), "", "")
}

// Requirement is a parsed requires_dist or [requires] entry: a package name
// and an optional constraint on its version ("name", "name==1.2.0",
// "name>=1.0,<2", "name~=1.4", "name!=1.3.0").
type Requirement struct {
	Name       string
	Constraint string // as written, "" for any version
	check      *semver.Constraints
}

func (r Requirement) String() string { return r.Name + strings.ReplaceAll(r.Constraint, " ", "") }

// Allows reports whether v satisfies the constraint.
func (r Requirement) Allows(v Version) bool {
	return r.check == nil || r.check.Check(v.semver())
}

// Exact returns the version of an "==X.Y.Z" requirement.
func (r Requirement) Exact() (Version, bool) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(r.Constraint), "==")
	if !ok || strings.ContainsAny(spec, ",<>=!~") {
		return Version{}, false
	}
	v, err := ParseVersion(strings.TrimSpace(spec))
	return v, err == nil
}

// ErrBadRequirement reports a requirement that cannot be parsed.
var ErrBadRequirement = errors.New("bad requirement")

const requirementHelp = `want "package", or "package" followed by constraints such as ==1.2.0, >=1.0,<2.0, ~=1.4 or !=1.3.0`

// ParseRequirement reads "name" followed by an optional constraint: one or
// more comma-separated clauses, each an operator (==, !=, >=, <=, >, <, ~=)
// and a version X.Y.Z or X.Y.
func ParseRequirement(s string) (Requirement, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexAny(s, "=<>!~, ")
	name, spec := s, ""
	if i >= 0 {
		name, spec = s[:i], strings.TrimSpace(s[i:])
	}
	if !namePattern.MatchString(name) {
		return Requirement{}, fmt.Errorf("%w: %q: %s", ErrBadRequirement, s, requirementHelp)
	}
	return NewRequirement(name, spec)
}

// NewRequirement makes a requirement from a name and a constraint as
// written in a manifest's [requires] ("" or "*": any version).
func NewRequirement(name, spec string) (Requirement, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" || spec == "*" {
		return Requirement{Name: name}, nil
	}
	var clauses []string
	for _, c := range strings.Split(spec, ",") {
		c = strings.TrimSpace(c)
		op := strings.TrimRight(c, "0123456789. ")
		ver := strings.TrimSpace(c[len(op):])
		op = strings.TrimSuffix(strings.TrimSpace(op), "v") // ==v1.2.0 as a tag is written
		op = strings.TrimSpace(op)
		parts := strings.Split(ver, ".")
		if ver == "" || len(parts) > 3 {
			return Requirement{}, fmt.Errorf("%w: %s%s: clause %q: %s", ErrBadRequirement, name, spec, c, requirementHelp)
		}
		for _, p := range parts {
			if p == "" {
				return Requirement{}, fmt.Errorf("%w: %s%s: clause %q: %s", ErrBadRequirement, name, spec, c, requirementHelp)
			}
		}
		switch op {
		case "==":
			clauses = append(clauses, "="+ver)
		case "!=", ">=", "<=", ">", "<":
			clauses = append(clauses, op+ver)
		case "~=":
			// Python's compatible release: ~=1.4.2 is >=1.4.2,<1.5; ~=1.4 is >=1.4,<2.
			if len(parts) < 2 {
				return Requirement{}, fmt.Errorf("%w: %s%s: ~= needs at least X.Y", ErrBadRequirement, name, spec)
			}
			if len(parts) == 3 {
				clauses = append(clauses, "~"+ver)
			} else {
				major, _ := strconv.Atoi(parts[0])
				clauses = append(clauses, ">="+ver, fmt.Sprintf("<%d.0.0", major+1))
			}
		default:
			return Requirement{}, fmt.Errorf("%w: %s%s: clause %q has no operator: %s", ErrBadRequirement, name, spec, c, requirementHelp)
		}
	}
	check, err := semver.NewConstraint(strings.Join(clauses, ", "))
	if err != nil {
		return Requirement{}, fmt.Errorf("%w: %s%s: %v", ErrBadRequirement, name, spec, err)
	}
	return Requirement{Name: name, Constraint: spec, check: check}, nil
}

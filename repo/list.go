package repo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"
)

// List is a repo list (config/repos.toml): the Git repositories packages
// come from and the tags that may be used.
//
//	[[package]]
//	name = "counter"
//	url  = "https://git.example.org/team/counter.git"
//	tags = ["v1.0.0", "v2.0.0"]
//	admin = ["create_actor"]        # optional: admin commands its actors may send
//	services = ["kv"]               # optional: Go services its actors may require
//	http_hosts = ["api.example.org"] # optional: what the service "http" may reach
//	[package.auth]                  # optional, for private repositories
//	username = "me"
//	password_file = "secrets/counter.token"
type List struct {
	Packages []Entry `toml:"package"`
	path     string
}

// Entry is one package of a repo list.
type Entry struct {
	Name string   `toml:"name"`
	URL  string   `toml:"url"`
	Tags []string `toml:"tags"`
	Auth *Auth    `toml:"auth"`
	// Admin grants the package's actors admin commands they may not send
	// otherwise (host.GrantableCommands; "all" for every one). The engine
	// gives them meaning; the list only keeps them.
	Admin []string `toml:"admin"`
	// Services grants the package's actors the Go services of these
	// names (require "<name>"; luart.Services). None by default.
	Services []string `toml:"services"`
	// HTTPHosts are the hosts the package's actors may reach with the
	// service "http" (when Services grants it): "api.example.org" (any
	// port), "api.example.org:8443", "*.example.org" (its subdomains).
	HTTPHosts []string `toml:"http_hosts"`
	// Path names a development package: a local directory (relative to
	// the list's) used as it is now, instead of a Git URL and tags. It is
	// never locked; a running system reloads its actors when its files
	// change (docs/packages.md, "Development packages").
	Path string `toml:"path"`

	versions map[Version]string // version → tag
}

// Auth holds the credentials of a private repository. Secrets are read
// from files (or given inline); they are never logged.
type Auth struct {
	Username             string `toml:"username"`
	Password             string `toml:"password"`
	PasswordFile         string `toml:"password_file"`
	Token                string `toml:"token"`
	TokenFile            string `toml:"token_file"`
	SSHKey               string `toml:"ssh_key"`
	SSHKeyPassphraseFile string `toml:"ssh_key_passphrase_file"`
}

// ErrBadList reports a repo list that cannot be used.
var ErrBadList = errors.New("bad repo list")

// LoadList reads a repo list. A missing file is an empty list. Relative
// local paths (in url and auth) are relative to the file's directory.
func LoadList(path string) (*List, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &List{path: path}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read repo list: %w", err)
	}
	return ParseList(data, path)
}

// ParseList reads a repo list from data; path is used in errors and to
// resolve relative paths.
func ParseList(data []byte, path string) (*List, error) {
	l := &List{path: path}
	md, err := toml.Decode(string(data), l)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadList, path, err)
	}
	if undec := md.Undecoded(); len(undec) > 0 {
		key := undec[0].String()
		return nil, fmt.Errorf("%w: %s: line %d: unknown key %q", ErrBadList, path, lineOf(data, lastPart(key)), key)
	}
	dir := filepath.Dir(path)
	seen := map[string]bool{}
	for i := range l.Packages {
		e := &l.Packages[i]
		where := func() string {
			if e.Name != "" {
				return fmt.Sprintf("%s: line %d: package %q", path, lineOf(data, `"`+e.Name+`"`), e.Name)
			}
			return fmt.Sprintf("%s: package #%d", path, i+1)
		}
		switch {
		case !namePattern.MatchString(e.Name):
			return nil, fmt.Errorf("%w: %s: name must start with a letter and hold only letters, digits, _ and -", ErrBadList, where())
		case seen[e.Name]:
			return nil, fmt.Errorf("%w: %s: line %d: package %q is listed twice", ErrBadList, path, nthLineOf(data, `"`+e.Name+`"`, 2), e.Name)
		case e.Path != "" && (e.URL != "" || len(e.Tags) > 0 || e.Auth != nil):
			return nil, fmt.Errorf("%w: %s has a path (a development package) and a url, tags or auth: give one or the other", ErrBadList, where())
		case e.Path != "":
		case e.URL == "":
			return nil, fmt.Errorf("%w: %s has no url (or a path, for a development package)", ErrBadList, where())
		case len(e.Tags) == 0:
			return nil, fmt.Errorf("%w: %s pins no tags (tags = [\"v1.0.0\"])", ErrBadList, where())
		}
		for _, g := range e.Admin {
			if !namePattern.MatchString(g) {
				return nil, fmt.Errorf("%w: %s: admin grants %q, which is not a command name", ErrBadList, where(), g)
			}
		}
		for _, h := range e.HTTPHosts {
			if !httpHostPattern.MatchString(h) {
				return nil, fmt.Errorf("%w: %s: http_hosts names %q, which is not a host (a name or IP, with :port or *. in front if need be; no scheme or path)", ErrBadList, where(), h)
			}
		}
		for _, g := range e.Services {
			if !namePattern.MatchString(g) {
				return nil, fmt.Errorf("%w: %s: services grants %q, which is not a service name (a letter, then letters, digits, _ and -)", ErrBadList, where(), g)
			}
		}
		seen[e.Name] = true
		e.versions = make(map[Version]string, len(e.Tags))
		for _, tag := range e.Tags {
			v, err := ParseVersion(tag)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: line %d: tag %q is not a version tag vX.Y.Z", ErrBadList, path, lineOf(data, `"`+tag+`"`), tag)
			}
			if other, dup := e.versions[v]; dup {
				return nil, fmt.Errorf("%w: %s: tags %q and %q are the same version", ErrBadList, where(), other, tag)
			}
			e.versions[v] = tag
		}
		if e.Path != "" && !filepath.IsAbs(e.Path) {
			e.Path = filepath.Join(dir, e.Path)
		}
		e.URL = localURL(dir, e.URL)
		if a := e.Auth; a != nil {
			for _, p := range []*string{&a.PasswordFile, &a.TokenFile, &a.SSHKey, &a.SSHKeyPassphraseFile} {
				if *p != "" && !filepath.IsAbs(*p) {
					*p = filepath.Join(dir, *p)
				}
			}
		}
	}
	return l, nil
}

// localURL makes a relative local path absolute; URLs are kept.
func localURL(dir, u string) string {
	if strings.Contains(u, "://") || filepath.IsAbs(u) || strings.Contains(u, "@") {
		return u
	}
	return filepath.Join(dir, u)
}

func lastPart(key string) string {
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		return key[i+1:]
	}
	return key
}

// lineOf returns the first line holding s, or 0.
func lineOf(data []byte, s string) int { return nthLineOf(data, s, 1) }

// nthLineOf returns the n-th line holding s, or 0.
func nthLineOf(data []byte, s string, n int) int {
	for i, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, s) {
			if n--; n == 0 {
				return i + 1
			}
		}
	}
	return 0
}

// Entry returns the entry of a package, or nil.
func (l *List) Entry(name string) *Entry {
	for i := range l.Packages {
		if l.Packages[i].Name == name {
			return &l.Packages[i]
		}
	}
	return nil
}

// Versions returns the pinned versions of the entry, highest first.
func (e *Entry) Versions() []Version {
	vs := make([]Version, 0, len(e.versions))
	for v := range e.versions {
		vs = append(vs, v)
	}
	sortVersionsDesc(vs)
	return vs
}

// Tag returns the tag pinned for version v.
func (e *Entry) Tag(v Version) (string, bool) {
	t, ok := e.versions[v]
	return t, ok
}

func sortVersionsDesc(vs []Version) {
	for i := 1; i < len(vs); i++ {
		for j := i; j > 0 && vs[j].Compare(vs[j-1]) > 0; j-- {
			vs[j], vs[j-1] = vs[j-1], vs[j]
		}
	}
}

// RedactURL removes credentials written into a URL, for logs and errors.
func RedactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	if at := strings.LastIndexByte(strings.SplitN(rest, "/", 2)[0], '@'); at >= 0 {
		rest = rest[at+1:]
	}
	return scheme + "://" + rest
}

package repo_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/peacepie/peacepie/repo"
)

func TestParseManifest(t *testing.T) {
	good := []struct {
		name string
		text string
		want repo.Manifest
	}{
		{
			name: "full",
			text: `
# a comment
name = "peacepie_example"
version = "0.2.0"

[actors]
HelloWorld = "hello_world"
Nested = "sub.nested"

[requires]
other = ">=1.0.0"
`,
			want: repo.Manifest{
				Name:     "peacepie_example",
				Version:  "0.2.0",
				Actors:   map[string]string{"HelloWorld": "hello_world", "Nested": "sub.nested"},
				Requires: map[string]string{"other": ">=1.0.0"},
			},
		},
		{
			name: "v prefix and dashes",
			text: "name = \"my-pkg_2\"\nversion = \"10.20.30\"\n[actors]\nA = \"_private.mod_1\"\n",
			want: repo.Manifest{Name: "my-pkg_2", Version: "10.20.30", Actors: map[string]string{"A": "_private.mod_1"}},
		},
	}
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			m, err := repo.ParseManifest([]byte(tt.text))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*m, tt.want) {
				t.Fatalf("got %+v, want %+v", *m, tt.want)
			}
		})
	}

	const actors = "\n[actors]\nA = \"a\"\n"
	bad := []struct {
		name string
		text string
		want string // part of the error
	}{
		{"empty", ``, "name"},
		{"missing name", `version = "1.0.0"` + actors, "name"},
		{"empty name", `name = ""` + "\n" + `version = "1.0.0"` + actors, "name"},
		{"name starting with a digit", `name = "1pkg"` + "\n" + `version = "1.0.0"` + actors, "1pkg"},
		{"name with a dot", `name = "a.b"` + "\n" + `version = "1.0.0"` + actors, "a.b"},
		{"name with a space", `name = "a b"` + "\n" + `version = "1.0.0"` + actors, "a b"},
		{"missing version", `name = "p"` + actors, "version"},
		{"two-part version", `name = "p"` + "\n" + `version = "1.0"` + actors, "1.0"},
		{"word version", `name = "p"` + "\n" + `version = "latest"` + actors, "latest"},
		{"negative version", `name = "p"` + "\n" + `version = "1.-1.0"` + actors, "1.-1.0"},
		{"pre-release version", `name = "p"` + "\n" + `version = "1.0.0-beta"` + actors, "1.0.0-beta"},
		{"version with a v", `name = "p"` + "\n" + `version = "v1.0.0"` + actors, "X.Y.Z"},
		{"version with leading zeros", `name = "p"` + "\n" + `version = "01.0.0"` + actors, "X.Y.Z"},
		{"numeric version", `name = "p"` + "\n" + `version = 1` + actors, "version"},
		{"no actors section", `name = "p"` + "\n" + `version = "1.0.0"`, "actors"},
		{"empty actors", `name = "p"` + "\n" + `version = "1.0.0"` + "\n[actors]\n", "actors"},
		{"module with a dash", `name = "p"` + "\n" + `version = "1.0.0"` + "\n[actors]\nA = \"bad-name\"\n", "bad-name"},
		{"module with a slash", `name = "p"` + "\n" + `version = "1.0.0"` + "\n[actors]\nA = \"a/b\"\n", "a/b"},
		{"module with a file suffix", `name = "p"` + "\n" + `version = "1.0.0"` + "\n[actors]\nA = \"a.lua.\"\n", "a.lua."},
		{"module with a double dot", `name = "p"` + "\n" + `version = "1.0.0"` + "\n[actors]\nA = \"a..b\"\n", "a..b"},
		{"module going up", `name = "p"` + "\n" + `version = "1.0.0"` + "\n[actors]\nA = \"..a\"\n", "..a"},
		{"module starting with a digit", `name = "p"` + "\n" + `version = "1.0.0"` + "\n[actors]\nA = \"1mod\"\n", "1mod"},
		{"empty module", `name = "p"` + "\n" + `version = "1.0.0"` + "\n[actors]\nA = \"\"\n", "module"},
		{"unknown top-level key", `name = "p"` + "\n" + `version = "1.0.0"` + "\n" + `author = "me"` + actors, "author"},
		{"unknown section", `name = "p"` + "\n" + `version = "1.0.0"` + actors + "[extras]\nx = 1\n", "extras"},
		{"module not a string", `name = "p"` + "\n" + `version = "1.0.0"` + "\n[actors]\nA = 1\n", ""},
		{"toml syntax error", `name = "p`, ""},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			m, err := repo.ParseManifest([]byte(tt.text))
			if err == nil {
				t.Fatalf("ParseManifest accepted %q: %+v", tt.text, *m)
			}
			if !errors.Is(err, repo.ErrBadManifest) {
				t.Fatalf("error %v is not ErrBadManifest", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestLoadManifest(t *testing.T) {
	fsys := fstest.MapFS{"peacepie.toml": {Data: []byte("name = \"p\"\nversion = \"1.0.0\"\n[actors]\nA = \"a\"\n")}}
	m, err := repo.LoadManifest(fsys)
	if err != nil || m.Name != "p" {
		t.Fatalf("LoadManifest: %+v, %v", m, err)
	}
	if _, err := repo.LoadManifest(fstest.MapFS{"other.toml": {Data: []byte("x")}}); !errors.Is(err, repo.ErrBadManifest) {
		t.Fatalf("LoadManifest without a manifest: %v, want ErrBadManifest", err)
	}
}

func TestModulePath(t *testing.T) {
	for in, want := range map[string]string{"a": "a.lua", "a.b": "a/b.lua", "x.y.z": "x/y/z.lua"} {
		if got := repo.ModulePath(in); got != want {
			t.Errorf("ModulePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseVersion(t *testing.T) {
	good := []struct {
		in   string
		want repo.Version
	}{
		{"0.0.0", repo.Version{}},
		{"1.2.3", repo.Version{Major: 1, Minor: 2, Patch: 3}},
		{"v1.2.3", repo.Version{Major: 1, Minor: 2, Patch: 3}},
		{"10.20.300", repo.Version{Major: 10, Minor: 20, Patch: 300}},
	}
	for _, tt := range good {
		t.Run(tt.in, func(t *testing.T) {
			v, err := repo.ParseVersion(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if v != tt.want {
				t.Fatalf("got %+v, want %+v", v, tt.want)
			}
			if want := strings.TrimPrefix(tt.in, "v"); v.String() != want {
				t.Fatalf("String() = %q, want %q", v.String(), want)
			}
		})
	}
	for _, in := range []string{"", "1", "1.2", "1.2.3.4", "a.b.c", "1.2.x", "1.-2.3", "-1.2.3", "1.2.3-rc1", "1.2.3+build", "1..3", "vv1.2.3", "V1.2.3", " 1.2.3", "1.2.3 "} {
		t.Run("bad "+in, func(t *testing.T) {
			if v, err := repo.ParseVersion(in); err == nil {
				t.Fatalf("ParseVersion(%q) = %v, want an error", in, v)
			}
		})
	}
}

// TestParseVersionRejectsSigns: the parts of X.Y.Z are plain digits, but
// strconv.Atoi also accepts a leading "+", so "1.+2.3" is read as 1.2.3.
func TestParseVersionRejectsSigns(t *testing.T) {
	for _, in := range []string{"+1.2.3", "1.+2.3", "1.2.+3"} {
		if v, err := repo.ParseVersion(in); err == nil {
			t.Errorf("ParseVersion(%q) = %v, want an error: a version part is digits only", in, v)
		}
	}
}

func TestVersionCompare(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.0.0", "1.0.0", 0},
		{"1.0.0", "2.0.0", -1},
		{"2.0.0", "1.9.9", 1},
		{"1.2.0", "1.10.0", -1}, // numeric, not lexical
		{"1.10.0", "1.9.0", 1},
		{"1.0.9", "1.0.10", -1},
		{"0.0.1", "0.0.0", 1},
		{"v1.2.3", "1.2.3", 0},
	}
	for _, tt := range tests {
		t.Run(tt.a+" vs "+tt.b, func(t *testing.T) {
			a, err := repo.ParseVersion(tt.a)
			if err != nil {
				t.Fatal(err)
			}
			b, err := repo.ParseVersion(tt.b)
			if err != nil {
				t.Fatal(err)
			}
			if got := a.Compare(b); got != tt.want {
				t.Fatalf("Compare = %d, want %d", got, tt.want)
			}
			if got := b.Compare(a); got != -tt.want {
				t.Fatalf("reverse Compare = %d, want %d", got, -tt.want)
			}
		})
	}
}

func TestParseRequirement(t *testing.T) {
	good := []struct {
		in       string
		name     string
		allows   []string
		disallow []string
	}{
		{"pkg", "pkg", []string{"0.0.1", "9.9.9"}, nil},
		{"my-pkg", "my-pkg", []string{"1.0.0"}, nil},
		{"pkg==1.2.3", "pkg", []string{"1.2.3"}, []string{"1.2.4", "1.2.2"}},
		{"  pkg == 1.2.3  ", "pkg", []string{"1.2.3"}, []string{"1.3.0"}},
		{"pkg>=1.0,<2.0", "pkg", []string{"1.0.0", "1.9.9"}, []string{"0.9.9", "2.0.0"}},
		{"pkg>1.0.0, <=1.5.0", "pkg", []string{"1.0.1", "1.5.0"}, []string{"1.0.0", "1.5.1"}},
		{"pkg~=1.4", "pkg", []string{"1.4.0", "1.9.0"}, []string{"1.3.9", "2.0.0"}},
		{"pkg~=1.4.2", "pkg", []string{"1.4.2", "1.4.9"}, []string{"1.4.1", "1.5.0"}},
		{"pkg!=1.3.0", "pkg", []string{"1.2.0", "1.4.0"}, []string{"1.3.0"}},
	}
	for _, tt := range good {
		t.Run(tt.in, func(t *testing.T) {
			r, err := repo.ParseRequirement(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if r.Name != tt.name {
				t.Fatalf("name %q, want %q", r.Name, tt.name)
			}
			for _, v := range tt.allows {
				if !r.Allows(mustVersion(t, v)) {
					t.Errorf("%s does not allow %s", tt.in, v)
				}
			}
			for _, v := range tt.disallow {
				if r.Allows(mustVersion(t, v)) {
					t.Errorf("%s allows %s", tt.in, v)
				}
			}
		})
	}
	if v, ok := mustRequirement(t, "pkg==1.2.3").Exact(); !ok || v.String() != "1.2.3" {
		t.Errorf("Exact of pkg==1.2.3 = %v %v", v, ok)
	}
	if _, ok := mustRequirement(t, "pkg>=1.2.3").Exact(); ok {
		t.Errorf("pkg>=1.2.3 is exact")
	}
	bad := []string{"", "   ", "pkg=1.0.0", "==1.0.0", "pkg==", "pkg==latest", "pkg==1.0.0==2.0.0", "1pkg",
		"a.b", "pkg 1.0.0", "pkg[extra]", "pkg~=1", "pkg>=1.0.0.0", "pkg>=,<2"}
	for _, in := range bad {
		t.Run("bad "+in, func(t *testing.T) {
			r, err := repo.ParseRequirement(in)
			if err == nil {
				t.Fatalf("ParseRequirement(%q) = %+v, want an error", in, r)
			}
			if !errors.Is(err, repo.ErrBadRequirement) {
				t.Fatalf("error %v is not ErrBadRequirement", err)
			}
		})
	}
}

func mustVersion(t *testing.T, s string) repo.Version {
	t.Helper()
	v, err := repo.ParseVersion(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustRequirement(t *testing.T, s string) repo.Requirement {
	t.Helper()
	r, err := repo.ParseRequirement(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func pkgTree(name, version string) fstest.MapFS {
	return fstest.MapFS{
		"peacepie.toml": {Data: []byte("name = \"" + name + "\"\nversion = \"" + version + "\"\n[actors]\nA = \"a\"\n")},
		"a.lua":         {Data: []byte("return {}\n")},
	}
}

func TestEmbeddedFind(t *testing.T) {
	e, err := repo.NewEmbedded(
		pkgTree("alpha", "1.2.0"),
		pkgTree("alpha", "1.10.0"),
		pkgTree("alpha", "1.9.3"),
		pkgTree("beta", "0.1.0"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Add(pkgTree("alpha", "0.5.0")); err != nil {
		t.Fatal(err)
	}
	find := func(s string) (*repo.Package, error) {
		r, err := repo.ParseRequirement(s)
		if err != nil {
			t.Fatal(err)
		}
		return e.Find(context.Background(), r)
	}
	tests := []struct {
		req     string
		version string
	}{
		{"alpha", "1.10.0"}, // the highest, compared as numbers
		{"alpha==1.2.0", "1.2.0"},
		{"alpha==1.9.3", "1.9.3"},
		{"alpha==0.5.0", "0.5.0"},
		{"alpha==v1.10.0", "1.10.0"},
		{"beta", "0.1.0"},
	}
	for _, tt := range tests {
		t.Run(tt.req, func(t *testing.T) {
			p, err := find(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if p.Manifest.Name != strings.SplitN(tt.req, "==", 2)[0] || p.Manifest.Version != tt.version {
				t.Fatalf("found %s, want version %s", p.ID(), tt.version)
			}
			if p.Files == nil {
				t.Fatal("the package has no files")
			}
			if _, err := p.Files.Open("a.lua"); err != nil {
				t.Fatalf("the package's files: %v", err)
			}
		})
	}
	missing := []struct {
		req  string
		want []string // parts of the error
	}{
		{"gamma", []string{`"gamma"`, "alpha", "beta"}},
		{"alpha==2.0.0", []string{"alpha==2.0.0", "1.2.0", "1.10.0", "1.9.3"}},
		{"beta==0.1.1", []string{"beta==0.1.1", "0.1.0"}},
	}
	for _, tt := range missing {
		t.Run("missing "+tt.req, func(t *testing.T) {
			p, err := find(tt.req)
			if err == nil {
				t.Fatalf("found %s", p.ID())
			}
			if !errors.Is(err, repo.ErrNoPackage) {
				t.Fatalf("error %v is not ErrNoPackage", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestEmbeddedBadTree(t *testing.T) {
	bad := fstest.MapFS{"peacepie.toml": {Data: []byte("name = \"p\"\n")}}
	if _, err := repo.NewEmbedded(pkgTree("ok", "1.0.0"), bad); !errors.Is(err, repo.ErrBadManifest) {
		t.Fatalf("NewEmbedded with a bad manifest: %v, want ErrBadManifest", err)
	}
	e, err := repo.NewEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Add(fstest.MapFS{}); !errors.Is(err, repo.ErrBadManifest) {
		t.Fatalf("Add of a tree without a manifest: %v, want ErrBadManifest", err)
	}
	if _, err := e.Find(context.Background(), repo.Requirement{Name: "p"}); !errors.Is(err, repo.ErrNoPackage) {
		t.Fatalf("Find in an empty source: %v", err)
	}
}

func TestEmbeddedConcurrent(t *testing.T) {
	e, err := repo.NewEmbedded(pkgTree("p", "1.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 50; i++ {
			if err := e.Add(pkgTree("q", "1.0."+string(rune('0'+i%10)))); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := 0; i < 50; i++ {
		if _, err := e.Find(context.Background(), repo.Requirement{Name: "p"}); err != nil {
			t.Fatal(err)
		}
		_, _ = e.Find(context.Background(), repo.Requirement{Name: "q"})
	}
	<-done
}

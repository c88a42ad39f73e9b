package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const (
	luaModule  = "github.com/yuin/gopher-lua"
	luaVersion = "v1.1.2"
	luaSum     = "h1:yF/FjE3hD65tBbt0VXLE13HWS9h34fdzJmrWRXwobGA=" // go.sum's
	repoDir    = "../../third_party/gopher-lua"
)

// TestHashDir checks hashDir against the go command's checksum of a real module.
func TestHashDir(t *testing.T) {
	dir, sum, err := download(context.Background(), luaModule, luaVersion)
	if err != nil {
		t.Fatal(err)
	}
	if sum != luaSum {
		t.Errorf("go mod download says %s, want %s", sum, luaSum)
	}
	got, err := hashDir(dir, luaModule+"@"+luaVersion)
	if err != nil {
		t.Fatal(err)
	}
	if got != sum || got != luaSum {
		t.Errorf("hashDir = %s, the go command says %s, go.sum %s", got, sum, luaSum)
	}
	if other, _ := hashDir(dir, luaModule+"@v1.1.1"); other == got {
		t.Error("hashDir ignores its prefix")
	}
}

func TestHashDirSeesContentAndNames(t *testing.T) {
	base := map[string]string{"a.go": "package a\n", "sub/b.go": "package b\n"}
	hash := func(files map[string]string) string {
		t.Helper()
		dir := t.TempDir()
		writeFiles(t, dir, files)
		h, err := hashDir(dir, "example.com/m@v1.0.0")
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	h := hash(base)
	if again := hash(base); again != h {
		t.Errorf("the same files hash to %s and %s", h, again)
	}
	for name, files := range map[string]map[string]string{
		"content": {"a.go": "package a \n", "sub/b.go": "package b\n"},
		"name":    {"a.go": "package a\n", "sub/c.go": "package b\n"},
		"a file":  {"a.go": "package a\n", "sub/b.go": "package b\n", "c": ""},
	} {
		if hash(files) == h {
			t.Errorf("another %s, the same hash", name)
		}
	}
}

func TestFetchVerified(t *testing.T) {
	ctx := context.Background()
	dir, err := fetchVerified(ctx, upstream{Module: luaModule, Version: luaVersion, Sum: luaSum})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "table.go")); err != nil {
		t.Errorf("fetchVerified's directory: %v", err)
	}
	wrong := "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	_, err = fetchVerified(ctx, upstream{Module: luaModule, Version: luaVersion, Sum: wrong})
	if !errors.Is(err, errChecksum) {
		t.Errorf("fetchVerified with a wrong sum: %v, want errChecksum", err)
	}
}

func TestDownloadError(t *testing.T) {
	_, _, err := download(context.Background(), luaModule, "v0.0.0-not-a-version")
	wantError(t, err, "go mod download", luaModule+"@v0.0.0-not-a-version")
}

func TestReadConf(t *testing.T) {
	dir := t.TempDir()
	conf := lines(
		"# comment",
		"module example.com/m",
		"  version   v1.2.3  ",
		"",
		"sum h1:abc=",
		"omit cmd/",
		"omit ./.github",
	)
	writeFiles(t, dir, map[string]string{confName: conf})
	u, text, err := readConf(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := upstream{Module: "example.com/m", Version: "v1.2.3", Sum: "h1:abc=", Omit: []string{"cmd", ".github"}}
	if !reflect.DeepEqual(u, want) || string(text) != conf {
		t.Errorf("readConf = %+v, %q; want %+v", u, text, want)
	}

	for name, bad := range map[string]string{
		"unknown key": conf + "replace x\n",
		"no sum":      "module example.com/m\nversion v1\n",
		"not h1":      "module example.com/m\nversion v1\nsum h2:x\n",
		"no version":  "module example.com/m\nsum h1:x\n",
	} {
		writeFiles(t, dir, map[string]string{confName: bad})
		if _, _, err := readConf(dir); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, _, err := readConf(t.TempDir()); err == nil {
		t.Error("no upstream.conf: no error")
	}
}

func TestSetVersion(t *testing.T) {
	conf := "# version and sum below\nmodule m\nversion v1\nsum h1:old=\nomit cmd"
	got := string(setVersion([]byte(conf), "v2", "h1:new="))
	want := "# version and sum below\nmodule m\nversion v2\nsum h1:new=\nomit cmd"
	if got != want {
		t.Errorf("setVersion:\n%q\nwant\n%q", got, want)
	}
}

func TestReadUpstreamOmits(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"go.mod": "module m\n", "go.sum": "", "a.go": "a", "cmd/x/main.go": "x", "cmdline.go": "c",
		"sub/go.mod": "module m/sub\n", ".github/ci.yml": "ci", "docs/a.md": "d", "docs/b.md": "d",
	})
	tr, err := readUpstream(dir, []string{"cmd", ".github", "docs/a.md"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a.go": "a", "cmdline.go": "c", "sub/go.mod": "module m/sub\n", "docs/b.md": "d"}
	if got := stringTree(tr); !reflect.DeepEqual(got, want) {
		t.Errorf("readUpstream = %q, want %q", got, want)
	}
}

// The patched package embeds the stamp, so that it does not build until
// the tool has made it.
func TestRepositoryEmbedsTheStamp(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoDir, "patched", "peacepie_patched.go"))
	if err != nil {
		t.Fatal(err)
	}
	line := `//go:embed "` + stampName + `"`
	if !strings.Contains("\n"+string(src)+"\n", "\n"+line+"\n") {
		t.Errorf("peacepie_patched.go has no line %s", line)
	}
}

// TestRepositoryPatchesApplyCleanly: our patches apply to the verified
// upstream module, each hunk where its patch says.
func TestRepositoryPatchesApplyCleanly(t *testing.T) {
	var stdout, stderr bytes.Buffer
	j := &job{dir: repoDir, stdout: &stdout, stderr: &stderr, fetch: fetchVerified}
	u, _, patches, err := j.inputs()
	if err != nil {
		t.Fatal(err)
	}
	if u.Module != luaModule || len(patches) == 0 {
		t.Fatalf("%s: module %s, %d patches", repoDir, u.Module, len(patches))
	}
	tr, err := j.build(context.Background(), u, patches)
	if err != nil {
		t.Fatal(err)
	}
	if stderr.Len() != 0 {
		t.Errorf("notes:\n%s", stderr.String())
	}
	if _, ok := tr["table.go"]; !ok {
		t.Error("no table.go in the patched tree")
	}
	for rel := range tr {
		if rel == "go.mod" || rel == "go.sum" || omitted(rel, u.Omit) {
			t.Errorf("the patched tree has %s", rel)
		}
	}
}

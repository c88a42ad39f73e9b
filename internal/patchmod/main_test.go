package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const testModule = "example.com/up"

// tableV1 is upstream's table.go at v1.0.0; patch0001 changes its line 10.
var tableV1 = lines(
	"package up",
	"",
	"// Table is a table.",
	"type Table struct {",
	"	n int",
	"}",
	"",
	"// Len returns the length.",
	"func (t *Table) Len() int {",
	"	return t.n",
	"}",
	"",
	"// Add adds one.",
	"func (t *Table) Add() {",
	"	t.n++",
	"}",
)

var patch0001 = lines(
	"Len says it is patched",
	"",
	"Why: for the tests. A header may hold anything but a file diff.",
	"",
	"diff --git a/table.go b/table.go",
	"index 1111111..2222222 100644",
	"--- a/table.go",
	"+++ b/table.go",
	"@@ -8,4 +8,4 @@ type Table struct {",
	" // Len returns the length.",
	" func (t *Table) Len() int {",
	"-	return t.n",
	"+	return t.n // patched",
	" }",
)

func patchedTable(table string) string {
	return strings.Replace(table, "\treturn t.n\n", "\treturn t.n // patched\n", 1)
}

// upstreamV1 is the fake upstream module; go.mod, go.sum and cmd/ are not copied.
func upstreamV1() map[string]string {
	return map[string]string{
		"go.mod":           "module example.com/up\n\ngo 1.21\n",
		"go.sum":           "example.com/dep v1.0.0 h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		"LICENSE":          "Do what you like.\n",
		"table.go":         tableV1,
		"util/util.go":     "package util\n\n// Double doubles.\nfunc Double(n int) int { return 2 * n }\n",
		"script.lua":       lines("-- A script.", "local a = 1", "-- old comment", "return a"),
		"cmd/tool/main.go": "package main\n\nfunc main() {}\n",
	}
}

// ours are the files of patched/ that are peacepie's and never written.
var ours = map[string]string{
	"go.mod":             "// ours\nmodule example.com/up\n\ngo 1.21\n",
	"peacepie_x_test.go": "package up\n\n// ours, kept in Git\n",
}

// A fixture is a DIR with upstream.conf, patches/ and patched/, and fake
// upstream versions that fetch and lookup serve.
type fixture struct {
	t              *testing.T
	dir            string
	versions       map[string]string // version → the upstream module's directory
	fetches        int
	stdout, stderr bytes.Buffer
	j              *job
}

func newFixture(t *testing.T, upstreamFiles map[string]string) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: t.TempDir(), versions: map[string]string{}}
	sum := f.addVersion("v1.0.0", upstreamFiles)
	writeFiles(t, f.dir, map[string]string{
		confName: lines(
			"# A test module.",
			"module "+testModule,
			"version v1.0.0",
			"sum "+sum,
			"",
			"# Not copied:",
			"omit cmd",
		),
		"patches/0001-len.patch": patch0001,
		"patches/README":         "not a patch: no .patch suffix\n",
	})
	writeFiles(t, f.patched(), ours)
	f.j = &job{
		dir:    f.dir,
		stdout: &f.stdout,
		stderr: &f.stderr,
		fetch: func(ctx context.Context, u upstream) (string, error) {
			f.fetches++
			d, ok := f.versions[u.Version]
			if !ok || u.Module != testModule {
				return "", fmt.Errorf("no %s@%s", u.Module, u.Version)
			}
			if got, err := hashDir(d, u.Module+"@"+u.Version); err != nil || got != u.Sum {
				return "", fmt.Errorf("%s@%s: %w: %s, want %s (%v)", u.Module, u.Version, errChecksum, got, u.Sum, err)
			}
			return d, nil
		},
		lookup: func(ctx context.Context, module, version string) (string, string, error) {
			d, ok := f.versions[version]
			if !ok || module != testModule {
				return "", "", fmt.Errorf("no %s@%s", module, version)
			}
			sum, err := hashDir(d, module+"@"+version)
			return d, sum, err
		},
		gitDiff: func(ctx context.Context, workdir string, out io.Writer) error {
			t.Error("gitDiff called")
			return errors.New("no git here")
		},
	}
	return f
}

// addVersion makes an upstream version and returns its h1: sum.
func (f *fixture) addVersion(version string, files map[string]string) string {
	f.t.Helper()
	d := filepath.Join(f.t.TempDir(), testModule+"@"+version)
	writeFiles(f.t, d, files)
	f.versions[version] = d
	sum, err := hashDir(d, testModule+"@"+version)
	if err != nil {
		f.t.Fatal(err)
	}
	return sum
}

func (f *fixture) patched() string { return filepath.Join(f.dir, "patched") }

func (f *fixture) read(rel string) string {
	f.t.Helper()
	data, err := os.ReadFile(filepath.Join(f.dir, filepath.FromSlash(rel)))
	if err != nil {
		f.t.Fatal(err)
	}
	return string(data)
}

func (f *fixture) write(rel, content string) {
	f.t.Helper()
	writeFiles(f.t, f.dir, map[string]string{rel: content})
}

func (f *fixture) exists(rel string) bool {
	_, err := os.Stat(filepath.Join(f.dir, filepath.FromSlash(rel)))
	return err == nil
}

func (f *fixture) materialize(force bool) {
	f.t.Helper()
	if err := f.j.materialize(context.Background(), force); err != nil {
		f.t.Fatalf("materialize(%v): %v\nstderr:\n%s", force, err, f.stderr.String())
	}
}

// snapshot returns every file under dir, by slash path.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func wantError(t *testing.T, err error, substrings ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", substrings)
	}
	for _, s := range substrings {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
}

func TestMaterialize(t *testing.T) {
	f := newFixture(t, upstreamV1())
	f.write("patched/stale.go", "package up // left from an earlier run\n")
	f.materialize(false)
	up := upstreamV1()
	want := map[string]string{
		"go.mod":             ours["go.mod"],
		"peacepie_x_test.go": ours["peacepie_x_test.go"],
		"LICENSE":            up["LICENSE"],
		"table.go":           patchedTable(tableV1),
		"util/util.go":       up["util/util.go"],
		"script.lua":         up["script.lua"],
		stampName:            "example.com/up v1.0.0 + 1 patch\n",
	}
	got := snapshot(t, f.patched())
	if _, ok := got[manifestName]; !ok {
		t.Errorf("no %s", manifestName)
	}
	delete(got, manifestName)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("patched/:\n%q\nwant\n%q", got, want)
	}
	if f.fetches != 1 {
		t.Errorf("fetched %d times, want 1", f.fetches)
	}
	if !strings.Contains(f.stderr.String(), "example.com/up v1.0.0 + 1 patch") {
		t.Errorf("stderr %q does not say what was made", f.stderr.String())
	}
	if err := f.j.check(context.Background()); err != nil {
		t.Errorf("check after materialize: %v", err)
	}
	if !strings.Contains(f.stdout.String(), "is example.com/up v1.0.0 + 1 patch") {
		t.Errorf("check's stdout %q", f.stdout.String())
	}

	// A second run finds the tree up to date and does not fetch.
	f.fetches = 0
	f.stderr.Reset()
	before := snapshot(t, f.patched())
	f.materialize(false)
	if f.fetches != 0 {
		t.Errorf("an up-to-date tree: fetched %d times", f.fetches)
	}
	if f.stderr.Len() != 0 {
		t.Errorf("an up-to-date tree: stderr %q", f.stderr.String())
	}
	if after := snapshot(t, f.patched()); !reflect.DeepEqual(after, before) {
		t.Errorf("an up-to-date tree changed")
	}
}

func TestMaterializeNotesMovedHunks(t *testing.T) {
	up := upstreamV1()
	up["table.go"] = "// Copyright\n\n" + tableV1
	f := newFixture(t, up)
	f.materialize(false)
	want := "patchmod: note: 0001-len.patch: table.go: hunk 1 (@@ -8,4 +8,4 @@ type Table struct {) applied +2 lines from where the patch says\n"
	if s := f.stderr.String(); !strings.Contains(s, want) {
		t.Errorf("stderr %q has no %q", s, want)
	}
	if got := f.read("patched/table.go"); got != patchedTable(up["table.go"]) {
		t.Errorf("table.go:\n%s", got)
	}
}

func TestMaterializeRemakesWhenTheStampIsMissing(t *testing.T) {
	f := newFixture(t, upstreamV1())
	f.materialize(false)
	if err := os.Remove(filepath.Join(f.patched(), stampName)); err != nil {
		t.Fatal(err)
	}
	f.materialize(false)
	if f.fetches != 2 || !f.exists("patched/"+stampName) {
		t.Errorf("after the stamp was removed: %d fetches, stamp there: %v", f.fetches, f.exists("patched/"+stampName))
	}
	if err := f.j.check(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestCheckUnmade(t *testing.T) {
	f := newFixture(t, upstreamV1())
	wantError(t, f.j.check(context.Background()), "is not made")
	f.materialize(false)
	f.write("patches/0002-more.patch", lines("--- a/LICENSE", "+++ b/LICENSE", "@@ -1 +1 @@", "-Do what you like.", "+Do what you like, mostly."))
	wantError(t, f.j.check(context.Background()), "was made from other patches")
}

func TestMaterializeNeedsOurGoMod(t *testing.T) {
	f := newFixture(t, upstreamV1())
	if err := os.Remove(filepath.Join(f.patched(), "go.mod")); err != nil {
		t.Fatal(err)
	}
	wantError(t, f.j.materialize(context.Background(), false), "go.mod")
	if f.fetches != 0 {
		t.Errorf("fetched %d times", f.fetches)
	}
}

func TestHandEdits(t *testing.T) {
	f := newFixture(t, upstreamV1())
	f.materialize(false)
	edited := "package util\n\n// Double doubles, by hand.\nfunc Double(n int) int { return n + n }\n"
	f.write("patched/util/util.go", edited)

	// Kept, with a note.
	f.stderr.Reset()
	f.materialize(false)
	if got := f.read("patched/util/util.go"); got != edited {
		t.Errorf("the edit was not kept: %q", got)
	}
	if s := f.stderr.String(); !strings.Contains(s, "edited by hand") || !strings.Contains(s, "util/util.go") {
		t.Errorf("no note about the edit on stderr: %q", s)
	}
	if f.fetches != 1 {
		t.Errorf("fetched %d times, want 1", f.fetches)
	}

	// -check fails and names the file.
	wantError(t, f.j.check(context.Background()), "changed util/util.go")

	// Other inputs: refused, with advice.
	f.write("patches/0002-license.patch", lines(
		"Mostly.",
		"",
		"--- a/LICENSE",
		"+++ b/LICENSE",
		"@@ -1 +1 @@",
		"-Do what you like.",
		"+Do what you like, mostly.",
	))
	err := f.j.materialize(context.Background(), false)
	wantError(t, err, "edited by hand", "util/util.go", "-diff", "-force")
	if got := f.read("patched/util/util.go"); got != edited {
		t.Errorf("a refused run changed the edited file: %q", got)
	}
	if got := f.read("patched/LICENSE"); got != upstreamV1()["LICENSE"] {
		t.Errorf("a refused run applied the new patch: %q", got)
	}

	// -force remakes.
	f.materialize(true)
	if got := f.read("patched/util/util.go"); got != upstreamV1()["util/util.go"] {
		t.Errorf("after -force: util.go %q", got)
	}
	if got := f.read("patched/LICENSE"); got != "Do what you like, mostly.\n" {
		t.Errorf("after -force: LICENSE %q", got)
	}
	if got := f.read("patched/" + stampName); got != "example.com/up v1.0.0 + 2 patches\n" {
		t.Errorf("after -force: stamp %q", got)
	}
	if err := f.j.check(context.Background()); err != nil {
		t.Errorf("check after -force: %v", err)
	}
}

func TestHandEditsAddedAndRemovedFiles(t *testing.T) {
	f := newFixture(t, upstreamV1())
	f.materialize(false)
	f.write("patched/util/extra.go", "package util\n")
	if err := os.Remove(filepath.Join(f.patched(), "LICENSE")); err != nil {
		t.Fatal(err)
	}
	f.stderr.Reset()
	f.materialize(false)
	if s := f.stderr.String(); !strings.Contains(s, "util/extra.go") || !strings.Contains(s, "LICENSE") {
		t.Errorf("the note does not name both edits: %q", s)
	}
	err := f.j.check(context.Background())
	wantError(t, err, "added   util/extra.go", "missing LICENSE")
}

func TestPatchDoesNotApply(t *testing.T) {
	f := newFixture(t, upstreamV1())
	f.materialize(false)
	before := snapshot(t, f.patched())
	f.write("patches/0002-bad.patch", lines(
		"A patch for another version.",
		"",
		"--- a/table.go",
		"+++ b/table.go",
		"@@ -13,4 +13,4 @@",
		" // Add adds one.",
		" func (t *Table) Add() {",
		"-	t.n += 2",
		"+	t.n += 3",
		" }",
	))
	for _, force := range []bool{false, true} {
		err := f.j.materialize(context.Background(), force)
		wantError(t, err, "0002-bad.patch", "table.go", "hunk 1 (@@ -13,4 +13,4 @@)", "does not apply")
		if after := snapshot(t, f.patched()); !reflect.DeepEqual(after, before) {
			t.Errorf("force %v: a failed run changed the patched tree", force)
		}
	}
}

func TestMalformedPatchFile(t *testing.T) {
	f := newFixture(t, upstreamV1())
	f.write("patches/0002-cut.patch", lines("--- a/table.go", "+++ b/table.go", "@@ -1,3 +1,3 @@", " package up"))
	err := f.j.materialize(context.Background(), false)
	wantError(t, err, "0002-cut.patch")
	if !errors.Is(err, errBadPatch) {
		t.Errorf("error %v does not wrap errBadPatch", err)
	}
	if f.exists("patched/" + stampName) {
		t.Error("a failed run left a stamp")
	}
}

func TestPatchesApplyInNameOrder(t *testing.T) {
	f := newFixture(t, upstreamV1())
	// 0002 changes what 0001 made; the other order would not apply.
	f.write("patches/0002-then.patch", lines(
		"--- a/table.go",
		"+++ b/table.go",
		"@@ -10 +10 @@",
		"-	return t.n // patched",
		"+	return t.n // patched twice",
	))
	f.materialize(false)
	if got, want := f.read("patched/table.go"), strings.Replace(tableV1, "\treturn t.n\n", "\treturn t.n // patched twice\n", 1); got != want {
		t.Errorf("table.go:\n%s\nwant\n%s", got, want)
	}
}

func TestUpstreamWithOurName(t *testing.T) {
	up := upstreamV1()
	up["peacepie_something.go"] = "package up\n"
	f := newFixture(t, up)
	err := f.j.materialize(context.Background(), false)
	wantError(t, err, "peacepie_something.go")
	if f.exists("patched/" + stampName) {
		t.Error("a failed run left a stamp")
	}
}

func TestUpstreamWithOurNameInASubdirectoryIsFine(t *testing.T) {
	up := upstreamV1()
	up["util/peacepie_util.go"] = "package util\n"
	f := newFixture(t, up)
	f.materialize(false)
	if got := f.read("patched/util/peacepie_util.go"); got != "package util\n" {
		t.Errorf("util/peacepie_util.go: %q", got)
	}
}

func TestFetchError(t *testing.T) {
	f := newFixture(t, upstreamV1())
	f.write(confName, strings.Replace(f.read(confName), "sum h1:", "sum h1:X", 1))
	err := f.j.materialize(context.Background(), false)
	if !errors.Is(err, errChecksum) {
		t.Errorf("materialize with a wrong sum: %v, want errChecksum", err)
	}
}

func TestDiffWithoutEdits(t *testing.T) {
	f := newFixture(t, upstreamV1())
	f.materialize(false)
	f.stderr.Reset()
	if err := f.j.diff(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f.stdout.Len() != 0 || !strings.Contains(f.stderr.String(), "no edits") {
		t.Errorf("stdout %q, stderr %q", f.stdout.String(), f.stderr.String())
	}
}

// TestDiffRoundTrip saves -diff's output as the next patch: the edits
// are then upstream + patches.
func TestDiffRoundTrip(t *testing.T) {
	f := newFixture(t, upstreamV1())
	f.j.gitDiff = runGitDiff
	f.materialize(false)
	table := strings.Replace(patchedTable(tableV1), "\tt.n++\n", "\tt.n += 1 // by hand\n", 1)
	script := lines("-- A script.", "local a = 1", "-- new comment", "return a")
	extra := "package util\n\n// Triple triples.\nfunc Triple(n int) int { return 3 * n }\n"
	f.write("patched/table.go", table)
	f.write("patched/script.lua", script)
	f.write("patched/util/extra.go", extra)
	if err := os.Remove(filepath.Join(f.patched(), "LICENSE")); err != nil {
		t.Fatal(err)
	}

	if err := f.j.diff(context.Background()); err != nil {
		t.Fatalf("diff: %v", err)
	}
	patch := f.stdout.String()
	if !strings.Contains(patch, "\n--- old comment\n") {
		t.Errorf("the diff has no Lua comment removed:\n%s", patch)
	}
	f.write("patches/0002-edit.patch", "Edits by hand, saved with -diff.\n\n"+patch)

	// The edits are still on disk and the inputs changed: only -force remakes.
	wantError(t, f.j.materialize(context.Background(), false), "-force")
	f.materialize(true)
	if err := f.j.check(context.Background()); err != nil {
		t.Fatalf("check: %v\npatch:\n%s", err, patch)
	}
	for rel, want := range map[string]string{"table.go": table, "script.lua": script, "util/extra.go": extra} {
		if got := f.read("patched/" + rel); got != want {
			t.Errorf("%s after the round trip:\n%q\nwant\n%q", rel, got, want)
		}
	}
	if f.exists("patched/LICENSE") {
		t.Error("LICENSE came back")
	}
	f.stdout.Reset()
	f.stderr.Reset()
	if err := f.j.diff(context.Background()); err != nil || f.stdout.Len() != 0 {
		t.Errorf("a second diff: %v, %q", err, f.stdout.String())
	}
}

// TestDiffRoundTripRename: a file moved by hand (same content) must
// survive -diff and a -force remake. git diff --no-index detects renames,
// and a rename with no other change is written without ---/+++ lines.
func TestDiffRoundTripRename(t *testing.T) {
	f := newFixture(t, upstreamV1())
	f.j.gitDiff = runGitDiff
	f.materialize(false)
	util := f.read("patched/util/util.go")
	if err := os.Rename(filepath.Join(f.patched(), "util", "util.go"), filepath.Join(f.patched(), "util", "double.go")); err != nil {
		t.Fatal(err)
	}
	table := strings.Replace(patchedTable(tableV1), "\tt.n++\n", "\tt.n += 1 // by hand\n", 1)
	f.write("patched/table.go", table)
	if err := f.j.diff(context.Background()); err != nil {
		t.Fatalf("diff: %v", err)
	}
	patch := f.stdout.String()
	f.write("patches/0002-move.patch", "Moves util.go.\n\n"+patch)
	if err := f.j.materialize(context.Background(), true); err != nil {
		t.Fatalf("materialize -force with -diff's output: %v\npatch:\n%s", err, patch)
	}
	if !f.exists("patched/util/double.go") || f.exists("patched/util/util.go") {
		t.Errorf("the move was lost: util/double.go there %v, util/util.go there %v\npatch:\n%s",
			f.exists("patched/util/double.go"), f.exists("patched/util/util.go"), patch)
	} else if got := f.read("patched/util/double.go"); got != util {
		t.Errorf("util/double.go: %q, want %q", got, util)
	}
	if got := f.read("patched/table.go"); got != table {
		t.Errorf("table.go: %q", got)
	}
}

// TestDiffRoundTripEmptyFile: an empty file added by hand must survive
// -diff and a -force remake; git writes it with no ---/+++ lines.
func TestDiffRoundTripEmptyFile(t *testing.T) {
	f := newFixture(t, upstreamV1())
	f.j.gitDiff = runGitDiff
	f.materialize(false)
	f.write("patched/testdata/empty.txt", "")
	f.write("patched/LICENSE", "Changed.\n")
	if err := f.j.diff(context.Background()); err != nil {
		t.Fatalf("diff: %v", err)
	}
	patch := f.stdout.String()
	f.write("patches/0002-empty.patch", "Adds an empty file.\n\n"+patch)
	if err := f.j.materialize(context.Background(), true); err != nil {
		t.Fatalf("materialize -force with -diff's output: %v\npatch:\n%s", err, patch)
	}
	if !f.exists("patched/testdata/empty.txt") {
		t.Errorf("the empty file was lost\npatch:\n%s", patch)
	}
}

func TestUpgrade(t *testing.T) {
	f := newFixture(t, upstreamV1())
	f.materialize(false)

	v2 := upstreamV1()
	v2["table.go"] = strings.Replace(tableV1, "package up\n", "package up\n\nimport \"fmt\"\n\nvar _ = fmt.Sprint\n", 1)
	sum2 := f.addVersion("v2.0.0", v2)
	v3 := upstreamV1()
	v3["table.go"] = strings.Replace(tableV1, "\treturn t.n\n", "\treturn int(t.n)\n", 1)
	sum3 := f.addVersion("v3.0.0", v3)
	if sum2 == sum3 || !strings.HasPrefix(sum2, "h1:") {
		t.Fatalf("sums %q %q", sum2, sum3)
	}

	f.stderr.Reset()
	if err := f.j.upgrade(context.Background(), "v2.0.0"); err != nil {
		t.Fatalf("upgrade to v2.0.0: %v\nstderr:\n%s", err, f.stderr.String())
	}
	if s := f.stderr.String(); !strings.Contains(s, "0001-len.patch: table.go: hunk 1 (@@ -8,4 +8,4 @@ type Table struct {) applied +4 lines from where the patch says") {
		t.Errorf("no note about the moved hunk: %q", s)
	}
	if s := f.stdout.String(); !strings.Contains(s, "v1.0.0 → v2.0.0") {
		t.Errorf("stdout %q", s)
	}
	conf := f.read(confName)
	if !strings.Contains(conf, "\nversion v2.0.0\n") || !strings.Contains(conf, "\nsum "+sum2+"\n") ||
		strings.Contains(conf, "v1.0.0") || !strings.Contains(conf, "# A test module.\n") || !strings.Contains(conf, "\nomit cmd\n") {
		t.Errorf("upstream.conf after the upgrade:\n%s", conf)
	}
	if got := f.read("patched/table.go"); got != patchedTable(v2["table.go"]) {
		t.Errorf("patched/table.go after the upgrade:\n%s", got)
	}
	if got := f.read("patched/" + stampName); got != "example.com/up v2.0.0 + 1 patch\n" {
		t.Errorf("stamp %q", got)
	}
	if err := f.j.check(context.Background()); err != nil {
		t.Errorf("check after the upgrade: %v", err)
	}

	// v3 changed the patched line: refused, nothing changed.
	before := snapshot(t, f.dir)
	err := f.j.upgrade(context.Background(), "v3.0.0")
	wantError(t, err, "v3.0.0", "0001-len.patch", "table.go: hunk 1", "does not apply", "unchanged")
	if after := snapshot(t, f.dir); !reflect.DeepEqual(after, before) {
		t.Errorf("a failed upgrade changed %s", f.dir)
	}
}

func TestUpgradeChecksTheSum(t *testing.T) {
	f := newFixture(t, upstreamV1())
	f.materialize(false)
	f.addVersion("v2.0.0", upstreamV1())
	lookup := f.j.lookup
	f.j.lookup = func(ctx context.Context, module, version string) (string, string, error) {
		d, _, err := lookup(ctx, module, version)
		return d, "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", err
	}
	before := f.read(confName)
	err := f.j.upgrade(context.Background(), "v2.0.0")
	if !errors.Is(err, errChecksum) {
		t.Errorf("upgrade with a wrong sum: %v, want errChecksum", err)
	}
	if f.read(confName) != before {
		t.Error("upstream.conf changed")
	}
}

func TestRun(t *testing.T) {
	tests := []struct {
		name string
		args []string
		err  string
	}{
		{"no directory", nil, "want one directory"},
		{"two directories", []string{"a", "b"}, "want one directory"},
		{"only flags", []string{"-check"}, "want one directory"},
		{"unknown flag", []string{"-frobnicate", "dir"}, "frobnicate"},
		{"-upgrade without a version", []string{"-upgrade"}, "upgrade"},
		{"no upstream.conf", []string{"-check", filepath.Join(t.TempDir(), "nothing")}, confName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, &stdout, &stderr)
			wantError(t, err, tt.err)
			if stdout.Len() != 0 {
				t.Errorf("stdout %q", stdout.String())
			}
		})
	}
}

func TestRunUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), nil, &stdout, &stderr); err == nil {
		t.Fatal("no error")
	}
	if !strings.Contains(stderr.String(), "usage:") {
		t.Errorf("no usage on stderr: %q", stderr.String())
	}
}

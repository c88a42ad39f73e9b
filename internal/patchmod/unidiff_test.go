package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// lines joins its arguments as lines, each ending in "\n".
func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

// applyOne parses a patch of exactly one file and applies it to content.
func applyOne(t *testing.T, patch, content string) (string, []int, error) {
	t.Helper()
	files, err := parsePatch([]byte(patch))
	if err != nil {
		t.Fatalf("parsePatch: %v", err)
	}
	if len(files) != 1 {
		t.Fatalf("parsePatch: %d files, want 1", len(files))
	}
	out, offsets, err := files[0].apply([]byte(content))
	return string(out), offsets, err
}

// numbered returns the lines "line from" to "line to", each with "\n".
func numbered(from, to int) []string {
	var ls []string
	for n := from; n <= to; n++ {
		ls = append(ls, "line "+itoa(n))
	}
	return ls
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// twoHunks changes line 3 and line 15 of numbered(1, 20).
var twoHunks = lines(
	"--- a/f.txt",
	"+++ b/f.txt",
	"@@ -1,6 +1,6 @@",
	" line 1",
	" line 2",
	"-line 3",
	"+LINE 3",
	" line 4",
	" line 5",
	" line 6",
	"@@ -12,7 +12,7 @@ some function",
	" line 12",
	" line 13",
	" line 14",
	"-line 15",
	"+LINE 15",
	" line 16",
	" line 17",
	" line 18",
)

func TestApply(t *testing.T) {
	plain := lines(numbered(1, 20)...)
	plainWant := strings.Replace(strings.Replace(plain, "line 3\n", "LINE 3\n", 1), "line 15\n", "LINE 15\n", 1)
	above := lines("new a", "new b") + plain
	between := lines(numbered(1, 8)...) + lines("x", "y", "z") + lines(numbered(9, 20)...)
	removedAbove := strings.Replace(plain, "line 1\n", "", 1) // the first hunk no longer matches
	tests := []struct {
		name, patch, content string
		want                 string
		offsets              []int
		err                  string // a substring of the error, "" for none
	}{
		{
			name:    "plain",
			patch:   twoHunks,
			content: plain,
			want:    plainWant,
			offsets: []int{0, 0},
		},
		{
			name:    "lines inserted above both hunks",
			patch:   twoHunks,
			content: above,
			want:    lines("new a", "new b") + plainWant,
			offsets: []int{2, 2},
		},
		{
			name:    "lines inserted between the hunks",
			patch:   twoHunks,
			content: between,
			want: strings.Replace(strings.Replace(between, "line 3\n", "LINE 3\n", 1),
				"line 15\n", "LINE 15\n", 1),
			offsets: []int{0, 3},
		},
		{
			name: "lines removed above",
			patch: lines(
				"--- a/f.txt",
				"+++ b/f.txt",
				"@@ -12,3 +12,3 @@",
				" line 12",
				"-line 13",
				"+LINE 13",
				" line 14",
			),
			content: strings.Replace(plain, "line 5\nline 6\n", "", 1),
			want:    strings.Replace(strings.Replace(plain, "line 5\nline 6\n", "", 1), "line 13\n", "LINE 13\n", 1),
			offsets: []int{-2},
		},
		{
			// The second hunk's line is in the file more than once: it
			// goes where the first hunk's move puts it.
			name: "a second hunk without context moves as the first did",
			patch: lines(
				"--- a/f",
				"+++ b/f",
				"@@ -1,3 +1,3 @@",
				" A",
				"-B",
				"+b",
				" C",
				"@@ -6 +6 @@",
				"-k",
				"+K",
			),
			content: lines("n1", "n2", "A", "B", "C", "k", "k", "k", "k", "k", "k"),
			want:    lines("n1", "n2", "A", "b", "C", "k", "k", "K", "k", "k", "k"),
			offsets: []int{2, 2},
		},
		{
			name:    "the second hunk does not match",
			patch:   twoHunks,
			content: strings.Replace(plain, "line 15\n", "line fifteen\n", 1),
			err:     "f.txt: hunk 2 (@@ -12,7 +12,7 @@ some function) does not apply",
		},
		{
			name:    "the first hunk does not match",
			patch:   twoHunks,
			content: removedAbove,
			err:     "f.txt: hunk 1 ",
		},
		{
			name: "removed Lua comments read as --- and +++ lines",
			patch: lines(
				"--- a/x.lua",
				"+++ b/x.lua",
				"@@ -1,5 +1,5 @@",
				" local a = 1",
				"--- old comment",
				"+++ new text",
				" -- a context comment",
				"--- another",
				"+-- replaced",
				" local b = 2",
			),
			content: lines("local a = 1", "-- old comment", "-- a context comment", "-- another", "local b = 2"),
			want:    lines("local a = 1", "++ new text", "-- a context comment", "-- replaced", "local b = 2"),
			offsets: []int{0},
		},
		{
			name: "no newline at the end of the old side",
			patch: lines(
				"--- a/f",
				"+++ b/f",
				"@@ -1,2 +1,2 @@",
				" a",
				"-b",
				`\ No newline at end of file`,
				"+c",
			),
			content: "a\nb",
			want:    "a\nc\n",
			offsets: []int{0},
		},
		{
			name: "no newline at the end of the new side",
			patch: lines(
				"--- a/f",
				"+++ b/f",
				"@@ -1,2 +1,2 @@",
				" a",
				"-b",
				"+c",
				`\ No newline at end of file`,
			),
			content: "a\nb\n",
			want:    "a\nc",
			offsets: []int{0},
		},
		{
			name: "no newline at the end of either side",
			patch: lines(
				"--- a/f",
				"+++ b/f",
				"@@ -1,2 +1,2 @@",
				" a",
				"-b",
				`\ No newline at end of file`,
				"+c",
				`\ No newline at end of file`,
			),
			content: "a\nb",
			want:    "a\nc",
			offsets: []int{0},
		},
		{
			name: "no newline after a context line",
			patch: lines(
				"--- a/f",
				"+++ b/f",
				"@@ -1,2 +1,2 @@",
				"-a",
				"+A",
				" b",
				`\ No newline at end of file`,
			),
			content: "a\nb",
			want:    "A\nb",
			offsets: []int{0},
		},
		{
			name: "a line without newline must match one without",
			patch: lines(
				"--- a/f",
				"+++ b/f",
				"@@ -1,2 +1,2 @@",
				" a",
				"-b",
				`\ No newline at end of file`,
				"+c",
			),
			content: "a\nb\n",
			err:     "f: hunk 1",
		},
		{
			name:    "an empty context line without its space",
			patch:   "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n\n-c\n+C\n",
			content: "a\n\nc\n",
			want:    "a\n\nC\n",
			offsets: []int{0},
		},
		{
			name: "insertion without context, after line 2",
			patch: lines(
				"--- a/f",
				"+++ b/f",
				"@@ -2,0 +3,2 @@",
				"+x",
				"+y",
			),
			content: lines("1", "2", "3"),
			want:    lines("1", "2", "x", "y", "3"),
			offsets: []int{0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, offsets, err := applyOne(t, tt.patch, tt.content)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("apply: error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("apply: %v", err)
			}
			if got != tt.want {
				t.Errorf("apply:\n%q\nwant\n%q", got, tt.want)
			}
			if !reflect.DeepEqual(offsets, tt.offsets) {
				t.Errorf("offsets %v, want %v", offsets, tt.offsets)
			}
		})
	}
}

func TestParsePatch(t *testing.T) {
	patch := lines(
		"Subject: a header, with lines that look like a diff's",
		"",
		"@@ -1,1 +1,1 @@ in the header",
		"- a list item",
		"+ another",
		"---",
		"diff --git a/one.lua b/one.lua",
		"index 0123456..789abcd 100644",
		"--- a/one.lua",
		"+++ b/one.lua",
		"@@ -1,2 +1,2 @@",
		" x = 1",
		"--- the end",
		"+++ not a header",
		"diff --git a/dir/two.go b/dir/two.go",
		"--- a/dir/two.go\t2024-01-01 00:00:00.000000000 +0000",
		"+++ b/dir/two.go\t2024-01-01 00:00:00.000000000 +0000",
		"@@ -3 +3,2 @@",
		"-old",
		"+new",
		"+more",
		"@@ -9,2 +10,0 @@",
		"-gone 1",
		"-gone 2",
		"-- ",
		"2.39.5",
	)
	files, err := parsePatch([]byte(patch))
	if err != nil {
		t.Fatal(err)
	}
	want := []filePatch{
		{oldPath: "one.lua", newPath: "one.lua", hunks: []hunk{
			{header: "@@ -1,2 +1,2 @@", oldStart: 1, old: []string{"x = 1\n", "-- the end\n"}, new: []string{"x = 1\n", "++ not a header\n"}},
		}},
		{oldPath: "dir/two.go", newPath: "dir/two.go", hunks: []hunk{
			{header: "@@ -3 +3,2 @@", oldStart: 3, old: []string{"old\n"}, new: []string{"new\n", "more\n"}},
			{header: "@@ -9,2 +10,0 @@", oldStart: 9, old: []string{"gone 1\n", "gone 2\n"}},
		}},
	}
	if !reflect.DeepEqual(files, want) {
		t.Errorf("parsePatch:\n%#v\nwant\n%#v", files, want)
	}
}

func TestParsePatchMalformed(t *testing.T) {
	tests := []struct{ name, patch string }{
		{"empty", ""},
		{"no file changes", lines("Just a description.", "", "- with a list", "+ and more")},
		{"a file without hunks", lines("--- a/f", "+++ b/f")},
		{"both sides /dev/null", lines("--- /dev/null", "+++ /dev/null", "@@ -0,0 +0,0 @@")},
		{"hunk shorter than its header", lines("--- a/f", "+++ b/f", "@@ -1,3 +1,3 @@", " a", "-b", "+c")},
		// The counts decide where a hunk ends, so the next file's --- and
		// +++ lines are read as its lines, and then the @@ line is not one.
		{"hunk shorter than its header, then another file", lines(
			"--- a/f", "+++ b/f", "@@ -1,4 +1,4 @@", " a", "-b", "+c",
			"--- a/g", "+++ b/g", "@@ -1 +1 @@", "-x", "+y")},
		{"hunk longer than its header", lines("--- a/f", "+++ b/f", "@@ -1,1 +1,2 @@", " a", " b", "+c")},
		{"bad old range", lines("--- a/f", "+++ b/f", "@@ -x,1 +1,1 @@", "-a", "+b")},
		{"bad new count", lines("--- a/f", "+++ b/f", "@@ -1,1 +1,y @@", "-a", "+b")},
		{"negative count", lines("--- a/f", "+++ b/f", "@@ -1,-1 +1,1 @@", "-a", "+b")},
		{"no closing @@", lines("--- a/f", "+++ b/f", "@@ -1,1 +1,1", "-a", "+b")},
		{"missing the new range", lines("--- a/f", "+++ b/f", "@@ -1,1 @@", "-a", "+b")},
		{"a line that is not ' ', '-' or '+'", lines("--- a/f", "+++ b/f", "@@ -1,2 +1,2 @@", " a", "*b", "+c")},
		{"no newline marker before any line", lines("--- a/f", "+++ b/f", "@@ -1,1 +1,1 @@", `\ No newline at end of file`, "-a", "+b")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files, err := parsePatch([]byte(tt.patch))
			if !errors.Is(err, errBadPatch) {
				t.Fatalf("parsePatch = %d files, error %v; want an error wrapping errBadPatch", len(files), err)
			}
		})
	}
}

func TestDiffPath(t *testing.T) {
	for in, want := range map[string]string{
		"a/table.go\n":                  "table.go",
		"b/ast/expr.go":                 "ast/expr.go",
		"a/x.go\t2024-01-01 10:00:00\n": "x.go",
		"a/with space.txt\t\n":          "with space.txt",
		"/dev/null\n":                   "",
		"/dev/null\t1970-01-01\n":       "",
		"plain.go\n":                    "plain.go",
	} {
		if got := diffPath(in); got != want {
			t.Errorf("diffPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestApplyPatchesCreateAndDelete(t *testing.T) {
	tr := tree{
		"keep.txt":  []byte("keep\n"),
		"gone.txt":  []byte("x\ny\n"),
		"moved.txt": []byte(lines(numbered(1, 10)...)),
	}
	patches := []patchFile{
		{name: "0001-create.patch", text: []byte(lines(
			"Creates new/file.go.",
			"",
			"diff --git a/new/file.go b/new/file.go",
			"new file mode 100644",
			"--- /dev/null",
			"+++ b/new/file.go",
			"@@ -0,0 +1,2 @@",
			"+package file",
			"+// new",
		))},
		{name: "0002-delete.patch", text: []byte(lines(
			"Deletes gone.txt, changes moved.txt.",
			"",
			"--- a/gone.txt",
			"+++ /dev/null",
			"@@ -1,2 +0,0 @@",
			"-x",
			"-y",
			"--- a/moved.txt",
			"+++ b/moved.txt",
			"@@ -3,3 +3,3 @@",
			" line 3",
			"-line 4",
			"+LINE 4",
			" line 5",
		))},
	}
	tr["moved.txt"] = []byte("above\n" + string(tr["moved.txt"])) // hunk moves by +1
	var notes []string
	if err := tr.applyPatches(patches, func(s string) { notes = append(notes, s) }); err != nil {
		t.Fatal(err)
	}
	want := tree{
		"keep.txt":    []byte("keep\n"),
		"new/file.go": []byte("package file\n// new\n"),
		"moved.txt":   []byte("above\n" + strings.Replace(lines(numbered(1, 10)...), "line 4\n", "LINE 4\n", 1)),
	}
	if !reflect.DeepEqual(stringTree(tr), stringTree(want)) {
		t.Errorf("tree:\n%q\nwant\n%q", stringTree(tr), stringTree(want))
	}
	wantNote := "0002-delete.patch: moved.txt: hunk 1 (@@ -3,3 +3,3 @@) applied +1 lines from where the patch says"
	if len(notes) != 1 || notes[0] != wantNote {
		t.Errorf("notes %q, want [%q]", notes, wantNote)
	}
}

func TestApplyPatchesErrors(t *testing.T) {
	tests := []struct {
		name, patch string
		err         []string // substrings of the error
		bad         bool     // errors.Is(err, errBadPatch)
	}{
		{
			name:  "creates a file upstream has",
			patch: lines("--- /dev/null", "+++ b/keep.txt", "@@ -0,0 +1 @@", "+k"),
			err:   []string{"0001-x.patch", "keep.txt", "upstream has it"},
		},
		{
			name:  "changes a file upstream does not have",
			patch: lines("--- a/nothere.txt", "+++ b/nothere.txt", "@@ -1 +1 @@", "-a", "+b"),
			err:   []string{"0001-x.patch", "nothere.txt: no such file upstream"},
		},
		{
			name:  "deletes a file but lines remain",
			patch: lines("--- a/two.txt", "+++ /dev/null", "@@ -1 +0,0 @@", "-1"),
			err:   []string{"0001-x.patch", "two.txt", "lines would remain"},
		},
		{
			name:  "a hunk that does not match",
			patch: lines("--- a/two.txt", "+++ b/two.txt", "@@ -1,2 +1,2 @@", " 1", "-3", "+4"),
			err:   []string{"0001-x.patch", "two.txt: hunk 1 (@@ -1,2 +1,2 @@) does not apply"},
		},
		{
			name:  "malformed",
			patch: lines("--- a/two.txt", "+++ b/two.txt", "@@ -1,2 +1,2 @@", " 1"),
			err:   []string{"0001-x.patch"},
			bad:   true,
		},
		{
			name:  "creates a name kept for peacepie's files",
			patch: lines("--- /dev/null", "+++ b/peacepie_mine.go", "@@ -0,0 +1 @@", "+package x"),
			err:   []string{"peacepie_mine.go"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := tree{"keep.txt": []byte("keep\n"), "two.txt": []byte("1\n2\n")}
			err := tr.applyPatches([]patchFile{{name: "0001-x.patch", text: []byte(tt.patch)}}, nil)
			if err == nil {
				t.Fatal("applyPatches succeeded, want an error")
			}
			for _, s := range tt.err {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if errors.Is(err, errBadPatch) != tt.bad {
				t.Errorf("errors.Is(%v, errBadPatch) = %v, want %v", err, !tt.bad, tt.bad)
			}
		})
	}
}

func stringTree(t tree) map[string]string {
	m := make(map[string]string, len(t))
	for k, v := range t {
		m[k] = string(v)
	}
	return m
}

// writeFiles writes files (by slash path) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		name := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// gitDiffNoIndex runs `git diff --no-index --no-prefix a b` in dir.
func gitDiffNoIndex(t *testing.T, dir string) []byte {
	t.Helper()
	cmd := exec.Command("git", "diff", "--no-index", "--no-prefix", "--no-color", "a", "b")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("git diff: %v (want exit status 1): %s", err, stderr.Bytes())
	}
	return out
}

func TestGitDiffRoundTrip(t *testing.T) {
	long := numbered(1, 40)
	longB := append([]string(nil), long...)
	longB[2] = "LINE 3"
	longB[29] = "LINE 30"
	longB = append(longB[:20], append([]string{"inserted 1", "inserted 2"}, longB[20:]...)...)
	a := map[string]string{
		"long.go":          lines(long...),
		"gone.txt":         lines("this file", "is deleted", "by the diff"),
		"nonl.txt":         "one\ntwo\nthree",
		"nl-added.txt":     "x\ny",
		"nl-removed.txt":   "x\ny\n",
		"sub/x.lua":        lines("local a = 1", "-- old comment", "-- kept", "local b = 2", "---- ruler"),
		"with space.txt":   "p\n",
		"same.txt":         "same\n",
		"deep/er/file.txt": lines("a", "b", "c"),
	}
	b := map[string]string{
		"long.go":          lines(longB...),
		"created.go":       lines("package created", "", "var New = []int{1, 2, 3}"),
		"nonl.txt":         "one\nTWO\nthree",
		"nl-added.txt":     "x\ny\n",
		"nl-removed.txt":   "x\ny",
		"sub/x.lua":        lines("local a = 1", "-- new comment", "-- kept", "local b = 2", "++ not lua, but a +++ line"),
		"with space.txt":   "q\n",
		"same.txt":         "same\n",
		"deep/er/file.txt": lines("a", "c"),
	}
	dir := t.TempDir()
	writeFiles(t, filepath.Join(dir, "a"), a)
	writeFiles(t, filepath.Join(dir, "b"), b)
	out := gitDiffNoIndex(t, dir)
	if !bytes.Contains(out, []byte("\n--- old comment\n")) || !bytes.Contains(out, []byte("\n+++ not lua")) {
		t.Fatalf("the diff has not the lines this test is about:\n%s", out)
	}
	tr := tree{}
	for k, v := range a {
		tr[k] = []byte(v)
	}
	var notes []string
	if err := tr.applyPatches([]patchFile{{name: "git.patch", text: out}}, func(s string) { notes = append(notes, s) }); err != nil {
		t.Fatalf("apply git's diff: %v\n%s", err, out)
	}
	if got := stringTree(tr); !reflect.DeepEqual(got, b) {
		t.Errorf("a + git's diff:\n%q\nwant b:\n%q\ndiff:\n%s", got, b, out)
	}
	if len(notes) != 0 {
		t.Errorf("hunks moved: %q", notes)
	}
}

package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// A tree is a module's files by slash-separated path.
type tree map[string][]byte

// stampName is the file written last into the patched directory. The
// directory's own peacepie_patched.go embeds it, so until it exists every
// build stops with "pattern to patch this module, run make: no matching
// files found": the one line a newcomer who runs `go build` first sees.
const stampName = "to patch this module, run make"

// manifestName records what was written, so a later run can tell an
// up-to-date tree, and a hand-edited one, without downloading anything.
const manifestName = ".patchmod-manifest"

// isOurs reports whether a path of the patched directory is peacepie's
// own, kept in Git and never written by the tool: go.mod, the files
// named peacepie_* at the root, and the tool's stamp and manifest.
func isOurs(rel string) bool {
	if strings.Contains(rel, "/") {
		return false
	}
	return rel == "go.mod" || rel == stampName || rel == manifestName || strings.HasPrefix(rel, "peacepie_")
}

// readUpstream loads a module's files, without its go.mod and go.sum (the
// patched directory has a go.mod of ours) and without omitted paths.
func readUpstream(dir string, omit []string) (tree, error) {
	t, err := readTree(dir, func(rel string, isDir bool) (bool, error) {
		switch {
		case omitted(rel, omit):
			return false, nil
		case isDir:
			return true, nil
		}
		return rel != "go.mod" && rel != "go.sum", nil
	})
	if err != nil {
		return nil, fmt.Errorf("read upstream %s: %w", dir, err)
	}
	return t, nil
}

// readPatched reads the files of the patched directory that are not ours.
func readPatched(dir string) (tree, error) {
	t, err := readTree(dir, func(rel string, isDir bool) (bool, error) { return isDir || !isOurs(rel), nil })
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	return t, nil
}

// readTree reads the regular files below dir that keep says to keep;
// keep is asked about directories too, and a directory it refuses is not
// entered.
func readTree(dir string, keep func(rel string, isDir bool) (bool, error)) (tree, error) {
	t := tree{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch ok, err := keep(rel, d.IsDir()); {
		case err != nil:
			return err
		case !ok && d.IsDir():
			return filepath.SkipDir
		case !ok || d.IsDir():
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file", rel)
		}
		data, err := os.ReadFile(p)
		t[rel] = data
		return err
	})
	return t, err
}

func omitted(rel string, omit []string) bool {
	for _, o := range omit {
		if rel == o || strings.HasPrefix(rel, o+"/") {
			return true
		}
	}
	return false
}

// A patchFile is one file of the patches directory.
type patchFile struct {
	name string
	text []byte
}

// readPatches reads dir/patches/*.patch, in name order.
func readPatches(dir string) ([]patchFile, error) {
	names, err := filepath.Glob(filepath.Join(dir, "patches", "*.patch"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var patches []patchFile
	for _, name := range names {
		text, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read patch: %w", err)
		}
		patches = append(patches, patchFile{name: filepath.Base(name), text: text})
	}
	return patches, nil
}

// applyPatches applies the patches to t in order. A hunk that applied
// at another line than its patch says is reported through moved: that is
// what to look at when a new upstream version is tried.
func (t tree) applyPatches(patches []patchFile, moved func(string)) error {
	for _, p := range patches {
		files, err := parsePatch(p.text)
		if err != nil {
			return fmt.Errorf("patch %s: %w", p.name, err)
		}
		for _, fp := range files {
			if err := t.applyFile(fp, p.name, moved); err != nil {
				return fmt.Errorf("patch %s: %w", p.name, err)
			}
		}
	}
	for rel := range t {
		if isOurs(rel) {
			return fmt.Errorf("upstream has %s, a name kept for peacepie's own files in the patched directory", rel)
		}
	}
	return nil
}

func (t tree) applyFile(fp filePatch, patchName string, moved func(string)) error {
	var content []byte
	switch old, ok := t[fp.oldPath]; {
	case fp.oldPath == "":
		if _, exists := t[fp.newPath]; exists {
			return fmt.Errorf("%s: the patch creates it, but upstream has it", fp.newPath)
		}
	case !ok:
		return fmt.Errorf("%s: no such file upstream", fp.oldPath)
	default:
		content = old
	}
	out, offsets, err := fp.apply(content)
	if err != nil {
		return err
	}
	for i, off := range offsets {
		if off != 0 && moved != nil {
			moved(fmt.Sprintf("%s: %s: hunk %d (%s) applied %+d lines from where the patch says", patchName, fp.name(), i+1, fp.hunks[i].header, off))
		}
	}
	if fp.oldPath != "" {
		delete(t, fp.oldPath)
	}
	if fp.newPath != "" {
		t[fp.newPath] = out
	} else if len(out) != 0 {
		return fmt.Errorf("%s: the patch deletes it, but lines would remain", fp.oldPath)
	}
	return nil
}

// digests maps each path to the SHA-256 of its content, in hex.
func (t tree) digests() map[string]string {
	d := make(map[string]string, len(t))
	for rel, data := range t {
		d[rel] = fmt.Sprintf("%x", sha256.Sum256(data))
	}
	return d
}

// differences lists, sorted, how got differs from want.
func differences(want, got map[string]string) []string {
	var diffs []string
	for rel, w := range want {
		switch g, ok := got[rel]; {
		case !ok:
			diffs = append(diffs, "missing "+rel)
		case g != w:
			diffs = append(diffs, "changed "+rel)
		}
	}
	for rel := range got {
		if _, ok := want[rel]; !ok {
			diffs = append(diffs, "added   "+rel)
		}
	}
	sort.Strings(diffs)
	return diffs
}

// writePatched replaces the files of dir that are not ours with t, then
// writes the manifest and, last, the stamp. The stamp is removed first,
// so a run that stops half-way leaves a tree that does not build.
func writePatched(dir string, t tree, inputs, summary string) error {
	if err := os.Remove(filepath.Join(dir, stampName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() || !isOurs(e.Name()) || e.Name() == manifestName {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	for rel, data := range t {
		name := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(name, data, 0o644); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, manifestName), formatManifest(inputs, t.digests()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, stampName), []byte(summary+"\n"), 0o644)
}

// formatManifest writes "inputs <digest>" and then "<sha256> <path>" lines.
func formatManifest(inputs string, digests map[string]string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "inputs %s\n", inputs)
	rels := make([]string, 0, len(digests))
	for rel := range digests {
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	for _, rel := range rels {
		fmt.Fprintf(&b, "%s %s\n", digests[rel], rel)
	}
	return b.Bytes()
}

// readManifest returns what the last run recorded, or ok false when the
// tree is not complete (no stamp) or has no manifest.
func readManifest(dir string) (inputs string, digests map[string]string, ok bool) {
	if _, err := os.Stat(filepath.Join(dir, stampName)); err != nil {
		return "", nil, false
	}
	data, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		return "", nil, false
	}
	digests = map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		a, b, _ := strings.Cut(sc.Text(), " ")
		if a == "inputs" {
			inputs = b
		} else {
			digests[b] = a
		}
	}
	return inputs, digests, inputs != ""
}

// inputsDigest identifies what a patched tree is made from: the tool's
// format, upstream.conf and every patch.
func inputsDigest(conf []byte, patches []patchFile) string {
	h := sha256.New()
	fmt.Fprintf(h, "patchmod 1\n%d\n%s", len(conf), conf)
	for _, p := range patches {
		fmt.Fprintf(h, "%s\n%d\n%s", p.name, len(p.text), p.text)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// describe is a short account of a patched tree, for messages.
func describe(u upstream, patches []patchFile) string {
	return fmt.Sprintf("%s %s + %d %s", u.Module, u.Version, len(patches), plural(len(patches), "patch", "patches"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

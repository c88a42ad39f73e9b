// Command patchmod builds a patched copy of a Go module from the verified
// upstream module and patch files of ours, so that the repository holds
// our changes and never upstream's source.
//
// A directory DIR (third_party/gopher-lua) holds:
//
//	upstream.conf      the module, version and h1: checksum, and paths not to copy
//	patches/*.patch    unified diffs, applied in name order, each with a header
//	patched/go.mod     ours: the module's go.mod for the build
//	patched/peacepie_* ours: files kept in the patched package (tests, the build hint)
//
// and go.mod replaces the module with DIR/patched. Everything else in
// DIR/patched is written by this command and ignored by Git.
//
// Usage:
//
//	go run ./internal/patchmod DIR               make DIR/patched (nothing is redone when it is up to date)
//	go run ./internal/patchmod -check DIR        fail unless DIR/patched is exactly upstream + patches
//	go run ./internal/patchmod -diff DIR         print the edits in DIR/patched beyond the patches, as a patch
//	go run ./internal/patchmod -upgrade V DIR    move to upstream version V if every patch applies to it
//	go run ./internal/patchmod -force DIR        remake DIR/patched, discarding edits made by hand
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "patchmod:", err)
		os.Exit(1)
	}
}

// A job is one run of the command on one directory.
type job struct {
	dir     string // holds upstream.conf, patches/ and patched/
	stdout  io.Writer
	stderr  io.Writer
	fetch   func(ctx context.Context, u upstream) (dir string, err error)                  // the verified upstream files
	lookup  func(ctx context.Context, module, version string) (dir, sum string, err error) // a version to upgrade to
	gitDiff func(ctx context.Context, workdir string, out io.Writer) error                 // `git diff --no-index a b`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("patchmod", flag.ContinueOnError)
	flags.SetOutput(stderr)
	check := flags.Bool("check", false, "fail unless DIR/patched is exactly upstream + patches")
	diff := flags.Bool("diff", false, "print DIR/patched's edits beyond the patches, as a patch")
	upgrade := flags.String("upgrade", "", "move to this upstream `version` if every patch applies to it")
	force := flags.Bool("force", false, "remake DIR/patched even if it was edited by hand")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./internal/patchmod [-check | -diff | -upgrade version | -force] DIR")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() != 1 {
		flags.Usage()
		return errors.New("want one directory")
	}
	j := &job{dir: flags.Arg(0), stdout: stdout, stderr: stderr, fetch: fetchVerified, lookup: download, gitDiff: runGitDiff}
	switch {
	case *check:
		return j.check(ctx)
	case *diff:
		return j.diff(ctx)
	case *upgrade != "":
		return j.upgrade(ctx, *upgrade)
	default:
		return j.materialize(ctx, *force)
	}
}

func (j *job) patchedDir() string { return filepath.Join(j.dir, "patched") }

// inputs reads what the patched tree is made of.
func (j *job) inputs() (upstream, []byte, []patchFile, error) {
	u, conf, err := readConf(j.dir)
	if err != nil {
		return upstream{}, nil, nil, err
	}
	patches, err := readPatches(j.dir)
	if err != nil {
		return upstream{}, nil, nil, err
	}
	if _, err := os.Stat(filepath.Join(j.patchedDir(), "go.mod")); err != nil {
		return upstream{}, nil, nil, fmt.Errorf("%s: the patched module's go.mod is ours and kept in Git: %w", j.patchedDir(), err)
	}
	return u, conf, patches, nil
}

// build returns upstream's verified files with the patches applied.
func (j *job) build(ctx context.Context, u upstream, patches []patchFile) (tree, error) {
	dir, err := j.fetch(ctx, u)
	if err != nil {
		return nil, err
	}
	t, err := readUpstream(dir, u.Omit)
	if err != nil {
		return nil, err
	}
	if err := t.applyPatches(patches, j.note); err != nil {
		return nil, fmt.Errorf("%s@%s: %w", u.Module, u.Version, err)
	}
	return t, nil
}

func (j *job) note(s string) { fmt.Fprintln(j.stderr, "patchmod: note:", s) }

// materialize makes the patched directory unless it is up to date. A tree
// edited by hand is kept (with a warning) while its inputs are unchanged,
// and never overwritten without force.
func (j *job) materialize(ctx context.Context, force bool) error {
	u, conf, patches, err := j.inputs()
	if err != nil {
		return err
	}
	inputs := inputsDigest(conf, patches)
	if made, edits, ok, err := j.handEdits(); err != nil {
		return err
	} else if ok {
		switch {
		case made == inputs && len(edits) == 0:
			return nil // up to date
		case len(edits) > 0 && made == inputs && !force:
			j.note(fmt.Sprintf("%s was edited by hand and is kept (%s); `-diff` prints the edits as a patch, `-check` fails until they are one", j.patchedDir(), strings.Join(edits, ", ")))
			return nil
		case len(edits) > 0 && !force:
			return fmt.Errorf("%s was edited by hand (%s): save the edits with `go run ./internal/patchmod -diff %s > %s/patches/NNNN-name.patch`, or discard them with -force",
				j.patchedDir(), strings.Join(edits, ", "), j.dir, j.dir)
		}
	}
	t, err := j.build(ctx, u, patches)
	if err != nil {
		return err
	}
	summary := describe(u, patches)
	if err := writePatched(j.patchedDir(), t, inputs, summary); err != nil {
		return fmt.Errorf("write %s: %w", j.patchedDir(), err)
	}
	fmt.Fprintf(j.stderr, "patchmod: %s: %s\n", j.patchedDir(), summary)
	return nil
}

// handEdits returns the inputs digest the patched directory was made
// from and how its files differ from what was written then; ok is false
// when it is not made.
func (j *job) handEdits() (made string, edits []string, ok bool, err error) {
	made, digests, ok := readManifest(j.patchedDir())
	if !ok {
		return "", nil, false, nil
	}
	disk, err := readPatched(j.patchedDir())
	if err != nil {
		return "", nil, false, err
	}
	return made, differences(digests, disk.digests()), true, nil
}

// compare builds upstream + patches in memory and lists how the patched
// directory differs from it.
func (j *job) compare(ctx context.Context, u upstream, patches []patchFile) (want, disk tree, diffs []string, err error) {
	if want, err = j.build(ctx, u, patches); err != nil {
		return nil, nil, nil, err
	}
	if disk, err = readPatched(j.patchedDir()); err != nil {
		return nil, nil, nil, err
	}
	return want, disk, differences(want.digests(), disk.digests()), nil
}

// check fails unless the patched directory is complete and exactly
// upstream + patches.
func (j *job) check(ctx context.Context) error {
	u, conf, patches, err := j.inputs()
	if err != nil {
		return err
	}
	made, _, ok := readManifest(j.patchedDir())
	if !ok {
		return fmt.Errorf("%s is not made: run `go run ./internal/patchmod %s` (make does)", j.patchedDir(), j.dir)
	}
	if made != inputsDigest(conf, patches) {
		return fmt.Errorf("%s was made from other patches or another upstream version: run `go run ./internal/patchmod %s` (make does)", j.patchedDir(), j.dir)
	}
	_, _, diffs, err := j.compare(ctx, u, patches)
	if err != nil {
		return err
	}
	if len(diffs) > 0 {
		return fmt.Errorf("%s is not %s:\n  %s", j.patchedDir(), describe(u, patches), strings.Join(diffs, "\n  "))
	}
	fmt.Fprintf(j.stdout, "%s is %s\n", j.patchedDir(), describe(u, patches))
	return nil
}

// diff prints the edits made in the patched directory beyond the patches,
// as a unified diff that can become the next patch file.
func (j *job) diff(ctx context.Context) error {
	u, _, patches, err := j.inputs()
	if err != nil {
		return err
	}
	want, disk, diffs, err := j.compare(ctx, u, patches)
	if err != nil {
		return err
	}
	if len(diffs) == 0 {
		fmt.Fprintf(j.stderr, "patchmod: %s has no edits beyond the patches\n", j.patchedDir())
		return nil
	}
	work, err := os.MkdirTemp("", "patchmod-diff-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	// Only the files that differ, so the diff shows nothing else.
	for _, d := range diffs {
		rel := strings.TrimSpace(d[len("missing "):])
		for side, t := range map[string]tree{"a": want, "b": disk} {
			if data, ok := t[rel]; ok {
				name := filepath.Join(work, side, filepath.FromSlash(rel))
				if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
					return err
				}
				if err := os.WriteFile(name, data, 0o644); err != nil {
					return err
				}
			}
		}
	}
	for _, side := range []string{"a", "b"} {
		if err := os.MkdirAll(filepath.Join(work, side), 0o755); err != nil {
			return err
		}
	}
	return j.gitDiff(ctx, work, j.stdout)
}

// runGitDiff writes `git diff --no-index` of workdir's a and b, with paths
// as a/<file> and b/<file>, as the patches have them.
func runGitDiff(ctx context.Context, workdir string, out io.Writer) error {
	cmd := exec.CommandContext(ctx, "git", "diff", "--no-index", "--no-prefix", "--no-color", "--no-ext-diff", "--no-renames", "a", "b")
	cmd.Dir = workdir
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = out, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 { // 1: the trees differ, as expected
		return nil
	}
	if err != nil {
		return fmt.Errorf("git diff: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// upgrade tries the patches on another upstream version and, when every
// one applies, records that version and its checksum and remakes the
// patched directory. The tests, and upstream's own suite, are the next step.
func (j *job) upgrade(ctx context.Context, version string) error {
	u, conf, patches, err := j.inputs()
	if err != nil {
		return err
	}
	dir, sum, err := j.lookup(ctx, u.Module, version)
	if err != nil {
		return err
	}
	if got, err := hashDir(dir, u.Module+"@"+version); err != nil {
		return err
	} else if got != sum {
		return fmt.Errorf("%s@%s: %w: the files in %s hash to %s, the go command says %s", u.Module, version, errChecksum, dir, got, sum)
	}
	t, err := readUpstream(dir, u.Omit)
	if err != nil {
		return err
	}
	if err := t.applyPatches(patches, j.note); err != nil {
		return fmt.Errorf("%s@%s: %w: refresh that patch (edit %s after a -force run on the old version, then -diff), or drop it if upstream has the change; %s is unchanged",
			u.Module, version, err, j.patchedDir(), confName)
	}
	if _, edits, _, err := j.handEdits(); err != nil {
		return err
	} else if len(edits) > 0 {
		return fmt.Errorf("%s was edited by hand (%s): save the edits as a patch (-diff) or discard them (-force) before upgrading; %s is unchanged",
			j.patchedDir(), strings.Join(edits, ", "), confName)
	}
	old := u.Version
	conf = setVersion(conf, version, sum)
	u.Version, u.Sum = version, sum
	if err := os.WriteFile(filepath.Join(j.dir, confName), conf, 0o644); err != nil {
		return err
	}
	summary := describe(u, patches)
	if err := writePatched(j.patchedDir(), t, inputsDigest(conf, patches), summary); err != nil {
		return fmt.Errorf("write %s: %w", j.patchedDir(), err)
	}
	fmt.Fprintf(j.stderr, "patchmod: %s: %s\n", j.patchedDir(), summary)
	fmt.Fprintf(j.stdout, "%s: %s → %s, every patch applies; now run make test and the patched module's own suite (see %s/README.md)\n", u.Module, old, version, j.dir)
	return nil
}

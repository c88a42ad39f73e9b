// Package repocmd is `peacepie repo`: list, fetch, verify and update the
// packages of a repo list.
package repocmd

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/peacepie/peacepie/repo"
)

// List prints every package of the repo list: its URL, pinned tags, cached
// versions and locked commits.
func List(w io.Writer, s *repo.Store) error {
	cached := map[string][]string{}
	for _, c := range s.Cached() {
		cached[c.Name] = append(cached[c.Name], c.Version+"@"+c.Commit)
	}
	locked := map[string][]string{}
	for _, le := range s.Lock.Entries() {
		locked[le.Name] = append(locked[le.Name], le.Tag+"="+shortCommit(le.Commit))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PACKAGE\tURL\tPINNED TAGS\tCACHED\tLOCKED")
	for _, e := range s.List.Packages {
		if e.Path != "" { // used as it is, never locked
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Name, "development: "+e.Path, "-", "-", "never")
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Name, repo.RedactURL(e.URL), strings.Join(e.Tags, " "),
			orNone(cached[e.Name]), orNone(locked[e.Name]))
	}
	if len(s.List.Packages) == 0 {
		fmt.Fprintln(tw, "(the repo list names no package)\t\t\t\t")
	}
	return tw.Flush()
}

func orNone(xs []string) string {
	if len(xs) == 0 {
		return "-"
	}
	sort.Strings(xs)
	return strings.Join(xs, " ")
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

// Fetch fills the cache and the lock with every pinned tag (or the package
// req names, with its dependencies), drawing a progress bar on a terminal.
func Fetch(ctx context.Context, w io.Writer, s *repo.Store, req string) error {
	var r *repo.Requirement
	if req != "" {
		parsed, err := repo.ParseRequirement(req)
		if err != nil {
			return err
		}
		r = &parsed
	}
	if r == nil && len(s.List.Packages) == 0 {
		fmt.Fprintln(w, "the repo list names no package: nothing to fetch")
		return nil
	}
	tty := isTerminal(w)
	return s.Fetch(ctx, r, func(done, total int, p *repo.Package, err error) {
		what := "?"
		if p != nil {
			what = p.ID() + " " + shortCommit(p.Commit)
			for _, d := range p.Deps {
				what += ", " + d.ID()
			}
		}
		if tty {
			fmt.Fprintf(w, "\r\033[K%s %d/%d %s", bar(done, total, 30), done, total, what)
			if done == total || err != nil {
				fmt.Fprintln(w)
			}
		}
		switch {
		case err != nil:
			fmt.Fprintf(w, "error: %v\n", err)
		case !tty:
			fmt.Fprintf(w, "[%d/%d] %s\n", done, total, what)
		}
	})
}

func bar(done, total, width int) string {
	n := width
	if total > 0 {
		n = done * width / total
	}
	return "[" + strings.Repeat("#", n) + strings.Repeat(" ", width-n) + "]"
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Verify prints the disagreements between the cache and the lock; it fails
// when there is one.
func Verify(w io.Writer, s *repo.Store) error {
	problems := s.Verify()
	for _, p := range problems {
		fmt.Fprintf(w, "%s %s: %s\n", p.Name, p.Version, p.What)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d problem(s): the cache and the lock file disagree", len(problems))
	}
	fmt.Fprintf(w, "ok: %d locked tag(s), all in the cache\n", len(s.Lock.Entries()))
	return nil
}

// Update fetches the pinned tags of a package again and accepts their
// current commits into the lock.
func Update(ctx context.Context, w io.Writer, s *repo.Store, name string) error {
	before := map[string]string{}
	for _, le := range s.Lock.Entries() {
		if le.Name == name {
			before[le.Version] = le.Commit
		}
	}
	after, err := s.Update(ctx, name)
	for _, le := range after {
		old := before[le.Version]
		switch {
		case old == "":
			fmt.Fprintf(w, "%s %s: locked at %s\n", le.Name, le.Tag, shortCommit(le.Commit))
		case old != le.Commit:
			fmt.Fprintf(w, "%s %s: moved from %s to %s (accepted)\n", le.Name, le.Tag, shortCommit(old), shortCommit(le.Commit))
		default:
			fmt.Fprintf(w, "%s %s: unchanged at %s\n", le.Name, le.Tag, shortCommit(le.Commit))
		}
	}
	return err
}

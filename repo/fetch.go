package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
)

// ErrFetch reports a package that could not be fetched.
var ErrFetch = errors.New("fetch failed")

// ErrNoTag reports a pinned tag that the repository does not have.
var ErrNoTag = errors.New("no such tag")

// fetchCall is one fetch in progress; concurrent requests for the same tag
// wait for it instead of fetching again.
type fetchCall struct {
	done   chan struct{}
	dir    string
	commit string
	err    error
}

// cacheDir returns where version v of a package at commit lives.
func (s *Store) cacheDir(name string, v Version, commit string) string {
	return filepath.Join(s.CacheDir, name, v.String()+"-"+shortCommit(commit))
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

// fetch clones tag of entry e (once, even when asked concurrently), checks
// it against the lock and moves it into the cache. With accept, a commit
// that differs from the lock replaces it (repo update).
func (s *Store) fetch(ctx context.Context, e *Entry, v Version, accept bool) (dir, commit string, err error) {
	key := e.Name + "@" + v.String()
	s.mu.Lock()
	if c := s.inflight[key]; c != nil {
		s.mu.Unlock()
		select {
		case <-c.done:
			return c.dir, c.commit, c.err
		case <-ctx.Done():
			return "", "", fmt.Errorf("%w: %s: %v", ErrFetch, key, ctx.Err())
		}
	}
	if !accept {
		// Another fetch may have finished since the caller looked.
		var locked string
		ok := false
		if s.following != nil {
			p, has := s.pins[lockKey(e.Name, v.String())]
			locked, ok = p.Commit, has
		} else if le, has := s.Lock.Get(e.Name, v.String()); has {
			locked, ok = le.Commit, true
		}
		if ok && isDir(s.cacheDir(e.Name, v, locked)) {
			s.mu.Unlock()
			return s.cacheDir(e.Name, v, locked), locked, nil
		}
	}
	c := &fetchCall{done: make(chan struct{})}
	s.inflight[key] = c
	s.mu.Unlock()
	// The clone runs under its own time limit, not the first caller's: a
	// caller that gives up must not fail the others waiting for this tag.
	go func() {
		c.dir, c.commit, c.err = s.clone(context.Background(), e, v, accept)
		if c.err != nil {
			c.dir, c.commit, c.err = s.cloneFailed(e, v, c.err)
		}
		s.mu.Lock()
		delete(s.inflight, key)
		s.mu.Unlock()
		close(c.done)
	}()
	select {
	case <-c.done:
		return c.dir, c.commit, c.err
	case <-ctx.Done():
		return "", "", fmt.Errorf("%w: %s: gave up waiting after the request's own timeout: %v", ErrFetch, key, ctx.Err())
	}
}

func (s *Store) clone(ctx context.Context, e *Entry, v Version, accept bool) (string, string, error) {
	tag, _ := e.Tag(v)
	where := fmt.Sprintf("%s %s from %s", e.Name, tag, RedactURL(e.URL))
	if s.Fetches != nil {
		s.Fetches.Add(1)
	}
	auth, err := authMethod(e)
	if err != nil {
		return "", "", fmt.Errorf("%w: %s: %v", ErrFetch, where, err)
	}
	if err := os.MkdirAll(filepath.Join(s.CacheDir, e.Name), 0o755); err != nil {
		return "", "", fmt.Errorf("%w: %s: %v", ErrFetch, where, err)
	}
	tmp, err := os.MkdirTemp(filepath.Join(s.CacheDir, e.Name), ".fetch-")
	if err != nil {
		return "", "", fmt.Errorf("%w: %s: %v", ErrFetch, where, err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp) // nothing half-fetched stays in the cache
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, s.fetchTimeout())
	defer cancel()
	started := time.Now()
	progress := &lastLine{}
	stopReport := s.reportSlow(where, progress)
	repo, err := git.PlainCloneContext(ctx, tmp, false, &git.CloneOptions{
		URL:           e.URL,
		Auth:          auth,
		ReferenceName: plumbing.NewTagReferenceName(tag),
		SingleBranch:  true,
		Depth:         1,
		Tags:          git.NoTags,
		Progress:      progress,
	})
	stopReport()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return "", "", fmt.Errorf("%w: %s: no answer within %s", ErrFetch, where, time.Since(started).Round(time.Second))
		}
		if errors.Is(err, plumbing.ErrReferenceNotFound) || errors.As(err, new(git.NoMatchingRefSpecError)) {
			return "", "", fmt.Errorf("%w: %s: the repository has no tag %q (%w)", ErrFetch, where, tag, ErrNoTag)
		}
		return "", "", fmt.Errorf("%w: %s: %v", ErrFetch, where, err)
	}
	head, err := repo.Head()
	if err != nil {
		return "", "", fmt.Errorf("%w: %s: %v", ErrFetch, where, err)
	}
	commit := head.Hash().String()
	following := !s.Leading()
	if locked, ok := s.locked(e.Name, v.String()); ok && locked != commit && following {
		return "", "", fmt.Errorf("%w: %s: tag %s of %s points to commit %s here, but the system pins %s (the lock of the system's first host); "+
			"this host gets other code from that URL: make it reach the same repository, or accept the new commit with `peacepie repo update %s` on the first host",
			ErrPinMismatch, where, tag, e.Name, shortCommit(commit), shortCommit(locked), e.Name)
	} else if ok && locked != commit && !accept {
		return "", "", fmt.Errorf("%w: tag %s of %s now points to commit %s, but repos.lock says %s; if that is expected, accept it with `peacepie repo update %s`",
			ErrTagMoved, tag, e.Name, shortCommit(commit), shortCommit(locked), e.Name)
	}
	if err := os.RemoveAll(filepath.Join(tmp, ".git")); err != nil {
		return "", "", fmt.Errorf("%w: %s: %v", ErrFetch, where, err)
	}
	if err := checkTree(os.DirFS(tmp), e.Name, v); err != nil {
		return "", "", fmt.Errorf("%s: %w", where, err)
	}
	dir := s.cacheDir(e.Name, v, commit)
	if err := os.Rename(tmp, dir); err != nil {
		if !isDir(dir) {
			return "", "", fmt.Errorf("%w: %s: %v", ErrFetch, where, err)
		}
		os.RemoveAll(tmp) // another process of this host cached it first
	}
	ok = true
	if following { // the system's lock is the root's
		s.log().Info("package fetched", "package", e.Name, "tag", tag, "commit", shortCommit(commit), "pinned_by", "the system's root")
		return dir, commit, nil
	}
	if err := s.Lock.Set(LockEntry{Name: e.Name, Version: v.String(), Tag: tag, Commit: commit}); err != nil {
		return "", "", err
	}
	s.log().Info("package fetched", "package", e.Name, "tag", tag, "commit", shortCommit(commit))
	return dir, commit, nil
}

// cloneFailed gets a version whose URL this host could not fetch from the
// system's root instead, over the link (a following store with FetchTree
// only; a fetch that got another commit than the pin, or a package that
// is not valid, is not retried).
func (s *Store) cloneFailed(e *Entry, v Version, err error) (string, string, error) {
	s.mu.Lock()
	pin, pinned := s.pins[lockKey(e.Name, v.String())]
	following := s.following != nil
	s.mu.Unlock()
	if !following || !pinned || s.FetchTree == nil || !errors.Is(err, ErrFetch) {
		return "", "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.fetchTimeout())
	defer cancel()
	dir, terr := s.treeFromRoot(ctx, e, v, pin.Commit, pin.Hash)
	if terr != nil {
		return "", "", fmt.Errorf("%w; nor from the system's root: %v", err, terr)
	}
	s.log().Warn("package fetched from the system's root over the link: this host could not fetch it from its URL",
		"package", e.Name, "tag", pin.Tag, "commit", shortCommit(pin.Commit), "error", err.Error())
	return dir, pin.Commit, nil
}

// checkTree checks a fetched package before it enters the cache: its
// manifest, its name and version, and the modules of its classes.
func checkTree(fsys fs.FS, name string, v Version) error {
	m, err := LoadManifest(fsys)
	if err != nil {
		return err
	}
	if m.Name != name {
		return fmt.Errorf("%w: the manifest names the package %q, the repo list %q", ErrBadManifest, m.Name, name)
	}
	if m.Version != v.String() {
		return fmt.Errorf("%w: the manifest says version %s, the tag %s", ErrBadManifest, m.Version, v)
	}
	for class, module := range m.Actors {
		if _, err := fs.Stat(fsys, ModulePath(module)); err != nil {
			return fmt.Errorf("%w: class %s: module %q (file %s) is not in the package", ErrBadManifest, class, module, ModulePath(module))
		}
	}
	// A symbolic link could point outside the package: refuse them all.
	return fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%w: %s is a symbolic link; packages may not hold links", ErrBadManifest, path)
		}
		return nil
	})
}

// packageFS serves a cached package's files so that nothing outside its
// directory can be reached, links included.
func packageFS(dir string) (fs.FS, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return root.FS(), nil
}

func (s *Store) fetchTimeout() time.Duration {
	if s.FetchTimeout > 0 {
		return s.FetchTimeout
	}
	return time.Minute
}

func (s *Store) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// reportSlow logs a fetch that takes more than two seconds, every five.
func (s *Store) reportSlow(where string, progress *lastLine) (stop func()) {
	done := make(chan struct{})
	start := time.Now()
	go func() {
		t := time.NewTimer(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				s.log().Info("still fetching", "what", where, "elapsed", time.Since(start).Round(time.Second).String(), "progress", progress.String())
				t.Reset(5 * time.Second)
			}
		}
	}()
	return func() { close(done) }
}

// lastLine keeps the last line of go-git's progress output.
type lastLine struct {
	mu   sync.Mutex
	line []byte
}

func (l *lastLine) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p2 := bytes.TrimRight(p, "\r\n")
	if i := bytes.LastIndexAny(p2, "\r\n"); i >= 0 {
		p2 = p2[i+1:]
	}
	if len(p2) > 0 {
		l.line = append(l.line[:0], p2...)
	}
	return len(p), nil
}

func (l *lastLine) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.line)
}

// authMethod builds go-git credentials from an entry's auth.
func authMethod(e *Entry) (transport.AuthMethod, error) {
	a := e.Auth
	if a == nil {
		return nil, nil
	}
	secret := func(inline, file string) (string, error) {
		if file == "" {
			return inline, nil
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read credentials: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if a.SSHKey != "" {
		pass, err := secret("", a.SSHKeyPassphraseFile)
		if err != nil {
			return nil, err
		}
		user := a.Username
		if user == "" {
			user = "git"
		}
		k, err := gitssh.NewPublicKeysFromFile(user, a.SSHKey, pass)
		if err != nil {
			return nil, fmt.Errorf("ssh key %s: %w", a.SSHKey, err)
		}
		return k, nil
	}
	if tok, err := secret(a.Token, a.TokenFile); err != nil {
		return nil, err
	} else if tok != "" {
		if a.Username != "" {
			return &githttp.BasicAuth{Username: a.Username, Password: tok}, nil
		}
		return &githttp.TokenAuth{Token: tok}, nil
	}
	pw, err := secret(a.Password, a.PasswordFile)
	if err != nil {
		return nil, err
	}
	if a.Username != "" || pw != "" {
		return &githttp.BasicAuth{Username: a.Username, Password: pw}, nil
	}
	return nil, nil
}

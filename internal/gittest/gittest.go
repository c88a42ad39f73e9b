// Package gittest makes real Git repositories for tests, with the git
// binary, and serves them over file:// and smart HTTP (git http-backend
// behind net/http/cgi on 127.0.0.1). Every git command runs with a
// hermetic environment: no system config, a temporary HOME and a fixed
// author, so tests do not depend on the machine's git setup.
//
// Git is required: the helpers fail the test when it is missing.
package gittest

import (
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// homes holds one temporary HOME per test, made on first use.
var homes sync.Map // testing.TB → string

// home returns the HOME of t's git commands.
func home(t testing.TB) string {
	t.Helper()
	if h, ok := homes.Load(t); ok {
		return h.(string)
	}
	h := t.TempDir()
	if actual, loaded := homes.LoadOrStore(t, h); loaded {
		return actual.(string)
	}
	t.Cleanup(func() { homes.Delete(t) })
	return h
}

// Env returns the environment of git commands run for t: the process's
// environment without GIT_* variables, then a hermetic git setup.
func Env(t testing.TB) []string {
	t.Helper()
	h := home(t)
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GIT_") || strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"GIT_CONFIG_NOSYSTEM=1",
		"HOME="+h,
		"XDG_CONFIG_HOME="+filepath.Join(h, ".config"),
		"GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=peacepie test",
		"GIT_AUTHOR_EMAIL=test@peacepie.invalid",
		"GIT_COMMITTER_NAME=peacepie test",
		"GIT_COMMITTER_EMAIL=test@peacepie.invalid",
	)
}

// Git runs git with args in dir and returns its output, trimmed. It fails
// the test with the command's output when git fails.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	full := append([]string{
		"-c", "user.name=peacepie test",
		"-c", "user.email=test@peacepie.invalid",
		"-c", "commit.gpgsign=false",
		"-c", "tag.gpgsign=false",
		"-c", "init.defaultBranch=main",
	}, args...)
	cmd := exec.Command("git", full...)
	cmd.Dir = dir
	cmd.Env = Env(t)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s (in %s): %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return strings.TrimSpace(string(out))
}

// Repo is a Git repository with a work tree, made by a test.
type Repo struct {
	t   testing.TB
	Dir string // the work tree; the repository is Dir/.git
}

// Init makes an empty repository at dir (created if missing; "" for a new
// temporary directory).
func Init(t testing.TB, dir string) *Repo {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("gittest: %v", err)
	}
	Git(t, dir, "init", "-q", "-b", "main")
	return &Repo{t: t, Dir: dir}
}

// NewPackage makes a repository at filepath.Join(root, name) holding files
// (path → content), commits them and tags the commit with each of tags
// (lightweight tags). root "" is a new temporary directory.
func NewPackage(t testing.TB, root, name string, files map[string]string, tags ...string) *Repo {
	t.Helper()
	if root == "" {
		root = t.TempDir()
	}
	r := Init(t, filepath.Join(root, name))
	r.Commit("initial", files)
	for _, tag := range tags {
		r.Tag(tag)
	}
	return r
}

// Write writes files (path → content, "/"-separated paths) into the work
// tree, making directories as needed.
func (r *Repo) Write(files map[string]string) {
	r.t.Helper()
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		full := filepath.Join(r.Dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			r.t.Fatalf("gittest: %v", err)
		}
		if err := os.WriteFile(full, []byte(files[p]), 0o644); err != nil {
			r.t.Fatalf("gittest: %v", err)
		}
	}
}

// Remove deletes files from the work tree (the next Commit records it).
func (r *Repo) Remove(paths ...string) {
	r.t.Helper()
	for _, p := range paths {
		if err := os.Remove(filepath.Join(r.Dir, filepath.FromSlash(p))); err != nil {
			r.t.Fatalf("gittest: %v", err)
		}
	}
}

// Commit writes files, commits everything in the work tree (an empty
// commit when nothing changed) and returns the new commit's hash.
func (r *Repo) Commit(msg string, files map[string]string) string {
	r.t.Helper()
	r.Write(files)
	Git(r.t, r.Dir, "add", "-A")
	Git(r.t, r.Dir, "commit", "-q", "--allow-empty", "-m", msg)
	return r.Head()
}

// Head returns the hash of the current commit.
func (r *Repo) Head() string {
	r.t.Helper()
	return Git(r.t, r.Dir, "rev-parse", "HEAD")
}

// Tag makes a lightweight tag at the current commit.
func (r *Repo) Tag(name string) {
	r.t.Helper()
	Git(r.t, r.Dir, "tag", name)
}

// TagAnnotated makes an annotated tag (a tag object) at the current commit.
func (r *Repo) TagAnnotated(name, msg string) {
	r.t.Helper()
	Git(r.t, r.Dir, "tag", "-a", name, "-m", msg)
}

// MoveTag moves a tag to the current commit (git tag -f), as somebody
// re-tagging a published version would. annotated makes the new tag a tag
// object.
func (r *Repo) MoveTag(name string, annotated bool) {
	r.t.Helper()
	if annotated {
		Git(r.t, r.Dir, "tag", "-f", "-a", name, "-m", "moved "+name)
		return
	}
	Git(r.t, r.Dir, "tag", "-f", name)
}

// CommitOf returns the commit a ref (a tag, a branch, HEAD) points to,
// peeling annotated tags.
func (r *Repo) CommitOf(ref string) string {
	r.t.Helper()
	return Git(r.t, r.Dir, "rev-parse", ref+"^{commit}")
}

// URL returns the repository's file:// URL.
func (r *Repo) URL() string { return FileURL(r.Dir) }

// FileURL returns the file:// URL of a local path.
func FileURL(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
}

// Server serves the repositories under a directory over Git's smart HTTP
// protocol.
type Server struct {
	URL  string // http://127.0.0.1:PORT, without a trailing slash
	Root string // the directory served

	srv      *httptest.Server
	requests atomic.Int64
	stopOnce sync.Once

	user, password, token string // set before the first request (RequireAuth)
}

// Serve serves the repositories under root (each a directory such as
// root/NAME, a work tree or a bare repository) at URL/NAME, with git
// http-backend behind net/http/cgi, on 127.0.0.1 at a random port. It is
// shut down when the test ends.
func Serve(t testing.TB, root string) *Server {
	t.Helper()
	execPath := Git(t, "", "--exec-path")
	backend := filepath.Join(execPath, "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		t.Fatalf("gittest: git http-backend: %v", err)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatalf("gittest: %v", err)
	}
	s := &Server{Root: abs}
	env := []string{"GIT_PROJECT_ROOT=" + abs, "GIT_HTTP_EXPORT_ALL=1"}
	for _, kv := range Env(t) {
		if strings.HasPrefix(kv, "GIT_") || strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			env = append(env, kv)
		}
	}
	h := &cgi.Handler{Path: backend, Root: "/", Env: env, InheritEnv: []string{"PATH"}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s.requests.Add(1)
		if s.user != "" || s.token != "" {
			u, p, basic := req.BasicAuth()
			bearer := req.Header.Get("Authorization") == "Bearer "+s.token
			if !(basic && s.user != "" && u == s.user && p == s.password) && !(s.token != "" && bearer) {
				w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
		}
		h.ServeHTTP(w, req)
	}))
	s.URL = s.srv.URL
	t.Cleanup(s.Close)
	return s
}

// RepoURL returns the URL of the repository at root/name.
// RequireAuth makes the server refuse requests without the basic
// credentials user:password or the bearer token (either may be empty).
func (s *Server) RequireAuth(user, password, token string) {
	s.user, s.password, s.token = user, password, token
}

func (s *Server) RepoURL(name string) string { return s.URL + "/" + name }

// Requests returns the number of HTTP requests served so far.
func (s *Server) Requests() int64 { return s.requests.Load() }

// Close stops the server; later requests find nobody listening. It is
// safe to call more than once.
func (s *Server) Close() { s.stopOnce.Do(s.srv.Close) }

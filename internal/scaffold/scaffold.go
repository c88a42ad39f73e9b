// Package scaffold makes a new Lua package for `peacepie new`: the
// manifest, one actor, editor support (LuaLS definitions, offline) and a
// Git repository with a first commit.
package scaffold

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
	"unicode"

	git "github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	luadefs "github.com/peacepie/peacepie/docs/lua"
)

// ErrBadName reports a package name that cannot be used.
var ErrBadName = errors.New("bad package name")

// namePattern is a package's name as repo lists and manifests take it, and
// a Lua module's (the actor's file).
var namePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// Package is what New made.
type Package struct {
	Dir    string // the package's directory
	Name   string // the package's name
	Class  string // its actor class
	Commit string // the first commit
}

// New makes the package name in a new directory dir (it must not exist,
// or be empty) and commits it.
func New(dir, name string, now time.Time) (*Package, error) {
	if !namePattern.MatchString(name) {
		return nil, fmt.Errorf("%w: %q: start with a letter, then letters, digits and _ (it is a Lua module's name too)", ErrBadName, name)
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%s exists and is not empty: choose another name or directory", dir)
	}
	class := className(name)
	files := map[string]string{
		"peacepie.toml": fmt.Sprintf("name = %q\nversion = \"0.1.0\"\n\n[actors]\n%s = %q\n", name, class, name),
		name + ".lua":   actorSource(class),
		name + "_test.lua": strings.NewReplacer("CLASS", class).Replace(`-- Tests of CLASS: peacepie test (in this directory) runs them.
local t = require "peacepie.test"

t.test("hello greets by name", function()
  local a = t.create("CLASS")
  local r = t.ask(a, "hello", { name = "you" })
  t.eq(r.command, "hello")
  t.eq(r.body.greeting, "hello, you from " .. a)
end)

t.test("add counts", function()
  local a = t.create("CLASS", { count = 1 })
  t.eq(t.ask(a, "add", { n = 2 }).body.count, 3)
  t.eq(t.params(a).count, 3)
end)
`),
		"README.md":   readme(name, class),
		".gitignore":  "*.swp\n*~\n.DS_Store\n",
		".luarc.json": "{\n  \"runtime.version\": \"Lua 5.1\",\n  \"workspace.library\": [\".peacepie/lua\"]\n}\n",
	}
	defs, err := fs.ReadDir(luadefs.Files, ".")
	if err != nil {
		return nil, fmt.Errorf("the Lua definitions: %w", err)
	}
	for _, d := range defs {
		data, err := fs.ReadFile(luadefs.Files, d.Name())
		if err != nil {
			return nil, fmt.Errorf("the Lua definitions: %w", err)
		}
		files[".peacepie/lua/"+d.Name()] = string(data)
	}
	for path, text := range files {
		full := filepath.Join(dir, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(full, []byte(text), 0o644); err != nil {
			return nil, err
		}
	}
	commit, err := firstCommit(dir, name, now)
	if err != nil {
		return nil, fmt.Errorf("git: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	return &Package{Dir: abs, Name: name, Class: class, Commit: commit}, nil
}

// firstCommit makes dir a Git repository on branch main and commits
// everything, as the user's Git identity if it has one.
func firstCommit(dir, name string, now time.Time) (string, error) {
	repo, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")},
	})
	if err != nil {
		return "", err
	}
	wt, err := repo.Worktree()
	if err != nil {
		return "", err
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return "", err
	}
	who := &object.Signature{Name: "peacepie new", Email: "peacepie@localhost", When: now}
	if cfg, err := gitconfig.LoadConfig(gitconfig.GlobalScope); err == nil && cfg.User.Name != "" {
		who.Name, who.Email = cfg.User.Name, cfg.User.Email
	}
	h, err := wt.Commit("peacepie new "+name, &git.CommitOptions{Author: who})
	if err != nil {
		return "", err
	}
	return h.String(), nil
}

// className is name in CamelCase: counter → Counter, my_pkg → MyPkg.
func className(name string) string {
	var sb strings.Builder
	up := true
	for _, r := range name {
		switch {
		case r == '_':
			up = true
		case up:
			sb.WriteRune(unicode.ToUpper(r))
			up = false
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

func actorSource(class string) string {
	return strings.ReplaceAll(`-- CLASS: an actor class. Each handler answers one command; self holds
-- the declared params, which live on across restarts and moves.
local pp = require "peacepie"

local CLASS = { params = { count = 0 } }

-- hello {"name": "..."} → hello {"greeting": "..."}
function CLASS:hello(body)
  local who = type(body) == "table" and body.name or "world"
  return "hello", { greeting = "hello, " .. tostring(who) .. " from " .. pp.name() }
end

-- add {"n": 2} → count {"count": <the new total>}
function CLASS:add(body)
  local n = type(body) == "table" and tonumber(body.n) or 1
  self.count = self.count + n
  return "count", { count = self.count }
end

return CLASS
`, "CLASS", class)
}

func readme(name, class string) string {
	return strings.NewReplacer("NAME", name, "CLASS", class).Replace(`# NAME

A peacepie package: the actor class CLASS (NAME.lua), declared in peacepie.toml, with its tests
(NAME_test.lua).

Test it: ` + "`peacepie test`" + ` in this directory (a throwaway system, a fake clock).

Run it in a system:

1. Tag a version: ` + "`git tag v0.1.0`" + ` (and again for each change you want to run: v0.1.1, …).
2. List it in the system's repo list (config/repos.toml of the directory where you run peacepie):

       [[package]]
       name = "NAME"
       url  = "/path/to/NAME"
       tags = ["v0.1.0"]

3. ` + "`peacepie run`" + `, then create an actor and talk to it:

       peacepie ask first.main.admin create_actor '{"class_desc": {"requires_dist": "NAME", "class": "CLASS"}, "name": "NAME_1"}'
       peacepie ask NAME_1 hello '{"name": "you"}'
       peacepie ask NAME_1 add '{"n": 2}'

Editor completion: .luarc.json points LuaLS at .peacepie/lua, the definitions of the peacepie
module and of the http service.
`)
}

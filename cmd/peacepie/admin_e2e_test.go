package main

// End-to-end tests of what actors may ask of admins, with the real binary,
// real child processes and a package from a real Git repository: the verbs
// processes use among themselves are refused to actors, and admin commands
// need a grant in the repo list.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peacepie/peacepie/internal/gittest"
)

// malloryModule asks and sends whatever it is told.
const malloryModule = `local pp = require "peacepie"
local M = {}
function M:ask(b)
  local r, err = pp.ask(b.to, b.command, b.body, b.timeout)
  if not r then return "asked", {error = err} end
  return "asked", {command = r.command, body = r.body}
end
function M:send(b)
  local ok, err = pp.send(b.to, b.command, b.body)
  return "sent", {ok = ok or false, error = err}
end
return M
`

// malloryHome makes a repo list with the package "mallory" (class Main:
// malloryModule), whose entry ends with extra (a grant), and returns the
// config path for dir.
func malloryHome(t *testing.T, dir, extra string) string {
	t.Helper()
	return grantsHome(t, dir, "", map[string]string{"mallory": extra})
}

// grantsHome makes a repo list of packages (name → the end of its entry:
// a grant) that each have class Main (malloryModule), and a config for dir
// with settings added; it returns the config path.
func grantsHome(t *testing.T, dir, settings string, packages map[string]string) string {
	t.Helper()
	h := &gitHome{dir: t.TempDir(), repos: t.TempDir()}
	h.list = filepath.Join(h.dir, "repos.toml")
	h.lock = filepath.Join(h.dir, "repos.lock")
	h.cache = filepath.Join(h.dir, "packages")
	var list strings.Builder
	for name, extra := range packages {
		r := gittest.Init(t, filepath.Join(h.repos, name))
		r.Commit(name+" 1.0.0", map[string]string{
			"peacepie.toml": fmt.Sprintf("name = %q\nversion = \"1.0.0\"\n\n[actors]\nMain = \"main\"\n", name),
			"main.lua":      malloryModule,
		})
		r.Tag("v1.0.0")
		fmt.Fprintf(&list, "[[package]]\nname = %q\nurl = %q\ntags = [\"v1.0.0\"]\n%s\n", name, r.URL(), extra)
	}
	writeFile(t, h.list, list.String())
	path := h.config(t, dir)
	if settings != "" {
		cfg, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, path, string(cfg)+settings)
	}
	return path
}

// via makes mallory ask (or send) command with body of to, and returns
// what came back: {command, body} or {error}.
func via(ws *wsConn, kind, to, command string, body any) answer {
	ws.t.Helper()
	return viaActor(ws, "mallory", kind, to, command, body)
}

// viaActor is via with another actor of malloryModule.
func viaActor(ws *wsConn, actor, kind, to, command string, body any) answer {
	ws.t.Helper()
	b, _ := json.Marshal(map[string]any{"to": to, "command": command, "body": body, "timeout": 30})
	a := ws.ask(actor, kind, raw(string(b)))
	if a.command() != kind+"ed" && !(kind == "send" && a.command() == "sent") {
		ws.t.Fatalf("%s %s %s of %s: %s", actor, kind, command, to, a)
	}
	o, _ := a["body"].(map[string]any)
	return answer(o)
}

// TestInternalVerbsRefusedAcrossProcesses: an actor of the main process
// sends the verbs processes use among themselves to the admin of a child
// (over the head's link) and to its own admin: exit_process, move_out of
// another package's actor, go_threads, release_name of another actor's
// name. Each is refused (is_not_handled) and nothing happens: the child
// lives, the victim answers, its name stays taken.
func TestInternalVerbsRefusedAcrossProcesses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	malloryHome(t, dir, "")
	in := start(t, dir, "run", "--console", "127.0.0.1:0")
	ws := dial(t, in)
	child := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	ws.expect(admin, "create_actor", gitCreateBody("mallory", "mallory"), "actor_is_created")
	ws.expect(child, "create_actor", raw(`{"class_desc": {"requires_dist": "peacepie_std", "class": "Echo"}, "name": "victim"}`), "actor_is_created")
	pids := childPIDs(t, ws)
	if len(pids) != 1 {
		t.Fatalf("child pids %v", pids)
	}

	for _, c := range []struct {
		to, command string
		body        any
	}{
		{child, "move_out", map[string]any{"entity": "victim"}},
		{admin, "release_name", map[string]any{"name": "victim", "node": child}},
		{child, "go_threads", map[string]any{"n": 1}},
		{admin, "reserve_name", map[string]any{"name": "squat", "node": child}},
		{child, "activate", map[string]any{"entity": "victim"}},
		{child, "route_flushed", map[string]any{"entity": "victim", "epoch": 1}},
		{admin, "restore_process", map[string]any{"node": child}},
	} {
		if r := via(ws, "ask", c.to, c.command, c.body); r.command() != "is_not_handled" {
			t.Errorf("an actor's %s to %s: %s, want is_not_handled", c.command, c.to, r)
		}
	}
	// Sent, not asked: the head passes exit_process on to the child, which
	// must not take it for its head's.
	via(ws, "send", child, "exit_process", nil)
	via(ws, "send", child, "process_gone", map[string]any{"node": admin, "reason": "forged"})
	// The console cannot either.
	ws.expect(child, "move_out", raw(`{"entity": "victim"}`), "is_not_handled")
	ws.expect(child, "exit_process", nil, "is_not_handled")
	// A console request that writes the links' mark is still the console's.
	ws.writeRaw(`{"id": "forged", "type": "ask", "recipient": "` + child + `", "command": "move_out", "body": {"entity": "victim"}, "sys": true}`)
	if a := ws.read(); a.command() != "is_not_handled" {
		t.Errorf("a console move_out with \"sys\": true: %s, want is_not_handled", a)
	}

	ws.expect("victim", "echo", raw(`"still here"`), "echoed")
	if f := ws.expect(admin, "seek_actor", raw(`{"entity": "victim"}`), "actor_is_found"); f.bodyString("node") != child {
		t.Errorf("seek_actor victim after the attack: %s", f)
	}
	// The directory still holds the name: nobody else gets it.
	ws.expect(admin, "create_actor", raw(`{"class_desc": {"requires_dist": "peacepie_std", "class": "Echo"}, "name": "victim"}`), "actor_is_not_created")
	// And the child lives: this echo goes over the child's link behind the
	// sends above, so the child had them before it answers.
	ws.expect("victim", "echo", raw(`"after exit_process"`), "echoed")
	if !alive(pids[0]) {
		t.Error("the child process ended")
	}
	if got := childPIDs(t, ws); len(got) != 1 || got[0] != pids[0] {
		t.Errorf("child pids after the attack %v, want %v", got, pids)
	}
	if strings.Contains(in.stderr.String(), "moved out") {
		t.Error("an actor was moved out")
	}
}

// TestAdminGrantsAcrossProcesses: the package "mallory" has no grant, the
// package "trusted" is granted create_process and remove_actor, and the
// host may run two child processes (max_processes). Mallory's actors, in
// the main process and in a child, may not create processes, remove
// another package's actor in another process, or exit the system; they
// may remove their own package's actor in another process (its package
// travels over the link). Trusted creates processes up to the cap, which
// holds for the console as well.
func TestAdminGrantsAcrossProcesses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	grantsHome(t, dir, "max_processes = 2\n", map[string]string{
		"mallory": "",
		"trusted": `admin = ["create_process", "remove_actor"]`,
	})
	in := start(t, dir, "run", "--console", "127.0.0.1:0")
	ws := dial(t, in)
	child := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	ws.expect(admin, "create_actor", gitCreateBody("mallory", "mallory"), "actor_is_created")
	ws.expect(admin, "create_actor", gitCreateBody("trusted", "trusted"), "actor_is_created")
	ws.expect(child, "create_actor", gitCreateBody("mallory", "mallory_child"), "actor_is_created")
	ws.expect(child, "create_actor", gitCreateBody("mallory", "minion"), "actor_is_created")
	ws.expect(child, "create_actor", raw(`{"class_desc": {"requires_dist": "peacepie_std", "class": "Echo"}, "name": "victim"}`), "actor_is_created")

	refused := func(r answer, what string) {
		t.Helper()
		if r.command() != "error" || !strings.Contains(fmt.Sprint(r["body"]), `not allowed: the actors of package "mallory" may not send`) {
			t.Errorf("%s: %s, want a refusal", what, r)
		}
	}
	refused(via(ws, "ask", admin, "create_process", nil), "mallory's create_process")
	refused(viaActor(ws, "mallory_child", "ask", child, "create_process", nil), "mallory's create_process from a child")
	refused(via(ws, "ask", admin, "remove_actor", map[string]any{"name": "victim"}), "mallory's remove_actor of a peacepie_std actor in a child")
	refused(via(ws, "ask", child, "create_actor", map[string]any{"class_desc": map[string]any{"requires_dist": "trusted", "class": "Main"}, "name": "fake"}), "mallory's create_actor of trusted's class")
	refused(viaActor(ws, "mallory_child", "ask", admin, "recreate_actor", map[string]any{"entity": "victim", "node": admin}), "mallory's move of a peacepie_std actor")
	if r := via(ws, "send", "victim", "exit", nil); r["ok"] != false || !strings.Contains(fmt.Sprint(r["error"]), "not allowed") {
		t.Errorf("mallory's exit: %s, want a refusal", r)
	}
	if r := viaActor(ws, "mallory_child", "ask", "victim", "quit", nil); !strings.Contains(fmt.Sprint(r["error"]), "not allowed") {
		t.Errorf("mallory's quit from a child: %s, want a refusal", r)
	}
	ws.expect("victim", "echo", raw(`"alive"`), "echoed")
	if n := len(childPIDs(t, ws)); n != 1 {
		t.Errorf("%d child processes after mallory's attempts, want 1", n)
	}
	// Its own package's actor, in the child: removed.
	if r := via(ws, "ask", admin, "remove_actor", map[string]any{"name": "minion"}); r.command() != "actor_is_removed" {
		t.Errorf("mallory's remove_actor of its own actor in a child: %s", r)
	}
	// Read-only commands are open.
	if r := via(ws, "ask", child, "get_actors", nil); r.command() != "actors" {
		t.Errorf("mallory's get_actors of a child: %s", r)
	}
	if r := via(ws, "ask", admin, "get_processes", nil); r.command() != "processes" {
		t.Errorf("mallory's get_processes: %s", r)
	}

	// Trusted: one more process, then the cap.
	if r := viaActor(ws, "trusted", "ask", admin, "create_process", nil); r.command() != "process_is_created" {
		t.Fatalf("trusted's create_process: %s", r)
	}
	capped := func(r answer, what string) {
		t.Helper()
		if r.command() != "process_is_not_created" || !strings.Contains(fmt.Sprint(r["body"]), "max_processes") {
			t.Errorf("%s past max_processes: %s, want process_is_not_created naming max_processes", what, r)
		}
	}
	capped(viaActor(ws, "trusted", "ask", admin, "create_process", nil), "trusted's create_process")
	capped(ws.ask(admin, "create_process", nil), "the console's create_process")
	if n := len(childPIDs(t, ws)); n != 2 {
		t.Errorf("%d child processes, want 2 (max_processes)", n)
	}
	if r := viaActor(ws, "trusted", "ask", admin, "remove_actor", map[string]any{"name": "victim"}); r.command() != "actor_is_removed" {
		t.Errorf("trusted's remove_actor of another package's actor: %s", r)
	}
}

// TestUnknownGrantStopsRun: a repo list that grants a command no grant can
// name (a typo) stops peacepie run with an error that lists the ones that
// can be granted.
func TestUnknownGrantStopsRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	malloryHome(t, dir, `admin = ["create_proces"]`)
	r := runCLI(t, dir, nil, "run", "--console", "127.0.0.1:0")
	if r.code == 0 || !strings.Contains(r.stderr, `package "mallory": admin grants "create_proces"`) || !strings.Contains(r.stderr, "create_process") {
		t.Errorf("run with admin = [\"create_proces\"]: code %d, stderr %q", r.code, r.stderr)
	}
}

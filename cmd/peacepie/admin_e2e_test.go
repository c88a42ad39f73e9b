package main

// End-to-end tests of what actors may ask of admins, with the real binary,
// real child processes and a package from a real Git repository: the verbs
// processes use among themselves are refused to actors, and admin commands
// need a grant in the repo list.

import (
	"encoding/json"
	"fmt"
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
// malloryModule); extra is appended to its entry (a grant) and returns
// the config path for dir.
func malloryHome(t *testing.T, dir, extra string) string {
	t.Helper()
	h := &gitHome{dir: t.TempDir(), repos: t.TempDir()}
	h.list = filepath.Join(h.dir, "repos.toml")
	h.lock = filepath.Join(h.dir, "repos.lock")
	h.cache = filepath.Join(h.dir, "packages")
	r := gittest.Init(t, filepath.Join(h.repos, "mallory"))
	r.Commit("mallory 1.0.0", map[string]string{
		"peacepie.toml": "name = \"mallory\"\nversion = \"1.0.0\"\n\n[actors]\nMain = \"main\"\n",
		"main.lua":      malloryModule,
	})
	r.Tag("v1.0.0")
	writeFile(t, h.list, fmt.Sprintf("[[package]]\nname = \"mallory\"\nurl = %q\ntags = [\"v1.0.0\"]\n%s", r.URL(), extra))
	return h.config(t, dir)
}

// via makes mallory ask (or send) command with body of to, and returns
// what came back: {command, body} or {error}.
func via(ws *wsConn, kind, to, command string, body any) answer {
	ws.t.Helper()
	b, _ := json.Marshal(map[string]any{"to": to, "command": command, "body": body})
	a := ws.ask("mallory", kind, raw(string(b)))
	if a.command() != kind+"ed" && !(kind == "send" && a.command() == "sent") {
		ws.t.Fatalf("mallory %s %s of %s: %s", kind, command, to, a)
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

package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSecondRunIsRefused: a second `peacepie run` on the config of a
// running system says so and exits, instead of starting another system
// on the same config; once the first is killed (its console file left
// behind), a run starts.
func TestSecondRunIsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := start(t, dir, "run", "--console", "127.0.0.1:0")
	r := runCLI(t, dir, nil, "run", "--console", "127.0.0.1:0")
	if r.code == 0 || !strings.Contains(r.stderr, "a system is already running with this config: its console answers at http://"+first.addr) {
		t.Fatalf("a second run: exit %d\n%s", r.code, r.stderr)
	}
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.waitExit(t, 10*time.Second)
	start(t, dir, "run", "--console", "127.0.0.1:0") // the file the killed one left does not stop it
}

// TestCLIHelps: a mistyped command gets a suggestion; --version and
// version say what runs; ask with no system here says how to start one;
// send's help shows no option it does not use.
func TestCLIHelps(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	runCLI(t, dir, nil, "aks", "x", "y").check(t, "a mistyped command", 2, "", `there is no command "aks"; did you mean "ask"?`)
	runCLI(t, dir, nil, "ask", "--bogus", "x", "y").check(t, "an unknown flag", 2, "", "flag provided but not defined")
	runCLI(t, dir, nil, "--version").check(t, "--version", 0, "peacepie version ", "")
	patches, err := filepath.Glob("../../third_party/gopher-lua/patches/*.patch")
	if err != nil || len(patches) == 0 {
		t.Fatalf("the patches of gopher-lua: %v (%d)", err, len(patches))
	}
	runCLI(t, dir, nil, "version").check(t, "version", 0, fmt.Sprintf("gopher-lua: github.com/yuin/gopher-lua v1.1.2 + %d patches of peacepie", len(patches)), "")
	runCLI(t, dir, nil, "ask", "first.main.admin", "get_hosts").check(t, "ask with no system", 2, "", "no peacepie system seems to run here")
	if r := runCLI(t, dir, nil, "send", "--help"); strings.Contains(r.stdout, "--timeout") || strings.Contains(r.stdout, "--json") {
		t.Errorf("send's help offers options it does not use:\n%s", r.stdout)
	}
}

// TestChildKilledBySignalSaysSo: a child killed by a signal is listed as
// gone with its end ("signal: killed"), not only its link's EOF.
func TestChildKilledBySignalSaysSo(t *testing.T) {
	t.Parallel()
	ws := dial(t, startFresh(t))
	node := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	var pid int
	for _, p := range processList(ws) {
		if p["node"] == node {
			n, _ := p["pid"].(interface{ Int64() (int64, error) }).Int64()
			pid = int(n)
		}
	}
	if pid == 0 {
		t.Fatalf("no pid for %s", node)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, node+" listed as killed by a signal", func() bool {
		return strings.Contains(ws.ask(admin, "get_processes", nil).String(), "signal: killed")
	})
}

// processList is get_processes's list of the head's host.
func processList(ws *wsConn) []map[string]any {
	a := ws.ask(admin, "get_processes", nil)
	body, _ := a["body"].(map[string]any)
	list, _ := body["processes"].([]any)
	var out []map[string]any
	for _, v := range list {
		if m, ok := v.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// TestCleanExitLogsNoWarning: an exit that stops a head and two children
// logs the ends of the processes at INFO, not as warnings.
func TestCleanExitLogsNoWarning(t *testing.T) {
	t.Parallel()
	in := startFresh(t)
	ws := dial(t, in)
	for range 2 {
		ws.expect(admin, "create_process", nil, "process_is_created")
	}
	if a := ws.request("send", admin, "exit", nil, 0); a.command() != "sent" {
		t.Fatalf("exit: %s", a)
	}
	in.waitExit(t, 15*time.Second)
	for _, line := range strings.Split(in.stderr.String(), "\n") {
		// The ends of processes, which an exit causes, are no warnings.
		if (strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR")) &&
			(strings.Contains(line, "process is gone") || strings.Contains(line, "reset by peer")) {
			t.Errorf("a clean exit logged: %s", line)
		}
	}
}

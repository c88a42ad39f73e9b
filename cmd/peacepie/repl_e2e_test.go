package main

// End-to-end tests of `peacepie attach`: the REPL runs under a
// pseudo-terminal, as a person would use it, against a real `peacepie run`
// (the binary TestMain builds).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// startAttachable starts `peacepie run` in a new directory with a config
// written by the test: repl_lua as asked, and the extra lines. The system
// listens on a port of its own choosing (console 127.0.0.1:0, so no other
// test can take the port between a probe and the start); the config is then
// pointed at that address, so that `peacepie attach --config` and a restart
// find it. It returns the config file.
func startAttachable(t *testing.T, replLua bool, extra ...string) (*instance, string) {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config", "peacepie.toml")
	if err := os.MkdirAll(filepath.Dir(cfgPath), 0o700); err != nil {
		t.Fatal(err)
	}
	writeConfig(t, cfgPath, "127.0.0.1:0", replLua, extra)
	in := start(t, dir, "run") // makes the token and the repo list next to the config
	writeConfig(t, cfgPath, in.addr, replLua, extra)
	return in, cfgPath
}

func writeConfig(t *testing.T, path, console string, replLua bool, extra []string) {
	t.Helper()
	text := fmt.Sprintf("host = \"first\"\nprocess = \"main\"\nconsole = %q\nrepl_lua = %t\n", console, replLua)
	for _, line := range extra {
		text += line + "\n"
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatalf("write config: %v", err)
	}
}

// mustAsk runs `peacepie ask` in the system's directory and fails unless the
// exit code is 0.
func mustAsk(t *testing.T, in *instance, args ...string) {
	t.Helper()
	r := runCLI(t, in.dir, nil, append([]string{"ask"}, args...)...)
	r.check(t, "peacepie ask "+strings.Join(args, " "), 0, "", "")
}

const (
	iteratingBody = `{"class_desc": {"requires_dist": "peacepie_example", "class": "IteratingHelloWorld"}, ` +
		`"name": "iterating_hello_world", "params": {"period": 0.2}}`
	helloBody = `{"class_desc": {"requires_dist": "peacepie_example", "class": "HelloWorld"}, "name": "hello_world"}`
)

// replSession is `peacepie attach` running under a pseudo-terminal.
type replSession struct {
	cmd  *exec.Cmd
	pty  *os.File
	out  *syncBuffer   // everything written to the terminal
	done chan struct{} // closed once the process has exited
	home string        // its $HOME, where the history file goes
	mark int           // expect looks at the screen text from here on
}

// attach starts `peacepie attach ARGS` in dir under a 40×120 terminal with
// TERM=xterm (liner edits lines only then) and HOME in a temp directory, and
// waits for the first prompt.
func attach(t *testing.T, dir string, args ...string) *replSession {
	t.Helper()
	s := &replSession{out: &syncBuffer{}, done: make(chan struct{}), home: t.TempDir()}
	s.cmd = exec.Command(binPath, append([]string{"attach"}, args...)...)
	s.cmd.Dir = dir
	s.cmd.Env = childEnv("TERM=xterm", "HOME="+s.home)
	f, err := pty.StartWithSize(s.cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Fatalf("start peacepie attach under a pty: %v", err)
	}
	s.pty = f
	copied := make(chan struct{})
	go func() {
		_, _ = io.Copy(s.out, f) // ends with EIO once the process is gone
		close(copied)
	}()
	go func() {
		_ = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		if !s.exited() {
			_ = s.cmd.Process.Kill()
			<-s.done
		}
		f.Close()
		<-copied
		if t.Failed() {
			t.Logf("peacepie attach %s: the terminal showed\n%s", strings.Join(args, " "), screenText(s.out.String()))
		}
	})
	s.expect(t, "attached to ws://", 10*time.Second)
	s.waitPrompt(t)
	return s
}

func (s *replSession) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// waitExit waits for the process to end and returns its exit code.
func (s *replSession) waitExit(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-s.done:
		return s.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		t.Fatalf("peacepie attach did not exit within %s", timeout)
		return -1
	}
}

// ansiEscape matches the control sequences liner and the colours use.
var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// screenText is the terminal output without escape sequences and carriage
// returns.
func screenText(raw string) string {
	return strings.ReplaceAll(ansiEscape.ReplaceAllString(raw, ""), "\r", "")
}

// send types keys.
func (s *replSession) send(t *testing.T, keys string) {
	t.Helper()
	if _, err := s.pty.Write([]byte(keys)); err != nil {
		t.Fatalf("type %q: %v", keys, err)
	}
}

// expectMatch polls the screen text after the mark until re matches,
// moves the mark past the match and returns the text from the old mark to
// the end of the match, and the submatches.
func (s *replSession) expectMatch(t *testing.T, re *regexp.Regexp, timeout time.Duration) (string, []string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		text := screenText(s.out.String())
		if loc := re.FindStringSubmatchIndex(text[s.mark:]); loc != nil {
			var subs []string
			for i := 0; i+1 < len(loc); i += 2 {
				if loc[i] >= 0 {
					subs = append(subs, text[s.mark+loc[i]:s.mark+loc[i+1]])
				} else {
					subs = append(subs, "")
				}
			}
			seen := text[s.mark : s.mark+loc[1]]
			s.mark += loc[1]
			return seen, subs
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %q on the terminal; it shows since the last match:\n%s", timeout, re, text[s.mark:])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pressUntil presses key every 100ms until want shows on the screen: a
// Ctrl-C meant for a wait must come once the REPL waits, and the screen
// does not tell when that is.
func (s *replSession) pressUntil(t *testing.T, key, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s.send(t, key)
		for range 10 {
			if i := strings.Index(screenText(s.out.String())[s.mark:], want); i >= 0 {
				s.mark += i + len(want)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s pressing %q and waiting for %q; the screen shows since the last match:\n%s",
				timeout, key, want, screenText(s.out.String())[s.mark:])
		}
	}
}

// expect waits for want on the screen, after what earlier calls matched.
func (s *replSession) expect(t *testing.T, want string, timeout time.Duration) string {
	t.Helper()
	seen, _ := s.expectMatch(t, regexp.MustCompile(regexp.QuoteMeta(want)), timeout)
	return seen
}

// promptLine is the REPL's prompt: "peacepie> ", or "peacepie NAME> " after use.
var promptLine = regexp.MustCompile(`(?m)^peacepie(?: (\S+))?> `)

// waitPrompt waits for the next prompt; it returns what came before it and
// the current actor the prompt shows.
func (s *replSession) waitPrompt(t *testing.T) (output, current string) {
	t.Helper()
	seen, subs := s.expectMatch(t, promptLine, 10*time.Second)
	return strings.TrimSuffix(seen, subs[0]), subs[1]
}

// do types line and Enter at the prompt, and returns what the command
// printed before the next prompt.
func (s *replSession) do(t *testing.T, line string) string {
	t.Helper()
	s.send(t, line+"\r")
	s.expect(t, line+"\n", 5*time.Second)
	out, _ := s.waitPrompt(t)
	return out
}

// doExpect is do, failing unless the output contains each of wants.
func (s *replSession) doExpect(t *testing.T, line string, wants ...string) string {
	t.Helper()
	out := s.do(t, line)
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%q printed\n%s\nwant it to contain %q", line, out, w)
		}
	}
	return out
}

// TestAttachSession drives the REPL as an operator would: tree, completion,
// use, ask, bad input, watch with Ctrl-C, lua, then Ctrl-D to detach.
func TestAttachSession(t *testing.T) {
	t.Parallel()
	in, cfg := startAttachable(t, true, `handler_budget = "2s"`)
	mustAsk(t, in, admin, "create_actor", helloBody)
	mustAsk(t, in, admin, "create_actor", iteratingBody)
	began := time.Now()
	s := attach(t, t.TempDir(), "--config", cfg)
	if !strings.Contains(s.out.String(), "attached to ws://"+in.addr+"/ws (head first.main.admin)") {
		t.Errorf("the greeting does not name the console and the head admin:\n%s", screenText(s.out.String()))
	}

	s.doExpect(t, "help", "ls [NODE]", "watch [NAME|NODE]", "lua NAME CODE", "exit")
	s.doExpect(t, "tree", "first\n", "└── first.main.admin\n",
		"hello_world (HelloWorld peacepie_example@", "iterating_hello_world (IteratingHelloWorld peacepie_example@")
	s.doExpect(t, "ls", "NAME", "first.main.admin", "hello_world ", "IteratingHelloWorld")

	// Tab completes an actor name; Enter runs the completed line.
	s.send(t, "use hel")
	s.expect(t, "use hel", 5*time.Second)
	s.send(t, "\t")
	s.expect(t, "use hello_world", 5*time.Second)
	s.send(t, "\r")
	if out, current := s.waitPrompt(t); current != "hello_world" || strings.TrimSpace(out) != "" {
		t.Fatalf("after use hello_world: output %q and a prompt showing %q, want no output and hello_world", out, current)
	}

	// ask COMMAND goes to the current actor; the reply is printed.
	lines := in.countLines("Hello, World!")
	if out := s.do(t, "ask tick"); strings.TrimSpace(out) != "hello_world" {
		t.Errorf("ask tick printed %q, want the reply hello_world", out)
	}
	eventually(t, 5*time.Second, "Hello, World! on the system's terminal", func() bool { return in.countLines("Hello, World!") > lines })
	s.doExpect(t, "info", "name     hello_world\n", "class    HelloWorld\n", "package  peacepie_example@", "node     first.main.admin\n", "handled  ")

	// Tab completes a command of the named actor (get_commands), as well.
	s.send(t, "ask hello_world ti\t")
	s.expect(t, "ask hello_world tick", 5*time.Second)
	s.send(t, "\r")
	if out, _ := s.waitPrompt(t); strings.TrimSpace(out) != "hello_world" {
		t.Errorf("the completed ask hello_world tick printed %q, want hello_world", out)
	}
	// Two tabs list the candidates, without the words already typed.
	s.send(t, "ask \t\t")
	_, subs := s.expectMatch(t, regexp.MustCompile(`(?s)\n(first\.main\.admin .*)peacepie hello_world> ask `), 5*time.Second)
	if listing := subs[1]; strings.Contains(listing, "ask") || !strings.Contains(listing, "iterating_hello_world") || !strings.Contains(listing, "get_params") {
		t.Errorf("ask TAB TAB after use hello_world listed\n%s\nwant the names and hello_world's commands alone", listing)
	}
	s.send(t, "\x03") // Ctrl-C clears the line
	if _, current := s.waitPrompt(t); current != "hello_world" {
		t.Errorf("after Ctrl-C at the prompt, the prompt shows %q, want hello_world", current)
	}

	// Bad input: the REPL says what is wrong and stays.
	s.doExpect(t, "frobnicate now", `unknown command "frobnicate"`)
	s.doExpect(t, "ask nobody tick", "actor_is_not_found", `"entity": "nobody"`)
	out := s.doExpect(t, "ask tick {oops", "not valid JSON")
	if !strings.Contains(out, "  {oops\n   ^\n") {
		t.Errorf("the JSON error does not point at the problem with a caret under the o:\n%s", out)
	}
	s.doExpect(t, "use nobody", `there is no actor "nobody"`)
	if _, current := s.waitPromptAfter(t, "use"); current != "" {
		t.Errorf("after use alone the prompt shows %q, want no actor", current)
	}

	// watch streams printed lines until Ctrl-C; the prompt then works.
	s.doExpect(t, "ask iterating_hello_world tick_start", "tick_started")
	s.send(t, "watch iterating_hello_world\r")
	s.expect(t, "watching iterating_hello_world; Ctrl-C to stop\n", 5*time.Second)
	s.expect(t, `iterating_hello_world: IteratingHelloWorld "iterating_hello_world" from "first.main.admin" says "Hello, World! (`, 5*time.Second)
	s.send(t, "\x03")
	if _, current := s.waitPrompt(t); current != "" {
		t.Errorf("after the watch the prompt shows %q", current)
	}
	afterWatch := s.mark
	if s.exited() {
		t.Fatalf("Ctrl-C during watch ended the REPL")
	}
	s.doExpect(t, "ask hello_world tick", "hello_world")

	// lua reads a param of the iterating actor (repl_lua = true here).
	if out := strings.TrimSpace(s.do(t, "lua iterating_hello_world self.index")); !regexp.MustCompile(`^\d+$`).MatchString(out) {
		t.Errorf("lua iterating_hello_world self.index printed %q, want a number", out)
	}
	if out := strings.TrimSpace(s.do(t, "lua iterating_hello_world self.period * 10")); out != "2" {
		t.Errorf("lua iterating_hello_world self.period * 10 printed %q, want 2", out)
	}
	s.doExpect(t, "lua iterating_hello_world return self.is_ticking and 'yes' or 'no'", `"yes"`)
	eventually(t, 5*time.Second, "the log line of the eval, with the code", func() bool {
		log := in.stderr.String()
		return strings.Contains(log, "evaluating code in an actor") && strings.Contains(log, "self.index")
	})
	// Ctrl-C stops waiting for a reply: here, for an eval that loops until
	// the handler budget (2 s) interrupts it.
	s.send(t, "lua iterating_hello_world while true do end\r")
	s.expect(t, "lua iterating_hello_world while true do end\n", 5*time.Second)
	s.pressUntil(t, "\x03", "interrupted: the request stays sent", 5*time.Second)
	s.waitPrompt(t)
	s.doExpect(t, "ask hello_world tick", "hello_world")

	// Since Ctrl-C, no watched line was printed: the watch is over.
	if text := screenText(s.out.String())[afterWatch:]; strings.Contains(text, "iterating_hello_world: ") {
		t.Errorf("printed lines still come after Ctrl-C ended the watch:\n%s", text)
	}

	// Ctrl-D detaches; the system keeps running.
	s.send(t, "\x04")
	s.expect(t, "detached; the system keeps running", 5*time.Second)
	if code := s.waitExit(t, 5*time.Second); code != 0 {
		t.Errorf("attach exited with code %d after Ctrl-D, want 0", code)
	}
	t.Logf("the session took %s", time.Since(began).Round(time.Millisecond))
	if in.hasExited() {
		t.Fatalf("the system stopped when the REPL detached")
	}
	mustAsk(t, in, "iterating_hello_world", "tick_stop")
	runCLI(t, in.dir, nil, "ask", "hello_world", "tick").check(t, "ask after detaching", 0, `"hello_world"`, "")

	history, err := os.ReadFile(filepath.Join(s.home, ".peacepie_history"))
	if err != nil || !strings.Contains(string(history), "use hello_world\n") || !strings.Contains(string(history), "lua iterating_hello_world self.index\n") {
		t.Errorf("history file (%v):\n%s\nwant the lines typed", err, history)
	}
}

// waitPromptAfter types line and returns the output and the new prompt's actor.
func (s *replSession) waitPromptAfter(t *testing.T, line string) (string, string) {
	t.Helper()
	s.send(t, line+"\r")
	s.expect(t, line+"\n", 5*time.Second)
	return s.waitPrompt(t)
}

// TestAttachRefusals: lua is refused when repl_lua is off, exit detaches,
// piped input prints compact JSON, and a wrong token or an unreachable
// address is a one-line error.
func TestAttachRefusals(t *testing.T) {
	t.Parallel()
	in, _ := startAttachable(t, false)
	mustAsk(t, in, admin, "create_actor", helloBody)
	cwd := t.TempDir() // no config here: the printed URL carries address and token

	s := attach(t, cwd, in.url)
	s.doExpect(t, "lua hello_world self", "error", "repl_lua")

	// watch without a filter shows the actors made and removed, and the log.
	s.send(t, "watch\r")
	s.expect(t, "watching everything; Ctrl-C to stop\n", 5*time.Second)
	mustAsk(t, in, admin, "create_actor", strings.Replace(helloBody, `"hello_world"`, `"second"`, 1))
	s.expect(t, "+ second (HelloWorld peacepie_example@", 5*time.Second)
	s.expect(t, "log INFO actor is created", 5*time.Second)
	mustAsk(t, in, admin, "remove_actor", `{"name": "second"}`)
	s.expect(t, "- second from first.main.admin\n", 5*time.Second)
	s.send(t, "\x03")
	s.waitPrompt(t)

	s.doExpect(t, "ask hello_world tick", "hello_world")
	s.send(t, "exit\r")
	s.expect(t, "detached; the system keeps running", 5*time.Second)
	if code := s.waitExit(t, 5*time.Second); code != 0 {
		t.Errorf("attach exited with code %d after exit, want 0", code)
	}
	if strings.Contains(in.stderr.String(), "evaluating code in an actor") {
		t.Errorf("the system evaluated code with repl_lua = false:\n%s", in.stderr.String())
	}

	// Piped: no prompt, no colours, one line of JSON per reply.
	r := runPiped(t, cwd, nil, "ask hello_world tick\nask nobody tick\n", "attach", in.url)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if r.code != 0 || len(lines) != 2 || strings.Contains(r.stdout, "\x1b") {
		t.Fatalf("piped attach: exit code %d, stdout\n%q\nwant two lines of plain JSON and code 0; stderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for i, want := range []string{"hello_world", "actor_is_not_found"} {
		var m map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &m); err != nil || m["command"] != want {
			t.Errorf("piped attach, line %d: %q, want compact JSON with command %q (%v)", i+1, lines[i], want, err)
		}
	}

	// A wrong token, an unreachable address: one line, no stack trace.
	oneLine := func(what string, r cliResult, mention string) {
		t.Helper()
		msg := strings.TrimSuffix(r.stderr, "\n")
		if r.code == 0 || strings.Contains(msg, "\n") || !strings.Contains(msg, mention) ||
			strings.Contains(msg, "goroutine ") || strings.Contains(msg, "panic") {
			t.Errorf("%s: exit code %d, stderr %q; want a non-zero code and one line mentioning %q", what, r.code, r.stderr, mention)
		}
	}
	const wrong = "0123456789abcdef0123456789abcdef"
	base := "http://" + in.addr
	oneLine("wrong --token", runPiped(t, cwd, nil, "", "attach", "--token", wrong, base), "token")
	oneLine("wrong PEACEPIE_TOKEN", runPiped(t, cwd, []string{"PEACEPIE_TOKEN=" + wrong}, "", "attach", base), "token")
	oneLine("wrong token in the URL", runPiped(t, cwd, nil, "", "attach", base+"/?token="+wrong), "token")
	oneLine("unreachable address", runPiped(t, cwd, nil, "", "attach", "--token", wrong, "http://"+closedAddr(t)), "connect")
	oneLine("no address and no config", runPiped(t, cwd, nil, "", "attach"), "config")
}

// runPiped runs the binary to completion in dir with env added, stdin
// from a pipe holding input and HOME in a temp directory.
func runPiped(t *testing.T, dir string, env []string, input string, argv ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, argv...)
	cmd.Dir = dir
	cmd.Env = childEnv(append(env, "HOME="+t.TempDir())...)
	cmd.Stdin = strings.NewReader(input) // not a file: exec copies it through a pipe
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("peacepie %s: %v", strings.Join(argv, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("peacepie %s did not finish in time", strings.Join(argv, " "))
	}
	return cliResult{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestAttachConnectionLost stops the system under an attached REPL: the
// next command says the connection is lost, and after its attempts to
// connect again the REPL exits with a non-zero code.
func TestAttachConnectionLost(t *testing.T) {
	t.Parallel()
	in, cfg := startAttachable(t, false)
	s := attach(t, in.dir, "--config", cfg)
	s.doExpect(t, "ls", "first.main.admin")

	runCLI(t, in.dir, nil, "send", admin, "exit").check(t, "send exit", 0, `"sent"`, "")
	if code, _ := in.waitExit(t, 5*time.Second); code != 0 {
		t.Fatalf("the system exited with code %d", code)
	}
	if s.exited() {
		t.Fatalf("the REPL exited when the system did, before any command")
	}
	typed := time.Now()
	s.send(t, "ls\r")
	s.expect(t, "connection lost", 5*time.Second)
	s.expect(t, "is lost and cannot be made again", 10*time.Second)
	code := s.waitExit(t, 10*time.Second)
	t.Logf("the REPL gave up %s after the command", time.Since(typed).Round(time.Millisecond))
	if code == 0 {
		t.Errorf("attach exited with code 0 after losing the system, want non-zero")
	}
	if text := screenText(s.out.String()); strings.Contains(text, "goroutine ") || strings.Contains(text, "panic") {
		t.Errorf("the REPL printed a stack trace:\n%s", text)
	}
}

// TestAttachReconnects restarts the system on the same port under an
// attached REPL: the next command connects again and works.
func TestAttachReconnects(t *testing.T) {
	t.Parallel()
	in, cfg := startAttachable(t, false)
	s := attach(t, in.dir, "--config", cfg)
	s.doExpect(t, "tree", "first.main.admin")

	runCLI(t, in.dir, nil, "send", admin, "exit").check(t, "send exit", 0, `"sent"`, "")
	if code, _ := in.waitExit(t, 5*time.Second); code != 0 {
		t.Fatalf("the system exited with code %d", code)
	}
	in2 := start(t, in.dir, "run") // the same config: the same port and token
	if in2.addr != in.addr {
		t.Fatalf("the restarted system listens on %s, not %s", in2.addr, in.addr)
	}
	mustAsk(t, in2, admin, "create_actor", helloBody)

	out := s.doExpect(t, "ask hello_world tick", "connection lost", "reconnected", "hello_world")
	if strings.Contains(out, "cannot be made again") {
		t.Errorf("the REPL gave up although the system is back:\n%s", out)
	}
	s.doExpect(t, "ls", "hello_world")
	s.send(t, "\x04")
	s.expect(t, "detached", 5*time.Second)
	if code := s.waitExit(t, 5*time.Second); code != 0 {
		t.Errorf("attach exited with code %d after Ctrl-D, want 0", code)
	}
}

// TestAttachTreeHosts: tree shows every host with its processes and
// actors, and a host that died as gone.
func TestAttachTreeHosts(t *testing.T) {
	t.Parallel()
	in, cfg := startAttachable(t, false)
	addr, secret := joinInfo(t, in)
	second := startHost(t, "second", addr, secret, nil)
	ws := dial(t, in)
	eventually(t, 10*time.Second, "second to join", func() bool { return hostStates(ws)["second"] == "up" })
	ws.expect("second.main.admin", "create_actor", createBody("HelloWorld", "far_hello"), "actor_is_created")
	s := attach(t, in.dir, "--config", cfg)
	s.doExpect(t, "tree", "first.main.admin", "\nsecond\n", "second.main.admin", "far_hello (HelloWorld peacepie_example@")
	if err := second.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "second gone", func() bool { return hostStates(ws)["second"] == "gone" })
	s.doExpect(t, "tree", "first.main.admin", "second (gone: host second is gone")
}

// TestAttachChildViews: the REPL sees every process of the system: watch
// alone prints a child's actor's lines and watch NAME follows an actor in
// a child (and one on another host), watch of a name that does not exist
// says so, and lua evaluates in an actor of a child.
func TestAttachChildViews(t *testing.T) {
	t.Parallel()
	in, cfg := startAttachable(t, true)
	ws := dial(t, in)
	node := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	ws.expect(node, "create_actor", raw(`{"class_desc": {"requires_dist": "peacepie_example", "class": "IteratingHelloWorld"}, `+
		`"name": "child_iterating", "params": {"period": 0.2}}`), "actor_is_created")
	ws.expect("child_iterating", "tick_start", nil, "tick_started")
	s := attach(t, in.dir, "--config", cfg)

	s.send(t, "watch\r")
	s.expect(t, "watching everything; Ctrl-C to stop\n", 5*time.Second)
	s.expect(t, fmt.Sprintf(`child_iterating: IteratingHelloWorld "child_iterating" from "%s" says "Hello, World! (`, node), 10*time.Second)
	s.send(t, "\x03")
	s.waitPrompt(t)

	// watch NAME follows the actor into another process.
	s.send(t, "watch child_iterating\r")
	s.expect(t, "watching child_iterating; Ctrl-C to stop\n", 5*time.Second)
	s.expect(t, fmt.Sprintf(`child_iterating: IteratingHelloWorld "child_iterating" from "%s" says "Hello, World! (`, node), 10*time.Second)
	ws.expect(admin, "recreate_actor", raw(`{"entity": "child_iterating", "node": "first.main.admin"}`), "actor_is_recreated")
	s.expect(t, "> child_iterating moved to first.main.admin", 10*time.Second)
	s.expect(t, `child_iterating: IteratingHelloWorld "child_iterating" from "first.main.admin" says "Hello, World! (`, 10*time.Second)
	ws.expect(admin, "recreate_actor", raw(fmt.Sprintf(`{"entity": "child_iterating", "node": %q}`, node)), "actor_is_recreated")
	s.expect(t, "> child_iterating moved to "+node, 10*time.Second)
	s.expect(t, fmt.Sprintf(`child_iterating: IteratingHelloWorld "child_iterating" from "%s" says "Hello, World! (`, node), 10*time.Second)
	s.send(t, "\x03")
	s.waitPrompt(t)

	s.doExpect(t, "watch no_such_actor", `there is no actor or process "no_such_actor" in the system`)
	s.doExpect(t, "watch first.process_9.admin", `there is no actor or process "first.process_9.admin" in the system`)

	if out := strings.TrimSpace(s.do(t, "lua child_iterating return 1+1")); out != "2" {
		t.Errorf("lua child_iterating return 1+1 printed %q, want 2", out)
	}
	if out := strings.TrimSpace(s.do(t, "lua child_iterating self.period * 10")); out != "2" {
		t.Errorf("lua child_iterating self.period * 10 printed %q, want 2", out)
	}
	s.doExpect(t, "lua no_such_actor return 1", "actor_is_not_found")
	eventually(t, 5*time.Second, "the eval logged by the child, with the code", func() bool {
		log := in.stderr.String()
		return strings.Contains(log, "evaluating code in an actor") && strings.Contains(log, "return 1+1") && strings.Contains(log, "child_iterating")
	})
}

// TestAttachOtherHostWatch: attach to a host that is not the first sees
// the whole system: watch prints the lines of an actor in the first host's
// child.
func TestAttachOtherHostWatch(t *testing.T) {
	t.Parallel()
	first := startFresh(t)
	addr, secret := joinInfo(t, first)
	second := startHost(t, "second", addr, secret, nil)
	ws := dial(t, first)
	eventually(t, 10*time.Second, "second to join", func() bool { return hostStates(ws)["second"] == "up" })
	node := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	ws.expect(node, "create_actor", raw(`{"class_desc": {"requires_dist": "peacepie_example", "class": "IteratingHelloWorld"}, `+
		`"name": "near_iterating", "params": {"period": 0.2}}`), "actor_is_created")
	ws.expect("near_iterating", "tick_start", nil, "tick_started")
	s := attach(t, second.dir)

	s.send(t, "watch\r")
	s.expect(t, "watching everything; Ctrl-C to stop\n", 5*time.Second)
	s.expect(t, fmt.Sprintf(`near_iterating: IteratingHelloWorld "near_iterating" from "%s" says "Hello, World! (`, node), 15*time.Second)
	s.send(t, "\x03")
	s.waitPrompt(t)
}

// TestAttachFollowsAFailover: a REPL attached to the second of three hosts
// carries on when the first (the root) is killed: its next command that
// asks the head asks the survivor that took over, and says so.
func TestAttachFollowsAFailover(t *testing.T) {
	t.Parallel()
	first, second, _, ws := threeHosts(t)
	ws.expect("third.main.admin", "create_actor", createBody("HelloWorld", "on_third"), "actor_is_created")
	s := attach(t, second.dir)
	s.doExpect(t, "tree", "first.main.admin", "on_third (HelloWorld")
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	ws2 := dial(t, second)
	eventually(t, 20*time.Second, "second to be under a survivor that heads the system", func() bool {
		hosts := hostsOf(ws2, "second") // second alone until it has joined the new head
		for _, name := range []string{"second", "third"} {
			if row := hosts[name]; row != nil && row["head"] == true {
				return true
			}
		}
		return false
	})
	s.doExpect(t, "tree", "the system's head is now", "first (gone: host first is gone")
	eventually(t, 20*time.Second, "all survivors under the new head", func() bool {
		hosts := hostsOf(ws2, "second")
		return hosts["second"]["state"] == "up" && hosts["third"]["state"] == "up"
	})
	s.doExpect(t, "tree", "on_third (HelloWorld")
}

package main

// End-to-end tests of the real binary: TestMain builds it once, every test
// starts it as a child process in a fresh working directory and talks to it
// over its console WebSocket, its CLI and its signals.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// binPath is the peacepie binary built by TestMain.
var binPath string

func TestMain(m *testing.M) {
	if os.Getenv(echoServerEnv) != "" { // BenchmarkTCPEcho's other process
		serveEcho()
		return
	}
	dir, err := os.MkdirTemp("", "peacepie-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "peacepie")
	build := exec.Command("go", "build", "-o", binPath, "./")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: go build:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// eventually polls cond every 10ms until it holds, failing the test after
// timeout.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// childEnv is the environment of child processes, without a token that
// would change what ask and send do.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PEACEPIE_TOKEN=") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// instance is a running `peacepie run`.
type instance struct {
	cmd    *exec.Cmd
	dir    string
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan struct{} // closed once the process has exited
	exited time.Time     // set before done is closed

	url   string // as printed: http://127.0.0.1:PORT/?token=TOKEN
	addr  string // 127.0.0.1:PORT
	token string
}

var runningLine = regexp.MustCompile(`^peacepie is running: console (http://(127\.0\.0\.1:\d+)/\?token=([0-9a-f]+))$`)

// start runs the binary with args in dir and waits for its URL line.
func start(t testing.TB, dir string, args ...string) *instance {
	t.Helper()
	return startCmd(t, dir, nil, binPath, args...)
}

// startCmd is start for any command line (ip netns exec …) that runs the
// binary; tee, if not nil, gets a copy of stdout.
func startCmd(t testing.TB, dir string, tee io.Writer, name string, args ...string) *instance {
	t.Helper()
	in := &instance{dir: dir, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	in.cmd = exec.Command(name, args...)
	in.cmd.Dir = dir
	in.cmd.Env = childEnv()
	in.cmd.Stdout, in.cmd.Stderr = in.stdout, in.stderr // non-files: exec copies through pipes
	if tee != nil {
		in.cmd.Stdout = io.MultiWriter(in.stdout, tee)
	}
	if err := in.cmd.Start(); err != nil {
		t.Fatalf("start peacepie: %v", err)
	}
	go func() {
		_ = in.cmd.Wait()
		in.exited = time.Now()
		close(in.done)
	}()
	t.Cleanup(func() {
		if !in.hasExited() && os.Getenv("PEACEPIE_CPUPROFILE") != "" {
			// Profiles are written on an orderly exit.
			_ = in.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-in.done:
			case <-time.After(10 * time.Second):
			}
		}
		if !in.hasExited() {
			_ = in.cmd.Process.Kill()
			<-in.done
		}
		if t.Failed() {
			t.Logf("peacepie %s in %s\n--- stdout ---\n%s--- stderr ---\n%s", strings.Join(args, " "), dir, in.stdout.String(), in.stderr.String())
		}
	})
	var line string
	eventually(t, 15*time.Second, "the line \"peacepie is running: …\" on stdout", func() bool {
		if in.hasExited() {
			t.Fatalf("peacepie exited before it printed its URL (code %d); stderr:\n%s", in.cmd.ProcessState.ExitCode(), in.stderr.String())
		}
		var ok bool
		line, _, ok = strings.Cut(in.stdout.String(), "\n")
		return ok
	})
	m := runningLine.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("first stdout line %q is not \"peacepie is running: console http://127.0.0.1:PORT/?token=TOKEN\"", line)
	}
	in.url, in.addr, in.token = m[1], m[2], m[3]
	return in
}

// startFresh runs `peacepie run --console 127.0.0.1:0` in a new directory.
func startFresh(t testing.TB) *instance {
	t.Helper()
	return start(t, t.TempDir(), "run", "--console", "127.0.0.1:0")
}

func (in *instance) hasExited() bool {
	select {
	case <-in.done:
		return true
	default:
		return false
	}
}

// waitExit waits up to timeout for the process to end and returns its exit
// code and when it ended.
func (in *instance) waitExit(t testing.TB, timeout time.Duration) (int, time.Time) {
	t.Helper()
	select {
	case <-in.done:
		return in.cmd.ProcessState.ExitCode(), in.exited
	case <-time.After(timeout):
		t.Fatalf("peacepie did not exit within %s", timeout)
		return -1, time.Time{}
	}
}

// waitStdout waits for the whole line on stdout at or after byte offset
// from, and returns the offset just after it.
func (in *instance) waitStdout(t testing.TB, timeout time.Duration, line string, from int) int {
	t.Helper()
	var end int
	eventually(t, timeout, fmt.Sprintf("stdout line %q (after offset %d)", line, from), func() bool {
		out := in.stdout.String()
		i := strings.Index(out[from:], "\n"+line+"\n")
		if i < 0 {
			return false
		}
		end = from + i + len(line) + 2
		return true
	})
	return end
}

// countLines counts the stdout lines equal to line.
func (in *instance) countLines(line string) int {
	n := 0
	for _, l := range strings.Split(in.stdout.String(), "\n") {
		if l == line {
			n++
		}
	}
	return n
}

// wsConn is a console WebSocket connection of a test.
type wsConn struct {
	t    testing.TB
	c    *websocket.Conn
	next int
}

// dial opens the console WebSocket with ?token=.
func dial(t testing.TB, in *instance) *wsConn {
	t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial("ws://"+in.addr+"/ws?token="+in.token, nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial console: %v (HTTP status %d)", err, status)
	}
	t.Cleanup(func() { c.Close() })
	return &wsConn{t: t, c: c}
}

// answer is one message from the console.
type answer map[string]any

func (a answer) command() string { s, _ := a["command"].(string); return s }

// bodyString returns the string field key of an object body.
func (a answer) bodyString(key string) string {
	o, _ := a["body"].(map[string]any)
	s, _ := o[key].(string)
	return s
}

func (a answer) String() string {
	b, _ := json.Marshal(map[string]any(a))
	return string(b)
}

// read reads the next message as an answer.
func (w *wsConn) read() answer {
	w.t.Helper()
	_ = w.c.SetReadDeadline(time.Now().Add(15 * time.Second))
	kind, data, err := w.c.ReadMessage()
	if err != nil {
		w.t.Fatalf("read answer: %v", err)
	}
	if kind != websocket.TextMessage {
		w.t.Fatalf("answer is a message of type %d, not text", kind)
	}
	var a answer
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&a); err != nil {
		w.t.Fatalf("answer %q is not a JSON object: %v", data, err)
	}
	return a
}

// writeRaw sends a text message as it is.
func (w *wsConn) writeRaw(text string) {
	w.t.Helper()
	if err := w.c.WriteMessage(websocket.TextMessage, []byte(text)); err != nil {
		w.t.Fatalf("write %q: %v", text, err)
	}
}

// request sends {"id", "type", "recipient", "command", "body", "timeout"}
// (timeout only when above 0) and returns the answer carrying its id.
func (w *wsConn) request(kind string, recipient any, command string, body any, timeout float64) answer {
	w.t.Helper()
	w.next++
	id := w.next
	req := map[string]any{"id": id, "type": kind, "recipient": recipient, "command": command, "body": body}
	if timeout > 0 {
		req["timeout"] = timeout
	}
	data, err := json.Marshal(req)
	if err != nil {
		w.t.Fatalf("marshal request: %v", err)
	}
	w.writeRaw(string(data))
	for {
		a := w.read()
		if n, ok := a["id"].(json.Number); ok && n.String() == strconv.Itoa(id) {
			return a
		}
		w.t.Logf("skipping an answer to another request: %s", a)
	}
}

func (w *wsConn) ask(recipient any, command string, body any) answer {
	w.t.Helper()
	return w.request("ask", recipient, command, body, 0)
}

// expect asks and checks the reply's command.
func (w *wsConn) expect(recipient any, command string, body any, want string) answer {
	w.t.Helper()
	a := w.ask(recipient, command, body)
	if a.command() != want {
		w.t.Fatalf("ask %s of %v: got %s, want command %q", command, recipient, a, want)
	}
	return a
}

// raw turns a JSON text into a body sent exactly as written.
func raw(s string) json.RawMessage { return json.RawMessage(s) }

const admin = "first.main.admin"

// createBody is the body of create_actor for a class of peacepie_example.
func createBody(class, name string) json.RawMessage {
	return raw(fmt.Sprintf(`{"class_desc": {"requires_dist": "peacepie_example", "class": %q}, "name": %q}`, class, name))
}

// TestWalkthrough drives the seed README's walk-through, as far as one
// process goes, over the console WebSocket.
func TestWalkthrough(t *testing.T) {
	t.Parallel()
	in := startFresh(t)
	ws := dial(t, in)

	// Hello, World!
	a := ws.expect(admin, "create_actor", createBody("HelloWorld", "hello_world"), "actor_is_created")
	if got := a.bodyString("entity"); got != "hello_world" {
		t.Errorf("actor_is_created names entity %q, want hello_world: %s", got, a)
	}
	pos := len(in.stdout.String()) - 1 // keep the newline ending the URL line
	ws.expect("hello_world", "tick", nil, "hello_world")
	pos = in.waitStdout(t, 5*time.Second, "Hello, World!", pos) - 1
	ws.expect(admin, "remove_actor", raw(`{"name": "hello_world"}`), "actor_is_removed")
	ws.expect("hello_world", "tick", nil, "actor_is_not_found")

	// IteratingHelloWorld: one numbered line every 2 seconds.
	ws.expect(admin, "create_actor", createBody("IteratingHelloWorld", "iterating_hello_world"), "actor_is_created")
	ws.expect("iterating_hello_world", "set_params",
		raw(`{"params": [{"name": "period", "value": 2}, {"name": "limit", "value": null}]}`), "params_are_set")
	ws.expect("iterating_hello_world", "tick_start", nil, "tick_started")
	line := func(n int) string {
		return fmt.Sprintf(`IteratingHelloWorld "iterating_hello_world" from "first.main.admin" says "Hello, World! (%d)"`, n)
	}
	pos = in.waitStdout(t, 10*time.Second, line(0), pos) - 1
	first := time.Now()
	pos = in.waitStdout(t, 10*time.Second, line(1), pos) - 1
	gap := time.Since(first)
	t.Logf("IteratingHelloWorld: %s between lines (0) and (1), period 2s", gap.Round(time.Millisecond))
	if gap < time.Second {
		t.Errorf("lines (0) and (1) came %s apart; with period 2 they must be about 2s apart", gap)
	}
	ws.expect("iterating_hello_world", "tick_stop", nil, "tick_stopped")

	// CircleStarter: a ring of two dancers in this process.
	ws.expect(admin, "create_actor", createBody("CircleStarter", "circle_starter"), "actor_is_created")
	ws.expect("circle_starter", "set_params", raw(`{"params": [{"name": "process_count", "value": 1}, `+
		`{"name": "dancers_per_process", "value": 2}, {"name": "period", "value": 0.3}]}`), "params_are_set")
	ws.expect("circle_starter", "begin", nil, "begun")
	dancer := func(name string) string { return fmt.Sprintf(`CircleDancer "%s" from "first.main.admin"`, name) }
	pos = in.waitStdout(t, 10*time.Second, dancer("dancer_00"), pos) - 1
	pos = in.waitStdout(t, 10*time.Second, dancer("dancer_01"), pos) - 1
	in.waitStdout(t, 10*time.Second, dancer("dancer_00"), pos)

	// exit ends the system.
	sent := time.Now()
	if a := ws.request("send", admin, "exit", nil, 0); a.command() != "sent" {
		t.Fatalf("send exit: got %s, want command \"sent\"", a)
	}
	code, at := in.waitExit(t, 5*time.Second)
	t.Logf("exit: the process ended %s after the send", at.Sub(sent).Round(time.Millisecond))
	if code != 0 {
		t.Errorf("exit code %d after exit, want 0; stderr:\n%s", code, in.stderr.String())
	}
	// The console tells its clients that the system is going away.
	_ = ws.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, data, err := ws.c.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
		t.Errorf("after exit the console connection got (%q, %v), want a close frame with code %d", data, err, websocket.CloseGoingAway)
	}
}

// cliResult is what a run of the CLI printed and its exit code.
type cliResult struct {
	stdout, stderr string
	code           int
}

// runCLI runs the binary to completion in dir.
func runCLI(t *testing.T, dir string, env []string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Dir = dir
	cmd.Env = childEnv(env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("peacepie %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("peacepie %s did not finish in time", strings.Join(args, " "))
	}
	return cliResult{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
}

// check fails when the run did not exit with code or its output lacks
// the wanted text.
func (r cliResult) check(t *testing.T, what string, code int, inStdout, inStderr string) {
	t.Helper()
	if r.code != code || !strings.Contains(r.stdout, inStdout) || !strings.Contains(strings.ToLower(r.stderr), strings.ToLower(inStderr)) {
		t.Errorf("%s: exit code %d, want %d (stdout containing %q, stderr containing %q)\n--- stdout ---\n%s--- stderr ---\n%s",
			what, r.code, code, inStdout, inStderr, r.stdout, r.stderr)
	}
}

// TestCLIAskSend runs `peacepie ask` and `peacepie send` against a running
// binary.
func TestCLIAskSend(t *testing.T) {
	t.Parallel()
	in := startFresh(t)
	base := "http://" + in.addr
	cwd := t.TempDir() // no config here: address and token come from the arguments

	flags := []string{"--url", base, "--token", in.token}
	ask := func(args ...string) []string { return append(append([]string{"ask"}, flags...), args...) }

	runCLI(t, cwd, nil, ask(admin, "create_actor",
		`{"class_desc": {"requires_dist": "peacepie_example", "class": "HelloWorld"}, "name": "hello_world"}`)...).
		check(t, "ask create_actor with --url and --token", 0, `"actor_is_created"`, "")
	runCLI(t, cwd, nil, ask("hello_world", "tick")...).check(t, "ask hello_world tick", 0, `"hello_world"`, "")
	in.waitStdout(t, 5*time.Second, "Hello, World!", 0)

	// The URL printed by run, as the first argument, carries address and
	// token; flags may follow the positional arguments.
	r := runCLI(t, cwd, nil, "ask", in.url, "hello_world", "tick", "--json")
	r.check(t, "ask URL hello_world tick --json (run in a directory without a config)", 0, "hello_world", "")
	if lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n"); r.code == 0 && len(lines) != 1 {
		t.Errorf("--json printed %d lines, want one:\n%s", len(lines), r.stdout)
	} else if r.code == 0 {
		var m map[string]any
		if err := json.Unmarshal([]byte(lines[0]), &m); err != nil || m["command"] != "hello_world" || m["recipient"] != nil {
			t.Errorf("--json printed %q: want JSON with command \"hello_world\" and no recipient (%v)", lines[0], err)
		}
	}

	// The same in the run's own directory, where a config exists.
	runCLI(t, in.dir, nil, "ask", in.url, "hello_world", "tick", "--json").
		check(t, "ask URL hello_world tick --json (run in the directory of the config)", 0, `"hello_world"`, "")

	runCLI(t, cwd, nil, ask("hello_world", "no_such_command")...).
		check(t, "ask of an unknown command", 1, "is_not_handled", "")
	runCLI(t, cwd, nil, ask("nobody_here", "tick")...).
		check(t, "ask to an unknown actor", 1, "actor_is_not_found", "")
	runCLI(t, cwd, nil, ask(admin, "create_actor", "{oops")...).
		check(t, "ask with a malformed BODY", 2, "", "JSON")
	runCLI(t, cwd, nil, "ask", "--url", base, "--token", "0123456789abcdef0123456789abcdef", "hello_world", "tick").
		check(t, "ask with a wrong --token", 2, "", "token")
	runCLI(t, cwd, []string{"PEACEPIE_TOKEN=" + in.token}, "ask", "--url", base, "hello_world", "tick").
		check(t, "ask with the token in $PEACEPIE_TOKEN", 0, `"hello_world"`, "")

	// send: "sent" at once, and the actor prints once more.
	before := in.countLines("Hello, World!")
	runCLI(t, cwd, nil, append(append([]string{"send"}, flags...), "hello_world", "tick")...).
		check(t, "send hello_world tick", 0, `"sent"`, "")
	eventually(t, 5*time.Second, "one more Hello, World! after send", func() bool {
		return in.countLines("Hello, World!") > before
	})

	// With neither --url nor --token, ask reads ./config/peacepie.toml and
	// the token file. The config made on first run says 127.0.0.1:9090, but
	// this run listens where --console put it: point the config there. The
	// running process read its config at start, so rewriting it is safe.
	cfgPath := filepath.Join(in.dir, "config", "peacepie.toml")
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatalf("read config: %v", err)
	}
	const defaultConsole = `console = "127.0.0.1:9090"`
	if !bytes.Contains(cfg, []byte(defaultConsole)) {
		t.Fatalf("config has no line %s:\n%s", defaultConsole, cfg)
	}
	cfg = bytes.Replace(cfg, []byte(defaultConsole), []byte(fmt.Sprintf("console = %q", in.addr)), 1)
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		t.Fatalf("write config: %v", err)
	}
	runCLI(t, in.dir, nil, "ask", admin, "get_actors", "--json").
		check(t, "ask with address and token from ./config", 0, `"hello_world"`, "")
	runCLI(t, cwd, nil, "ask", admin, "get_actors").
		check(t, "ask with no address, token or config", 2, "", "config")
}

// TestTokenRequired checks that /ws needs the token.
func TestTokenRequired(t *testing.T) {
	t.Parallel()
	in := startFresh(t)
	wsURL := "ws://" + in.addr + "/ws"

	refused := func(what, url string, hdr http.Header) {
		t.Helper()
		c, resp, err := websocket.DefaultDialer.Dial(url, hdr)
		if err == nil {
			c.Close()
			t.Errorf("%s: the WebSocket was upgraded, want HTTP 401", what)
			return
		}
		if !errors.Is(err, websocket.ErrBadHandshake) || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			status := 0
			if resp != nil {
				status = resp.StatusCode
			}
			t.Errorf("%s: got error %v, HTTP status %d, want a refused handshake with 401", what, err, status)
		}
	}
	accepted := func(what, url string, hdr http.Header) {
		t.Helper()
		c, resp, err := websocket.DefaultDialer.Dial(url, hdr)
		if err != nil {
			t.Errorf("%s: %v, want an upgrade", what, err)
			return
		}
		defer c.Close()
		if resp.StatusCode != http.StatusSwitchingProtocols {
			t.Errorf("%s: HTTP status %d, want 101", what, resp.StatusCode)
		}
		w := &wsConn{t: t, c: c}
		if a := w.ask(admin, "get_actors", nil); a.command() != "actors" {
			t.Errorf("%s: get_actors answered %s, want command \"actors\"", what, a)
		}
	}

	refused("no token", wsURL, nil)
	refused("wrong token", wsURL+"?token=0123456789abcdef0123456789abcdef", nil)
	refused("empty token", wsURL+"?token=", nil)
	refused("wrong bearer", wsURL, http.Header{"Authorization": {"Bearer 0123456789abcdef0123456789abcdef"}})
	refused("token with a suffix", wsURL+"?token="+in.token+"0", nil)
	accepted("?token=", wsURL+"?token="+in.token, nil)
	accepted("Authorization: Bearer", wsURL, http.Header{"Authorization": {"Bearer " + in.token}})

	// A plain GET (no upgrade) without the token is refused as well.
	resp, err := http.Get("http://" + in.addr + "/ws")
	if err != nil {
		t.Fatalf("GET /ws: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /ws without token: HTTP %d, want 401", resp.StatusCode)
	}
}

// TestFirstRunConfig checks the files the first run makes and that a second
// run keeps them.
func TestFirstRunConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in := start(t, dir, "run", "--console", "127.0.0.1:0")
	cfgDir := filepath.Join(dir, "config")
	for _, name := range []string{"peacepie.toml", "repos.toml", "token"} {
		if _, err := os.Stat(filepath.Join(cfgDir, name)); err != nil {
			t.Errorf("after the first run: %v", err)
		}
		if want := "created " + filepath.Join("config", name); !strings.Contains(in.stderr.String(), want) {
			t.Errorf("stderr does not say %q:\n%s", want, in.stderr.String())
		}
	}
	tokenPath := filepath.Join(cfgDir, "token")
	st, err := os.Stat(tokenPath)
	if err != nil {
		t.Fatalf("token file: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", st.Mode().Perm())
	}
	tok, err := os.ReadFile(tokenPath)
	if err != nil {
		t.Fatalf("read token: %v", err)
	}
	if got := strings.TrimSpace(string(tok)); got != in.token {
		t.Errorf("token file holds %q, the printed URL has %q", got, in.token)
	}
	if len(in.token) < 16 {
		t.Errorf("token %q is shorter than 16 characters", in.token)
	}

	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	if code, _ := in.waitExit(t, 5*time.Second); code != 0 {
		t.Fatalf("first run exited with code %d", code)
	}

	cfgPath := filepath.Join(cfgDir, "peacepie.toml")
	f, err := os.OpenFile(cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatalf("open config: %v", err)
	}
	const marker = "# added by the e2e test: must survive the second run"
	if _, err := fmt.Fprintln(f, marker); err != nil {
		t.Fatalf("append to config: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("close config: %v", err)
	}
	repos, err := os.ReadFile(filepath.Join(cfgDir, "repos.toml"))
	if err != nil {
		t.Fatalf("read repos.toml: %v", err)
	}

	in2 := start(t, dir, "run", "--console", "127.0.0.1:0")
	if in2.token != in.token {
		t.Errorf("second run prints token %q, the first printed %q", in2.token, in.token)
	}
	if strings.Contains(in2.stderr.String(), "created ") {
		t.Errorf("second run created files again:\n%s", in2.stderr.String())
	}
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatalf("read config: %v", err)
	}
	if !strings.Contains(string(cfg), marker) {
		t.Errorf("the second run overwrote the modified config:\n%s", cfg)
	}
	if repos2, err := os.ReadFile(filepath.Join(cfgDir, "repos.toml")); err != nil || !bytes.Equal(repos, repos2) {
		t.Errorf("repos.toml changed on the second run (%v)", err)
	}
	if tok2, err := os.ReadFile(tokenPath); err != nil || !bytes.Equal(tok, tok2) {
		t.Errorf("token file changed on the second run (%v)", err)
	}
	w := dial(t, in2) // the old token still opens the console
	w.expect(admin, "get_actors", nil, "actors")
}

// TestSignalShutdown checks that SIGTERM and SIGINT end the process cleanly.
func TestSignalShutdown(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			in := startFresh(t)
			ws := dial(t, in)
			ws.expect(admin, "create_actor", createBody("HelloWorld", "hello_world"), "actor_is_created")
			sent := time.Now()
			if err := in.cmd.Process.Signal(sig); err != nil {
				t.Fatalf("signal: %v", err)
			}
			code, at := in.waitExit(t, 5*time.Second)
			t.Logf("%s: exited %s after the signal", sig, at.Sub(sent).Round(time.Millisecond))
			if code != 0 {
				t.Errorf("exit code %d after %s, want 0", code, sig)
			}
			if !strings.Contains(in.stderr.String(), "signal received") {
				t.Errorf("the log does not mention the signal:\n%s", in.stderr.String())
			}
		})
	}
}

// TestBadRequestsKeepConnection sends bad requests on one connection: each
// gets an error answer and the connection keeps working.
func TestBadRequestsKeepConnection(t *testing.T) {
	t.Parallel()
	in := startFresh(t)
	ws := dial(t, in)

	for _, tc := range []struct {
		what, text, mention string
		id                  string // the id the answer must carry; "" for none
	}{
		{"not JSON", `{oops`, "malformed", ""},
		{"a JSON array", `[1, 2, 3]`, "object", ""},
		{"bad type", `{"id": 1, "type": "bogus", "command": "get_actors", "recipient": "first.main.admin"}`, `"type"`, "1"},
		{"missing type", `{"id": 2, "command": "get_actors", "recipient": "first.main.admin"}`, `"type"`, "2"},
		{"empty command", `{"id": 3, "type": "ask", "command": "", "recipient": "first.main.admin"}`, `"command"`, "3"},
		{"recipient of wrong type", `{"id": 4, "type": "ask", "command": "get_actors", "recipient": 42}`, "recipient", "4"},
		{"no recipient", `{"id": 5, "type": "send", "command": "get_actors"}`, "recipient", "5"},
		{"timeout not a number", `{"id": 6, "type": "ask", "command": "get_actors", "recipient": "first.main.admin", "timeout": "abc"}`, `"timeout"`, "6"},
		{"negative timeout", `{"id": 7, "type": "ask", "command": "get_actors", "recipient": "first.main.admin", "timeout": -1}`, `"timeout"`, "7"},
	} {
		ws.writeRaw(tc.text)
		a := ws.read()
		if a.command() != "error" || !strings.Contains(a.bodyString("message"), tc.mention) {
			t.Errorf("%s: got %s, want command \"error\" with a message mentioning %s", tc.what, a, tc.mention)
		}
		id, hasID := a["id"].(json.Number)
		if (tc.id == "") != !hasID || (hasID && id.String() != tc.id) {
			t.Errorf("%s: answer %s, want id %q", tc.what, a, tc.id)
		}
	}
	// A binary message is not a request.
	if err := ws.c.WriteMessage(websocket.BinaryMessage, []byte(`{}`)); err != nil {
		t.Fatalf("write binary: %v", err)
	}
	if a := ws.read(); a.command() != "error" || !strings.Contains(a.bodyString("message"), "text") {
		t.Errorf("binary message: got %s, want an error about text messages", a)
	}

	// The connection still works, and a string id comes back as it was sent.
	ws.expect(admin, "get_actors", nil, "actors")
	ws.writeRaw(`{"id": "req-x", "type": "ask", "command": "get_actors", "recipient": "first.main.admin"}`)
	if a := ws.read(); a["id"] != "req-x" || a.command() != "actors" {
		t.Errorf("ask with a string id: got %s", a)
	}

	// Unknown recipients.
	if a := ws.expect("nobody_here", "tick", nil, "actor_is_not_found"); a.bodyString("entity") != "nobody_here" {
		t.Errorf("actor_is_not_found names entity %q: %s", a.bodyString("entity"), a)
	}
	if a := ws.request("send", "nobody_here", "tick", nil, 0); a.command() != "actor_is_not_found" {
		t.Errorf("send to an unknown actor: got %s, want actor_is_not_found", a)
	}
	ws.expect("first.other.admin", "get_actors", nil, "actor_is_not_found")

	// An ask that gets no reply in time ends with "timeout".
	ws.expect(admin, "create_actor", raw(`{"class_desc": {"requires_dist": "peacepie_example", "class": "CircleDancer"}, `+
		`"name": "sleepy", "params": {"consumer": "nobody", "period": 5}}`), "actor_is_created")
	if a := ws.request("send", "sleepy", "tick", nil, 0); a.command() != "sent" {
		t.Fatalf("send tick to sleepy: got %s", a)
	}
	in.waitStdout(t, 5*time.Second, `CircleDancer "sleepy" from "first.main.admin"`, 0)
	asked := time.Now()
	if a := ws.request("ask", "sleepy", "get_params", nil, 0.2); a.command() != "timeout" {
		t.Errorf("ask get_params of a sleeping actor with timeout 0.2: got %s, want command \"timeout\"", a)
	}
	t.Logf("timeout answer after %s", time.Since(asked).Round(time.Millisecond))
	ws.expect(admin, "get_actors", nil, "actors")

	// A request above max_request_bytes (1 MiB) closes the connection with
	// 1009; the console still accepts new connections.
	big := `{"id": 99, "type": "ask", "command": "get_actors", "recipient": "first.main.admin", "body": "` +
		strings.Repeat("x", 2<<20) + `"}`
	writeErr := make(chan error, 1)
	go func() { writeErr <- ws.c.WriteMessage(websocket.TextMessage, []byte(big)) }()
	_ = ws.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := ws.c.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseMessageTooBig {
		t.Errorf("after a 2 MiB request: got (%q, %v), want a close frame with code %d", data, err, websocket.CloseMessageTooBig)
	}
	ws.c.Close() // unblocks the writer if it still waits
	<-writeErr
	eventually(t, 5*time.Second, "the log line about the large request", func() bool {
		return strings.Contains(in.stderr.String(), "console request too large")
	})
	ws2 := dial(t, in)
	ws2.expect(admin, "get_actors", nil, "actors")
	ws2.expect(admin, "get_actor", raw(`{"name": "sleepy"}`), "actor")
}

// TestURLLine checks that the printed URL opens the console page.
func TestURLLine(t *testing.T) {
	t.Parallel()
	in := startFresh(t)
	resp, err := http.Get(in.url)
	if err != nil {
		t.Fatalf("GET %s: %v", in.url, err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	found := false
	for sc.Scan() {
		if strings.Contains(sc.Text(), "<title>peacepie") {
			found = true
		}
	}
	if resp.StatusCode != http.StatusOK || !found {
		t.Errorf("GET %s: HTTP %d, page with title found: %v", in.url, resp.StatusCode, found)
	}
}

// TestConsoleAddressInUse checks that a second run on a busy console
// address fails with a message saying so.
func TestConsoleAddressInUse(t *testing.T) {
	t.Parallel()
	in := startFresh(t)
	r := runCLI(t, t.TempDir(), nil, "run", "--console", in.addr)
	r.check(t, "run on a busy console address", 1, "", "in use")
	if strings.Contains(r.stdout, "peacepie is running") {
		t.Errorf("the second run claims to be running:\n%s", r.stdout)
	}
}

package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestAskFindsTheRunningConsole: `peacepie run --console ELSEWHERE` writes
// where its console is next to the config, `peacepie ask` and `attach`
// find it there, and the token never goes to the program that listens at
// the config's console address: not while the system runs, not after it
// stopped (the file is gone), not when a killed run left the file behind.
func TestAskFindsTheRunningConsole(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var received []string // everything the stranger was sent
	stranger := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		received = append(received, r.URL.String()+" "+strings.Join(r.Header.Values("Authorization"), ",")+" "+r.Header.Get("Cookie"))
		mu.Unlock()
		w.Write([]byte("not peacepie\n"))
	}))
	defer stranger.Close()
	strangerAddr := strings.TrimPrefix(stranger.URL, "http://")

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config", "peacepie.toml")
	if err := os.MkdirAll(filepath.Dir(cfgPath), 0o700); err != nil {
		t.Fatal(err)
	}
	writeConfig(t, cfgPath, strangerAddr, false, nil)
	in := start(t, dir, "run", "--console", "127.0.0.1:0", "config/peacepie.toml")
	token := in.token
	checkStranger := func(when string) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		for _, r := range received {
			if strings.Contains(r, token) {
				t.Fatalf("%s: the program at the config's console address received the token: %s", when, r)
			}
		}
	}

	runCLI(t, dir, nil, "ask", "first.main.admin", "get_actors").check(t, "ask while running", 0, `"command": "actors"`, "")
	checkStranger("peacepie ask while the system runs")
	s := attach(t, dir)
	s.doExpect(t, "ls", "first.main.admin")
	s.send(t, "exit\r")
	s.waitExit(t, 10*time.Second)
	checkStranger("while the system runs")
	file := filepath.Join(dir, "config", "console.url")
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatalf("peacepie run wrote no console file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", file, fi.Mode().Perm())
	}
	if data, _ := os.ReadFile(file); strings.TrimSpace(string(data)) != "http://"+in.addr {
		t.Errorf("%s holds %q, want http://%s", file, data, in.addr)
	}

	// Stopped cleanly: the file is gone, and the config's address is the
	// stranger, which cannot prove it knows the token.
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code, _ := in.waitExit(t, 10*time.Second); code != 0 {
		t.Fatalf("peacepie run exited with %d", code)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("the console file is still there after a clean exit: %v", err)
	}
	r := runCLI(t, dir, nil, "ask", "first.main.admin", "get_actors")
	r.check(t, "ask after the system stopped", 2, "", "the program at "+strangerAddr+" (console in config/peacepie.toml) is not this config's system")
	r.check(t, "ask after the system stopped", 2, "", "the token was not sent")
	r = runPiped(t, dir, nil, "ls\n", "attach")
	r.check(t, "attach after the system stopped", 1, "", "is not this config's system")
	checkStranger("after the system stopped")
	mu.Lock()
	hellos := len(received)
	mu.Unlock()
	if hellos == 0 {
		t.Errorf("the clients did not ask the stranger for its proof")
	}

	// Killed: the file stays behind and says where nothing answers now.
	in = start(t, dir, "run", "--console", "127.0.0.1:0", "config/peacepie.toml")
	if err := in.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	in.waitExit(t, 10*time.Second)
	r = runCLI(t, dir, nil, "ask", "first.main.admin", "get_actors")
	r.check(t, "ask after a kill", 2, "", "no console answers at http://"+in.addr+" (written by peacepie run in config/console.url)")
	r.check(t, "ask after a kill", 2, "", "remove it")
	checkStranger("after a kill")
}

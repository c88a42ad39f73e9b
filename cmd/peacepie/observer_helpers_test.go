package main

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"testing"
)

// getWithToken GETs path of in's console, with token as a bearer token
// ("" for none), and returns the status and the body.
func getWithToken(t *testing.T, in *instance, path, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+in.addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// keepAsking asks recipient command with body over a connection of its
// own, one ask after the other, until the returned stop is called (which
// waits for the last ask to end): load for a test to observe.
func keepAsking(t *testing.T, in *instance, recipient, command string, body any) (stop func()) {
	t.Helper()
	ws := dial(t, in)
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-quit:
				return
			default:
			}
			ws.ask(recipient, command, body)
		}
	}()
	return func() { close(quit); <-done }
}

const spinnerLua = `local Spinner = {}
local function spin_here(n)
  local x = 0
  for i = 1, n do x = x + i % 7 end
  return x
end
function Spinner:work(body) for _ = 1, body.n do spin_here(1000) end end
function Spinner:keep(body) self.kept = {} for i = 1, body.n do self.kept[i] = i end end
return Spinner
`

// startWithSpinner runs a system whose repo list has a development
// package "spinner": its class Spinner's handler work {n} spins in the
// Lua function spin_here (spinner.lua:2) n times, and keep {n} keeps a
// table of n numbers.
func startWithSpinner(t *testing.T) *instance {
	t.Helper()
	pkg := t.TempDir()
	writeFile(t, filepath.Join(pkg, "peacepie.toml"), "name = \"spinner\"\nversion = \"0.1.0\"\n[actors]\nSpinner = \"spinner\"\n")
	writeFile(t, filepath.Join(pkg, "spinner.lua"), spinnerLua)
	list := filepath.Join(t.TempDir(), "repos.toml")
	writeFile(t, list, fmt.Sprintf("[[package]]\nname = \"spinner\"\npath = %q\n", pkg))
	return start(t, t.TempDir(), "run", "--console", "127.0.0.1:0", "--repos", list)
}

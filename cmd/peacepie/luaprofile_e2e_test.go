package main

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

const spinnerLua = `local Spinner = {}
local function spin_here(n)
  local x = 0
  for i = 1, n do x = x + i % 7 end
  return x
end
function Spinner:work(body) for _ = 1, body.n do spin_here(1000) end end
return Spinner
`

// TestLuaProfileOfAChildsActor: /debug/lua-profile, behind the token,
// profiles an actor of a child process that spins in a known function
// while it works, and answers collapsed stacks that name it; a bad
// request gets a 400 with the reason.
func TestLuaProfileOfAChildsActor(t *testing.T) {
	t.Parallel()
	pkg := t.TempDir()
	writeFile(t, filepath.Join(pkg, "peacepie.toml"), "name = \"spinner\"\nversion = \"0.1.0\"\n[actors]\nSpinner = \"spinner\"\n")
	writeFile(t, filepath.Join(pkg, "spinner.lua"), spinnerLua)
	list := filepath.Join(t.TempDir(), "repos.toml")
	writeFile(t, list, fmt.Sprintf("[[package]]\nname = \"spinner\"\npath = %q\n", pkg))
	in := start(t, t.TempDir(), "run", "--console", "127.0.0.1:0", "--repos", list)
	ws := dial(t, in)
	child := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	ws.expect(child, "create_actor", raw(`{"class_desc": {"requires_dist": "spinner", "class": "Spinner"}, "name": "s"}`), "actor_is_created")

	busy := dial(t, in)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // keep it working
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			busy.ask("s", "work", raw(`{"n": 400}`)) // tens of milliseconds: busy most of the time
		}
	}()
	defer func() { close(stop); <-done }()

	get := func(query, token string) (int, string) {
		req, err := http.NewRequest("GET", "http://"+in.addr+"/debug/lua-profile?"+query, nil)
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
		return resp.StatusCode, string(data)
	}
	if code, _ := get("actor=s&seconds=1", ""); code != http.StatusUnauthorized {
		t.Errorf("without the token: %d", code)
	}
	code, text := get("actor=s&seconds=1", in.token)
	if code != http.StatusOK || !strings.Contains(text, "Spinner:work;(spinner.lua:7);spin_here (spinner.lua:2) ") {
		t.Fatalf("the profile: %d\n%s", code, text)
	}
	for query, want := range map[string]string{"actor=s&seconds=600": "at most 60", "actor=s&seconds=x": "must be a number", "actor=nobody&seconds=1": "nobody"} {
		if code, text := get(query, in.token); code != http.StatusBadRequest || !strings.Contains(text, want) {
			t.Errorf("%s: %d %q, want 400 with %q", query, code, text, want)
		}
	}
}

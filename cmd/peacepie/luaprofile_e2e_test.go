package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestLuaProfileOfAChildsActor: /debug/lua-profile, behind the token,
// profiles an actor of a child process that spins in a known function
// while it works, and answers collapsed stacks that name it; a bad
// request gets a 400 with the reason.
func TestLuaProfileOfAChildsActor(t *testing.T) {
	t.Parallel()
	in := startWithSpinner(t)
	ws := dial(t, in)
	child := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	ws.expect(child, "create_actor", raw(`{"class_desc": {"requires_dist": "spinner", "class": "Spinner"}, "name": "s"}`), "actor_is_created")
	defer keepAsking(t, in, "s", "work", raw(`{"n": 400}`))() // tens of milliseconds an ask: busy most of the time

	if code, _ := getWithToken(t, in, "/debug/lua-profile?actor=s&seconds=1", ""); code != http.StatusUnauthorized {
		t.Errorf("without the token: %d", code)
	}
	code, text := getWithToken(t, in, "/debug/lua-profile?actor=s&seconds=1", in.token)
	if code != http.StatusOK || !strings.Contains(string(text), "Spinner:work;(spinner.lua:7);spin_here (spinner.lua:2) ") {
		t.Fatalf("the profile: %d\n%s", code, text)
	}
	for query, want := range map[string]string{"actor=s&seconds=600": "at most 60", "actor=s&seconds=x": "must be a number", "actor=nobody&seconds=1": "nobody"} {
		if code, text := getWithToken(t, in, "/debug/lua-profile?"+query, in.token); code != http.StatusBadRequest || !strings.Contains(string(text), want) {
			t.Errorf("%s: %d %q, want 400 with %q", query, code, text, want)
		}
	}
}

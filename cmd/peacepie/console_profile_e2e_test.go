package main

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleLuaProfile: on the page of an actor of a child process that
// spins in a known Lua function, the profile button draws a flame graph
// whose frames name that function under the handler, offers the collapsed
// stacks for download, and zooms into a frame when it is clicked.
func TestConsoleLuaProfile(t *testing.T) {
	t.Parallel()
	in := startWithSpinner(t)
	b := newBrowser(t)
	ws := dial(t, in)
	child := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	ws.expect(child, "create_actor", raw(`{"class_desc": {"requires_dist": "spinner", "class": "Spinner"}, "name": "s"}`), "actor_is_created")
	defer keepAsking(t, in, "s", "work", raw(`{"n": 400}`))()

	b.do("open the actor's page", 15*time.Second, chromedp.Navigate(in.url+"#/actor/s"))
	b.waitFor("the profile button", 10*time.Second, jsHas("#profile-run")+` && !document.querySelector("#profile-run").disabled`)
	b.fill("profile-seconds", "1")
	b.click("#profile-run")
	spin := `[...document.querySelectorAll("#flame .frame")].find((e) => e.textContent === "spin_here (spinner.lua:2)")`
	b.waitFor("a flame graph with spin_here", 20*time.Second, `!!`+spin)
	if got := b.eval(`(() => { const f = ` + spin + `; const p = [...document.querySelectorAll("#flame .frame")].find((e) => e.dataset.level === "1"); ` +
		`return p.textContent + "|" + f.dataset.level + "|" + (parseFloat(f.style.width) > 50); })()`); got != "Spinner:work|3|true" {
		t.Errorf("the flame graph: %q, want the handler at level 1 and spin_here at level 3 taking most of the width", got)
	}
	if got := b.eval(`(() => { const a = document.querySelector("#profile-download"); return a.hidden + "|" + a.download; })()`); got != "false|s.folded" {
		t.Errorf("the download link: %q", got)
	}
	b.eval(`(() => { ` + spin + `.click(); return ""; })()`)
	b.waitFor("the zoom into spin_here", 5*time.Second,
		`(() => { const f = [...document.querySelectorAll("#flame .frame")]; return f.length >= 1 && f[0].textContent === "spin_here (spinner.lua:2)" && f[0].style.width === "100%"; })()`)
	b.noExceptions("the Lua profile")
}

package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleTop: the top view lists the actors of the system (of a
// child too) with their messages per second and memory; an actor made
// busy during the test comes first, a header sorts by its column, and an
// actor that holds a large table comes first by memory.
func TestConsoleTop(t *testing.T) {
	t.Parallel()
	in := startWithSpinner(t)
	b := newBrowser(t)
	ws := dial(t, in)
	child := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	echo := `{"class_desc": {"requires_dist": "peacepie_std", "class": "Echo"}, "name": "%s"}`
	ws.expect(admin, "create_actor", raw(fmt.Sprintf(echo, "calm")), "actor_is_created")
	ws.expect(child, "create_actor", raw(fmt.Sprintf(echo, "busy")), "actor_is_created")
	ws.expect(admin, "create_actor", raw(`{"class_desc": {"requires_dist": "spinner", "class": "Spinner"}, "name": "hoard"}`), "actor_is_created")
	ws.ask("hoard", "keep", map[string]any{"n": 100000})
	defer keepAsking(t, in, "busy", "echo", nil)()

	b.do("open the system page", 15*time.Second, chromedp.Navigate(in.url+"#/"))
	b.click("#top-link")
	b.waitFor("both actors in the top view", 10*time.Second, jsHas(row("#top", "busy"))+" && "+jsHas(row("#top", "calm")))
	b.waitFor("busy first, with messages per second", 15*time.Second,
		`(() => { const r = document.querySelector("#top tbody tr"); return r && r.dataset.name === "busy" && Number(r.dataset.rate) > 1; })()`)
	if got := b.eval(jsText(row("#top", "busy") + " td:nth-child(2)")); got != child {
		t.Errorf("busy's process in the top view: %q, want %s", got, child)
	}
	b.click(`#top th[data-sort="handled"]`)
	b.waitFor("the handled column sorted", 5*time.Second,
		`document.querySelector('#top th[data-sort="handled"]').classList.contains("sorted") && document.querySelector("#top tbody tr").dataset.name === "busy"`)
	// Memory: what each state holds, measured; hoard's 100,000 numbers
	// make it the largest by far.
	b.click(`#top th[data-sort="mem_bytes"]`)
	b.waitFor("hoard first by memory, in MiB", 10*time.Second,
		`(() => { const r = document.querySelector("#top tbody tr"); return r && r.dataset.name === "hoard" && r.querySelector("td.mem").textContent.endsWith(" MiB"); })()`)
	if got := b.eval(jsText(row("#top", "calm") + " td.mem")); !strings.HasSuffix(got, " KiB") {
		t.Errorf("an idle Echo's memory in the top view: %q, want some KiB", got)
	}
	b.noExceptions("the top view")
	// A click on a name opens the actor (the rows are drawn anew every
	// poll, but not while the button is held).
	b.click(row("#top", "busy") + " a")
	b.waitFor("busy's page", 10*time.Second, `location.hash === "#/actor/busy" && `+jsText("#details")+`.includes("Echo")`)
}

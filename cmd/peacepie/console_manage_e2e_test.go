package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleManageActor: the actor page's buttons move an actor to a
// child process (its state kept), restart it, and remove it, each only on
// a second click; a single click does nothing.
func TestConsoleManageActor(t *testing.T) {
	t.Parallel()
	in := startFresh(t)
	b := newBrowser(t)
	ws := dial(t, in)
	child := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	ws.expect(admin, "create_actor", raw(`{"class_desc": {"requires_dist": "peacepie_std", "class": "Sequence"}, "name": "m"}`), "actor_is_created")
	for _, n := range []string{"1", "2", "3"} {
		ws.expect("m", "next", raw(`{"n": `+n+`}`), "is_handled")
	}

	b.do("open m's page", 15*time.Second, chromedp.Navigate(in.url+"#/actor/m"))
	b.waitFor("the child among the places to move to", 10*time.Second,
		`[...document.querySelectorAll("#move-to option")].some((o) => o.value === `+js(child)+`)`)
	b.fill("move-to", child)
	b.click("#move")
	if got := b.eval(jsText("#move")); got != "confirm move to?" {
		t.Fatalf("after one click the move button says %q", got)
	}
	if f := ws.expect(admin, "seek_actor", raw(`{"entity": "m"}`), "actor_is_found"); f.bodyString("node") != admin {
		t.Fatalf("one click moved it: %s", f)
	}
	markPage(b)
	b.click("#move")
	b.waitFor("the page drawn again after the move", 30*time.Second, jsNewPage+` && `+jsText("#details")+`.includes(`+js(child)+`)`)
	if f := ws.expect(admin, "seek_actor", raw(`{"entity": "m"}`), "actor_is_found"); f.bodyString("node") != child {
		t.Fatalf("after the move: %s", f)
	}
	if a := ws.expect("m", "state", nil, "state"); !strings.Contains(a.String(), `"last":3`) {
		t.Errorf("its state after the move: %s", a)
	}

	b.waitFor("the buttons again", 10*time.Second, jsHas("#restart"))
	if strings.Contains(in.stderr.String(), "actor is recreated") {
		t.Fatal("an actor was recreated before the restart")
	}
	markPage(b)
	b.click("#restart")
	b.click("#restart")
	eventually(t, 30*time.Second, "m to be restarted in place", func() bool {
		return strings.Contains(in.stderr.String(), `msg="actor is recreated" node=`+child+` actor=m`)
	})
	if a := ws.expect("m", "state", nil, "state"); !strings.Contains(a.String(), `"last":3`) {
		t.Errorf("its state after the restart: %s", a)
	}

	b.waitFor("the page drawn again after the restart", 10*time.Second, jsNewPage+` && `+jsHas("#remove"))
	b.click("#remove")
	b.click("#remove")
	b.waitFor("the process page after the removal", 30*time.Second, `location.hash === "#/process/" + encodeURIComponent(`+js(child)+`)`)
	ws.expect("m", "state", nil, "actor_is_not_found")
	b.noExceptions("managing an actor")
}

// markPage marks the actor page drawn now, so that jsNewPage tells when
// it has been drawn again (a button of the old page may still be found
// for a moment, and is gone before a click lands).
func markPage(b *browser) {
	b.t.Helper()
	b.eval(`(() => { document.querySelector("#manage-card").dataset.old = "1"; return ""; })()`)
}

const jsNewPage = `(() => { const c = document.querySelector("#manage-card"); return !!c && c.dataset.old !== "1"; })()`

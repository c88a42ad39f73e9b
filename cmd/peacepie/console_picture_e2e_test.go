package main

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsolePicture: the picture of the system shows the host's
// processes as boxes and the link between the main process and a child
// as a line with the frames per second on it while messages cross it.
func TestConsolePicture(t *testing.T) {
	t.Parallel()
	in := startFresh(t)
	b := newBrowser(t)
	ws := dial(t, in)
	child := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	ws.expect(child, "create_actor", raw(`{"class_desc": {"requires_dist": "peacepie_std", "class": "Echo"}, "name": "far"}`), "actor_is_created")
	defer keepAsking(t, in, "far", "echo", nil)()

	b.do("open the system page", 15*time.Second, chromedp.Navigate(in.url+"#/"))
	b.click("#picture-link")
	b.waitFor("both processes drawn", 10*time.Second, jsHas(`#picture rect[data-node=`+js(admin)+`]`)+" && "+jsHas(`#picture rect[data-node=`+js(child)+`]`))
	b.waitFor("the link between them with frames per second", 15*time.Second,
		`[...document.querySelectorAll("#picture line")].some((l) => [l.dataset.from, l.dataset.to].sort().join(" ") === `+js(sortedPair(admin, child))+` && Number(l.dataset.rate) > 1)`)
	b.noExceptions("the picture")
}

func sortedPair(a, b string) string {
	if a > b {
		a, b = b, a
	}
	return a + " " + b
}

package main

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleChartHistory: a process page opened after its actors worked
// draws the seconds before it opened at once (get_history), with a y axis
// and time labels; the line spans more than the last few seconds. So does
// the system page.
func TestConsoleChartHistory(t *testing.T) {
	t.Parallel()
	in := startFresh(t)
	b := newBrowser(t)
	ws := dial(t, in)
	ws.expect(admin, "create_actor", createBody("HelloWorld", "hw"), "actor_is_created")
	begin := time.Now()
	for time.Since(begin) < 12*time.Second { // a history of about ten seconds
		ws.expect("hw", "tick", nil, "hello_world")
		time.Sleep(20 * time.Millisecond)
	}
	a := ws.expect(admin, "get_history", nil, "history")
	body, _ := a["body"].(map[string]any)
	if points, _ := body["points"].([]any); len(points) < 8 {
		t.Fatalf("get_history after 12 s: %s", a)
	}

	b.do("open the process page", 15*time.Second, chromedp.Navigate(in.url+"#/process/"+admin))
	// 10 s of a 5-minute chart: 3 % of its width, at once, before any
	// stats event could draw a line.
	b.waitFor("the history drawn at once", 3*time.Second, jsChartSpan(0.02)+` && Number(document.querySelector("#chart").dataset.samples) >= 5`)
	// The system page's chart (the host's main process) starts with it too.
	b.do("open the system page", 15*time.Second, chromedp.Navigate(in.url+"#/"))
	b.waitFor("the system page's history drawn at once", 3*time.Second, jsHas("#head-admin")+` && `+jsChartSpan(0.02)+` && Number(document.querySelector("#chart").dataset.samples) >= 5`)
	b.noExceptions("the chart's history")
}

package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleProcessPages: the process page lists its actors a page at a
// time, asking the process for that page (get_actors {offset, limit,
// filter}); the next page, a filter and a filter that matches nothing.
func TestConsoleProcessPages(t *testing.T) {
	t.Parallel()
	in := startFresh(t)
	ws := dial(t, in)
	names := make([]string, 60)
	for i := range names {
		names[i] = fmt.Sprintf("e%02d", i)
	}
	ws.expect(admin, "create_actors", map[string]any{"class_desc": map[string]any{"requires_dist": "peacepie_std", "class": "Echo"}, "names": names}, "actors_are_created")
	b := newBrowser(t)
	b.do("open the process page", 15*time.Second, chromedp.Navigate(in.url+"#/process/"+admin))
	b.waitFor("the first page", 10*time.Second, jsHas(row("#actors", "e49"))+` && `+jsText("#page")+` === "1–50 of 60"`)
	if b.eval("String("+jsHas(row("#actors", "e50"))+")") == "true" {
		t.Errorf("e50 is on the first page of 50")
	}
	b.click("#next")
	b.waitFor("the second page", 10*time.Second, jsHas(row("#actors", "e59"))+` && !`+jsHas(row("#actors", "e00"))+` && `+jsText("#page")+` === "51–60 of 60"`)
	b.fill("filter", "E4")
	b.waitFor("the actors that match e4", 10*time.Second, jsHas(row("#actors", "e40"))+` && `+jsText("#page")+` === "1–10 of 10"`)
	if rows := b.eval(`String(document.querySelectorAll("#actors tr[data-i]").length)`); rows != "10" {
		t.Errorf("%s rows for the filter e4, want 10", rows)
	}
	b.fill("filter", "nobody")
	b.waitFor("no match", 10*time.Second, jsText("#page")+` === "no actor matches"`)
	if s := b.eval(jsText("#actors tbody")); !strings.Contains(s, admin) {
		t.Errorf("the admin's row is gone with the filter: %q", s)
	}
	b.noExceptions("process pages")
}

package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleCreateForm: a child's process page offers the packages the
// system knows; choosing one lists its classes; the form creates an actor
// of the chosen class there, with params; a bad params text is refused in
// the page.
func TestConsoleCreateForm(t *testing.T) {
	t.Parallel()
	in := startFresh(t)
	b := newBrowser(t)
	ws := dial(t, in)
	child := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")

	b.do("open the child's page", 15*time.Second, chromedp.Navigate(in.url+"#/process/"+child))
	b.waitFor("the packages offered", 10*time.Second, `[...document.querySelectorAll("#create-packages option")].some((o) => o.value === "peacepie_example")`)
	b.fill("create-package", "peacepie_example")
	b.eval(`(() => { document.querySelector("#create-package").dispatchEvent(new Event("change")); return ""; })()`)
	b.waitFor("the package's classes", 10*time.Second, `[...document.querySelectorAll("#create-classes option")].some((o) => o.value === "IteratingHelloWorld")`)
	b.fill("create-class", "IteratingHelloWorld")
	b.eval(`(() => { document.querySelector("#create-class").dispatchEvent(new Event("change")); return ""; })()`)
	b.waitFor("the class's declared defaults in the params", 10*time.Second,
		`(() => { try { const p = JSON.parse(document.querySelector("#create-params").value); return p.period === 1 && p.index === 0 && p.is_ticking === false; } catch (e) { return false; } })()`)
	b.fill("create-name", "made_in_form", "create-params", `{"period": 7`)
	b.click("#create-run")
	b.waitFor("the bad params refused", 5*time.Second, jsText("#create-status")+`.includes("not valid JSON")`)
	b.fill("create-params", `{"period": 7}`)
	b.click("#create-run")
	b.waitFor("actor_is_created", 15*time.Second, jsText("#create-reply")+` === "actor_is_created"`)
	b.waitFor("the new actor in the child's list", 10*time.Second, jsHas(row("#actors", "made_in_form")))
	if f := ws.expect(admin, "seek_actor", raw(`{"entity": "made_in_form"}`), "actor_is_found"); f.bodyString("node") != child {
		t.Errorf("made_in_form lives in %s, want %s", f.bodyString("node"), child)
	}
	if a := ws.expect("made_in_form", "get_params", nil, "params"); !strings.Contains(a.String(), `"name":"period","value":7`) {
		t.Errorf("its params: %s", a)
	}
	b.noExceptions("the create form")
}

package main

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleEarlierLinesAndCommands: an actor's page opened after it
// printed shows that line at once (get_lines), and so does its process's
// page; the actor page lists the actor's commands, and a click on one
// puts it in the form.
func TestConsoleEarlierLinesAndCommands(t *testing.T) {
	t.Parallel()
	in := startFresh(t)
	b := newBrowser(t)
	ws := dial(t, in)
	ws.expect(admin, "create_actor", createBody("HelloWorld", "hw"), "actor_is_created")
	ws.expect("hw", "tick", nil, "hello_world")
	in.waitStdout(t, 5*time.Second, "Hello, World!", 0)

	b.do("open hw's page", 15*time.Second, chromedp.Navigate(in.url+"#/actor/hw"))
	b.waitFor("the line hw printed before", 10*time.Second, jsText("#lines")+`.includes("Hello, World!")`)
	b.waitFor("hw's commands", 10*time.Second, `[...document.querySelectorAll("#commands .chip")].some((c) => c.textContent === "tick")`)
	b.eval(`(() => { [...document.querySelectorAll("#commands .chip")].find((c) => c.textContent === "tick").click(); return ""; })()`)
	if got := b.eval(`document.querySelector("#command").value`); got != "tick" {
		t.Errorf("the command field after a click on tick: %q", got)
	}
	b.do("open the process page", 15*time.Second, chromedp.Navigate(in.url+"#/process/"+admin))
	b.waitFor("the line on the process page", 10*time.Second, jsText("#lines")+`.includes("hw: Hello, World!")`)
	b.noExceptions("earlier lines and commands")
}

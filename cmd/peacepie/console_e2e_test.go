package main

// Browser tests of the web console: headless Chromium (Debian's chromium
// package) driven with chromedp against a real `peacepie run`. Run with
// PEACEPIE_SCREENSHOTS=1 to rewrite the screenshots in docs/console/.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/bin/chromium"

// consoleTestBudget bounds each browser test as a whole.
const consoleTestBudget = 90 * time.Second

// browser is one headless Chromium with one tab, driven by a test.
type browser struct {
	t   *testing.T
	ctx context.Context // the tab; ends at the test's deadline

	mu         sync.Mutex
	exceptions []string // uncaught exceptions and rejections of the page
	reported   int      // how many of them noExceptions has reported
}

// newBrowser starts Chromium with a fresh profile; t.Cleanup stops it.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the console tests need Chromium at %s (apt-get install chromium): %v", chromiumPath, err)
	}
	base := t.TempDir()
	dataDir := filepath.Join(base, "profile")
	deadline, cancelDeadline := context.WithTimeout(context.Background(), consoleTestBudget)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox, // tests may run as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		// Without these Chromium keeps calling home, which floods a
		// closed network and slows the test down.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(dataDir),
		// Debian's Chromium keeps its crash reports in ~/.config/chromium
		// whatever the profile: keep them in the test's folder too.
		chromedp.Env("XDG_CONFIG_HOME="+filepath.Join(base, "config"), "XDG_CACHE_HOME="+filepath.Join(base, "cache")),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(deadline, opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	b := &browser{t: t, ctx: ctx}
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc() // waits until Chromium has exited
		cancelDeadline()
		// Chromium's helpers may still be writing in the profile for a
		// moment: remove it before t.TempDir's cleanup does.
		for end := time.Now().Add(5 * time.Second); ; {
			if err := os.RemoveAll(base); err == nil || time.Now().After(end) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		if t.Failed() && len(b.exceptions) > 0 {
			t.Logf("exceptions in the page:\n%s", strings.Join(b.exceptions, "\n"))
		}
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start Chromium: %v", err)
	}
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok && e.ExceptionDetails != nil {
			d := e.ExceptionDetails
			text := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				text += " " + d.Exception.Description
			}
			b.mu.Lock()
			b.exceptions = append(b.exceptions, fmt.Sprintf("%s:%d: %s", d.URL, d.LineNumber+1, text))
			b.mu.Unlock()
		}
	}); err != nil {
		t.Fatalf("listen to the page's exceptions: %v", err)
	}
	return b
}

// fatal fails the test, showing where the page is and what it says.
func (b *browser) fatal(format string, args ...any) {
	b.t.Helper()
	state := "(the page cannot be read)"
	ctx, cancel := context.WithTimeout(b.ctx, 3*time.Second)
	defer cancel()
	if s, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`location.href + "\n#conn: " + document.querySelector("#conn").textContent + "\nfields: " +
		JSON.stringify(Object.fromEntries([...document.querySelectorAll("input, textarea")].map((e) => [e.id, e.value]))) +
		"\n" + document.querySelector("main").innerText`)); err == nil {
		state = s
	}
	b.t.Fatalf("%s\n--- the page ---\n%s", fmt.Sprintf(format, args...), state)
}

// do runs actions, failing the test if they take longer than timeout.
func (b *browser) do(what string, timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fatal("%s: %v", what, err)
	}
}

// waitFor polls the JavaScript condition cond until it is true. A poll
// that a navigation (a reload) cuts short starts again.
func (b *browser) waitFor(what string, timeout time.Duration, cond string) {
	b.t.Helper()
	end := time.Now().Add(timeout)
	for {
		left := time.Until(end)
		ctx, cancel := context.WithTimeout(b.ctx, left+time.Second)
		poll := chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingInterval(25*time.Millisecond), chromedp.WithPollingTimeout(left))
		err := chromedp.Do(ctx, poll)
		cancel()
		if err == nil {
			return
		}
		if errors.Is(err, chromedp.ErrPollingTimeout) || b.ctx.Err() != nil || time.Now().After(end) {
			b.fatal("waiting %s for %s: %v\n(condition: %s)", timeout, what, err, cond)
		}
		time.Sleep(25 * time.Millisecond) // the page is being replaced
	}
}

// eval evaluates a JavaScript expression as a string.
func (b *browser) eval(expr string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.fatal("evaluate %s: %v", expr, err)
	}
	return s
}

// click waits for the element to be visible and enabled (the console
// enables a button once it is wired) and clicks it with the mouse.
func (b *browser) click(sel string) {
	b.t.Helper()
	b.do("click "+sel, 10*time.Second, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.WaitEnabled(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
}

// fill sets the value of each form field, by id, as typing would (with an
// input event). Not chromedp.SetValue: in v0.23.0 it sets an empty value as
// "undefined" (the empty string argument is dropped as omitempty).
func (b *browser) fill(fields ...string) {
	b.t.Helper()
	var sb strings.Builder
	sb.WriteString("(() => {")
	for i := 0; i+1 < len(fields); i += 2 {
		fmt.Fprintf(&sb, ` { const e = document.getElementById(%s); if (!e) return "no #" + %s; e.value = %s; e.dispatchEvent(new Event("input", {bubbles: true})); }`,
			js(fields[i]), js(fields[i]), js(fields[i+1]))
	}
	sb.WriteString(` return ""; })()`)
	if msg := b.eval(sb.String()); msg != "" {
		b.fatal("fill %q: %s", fields, msg)
	}
}

// noExceptions fails the test if the page has thrown since the last call.
func (b *browser) noExceptions(when string) {
	b.t.Helper()
	b.mu.Lock()
	ex := append([]string(nil), b.exceptions[b.reported:]...)
	b.reported = len(b.exceptions)
	b.mu.Unlock()
	if len(ex) > 0 {
		b.t.Errorf("%s: the page threw:\n%s", when, strings.Join(ex, "\n"))
	}
}

// screenshot saves the whole page as dir/name. For the committed pictures
// (PEACEPIE_SCREENSHOTS=1) it first lets the chart, if any, draw a few
// seconds of line.
func (b *browser) screenshot(dir, name string) {
	b.t.Helper()
	if os.Getenv("PEACEPIE_SCREENSHOTS") == "1" && b.eval(`String(`+jsHas("#chart")+`)`) == "true" {
		b.waitFor("a few seconds of chart for the picture", 15*time.Second, jsChartSpan(0.02))
	}
	// At the top, without a focused field: the sticky header then sits
	// at the top of the picture, and no caret blinks in it.
	b.eval(`(() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); return ""; })()`)
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
	if err != nil {
		b.fatal("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		b.t.Fatalf("write screenshot: %v", err)
	}
}

// js quotes s as a JavaScript string literal.
func js(s string) string {
	data, _ := json.Marshal(s)
	return string(data)
}

// jsText is the text of the first element matching sel, "" when none.
func jsText(sel string) string {
	return fmt.Sprintf(`((document.querySelector(%s) || {}).textContent || "")`, js(sel))
}

// jsHas is true when an element matches sel.
func jsHas(sel string) string {
	return fmt.Sprintf(`(document.querySelector(%s) !== null)`, js(sel))
}

// jsChartLine is true once #chart has drawn a line (two stats events or
// more): a pixel of the line's blue.
var jsChartLine = jsChartSpan(0)

// jsChartSpan is true once the line of #chart spans more than part of its
// width (it grows from the right by 1/59 of the width a second).
func jsChartSpan(part float64) string {
	return fmt.Sprintf(`(() => {
	const c = document.querySelector("#chart");
	if (!c || c.width === 300) return false;
	const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
	let left = c.width;
	for (let i = 0; i < d.length; i += 4) if (d[i] < 120 && d[i + 2] > 150 && d[i + 3] > 200) left = Math.min(left, (i / 4) %% c.width);
	return left < c.width && c.width - left >= %g * c.width;
})()`, part)
}

// row is the CSS selector of a table row by its data-name.
func row(table, name string) string {
	return fmt.Sprintf(`%s tr[data-name=%s]`, table, js(name))
}

// screenshotDir is docs/console with PEACEPIE_SCREENSHOTS=1 (to refresh the
// committed pictures), else a temporary folder.
func screenshotDir(t *testing.T) string {
	t.Helper()
	if os.Getenv("PEACEPIE_SCREENSHOTS") != "1" {
		return t.TempDir()
	}
	dir, err := filepath.Abs(filepath.Join("..", "..", "docs", "console"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// formReply submits the actor page's form with ASK or SEND (button id) and
// waits for a new reply containing want.
func (b *browser) formReply(button, want string) string {
	b.t.Helper()
	b.eval(`(() => { const r = document.querySelector("#reply-json"); if (r) r.dataset.old = "1"; return ""; })()`)
	b.click("#" + button)
	b.waitFor(fmt.Sprintf("a reply containing %q", want), 15*time.Second,
		fmt.Sprintf(`%s.includes(%s)`, jsText("#reply-json:not([data-old])"), js(want)))
	return b.eval(jsText("#reply-json"))
}

// formRefused submits the form and checks that it is refused with a
// message in #form-error containing mention, and that nothing is sent.
func (b *browser) formRefused(what, mention string) {
	b.t.Helper()
	before := b.eval(`String(document.querySelectorAll("#history li").length) + "|" + document.querySelector("#reply").innerHTML`)
	b.eval(`(() => { document.querySelector("#form-error").textContent = ""; return ""; })()`)
	b.click("#ask")
	b.waitFor(what+": a message in #form-error", 5*time.Second, jsText("#form-error")+` !== ""`)
	msg := b.eval(jsText("#form-error"))
	if !strings.Contains(msg, mention) {
		b.t.Errorf("%s: #form-error says %q, want it to mention %q", what, msg, mention)
	}
	if after := b.eval(`String(document.querySelectorAll("#history li").length) + "|" + document.querySelector("#reply").innerHTML`); after != before {
		b.t.Errorf("%s: the history or the reply changed, so something was sent:\nbefore %s\nafter  %s", what, before, after)
	}
}

// TestConsoleWalkthrough walks system → host → process → actor by clicking,
// creates hello_world from the admin's page, sees it appear live, asks it
// tick, and stops the system with SEND exit; then the page reconnects to a
// restarted system by itself.
func TestConsoleWalkthrough(t *testing.T) {
	t.Parallel()
	began := time.Now()
	in := startFresh(t)
	shots := screenshotDir(t)
	b := newBrowser(t)

	// The system level: opened with the printed URL.
	b.do("open "+in.url, 15*time.Second, chromedp.Navigate(in.url))
	b.waitFor("the host first on the system page", 10*time.Second, jsHas(row("#hosts", "first")))
	b.waitFor("#conn saying connected", 5*time.Second, jsText("#conn")+` === "connected" && document.querySelector("#conn").classList.contains("up")`)
	if got := b.eval(`location.search + "|" + location.hash + "|" + sessionStorage.getItem("peacepie_token")`); got != "|#/|"+in.token {
		t.Errorf("after opening the URL: search|hash|stored token = %q, want the token gone from the address bar and kept in session storage", got)
	}
	if got := b.eval(jsText("#head-admin")); got != admin {
		t.Errorf("head admin link says %q, want %s", got, admin)
	}
	// A page reload would drop this: it proves that the lists update live.
	b.eval(`(() => { window.__noReload = "kept"; return ""; })()`)
	b.waitFor("the system chart's line (stats once a second)", 10*time.Second, jsChartLine)
	b.screenshot(shots, "system.png")

	// The host level.
	b.click(row("#hosts", "first") + " a")
	b.waitFor("the process first.main.admin on the host page", 10*time.Second, jsHas(row("#processes", admin)))
	if h := b.eval(`location.hash`); h != "#/host/first" {
		t.Errorf("host page at %q, want #/host/first", h)
	}
	b.screenshot(shots, "host.png")

	// The process level: its admin first.
	b.click(row("#processes", admin) + " a")
	b.waitFor("the admin's row on the process page", 10*time.Second, jsHas(row("#actors", admin)))
	if h := b.eval(`location.hash`); h != "#/process/"+admin {
		t.Errorf("process page at %q, want #/process/%s", h, admin)
	}
	if first := b.eval(`document.querySelector("#actors tbody tr").dataset.name`); first != admin {
		t.Errorf("first row of the process page is %q, want the admin", first)
	}

	// The admin's actor page: create hello_world with ASK.
	b.click(row("#actors", admin) + " a")
	b.do("the actor page's form", 10*time.Second, chromedp.WaitVisible(chromedp.ID("command")))
	if h := b.eval(`location.hash`); h != "#/actor/"+admin {
		t.Errorf("actor page at %q, want #/actor/%s", h, admin)
	}
	if r := b.eval(`document.querySelector("#recipient").value`); r != admin {
		t.Errorf("recipient pre-filled with %q, want %s", r, admin)
	}
	b.fill("command", "create_actor",
		"body", `{"class_desc": {"requires_dist": "peacepie_example", "class": "HelloWorld"}, "name": "hello_world"}`)
	b.formReply("ask", "actor_is_created")
	if rt := b.eval(jsText("#reply-time")); !strings.HasSuffix(rt, " ms") {
		t.Errorf("reply time %q, want N ms", rt)
	}

	// Back to the process page with the breadcrumb: hello_world is listed.
	b.click(`#breadcrumb a[href="#/process/` + admin + `"]`)
	b.waitFor("hello_world on the process page", 10*time.Second, jsHas(row("#actors", "hello_world")))
	cells := b.eval(fmt.Sprintf(`[...document.querySelector(%s).cells].map((c) => c.textContent.trim()).join("|")`, js(row("#actors", "hello_world"))))
	if parts := strings.Split(cells, "|"); len(parts) != 7 || parts[1] != "HelloWorld" || !strings.HasPrefix(parts[2], "peacepie_example@") ||
		!strings.HasSuffix(parts[3], " KiB") || parts[4] != "0" || parts[6] != "0" {
		t.Errorf("hello_world's row is %q, want name|HelloWorld|peacepie_example@VERSION|memory N KiB|mailbox 0|handled|refused 0", cells)
	}

	// Live updates with the process page open: actors made and removed
	// from outside show up and go without a reload.
	ws := dial(t, in)
	ws.expect(admin, "create_actor", createBody("IteratingHelloWorld", "iterating_hello_world"), "actor_is_created")
	b.waitFor("iterating_hello_world to appear without a reload", 10*time.Second,
		jsHas(row("#actors", "iterating_hello_world"))+` && window.__noReload === "kept"`)
	ws.expect(admin, "create_actor", createBody("HelloWorld", "short_lived"), "actor_is_created")
	b.waitFor("short_lived to appear", 10*time.Second, jsHas(row("#actors", "short_lived")))
	ws.expect(admin, "remove_actor", raw(`{"name": "short_lived"}`), "actor_is_removed")
	b.waitFor("short_lived to disappear", 10*time.Second, `!`+jsHas(row("#actors", "short_lived")))
	// The filter narrows the list, the admin's row stays.
	b.fill("filter", "iterating")
	b.do("type in the filter", 5*time.Second, chromedp.SendKeys(chromedp.ID("filter"), "_"))
	b.waitFor("the filter to leave one actor", 5*time.Second,
		`!`+jsHas(row("#actors", "hello_world"))+` && `+jsHas(row("#actors", "iterating_hello_world"))+` && `+jsHas(row("#actors", admin)))
	b.fill("filter", "")
	b.do("clear the filter", 5*time.Second, chromedp.SendKeys(chromedp.ID("filter"), " "))
	b.waitFor("the filter cleared", 5*time.Second, jsHas(row("#actors", "hello_world")))
	b.fill("filter", "")
	// Printed lines and the handled counters arrive live.
	ws.expect("iterating_hello_world", "set_params",
		raw(`{"params": [{"name": "period", "value": 0.4}, {"name": "limit", "value": null}]}`), "params_are_set")
	ws.expect("iterating_hello_world", "tick_start", nil, "tick_started")
	b.waitFor("its printed lines in #lines", 10*time.Second,
		jsText("#lines")+`.includes('iterating_hello_world: IteratingHelloWorld "iterating_hello_world" from "first.main.admin" says "Hello, World! (1)"')`)
	b.waitFor("its handled counter to grow", 10*time.Second,
		fmt.Sprintf(`Number(%s) >= 5`, jsText(row("#actors", "iterating_hello_world")+" .handled")))
	b.waitFor("the process chart's line", 10*time.Second, jsChartLine)
	b.screenshot(shots, "process.png")

	// The params card of an IteratingHelloWorld.
	b.click(row("#actors", "iterating_hello_world") + " a")
	b.waitFor("the params of iterating_hello_world", 10*time.Second,
		jsText("#params")+`.includes("period0.4") && `+jsText("#params")+`.includes("is_tickingtrue")`)
	b.waitFor("its details", 5*time.Second, jsText("#details")+`.includes("IteratingHelloWorld")`)
	b.waitFor("its printed lines on its page", 10*time.Second, jsText("#lines")+`.includes("says \"Hello, World! (")`)

	// `..` goes up to the process; then hello_world's page.
	b.click("#up")
	b.waitFor("the process page again", 10*time.Second, jsHas(row("#actors", "hello_world")))
	b.click(row("#actors", "hello_world") + " a")
	b.do("hello_world's form", 10*time.Second, chromedp.WaitVisible(chromedp.ID("command")))
	b.waitFor("hello_world's details and breadcrumb", 10*time.Second,
		jsText("#details")+`.includes("HelloWorld") && `+jsText("#breadcrumb")+` === "system›host first›first.main.admin›hello_world"`)
	if r := b.eval(`document.querySelector("#recipient").value`); r != "hello_world" {
		t.Errorf("recipient pre-filled with %q, want hello_world", r)
	}
	// Leaving views before their answers come (back and forth quickly)
	// leaves a working hello_world page: the views left behind do not
	// write into it, nor throw.
	b.eval(`(() => { location.hash = "#/process/` + admin + `"; setTimeout(() => { location.hash = "#/actor/iterating_hello_world"; ` +
		`setTimeout(() => { location.hash = "#/actor/hello_world"; }, 0); }, 0); return ""; })()`)
	b.waitFor("hello_world's page after quick navigation", 10*time.Second,
		`location.hash === "#/actor/hello_world" && `+jsText("#details")+`.includes("HelloWorld") && `+jsText("#params")+` === "no params"`)
	b.do("type tick", 5*time.Second, chromedp.SendKeys(chromedp.ID("command"), "tick"))
	reply := b.formReply("ask", `"hello_world"`)
	if !strings.Contains(reply, `"command": "hello_world"`) {
		t.Errorf("the reply to tick is %s, want the command hello_world", reply)
	}
	in.waitStdout(t, 5*time.Second, "Hello, World!", 0)
	// The answers to the views left behind came before this reply: the
	// page is still hello_world's.
	if got := b.eval(jsText("#details") + ` + "|" + ` + jsText("#params") + ` + "|" + ` + jsText("h1")); !strings.Contains(got, "classHelloWorld") || !strings.HasSuffix(got, "|no params|Actor hello_world") {
		t.Errorf("after quick navigation hello_world's page shows %q", got)
	}
	b.noExceptions("quick navigation")
	b.waitFor("Hello, World! in the actor's printed lines", 10*time.Second, jsText("#lines")+`.includes("Hello, World!")`)

	// The history lists the request; re-send sends it again.
	b.waitFor("the request in the history", 5*time.Second, `document.querySelectorAll("#history li").length === 1 && `+jsText("#history li")+`.includes("ASK tick")`)
	before := in.countLines("Hello, World!")
	b.eval(`(() => { document.querySelector("#reply-json").dataset.old = "1"; return ""; })()`)
	b.click("#history li .resend")
	b.waitFor("the re-sent request's reply", 10*time.Second, jsText("#reply-json:not([data-old])")+`.includes('"hello_world"')`)
	b.waitFor("two entries in the history", 5*time.Second, `document.querySelectorAll("#history li").length === 2`)
	eventually(t, 5*time.Second, "one more Hello, World! after re-send", func() bool { return in.countLines("Hello, World!") > before })
	b.waitFor("the actor's chart's line", 10*time.Second, jsChartLine)
	b.screenshot(shots, "actor.png")
	b.noExceptions("walking the levels")
	if v := b.eval(`String(window.__noReload)`); v != "kept" {
		t.Errorf("the page was reloaded during the walk")
	}

	// SEND exit stops the system; the indicator shows the lost connection.
	b.fill("command", "exit", "body", "")
	sent := time.Now()
	b.formReply("send", `"sent"`)
	if code, at := in.waitExit(t, 10*time.Second); code != 0 {
		t.Errorf("exit code %d after SEND exit, want 0", code)
	} else {
		t.Logf("SEND exit: the process ended %s after the click", at.Sub(sent).Round(time.Millisecond))
	}
	b.waitFor("#conn to show the connection is down", 10*time.Second,
		jsText("#conn")+` !== "connected" && document.querySelector("#conn").classList.contains("down")`)

	// A system started again on the same address (same token) is found
	// again by itself; hello_world is gone from it.
	in2 := start(t, in.dir, "run", "--console", in.addr)
	if in2.token != in.token {
		t.Fatalf("the restarted system has another token")
	}
	b.waitFor("#conn connected again", 15*time.Second, jsText("#conn")+` === "connected"`)
	b.waitFor("the actor page to say hello_world is gone", 10*time.Second, jsText("#details")+`.includes("does not exist")`)
	b.fill("command", "tick", "body", "")
	b.formReply("ask", "actor_is_not_found")
	b.noExceptions("after the reconnect")
	t.Logf("walkthrough took %s", time.Since(began).Round(time.Millisecond))
}

// TestConsoleToken: without the token the console shows the token page and
// no data; a wrong token is refused; the right one opens the console.
func TestConsoleToken(t *testing.T) {
	t.Parallel()
	in := startFresh(t)
	b := newBrowser(t)
	base := "http://" + in.addr + "/"

	b.do("open "+base, 15*time.Second, chromedp.Navigate(base))
	b.do("the token page", 10*time.Second, chromedp.WaitVisible(chromedp.ID("token-page")))
	if got := b.eval(fmt.Sprintf(`[%s, %s, %s].join("|")`, jsHas("#hosts"), jsHas("#actors"), jsHas("#processes"))); got != "false|false|false" {
		t.Errorf("the token page shows data: #hosts|#actors|#processes present = %s", got)
	}
	if c := b.eval(jsText("#conn")); c == "connected" {
		t.Errorf("#conn says connected without a token")
	}

	// A wrong token, typed in.
	b.fill("token-input", "0123456789abcdef0123456789abcdef")
	b.click("#token-open")
	b.do("the token page again", 10*time.Second, chromedp.WaitVisible(chromedp.ID("token-page")))
	b.waitFor("the token page to say refused", 10*time.Second, jsText("#token-page")+`.includes("refused")`)
	if got := b.eval(jsHas("#hosts") + ` + "|" + ` + jsHas("#actors")); got != "false|false" {
		t.Errorf("a refused token shows data: %s", got)
	}
	// A wrong token in the URL.
	b.do("open with a wrong token", 15*time.Second, chromedp.Navigate(base+"?token=wrong"))
	b.do("the token page", 10*time.Second, chromedp.WaitVisible(chromedp.ID("token-page")))
	b.waitFor("the token page to say refused", 10*time.Second, jsText("#token-page")+`.includes("refused")`)

	// The right one, typed in, opens the system page; a reload keeps it.
	b.fill("token-input", in.token)
	b.click("#token-open")
	b.waitFor("the system page", 10*time.Second, jsHas(row("#hosts", "first")))
	b.do("reload", 15*time.Second, chromedp.Reload())
	b.waitFor("the system page after a reload", 10*time.Second, jsHas(row("#hosts", "first"))+` && `+jsText("#conn")+` === "connected"`)

	// The system restarts with a new token: the open page, reconnecting,
	// is refused and asks for the token, and the new one (typed, with
	// Enter) opens it again.
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	if code, _ := in.waitExit(t, 10*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
	b.waitFor("#conn to show the connection is down", 10*time.Second, jsText("#conn")+` !== "connected"`)
	if err := os.Remove(filepath.Join(in.dir, "config", "token")); err != nil {
		t.Fatal(err)
	}
	in2 := start(t, in.dir, "run", "--console", in.addr)
	if in2.token == in.token {
		t.Fatalf("the restarted system kept its token after config/token was removed")
	}
	b.waitFor("the token page after reconnecting with the old token", 15*time.Second,
		jsText("#token-page")+`.includes("refused") && `+jsText("#conn")+` === "no token" && !`+jsHas("#hosts"))
	b.do("type the new token", 10*time.Second, chromedp.SendKeys(chromedp.ID("token-input"), in2.token+"\n"))
	b.waitFor("the system page with the new token", 10*time.Second, jsHas(row("#hosts", "first"))+` && `+jsText("#conn")+` === "connected"`)
	b.noExceptions("token page")
}

// TestConsoleBadInput: bad input through the form gets a clear message and
// the page keeps working.
func TestConsoleBadInput(t *testing.T) {
	t.Parallel()
	in := startFresh(t)
	b := newBrowser(t)
	b.do("open the admin's page", 15*time.Second, chromedp.Navigate(in.url+"#/actor/"+admin))
	b.do("the form", 10*time.Second, chromedp.WaitVisible(chromedp.ID("command")))
	b.waitFor("connected", 10*time.Second, jsText("#conn")+` === "connected"`)
	works := func(after string) {
		t.Helper()
		b.fill("command", "get_actors", "body", "", "recipient", admin, "timeout", "10")
		if r := b.formReply("ask", `"actors"`); !strings.Contains(r, `"command": "actors"`) {
			t.Errorf("after %s: ASK get_actors replied %s", after, r)
		}
		if e := b.eval(jsText("#form-error")); e != "" {
			t.Errorf("after %s: #form-error still says %q after a valid ASK", after, e)
		}
	}

	// Invalid JSON in the body: refused before sending.
	b.fill("command", "create_actor", "body", `{"name": "x",`)
	b.formRefused("invalid JSON body", "JSON")
	works("an invalid body")
	// The admin answered get_actors after anything sent before it: had the
	// create_actor gone out, it would have logged "actor is not created".
	if strings.Contains(in.stderr.String(), "not created") {
		t.Errorf("the create_actor with an invalid body was sent:\n%s", in.stderr.String())
	}

	// An empty command.
	b.fill("command", "  ", "body", "")
	b.formRefused("empty command", "command")
	works("an empty command")

	// A timeout that is not a number.
	b.fill("command", "get_actors", "timeout", "soon")
	b.formRefused("timeout not a number", "timeout")
	works("a bad timeout")

	// An unknown recipient.
	b.fill("command", "tick", "recipient", "nobody")
	if r := b.formReply("ask", "actor_is_not_found"); !strings.Contains(r, `"entity": "nobody"`) {
		t.Errorf("ASK tick of nobody replied %s, want actor_is_not_found naming nobody", r)
	}
	if !strings.Contains(b.eval(`document.querySelector("#reply-json").className`), "bad") {
		t.Errorf("actor_is_not_found is not shown as a failure")
	}
	works("an unknown recipient")

	// A timeout: sleepy sleeps 5 s in tick, so get_params waits behind it.
	b.fill("command", "create_actor", "recipient", admin, "body",
		`{"class_desc": {"requires_dist": "peacepie_example", "class": "CircleDancer"}, "name": "sleepy", "params": {"consumer": "nobody", "period": 5}}`)
	b.formReply("ask", "actor_is_created")
	b.fill("command", "tick", "recipient", "sleepy", "body", "")
	b.formReply("send", `"sent"`)
	in.waitStdout(t, 5*time.Second, `CircleDancer "sleepy" from "first.main.admin"`, 0)
	b.fill("command", "get_params", "timeout", "0.3")
	asked := time.Now()
	b.formReply("ask", `"timeout"`)
	if took := time.Since(asked); took > 4*time.Second {
		t.Errorf("the timeout reply came after %s, want about 0.3 s", took)
	}
	works("a timeout")

	// The history has every request that was sent, newest first, and none
	// of the refused ones.
	hist := b.eval(`[...document.querySelectorAll("#history li code")].map((c) => c.textContent).join("\n")`)
	lines := strings.Split(hist, "\n")
	if len(lines) != 9 || !strings.HasPrefix(lines[0], "ASK get_actors") || !strings.Contains(hist, "SEND tick") || strings.Contains(hist, "soon") {
		t.Errorf("history:\n%s\nwant the 9 requests sent, newest first", hist)
	}
	if c := b.eval(jsText("#conn")); c != "connected" {
		t.Errorf("#conn says %q at the end, want connected", c)
	}
	b.noExceptions("bad input")
}

// TestConsoleProcesses: the host page lists processes as they come and go,
// without a reload, and a child's page lists its actors.
func TestConsoleProcesses(t *testing.T) {
	t.Parallel()
	in := startFresh(t)
	b := newBrowser(t)
	ws := dial(t, in)
	b.do("open the host page", 15*time.Second, chromedp.Navigate(in.url+"#/host/first"))
	b.waitFor("the head on the host page", 10*time.Second, jsHas(row("#processes", admin)))
	b.eval(`(() => { window.__noReload = "kept"; return ""; })()`)
	node := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	b.waitFor(node+" on the host page without a reload", 10*time.Second, jsHas(row("#processes", node))+` && window.__noReload === "kept"`)
	ws.expect(node, "create_actor", createBody("HelloWorld", "hw"), "actor_is_created")
	b.click(row("#processes", node) + " a")
	b.waitFor("hw on the child's page", 10*time.Second, jsHas(row("#actors", "hw")))
	b.do("back to the host page", 10*time.Second, chromedp.Navigate(in.url+"#/host/first"))
	b.waitFor("the child on the host page", 10*time.Second, jsHas(row("#processes", node)))
	ws.expect(admin, "remove_process", raw(fmt.Sprintf(`{"node": %q}`, node)), "process_is_removed")
	b.waitFor(node+" gone from the host page", 10*time.Second, "!("+jsHas(row("#processes", node))+")")
	b.noExceptions("processes")
}

// TestConsoleHosts: the console lists every host of the system, with its
// processes, and shows a host that died as gone; another host's console
// shows the same system, live: its system page's chart shows a number, and
// the first host's process page there shows its printed lines.
func TestConsoleHosts(t *testing.T) {
	t.Parallel()
	first := startFresh(t)
	addr, secret := joinInfo(t, first)
	second := startHost(t, "second", addr, secret, nil)
	ws := dial(t, first)
	eventually(t, 10*time.Second, "second to join", func() bool { return hostStates(ws)["second"] == "up" })
	b := newBrowser(t)
	b.do("open the system page", 15*time.Second, chromedp.Navigate(first.url))
	b.waitFor("both hosts on the system page", 10*time.Second, jsHas(row("#hosts", "first"))+" && "+jsHas(row("#hosts", "second")+`[data-state="up"]`))
	b.click(row("#hosts", "second") + " a")
	b.waitFor("second's main process on its host page", 10*time.Second, jsHas(row("#processes", "second.main.admin")))
	node := ws.expect("second.main.admin", "create_process", nil, "process_is_created").bodyString("node")
	b.waitFor(node+" on the host page without a reload", 10*time.Second, jsHas(row("#processes", node)))
	ws.expect(node, "create_actor", createBody("HelloWorld", "hw_second"), "actor_is_created")
	b.click(row("#processes", node) + " a")
	b.waitFor("hw_second on its process page", 10*time.Second, jsHas(row("#actors", "hw_second")))

	// Another host's console: the same system.
	b2 := newBrowser(t)
	b2.do("open second's console", 15*time.Second, chromedp.Navigate(second.url))
	b2.waitFor("both hosts on second's console", 10*time.Second, jsHas(row("#hosts", "first"))+" && "+jsHas(row("#hosts", "second")))
	b2.waitFor("the chart of second's system page with a number", 15*time.Second,
		`(() => { const c = document.querySelector("#chart"); return c && c.dataset.rate !== undefined && c.dataset.rate !== "" && !isNaN(Number(c.dataset.rate)); })()`)
	ws.expect(admin, "create_actor", raw(`{"class_desc": {"requires_dist": "peacepie_example", "class": "IteratingHelloWorld"}, `+
		`"name": "hw_first_iter", "params": {"period": 0.2}}`), "actor_is_created")
	ws.expect("hw_first_iter", "tick_start", nil, "tick_started")
	b2.do("open the first host's main process on second's console", 15*time.Second, chromedp.Navigate(second.url+"#/process/"+admin))
	b2.waitFor("hw_first_iter's printed line on second's console", 15*time.Second,
		jsText("#lines")+`.includes('hw_first_iter: IteratingHelloWorld "hw_first_iter" from "`+admin+`" says "Hello, World! (')`)
	b2.noExceptions("second's console")

	b.do("back to the system page", 10*time.Second, chromedp.Navigate(first.url+"#/"))
	b.waitFor("second up", 10*time.Second, jsHas(row("#hosts", "second")+`[data-state="up"]`))
	if err := second.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	b.waitFor("second shown gone without a reload", 10*time.Second, jsHas(row("#hosts", "second")+`[data-state="gone"]`))
	b.screenshot(screenshotDir(t), "hosts.png")
	b.noExceptions("hosts")
}

// TestConsoleChildLive: a child process's page is live like the main
// process's: its chart shows a number of messages a second and goes on
// drawing, its actors' counters grow and their printed lines arrive; the
// system page lists the child's actor among every actor of the system.
func TestConsoleChildLive(t *testing.T) {
	t.Parallel()
	in := startFresh(t)
	b := newBrowser(t)
	ws := dial(t, in)
	node := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	ws.expect(node, "create_actor", raw(`{"class_desc": {"requires_dist": "peacepie_example", "class": "IteratingHelloWorld"}, `+
		`"name": "child_iterating", "params": {"period": 0.2}}`), "actor_is_created")
	ws.expect("child_iterating", "tick_start", nil, "tick_started")

	b.do("open the child's page", 15*time.Second, chromedp.Navigate(in.url+"#/process/"+node))
	b.waitFor("child_iterating on the child's page", 10*time.Second, jsHas(row("#actors", "child_iterating")))
	b.waitFor("the child's runtime figures", 10*time.Second,
		jsText("#rt-rss")+`.endsWith(" MiB") && `+jsText("#rt-heap")+`.endsWith(" MiB") && Number(`+jsText("#rt-goroutines")+`) > 0 && `+
			jsText("#rt-gc-pause")+`.includes(" ms in all, the last ")`)
	b.waitFor("the child's chart with a rate", 15*time.Second,
		`(() => { const c = document.querySelector("#chart"); return c && c.dataset.rate !== "" && c.dataset.rate !== undefined && !isNaN(Number(c.dataset.rate)) && Number(c.dataset.samples) >= 1; })()`)
	first := b.eval(`document.querySelector("#chart").dataset.samples`)
	b.waitFor("the child's chart to go on (another stats event)", 10*time.Second,
		fmt.Sprintf(`Number(document.querySelector("#chart").dataset.samples) > %s`, first))
	b.waitFor("the child's chart to show messages", 15*time.Second, `Number(document.querySelector("#chart").dataset.rate) > 0`)
	handled := b.eval(jsText(row("#actors", "child_iterating") + " .handled"))
	b.waitFor("child_iterating's handled counter to grow", 10*time.Second,
		fmt.Sprintf(`Number(%s) > %s`, jsText(row("#actors", "child_iterating")+" .handled"), handled))
	b.waitFor("its printed line in #lines", 10*time.Second,
		jsText("#lines")+fmt.Sprintf(`.includes('child_iterating: IteratingHelloWorld "child_iterating" from "%s" says "Hello, World! (')`, node))
	if got := b.eval(jsText("#chart") + ` + "|" + String(document.querySelector("#chart").title)`); strings.Contains(got, "NaN") {
		t.Errorf("the chart shows NaN: %q", got)
	}

	b.do("open the actor's page", 15*time.Second, chromedp.Navigate(in.url+"#/actor/child_iterating"))
	b.waitFor("its printed lines on its page", 10*time.Second, jsText("#lines")+`.includes("says \"Hello, World! (")`)
	b.waitFor("its live handled counter", 10*time.Second, `Number(`+jsText("#d-handled")+`) > `+handled)

	b.do("open the system page", 15*time.Second, chromedp.Navigate(in.url+"#/"))
	b.waitFor("child_iterating among every actor of the system", 10*time.Second,
		jsHas(row("#all-actors", "child_iterating"))+` && `+jsText(row("#all-actors", "child_iterating"))+fmt.Sprintf(`.includes(%s)`, js(node)))
	b.noExceptions("a child's pages")
}

// TestConsoleFailover: a console open on the second of three hosts
// carries on when the first host (the root) is killed: without a reload,
// its system page shows the first host gone and a survivor as the head,
// and its head admin's page answers asks.
func TestConsoleFailover(t *testing.T) {
	t.Parallel()
	first, second, _, _ := threeHosts(t)
	b := newBrowser(t)
	b.do("open second's console", 15*time.Second, chromedp.Navigate(second.url))
	b.waitFor("three hosts, the first the head", 15*time.Second,
		jsHas(row("#hosts", "first")+" .badge")+" && "+jsHas(row("#hosts", "second"))+" && "+jsHas(row("#hosts", "third")))
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	b.waitFor("the first host gone and a survivor the head, without a reload", 20*time.Second,
		jsHas(row("#hosts", "first")+`[data-state="gone"]`)+" && ("+jsHas(row("#hosts", "second")+" .badge")+" || "+jsHas(row("#hosts", "third")+" .badge")+")")
	b.waitFor("the head admin's link names a survivor", 10*time.Second,
		`["second.main.admin", "third.main.admin"].includes(`+jsText("#head-admin")+`)`)
	b.noExceptions("the console across a failover")
}

// TestConsoleDetails: an empty process page says it has no actors (not
// "0–0 of 0"), and an admin's page names the admin once in its
// breadcrumb.
func TestConsoleDetails(t *testing.T) {
	t.Parallel()
	in := startFresh(t)
	b := newBrowser(t)
	b.do("open the head's process page", 15*time.Second, chromedp.Navigate(in.url+"#/process/"+admin))
	b.waitFor("the page count of an empty process", 10*time.Second, `document.querySelector("#page") && document.querySelector("#page").textContent === "no actors"`)
	b.do("open the head admin's page", 15*time.Second, chromedp.Navigate(in.url+"#/actor/"+admin))
	b.waitFor("the admin's breadcrumb", 10*time.Second,
		`document.querySelector("#breadcrumb").textContent.split("`+admin+`").length === 2`)
	b.noExceptions("details")
}

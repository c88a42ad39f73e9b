package luart_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/peacepie/peacepie/host"
)

var authorPackage = fstest.MapFS{
	"peacepie.toml": file("name = \"author\"\nversion = \"1.0.0\"\n[actors]\nCounter = \"counter\"\nMissingThen = \"missing_then\"\nSameLine = \"same_line\"\n"),
	"counter.lua":   file("local Counter = {}\n\nfunction Counter:add(body)\n  return \"added\", body.n + nil\nend\n\nreturn Counter\n"),
	// The mistake is on line 3 (no then); the parser stops on line 4.
	"missing_then.lua": file("local M = {}\nfunction M:x()\n  if true -- no then\n  local y = 1\nend\nreturn M\n"),
	"same_line.lua":    file("local S = {}\nlocal x = = 1\nreturn S\n"),
}

// TestErrorsAnAuthorCanActOn: a module that does not compile is reported
// at the line of the mistake when the parser stops on the next one, and
// at line:column otherwise, without trailing noise; a handler's error
// names the handler and the package, in the reply and in the traceback;
// is_not_handled lists the commands the actor has.
func TestErrorsAnAuthorCanActOn(t *testing.T) {
	h := startLua(t, host.Config{}, authorPackage)
	for class, want := range map[string]string{
		"MissingThen": `package author@1.0.0: missing_then.lua:3: syntax error after "if true" (the parser stopped at 'local', line 4 column`,
		"SameLine":    `package author@1.0.0: same_line.lua:2:`,
	} {
		r := h.createFrom("author", "x", class, "")
		msg := errorText(r)
		if r.Command != "actor_is_not_created" || !strings.Contains(msg, want) || strings.HasSuffix(msg, "\n") || strings.Contains(msg, "line:") {
			t.Errorf("%s: %s %q, want it to hold %q", class, r.Command, msg, want)
		}
	}
	h.mustCreateFrom("author", "c", "Counter")
	r := h.ask("c", "add", `{"n": 1}`)
	if msg := errorText(r); r.Command != "error" || msg != "counter.lua:4: cannot perform add operation between number and nil (in Counter:add, package author@1.0.0)" {
		t.Errorf("a handler's error: %s %q", r.Command, msg)
	}
	r = h.ask("c", "nope", "")
	if r.Command != "is_not_handled" || !strings.Contains(jsonOf(r.Body), `"commands":["add","get_commands","get_params","set_params"]`) {
		t.Errorf("is_not_handled: %s %s", r.Command, jsonOf(r.Body))
	}
}

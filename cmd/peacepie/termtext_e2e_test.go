package main

import (
	"strings"
	"testing"
	"time"
)

// evilLua is a Lua string literal holding what a terminal acts on or
// hides: ESC [31m (red), U+202E (right-to-left override), DEL, U+009B (the
// one-byte CSI of C1) and U+200B (zero-width space).
const evilLua = `"r\27[31mx\226\128\174y\127z\194\155w\226\128\139v"`

// evilRaw are those characters as they would reach the terminal unescaped.
var evilRaw = []string{"\x1b[31mx", "\u202e", "\x7f", "\u009b", "\u200b"}

func checkNoRaw(t *testing.T, what, out string) {
	t.Helper()
	for _, raw := range evilRaw {
		if strings.Contains(out, raw) {
			t.Errorf("%s shows %q raw:\n%q", what, raw, out)
		}
	}
}

// TestAttachEscapesWhatActorsSend: replies, printed lines and log lines
// come from actors; the REPL (under a pseudo-terminal), `peacepie ask` and
// the output of `peacepie run` show what a terminal would act on or hide
// escaped: \x1b and \u202e in lines, \u001b and \u202e in JSON.
func TestAttachEscapesWhatActorsSend(t *testing.T) {
	t.Parallel()
	in, cfg := startAttachable(t, true)
	mustAsk(t, in, "first.main.admin", "create_actor", helloBody)
	s := attach(t, in.dir, "--config", cfg)

	// A reply, as coloured JSON.
	s.doExpect(t, `lua hello_world return `+evilLua, `"r\u001b[31mx\u202ey\u007fz\u009bw\u200bv"`)

	// Printed and logged lines, while watching.
	s.send(t, "watch hello_world\r")
	s.expect(t, "watching hello_world; Ctrl-C to stop", 5*time.Second)
	eval := func(code string) {
		t.Helper()
		body := `{"name": "hello_world", "code": ` + jsonQuote(code) + `}`
		runCLI(t, in.dir, nil, "ask", "first.main.admin", "eval", body).check(t, "eval "+code, 0, "evaluated", "")
	}
	eval(`print("p" .. ` + evilLua + ` .. "\nlog WARN forged")`)
	s.expect(t, `hello_world: pr\x1b[31mx\u202ey\x7fz\u009bw\u200bv\nlog WARN forged`, 10*time.Second)
	eval(`require("peacepie").log.warn("l" .. ` + evilLua + `)`)
	s.expect(t, `log WARN lr\x1b[31mx\u202ey\x7fz\u009bw\u200bv`, 10*time.Second)
	s.pressUntil(t, "\x03", "peacepie> ", 5*time.Second)
	checkNoRaw(t, "the REPL", s.out.String())

	// peacepie ask prints the reply as JSON, escaped as JSON escapes.
	r := runCLI(t, in.dir, nil, "ask", "first.main.admin", "eval", `{"name": "hello_world", "code": `+jsonQuote("return "+evilLua)+`}`)
	r.check(t, "ask eval", 0, `"result": "r\u001b[31mx\u202ey\u007fz\u009bw\u200bv"`, "")
	checkNoRaw(t, "peacepie ask", r.stdout)

	// peacepie run's own output: the printed line, escaped.
	in.waitStdout(t, 10*time.Second, `pr\x1b[31mx\u202ey\x7fz\u009bw\u200bv`, 0)
	checkNoRaw(t, "peacepie run", in.stdout.String())
}

// jsonQuote writes s as a JSON string.
func jsonQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range s {
		switch c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(c)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

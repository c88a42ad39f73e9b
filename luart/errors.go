package luart

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/peacepie/peacepie/host"
)

// Errors an author can act on: where a module does not compile, and which
// handler of which package failed.

// syntaxError matches gopher-lua's parse errors:
// "bad.lua line:4(column:7) near 'local':   syntax error\n".
var syntaxError = regexp.MustCompile(`(?s)^(.*?) line:(\d+)\(column:(\d+)\) near '(.*)':\s*(.*?)\s*$`)

// compileError rewrites a parse error of the module file path (src its
// text) as "file:line:col: what near 'token'", trimmed. The parser stops
// at the token after the mistake, which is often on the next line (a
// missing then, end or comma): when the text before that token ends on an
// earlier line, the message points at that line first.
func compileError(path string, src []byte, err error) string {
	m := syntaxError.FindStringSubmatch(err.Error())
	if m == nil {
		return strings.TrimSpace(err.Error())
	}
	line, _ := strconv.Atoi(m[2])
	col, _ := strconv.Atoi(m[3])
	token, what := m[4], m[5]
	if what == "" {
		what = "syntax error"
	}
	msg := fmt.Sprintf("%s:%d:%d: %s near '%s'", path, line, col, what, token)
	if prevLine, text := beforeToken(src, line, col, token); prevLine > 0 && prevLine < line {
		msg = fmt.Sprintf("%s:%d: %s after %q (the parser stopped at '%s', line %d column %d)", path, prevLine, what, text, token, line, col)
	}
	return msg
}

// beforeToken finds the line of the last character before token on line
// (col: where the parser says it is, at its start or end) that is not a
// space, and that line's text, trimmed and cut to 60 bytes. 0 when it
// cannot tell.
func beforeToken(src []byte, line, col int, token string) (int, string) {
	lines := strings.Split(string(src), "\n")
	if line < 1 || line > len(lines) {
		return 0, ""
	}
	cur := lines[line-1]
	start := min(max(col-1, 0), len(cur))
	if i := strings.LastIndex(cur[:min(len(cur), start+len(token))], token); i >= 0 && token != "" {
		start = i
	}
	if strings.TrimSpace(cur[:start]) != "" {
		return line, strings.TrimSpace(cur[:start])
	}
	for l := line - 1; l >= 1; l-- {
		t := strings.TrimSpace(stripComment(lines[l-1]))
		if t != "" {
			if len(t) > 60 {
				t = t[:60] + "…"
			}
			return l, t
		}
	}
	return 0, ""
}

// stripComment cuts a line's "--" comment (a rough cut: a "--" inside a
// string cuts it too, which only shortens the text quoted).
func stripComment(s string) string {
	if i := strings.Index(s, "--"); i >= 0 {
		return s[:i]
	}
	return s
}

// Commands lists the commands the actor understands (get_commands), for
// an is_not_handled reply.
func (b *actor) Commands() host.Array { return b.commands() }

// handlerError names the handler and the package in a Lua error raised
// while handling command, and in its traceback the handler's frame, which
// gopher-lua calls "main chunk" (it was called from Go).
func (b *actor) handlerError(command string, err error) error {
	var le *LuaError
	if !errors.As(err, &le) {
		return err
	}
	where := fmt.Sprintf("%s:%s", b.cls.name, command)
	if b.cls.pkg != nil {
		le.Message = fmt.Sprintf("%s (in %s, package %s)", le.Message, where, b.cls.pkg.pkg.ID())
	} else {
		le.Message = fmt.Sprintf("%s (in %s)", le.Message, where)
	}
	if i := strings.LastIndex(le.Trace, "in main chunk"); i >= 0 {
		le.Trace = le.Trace[:i] + "in " + where + le.Trace[i+len("in main chunk"):]
	}
	return le
}

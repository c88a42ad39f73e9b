// Package termtext makes text from a running system safe to print on an
// operator's terminal. Actors choose what they print, log and reply, and a
// terminal acts on some characters (escape sequences move the cursor,
// retitle the window, rewrite the screen) and hides or reorders others
// (bidi overrides, zero-width characters): shown as they are, they could
// forge lines or hide some. Line and Text show them escaped instead, as
// Go source would write them (\x1b, \u202e); JSON escapes them as JSON does
// (\u001b, \u202e), so the text stays the same JSON value.
package termtext

import (
	"fmt"
	"io"
	"unicode"
	"unicode/utf8"
)

// unsafe reports whether r must not reach a terminal as it is: control
// characters (C0, DEL, C1), format characters (bidi controls and
// isolates, zero-width spaces and joiners, the BOM, soft hyphen) and the
// line and paragraph separators.
func unsafe(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}

// Line escapes s for one line of a terminal: every unsafe character,
// newlines too, and every byte that is not UTF-8. Tabs stay.
func Line(s string) string { return escape(s, false) }

// Text is Line for text of several lines: newlines stay.
func Text(s string) string { return escape(s, true) }

func escape(s string, keepNewlines bool) string {
	if isSafe(s, keepNewlines) {
		return s
	}
	out := make([]byte, 0, len(s)+16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			out = fmt.Appendf(out, `\x%02x`, s[i])
		case r == '\t' || r == '\n' && keepNewlines || !unsafe(r):
			out = append(out, s[i:i+size]...)
		case r == '\n':
			out = append(out, `\n`...)
		case r == '\r':
			out = append(out, `\r`...)
		case r < 0x80:
			out = fmt.Appendf(out, `\x%02x`, r)
		case r <= 0xffff:
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			out = fmt.Appendf(out, `\U%08x`, r)
		}
		i += size
	}
	return string(out)
}

func isSafe(s string, keepNewlines bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || c == 0x7f || c < 0x20 && c != '\t' && !(c == '\n' && keepNewlines) {
			return isSafeSlow(s, keepNewlines)
		}
	}
	return true
}

func isSafeSlow(s string, keepNewlines bool) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || unsafe(r) && r != '\t' && !(r == '\n' && keepNewlines) {
			return false
		}
		i += size
	}
	return true
}

// JSON escapes a JSON text (compact or indented) for a terminal: unsafe
// characters inside its strings become \uXXXX escapes (a surrogate pair
// above U+FFFF), bytes that are not UTF-8 become \ufffd, and the
// whitespace between values stays. The result is the same JSON value.
func JSON(data []byte) []byte {
	if isSafe(string(data), true) {
		return data
	}
	out := make([]byte, 0, len(data)+16)
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			out = append(out, `\ufffd`...)
		case r == '\t' || r == '\n' || r == '\r' || !unsafe(r):
			out = append(out, data[i:i+size]...)
		case r <= 0xffff:
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			r1, r2 := utf16Pair(r)
			out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
		}
		i += size
	}
	return out
}

func utf16Pair(r rune) (rune, rune) {
	r -= 0x10000
	return 0xd800 + (r>>10)&0x3ff, 0xdc00 + r&0x3ff
}

// NewWriter returns a writer that writes Text of what it is given to w:
// for what actors print to a process's output, which is often a
// terminal. Each write should hold whole lines (host.Process.Print writes
// one line a call), or a character cut in two is shown as bytes.
func NewWriter(w io.Writer) io.Writer { return &writer{w} }

type writer struct{ w io.Writer }

func (w *writer) Write(p []byte) (int, error) {
	if _, err := io.WriteString(w.w, Text(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

package termtext_test

import (
	"encoding/json"
	"testing"

	"github.com/peacepie/peacepie/internal/termtext"
)

func TestLineAndText(t *testing.T) {
	tests := []struct{ in, line, text string }{
		{"plain ascii", "plain ascii", "plain ascii"},
		{"tab\tstays", "tab\tstays", "tab\tstays"},
		{"Ünïcode 名前 🍰", "Ünïcode 名前 🍰", "Ünïcode 名前 🍰"},
		{"esc\x1b[31mred", `esc\x1b[31mred`, `esc\x1b[31mred`},
		{"two\nlines", `two\nlines`, "two\nlines"},
		{"cr\rback", `cr\rback`, `cr\rback`},
		{"bell\a del\x7f nul\x00", `bell\x07 del\x7f nul\x00`, `bell\x07 del\x7f nul\x00`},
		{"csi\u009b31m", `csi\u009b31m`, `csi\u009b31m`},
		{"rlo\u202eexe", `rlo\u202eexe`, `rlo\u202eexe`},
		{"lri\u2066x\u2069", `lri\u2066x\u2069`, `lri\u2066x\u2069`},
		{"ls\u2028ps\u2029", `ls\u2028ps\u2029`, `ls\u2028ps\u2029`},
		{"zw\u200bj\u200dbom\ufeff", `zw\u200bj\u200dbom\ufeff`, `zw\u200bj\u200dbom\ufeff`},
		{"tag\U000e0041", `tag\U000e0041`, `tag\U000e0041`},
		{"bad\xff\xfe", `bad\xff\xfe`, `bad\xff\xfe`},
	}
	for _, tt := range tests {
		if got := termtext.Line(tt.in); got != tt.line {
			t.Errorf("Line(%q) = %q, want %q", tt.in, got, tt.line)
		}
		if got := termtext.Text(tt.in); got != tt.text {
			t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.text)
		}
	}
}

func TestJSON(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a": "plain"}`, `{"a": "plain"}`},
		{"{\n  \"a\": \"x\"\n}", "{\n  \"a\": \"x\"\n}"},
		{"[\"rlo\u202e\", \"del\x7f\", \"csi\u009b\"]", `["rlo\u202e", "del\u007f", "csi\u009b"]`},
		{"[\"ls\u2028\", \"zw\u200b\", \"tag\U000e0041\"]", `["ls\u2028", "zw\u200b", "tag\udb40\udc41"]`},
		{"[\"bad\xff\"]", `["bad\ufffd"]`},
	}
	for _, tt := range tests {
		got := string(termtext.JSON([]byte(tt.in)))
		if got != tt.want {
			t.Errorf("JSON(%q) = %q, want %q", tt.in, got, tt.want)
		}
		var a, b any
		if err := json.Unmarshal([]byte(got), &a); err != nil {
			t.Errorf("JSON(%q) = %q is not JSON: %v", tt.in, got, err)
		}
		if json.Unmarshal([]byte(tt.in), &b) == nil && tt.in != "[\"bad\xff\"]" && jsonString(a) != jsonString(b) {
			t.Errorf("JSON(%q) changed the value: %v, want %v", tt.in, a, b)
		}
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

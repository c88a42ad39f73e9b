package host_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/peacepie/peacepie/host"
)

// TestNamesRefuseTerminalTricks: names end up on operators' terminals
// (peacepie attach, ask, the log), so characters a terminal acts on or
// hides are refused in actor, process and host names, and the error shows
// them escaped.
func TestNamesRefuseTerminalTricks(t *testing.T) {
	p := newProcess(t, host.Config{})
	bad := []struct{ name, escaped string }{
		{"esc\x1b[31mred", `\x1b`},
		{"bell\a", `\a`},
		{"del\x7f", `\x7f`},
		{"csi\u009b31m", `\u009b`},
		{"rlo\u202egnp_exe", `\u202e`},
		{"isolate\u2066x", `\u2066`},
		{"line\u2028sep", `\u2028`},
		{"para\u2029sep", `\u2029`},
		{"zero\u200bwidth", `\u200b`},
		{"joiner\u200dx", `\u200d`},
		{"bom\ufeffx", `\ufeff`},
		{"nbsp\u00a0x", `\u00a0`},
		{"bad\xffutf8", `\xff`},
		{"cr\rx", `\r`},
	}
	for _, tt := range bad {
		t.Run(tt.escaped, func(t *testing.T) {
			err := host.ValidateName(tt.name)
			if !errors.Is(err, host.ErrBadName) {
				t.Fatalf("ValidateName(%q): %v, want ErrBadName", tt.name, err)
			}
			if !strings.Contains(err.Error(), tt.escaped) || strings.Contains(err.Error(), tt.name) {
				t.Errorf("the error %q does not show %s escaped", err, tt.escaped)
			}
			r := ask(t, p, p.AdminName(), "create_actor", createBody(tt.name, "Echo"))
			if r.Command != "actor_is_not_created" {
				t.Fatalf("create_actor: %s, want actor_is_not_created", r.Command)
			}
			r = ask(t, p, p.AdminName(), "create_actors", host.Object{
				{Key: "class_desc", Value: host.Object{{Key: "requires_dist", Value: "gotest"}, {Key: "class", Value: "Echo"}}},
				{Key: "names", Value: host.Array{"fine", tt.name}}})
			if r.Command != "actors_are_not_created" || !strings.Contains(jsonText(r.Body), "bad actor name") {
				t.Fatalf("create_actors: %s %s, want actors_are_not_created for a bad name", r.Command, jsonText(r.Body))
			}
			for _, cfg := range []host.Config{{Host: tt.name}, {Process: tt.name}} {
				if _, err := host.NewProcess(cfg); err == nil || !strings.Contains(err.Error(), tt.escaped) {
					t.Errorf("NewProcess(host %q, process %q): %v, want an error showing %s", cfg.Host, cfg.Process, err, tt.escaped)
				}
			}
		})
	}
	for _, name := range []string{"Ünïcode", "名前", "emoji_🍰", "a.b-c_d"} {
		if err := host.ValidateName(name); err != nil {
			t.Errorf("ValidateName(%q): %v", name, err)
		}
	}
}

// TestEmptyNameSaysEmpty: an empty name is "an empty string", not "a
// string" (which read as if a string were wrong).
func TestEmptyNameSaysEmpty(t *testing.T) {
	p := newProcess(t, host.Config{})
	r := ask(t, p, p.AdminName(), "create_actor", createBody("", "Echo"))
	const want = `"name" must be a non-empty string, not an empty string`
	if got, _ := r.Body.(host.Object).Get("error"); r.Command != "actor_is_not_created" || !strings.Contains(got.(string), want) {
		t.Fatalf("create_actor with an empty name: %s %v, want %q", r.Command, r.Body, want)
	}
	r = ask(t, p, p.AdminName(), "get_actor", host.Object{{Key: "name", Value: ""}})
	if got, _ := r.Body.(host.Object).Get("message"); !strings.Contains(got.(string), want) {
		t.Fatalf("get_actor with an empty name: %s %v, want %q", r.Command, r.Body, want)
	}
}

func jsonText(v any) string {
	b, _ := host.MarshalValue(v)
	return string(b)
}

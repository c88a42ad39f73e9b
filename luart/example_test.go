package luart_test

import (
	"strings"
	"testing"
	"time"

	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/internal/testhost"
)

func create(t *testing.T, p *testhost.Process, class, name string) {
	t.Helper()
	body := testhost.MustJSON(t, `{"class_desc": {"requires_dist": "peacepie_example", "class": "`+class+`"}, "name": "`+name+`"}`)
	if r := p.Ask(t, "first.main.admin", "create_actor", body); r.Command != "actor_is_created" {
		t.Fatalf("create %s: got %s %v", name, r.Command, r.Body)
	}
}

func TestHelloWorld(t *testing.T) {
	p := testhost.Start(t, host.Config{})
	create(t, p, "HelloWorld", "hello_world")
	if r := p.Ask(t, "hello_world", "tick", nil); r.Command != "hello_world" {
		t.Fatalf("tick: got %s", r.Command)
	}
	testhost.Eventually(t, 5*time.Second, "Hello, World! printed", func() bool { return p.Printed("Hello, World!\n") })
	if r := p.Ask(t, "first.main.admin", "remove_actor", testhost.MustJSON(t, `{"name": "hello_world"}`)); r.Command != "actor_is_removed" {
		t.Fatalf("remove: got %s %v", r.Command, r.Body)
	}
	if r := p.Ask(t, "hello_world", "tick", nil); r.Command != "actor_is_not_found" {
		t.Fatalf("tick after remove: got %s", r.Command)
	}
}

func TestIteratingHelloWorld(t *testing.T) {
	p := testhost.Start(t, host.Config{})
	create(t, p, "IteratingHelloWorld", "iterating_hello_world")
	params := testhost.MustJSON(t, `{"params": [{"name": "period", "value": 0.05}, {"name": "limit", "value": 3}]}`)
	if r := p.Ask(t, "iterating_hello_world", "set_params", params); r.Command != "params_are_set" {
		t.Fatalf("set_params: %s %v", r.Command, r.Body)
	}
	if r := p.Ask(t, "iterating_hello_world", "tick_start", nil); r.Command != "tick_started" {
		t.Fatalf("tick_start: %s", r.Command)
	}
	line := func(i int) string {
		return `IteratingHelloWorld "iterating_hello_world" from "first.main.admin" says "Hello, World! (` + string(rune('0'+i)) + `)"`
	}
	testhost.Eventually(t, 5*time.Second, "three lines", func() bool { return p.Printed(line(2)) })
	if r := p.Ask(t, "iterating_hello_world", "tick_start", nil); r.Command != "tick_already_started" {
		t.Fatalf("second tick_start: %s", r.Command)
	}
	r := p.Ask(t, "iterating_hello_world", "get_params", nil)
	if got, _ := host.MarshalValue(r.Body); !strings.Contains(string(got), `{"name":"index","value":3}`) {
		t.Fatalf("get_params: %s", got)
	}
	if strings.Contains(p.Out.String(), line(3)) {
		t.Fatalf("printed past the limit:\n%s", p.Out.String())
	}
	if r := p.Ask(t, "iterating_hello_world", "tick_stop", nil); r.Command != "tick_stopped" {
		t.Fatalf("tick_stop: %s", r.Command)
	}
}

func TestCircleStarterOneProcess(t *testing.T) {
	p := testhost.Start(t, host.Config{})
	create(t, p, "CircleStarter", "circle_starter")
	params := testhost.MustJSON(t, `{"params": [{"name": "process_count", "value": 1}, {"name": "dancers_per_process", "value": 3}, {"name": "period", "value": 0.01}]}`)
	if r := p.Ask(t, "circle_starter", "set_params", params); r.Command != "params_are_set" {
		t.Fatalf("set_params: %s %v", r.Command, r.Body)
	}
	if r := p.Ask(t, "circle_starter", "begin", nil); r.Command != "begun" {
		t.Fatalf("begin: %s %v", r.Command, r.Body)
	}
	// The tick goes round: 00 → 01 → 02 → 00 → ...
	want := `CircleDancer "dancer_00" from "first.main.admin"` + "\n" +
		`CircleDancer "dancer_01" from "first.main.admin"` + "\n" +
		`CircleDancer "dancer_02" from "first.main.admin"` + "\n" +
		`CircleDancer "dancer_00" from "first.main.admin"` + "\n"
	testhost.Eventually(t, 5*time.Second, "a full round", func() bool { return strings.HasPrefix(p.Out.String(), want) })
}

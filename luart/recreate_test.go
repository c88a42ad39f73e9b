package luart_test

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/internal/testhost"
)

// counterVersion is a counter that checks its messages arrive in order and
// says which version it is and whether it got start.
func counterVersion(v string) fstest.MapFS {
	return fstest.MapFS{
		"peacepie.toml": {Data: []byte("name = \"up\"\nversion = \"" + v + "\"\n[actors]\nCounter = \"counter\"\n")},
		"counter.lua": {Data: []byte(`
local Counter = { params = { count = 0, errors = 0, starts = 0` + map[bool]string{true: `, dropped = 0`, false: ``}[v == "1.0.0"] + ` } }
function Counter:add(body)
  if body.n ~= self.count + 1 then self.errors = self.errors + 1 end
  self.count = body.n
end
function Counter:start() self.starts = self.starts + 1 end
function Counter:state() return "state", { count = self.count, errors = self.errors, starts = self.starts, version = "` + v + `" } end
return Counter
`)},
	}
}

func TestRecreateHotUpgradeUnderLoad(t *testing.T) {
	p := testhost.Start(t, host.Config{}, counterVersion("1.0.0"), counterVersion("2.0.0"))
	body := testhost.MustJSON(t, `{"class_desc": {"requires_dist": "up==1.0.0", "class": "Counter"}, "name": "c"}`)
	if r := p.Ask(t, "first.main.admin", "create_actor", body); r.Command != "actor_is_created" {
		t.Fatalf("create: %s %v", r.Command, r.Body)
	}
	const n = 20000
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for i := 1; i <= n; i++ {
			p.Send(host.Message{Command: "add", Body: host.Object{{Key: "n", Value: int64(i)}}, Recipient: host.Address{Entity: "c"}})
		}
	}()
	// Upgrade twice while the messages stream in.
	for _, v := range []string{"2.0.0", "1.0.0"} {
		r := p.Ask(t, "first.main.admin", "recreate_actor", testhost.MustJSON(t,
			`{"entity": "c", "class_desc": {"requires_dist": "up==`+v+`", "class": "Counter"}}`))
		if r.Command != "actor_is_recreated" {
			t.Fatalf("recreate to %s: %s %v", v, r.Command, r.Body)
		}
	}
	<-sent
	var state string
	testhost.Eventually(t, 20*time.Second, "every message handled", func() bool {
		r := p.Ask(t, "c", "state", nil)
		got, _ := host.MarshalValue(r.Body)
		state = string(got)
		return strings.Contains(state, fmt.Sprintf(`"count":%d`, n))
	})
	if !strings.Contains(state, `"errors":0`) || !strings.Contains(state, `"starts":2`) || !strings.Contains(state, `"version":"1.0.0"`) {
		t.Fatalf("after two upgrades under load: %s, want no sequence errors, two starts and version 1.0.0", state)
	}
	info := p.Ask(t, "first.main.admin", "get_actor", testhost.MustJSON(t, `{"name": "c"}`))
	if got, _ := host.MarshalValue(info.Body); !strings.Contains(string(got), `"version":"1.0.0"`) {
		t.Errorf("get_actor after the upgrades: %s", got)
	}
}

func TestRecreateKeepsTicking(t *testing.T) {
	p := testhost.Start(t, host.Config{})
	create(t, p, "IteratingHelloWorld", "it")
	p.Ask(t, "it", "set_params", testhost.MustJSON(t, `{"params": [{"name": "period", "value": 0.05}]}`))
	p.Ask(t, "it", "tick_start", nil)
	line := func(i int) string {
		return fmt.Sprintf(`IteratingHelloWorld "it" from "first.main.admin" says "Hello, World! (%d)"`+"\n", i)
	}
	testhost.Eventually(t, 5*time.Second, "line 3", func() bool { return p.Printed(line(3)) })
	if r := p.Ask(t, "first.main.admin", "recreate_actor", testhost.MustJSON(t, `{"entity": "it"}`)); r.Command != "actor_is_recreated" {
		t.Fatalf("recreate: %s %v", r.Command, r.Body)
	}
	r := p.Ask(t, "it", "get_params", nil)
	got, _ := host.MarshalValue(r.Body)
	var index int
	fmt.Sscanf(strings.SplitN(strings.SplitN(string(got), `"name":"index","value":`, 2)[1], "}", 2)[0], "%d", &index)
	testhost.Eventually(t, 5*time.Second, "the numbering to go on", func() bool { return p.Printed(line(index + 3)) })
	for i := 0; i < index+3; i++ {
		if c := strings.Count(p.Out.String(), line(i)); c != 1 {
			t.Fatalf("line %d printed %d times: a gap or a repeat across the recreate:\n%s", i, c, p.Out.String())
		}
	}
	p.Ask(t, "it", "tick_stop", nil)
	// Bad input.
	for _, tt := range []struct{ body, want string }{
		{`{"entity": "nobody"}`, "not found"},
		{`{"entity": "it", "node": "first.process_7.admin"}`, "not a process"},
		{`{"entity": "it", "class_desc": {"requires_dist": "nopkg", "class": "X"}}`, "nopkg"},
		{`{}`, "entity"},
	} {
		r := p.Ask(t, "first.main.admin", "recreate_actor", testhost.MustJSON(t, tt.body))
		got, _ := host.MarshalValue(r.Body)
		if r.Command != "actor_is_not_recreated" || !strings.Contains(string(got), tt.want) {
			t.Errorf("recreate_actor %s: %s %s, want actor_is_not_recreated mentioning %q", tt.body, r.Command, got, tt.want)
		}
	}
	if r := p.Ask(t, "it", "get_params", nil); r.Command != "params" {
		t.Errorf("the actor is broken after the refused recreates: %s", r.Command)
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape GETs /metrics of in with token ("" for none) and parses it.
func scrape(t *testing.T, in *instance, token string) (int, map[string]*dto.MetricFamily) {
	t.Helper()
	code, data := getWithToken(t, in, "/metrics", token)
	if code != http.StatusOK {
		return code, nil
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, data)
	}
	return code, families
}

// sample returns the value of family's series whose labels include want,
// and whether there is one.
func sample(families map[string]*dto.MetricFamily, family string, want map[string]string) (float64, bool) {
	f := families[family]
	if f == nil {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		match := 0
		for _, l := range m.GetLabel() {
			if v, ok := want[l.GetName()]; ok && v == l.GetValue() {
				match++
			}
		}
		if match != len(want) {
			continue
		}
		switch {
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue(), true
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue(), true
		case m.GetUntyped() != nil:
			return m.GetUntyped().GetValue(), true
		}
	}
	return 0, false
}

// TestMetrics: /metrics, behind the token, reports every process of the
// host (the main process and a child) in Prometheus' text format: actors,
// messages handled (also by an actor removed since: the counter does not
// go down), per package version, and the Go runtime.
func TestMetrics(t *testing.T) {
	t.Parallel()
	in := startFresh(t)
	ws := dial(t, in)
	node := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	echo := func(name string) json.RawMessage {
		return raw(`{"class_desc": {"requires_dist": "peacepie_std", "class": "Echo"}, "name": "` + name + `"}`)
	}
	ws.expect(node, "create_actor", echo("in_child"), "actor_is_created")
	ws.expect(admin, "create_actor", echo("in_main"), "actor_is_created")
	for range 5 {
		ws.expect("in_child", "echo", nil, "echoed")
	}
	ws.expect("in_main", "echo", nil, "echoed")
	// An ask that times out, and a move the root runs.
	// (an ask of a microsecond: the answer comes later, as a late reply)
	ws.expect(admin, "create_actor", raw(`{"class_desc": {"requires_dist": "peacepie_std", "class": "Pump"}, "name": "pump"}`), "actor_is_created")
	eventually(t, 10*time.Second, "an ask of in_main to time out", func() bool {
		return ws.request("ask", "in_main", "echo", nil, 1e-6).command() == "timeout"
	})
	ws.expect(admin, "recreate_actor", raw(`{"entity": "in_main", "node": "`+node+`"}`), "actor_is_recreated")
	ws.expect(admin, "recreate_actor", raw(`{"entity": "in_main", "node": "`+admin+`"}`), "actor_is_recreated")
	ws.expect(node, "remove_actor", raw(`{"name": "in_child"}`), "actor_is_removed")

	for _, token := range []string{"", "wrong-" + in.token} {
		if code, _ := scrape(t, in, token); code != http.StatusUnauthorized {
			t.Errorf("/metrics with token %q: %d, want 401", token, code)
		}
	}
	_, families := scrape(t, in, in.token)
	checks := []struct {
		family          string
		labels          map[string]string
		atLeast, atMost float64
	}{
		{"peacepie_process_up", map[string]string{"process": admin}, 1, 1},
		{"peacepie_process_up", map[string]string{"process": node}, 1, 1},
		{"peacepie_actors", map[string]string{"process": node}, 0, 0},
		{"peacepie_actors", map[string]string{"process": admin}, 1, 1e9},
		{"peacepie_messages_handled_total", map[string]string{"process": node}, 5, 1e9},
		{"peacepie_package_messages_handled_total", map[string]string{"process": node, "package": "peacepie_std"}, 5, 1e9},
		{"peacepie_package_actors", map[string]string{"process": admin, "package": "peacepie_std"}, 2, 2}, // in_main and pump
		// What the Lua states of in_main and pump hold (an idle actor: some KiB each).
		{"peacepie_lua_memory_bytes", map[string]string{"process": admin}, 2 << 10, 64 << 20},
		{"peacepie_package_lua_memory_bytes", map[string]string{"process": admin, "package": "peacepie_std"}, 2 << 10, 64 << 20},
		{"peacepie_lua_memory_bytes", map[string]string{"process": node}, 0, 0}, // in_child is gone
		{"peacepie_goroutines", map[string]string{"process": node}, 1, 1e9},
		{"peacepie_go_heap_bytes", map[string]string{"process": node}, 1, 1e12},
		{"peacepie_go_gc_pause_seconds_total", map[string]string{"process": node}, 0, 60},
		{"peacepie_resident_memory_bytes", map[string]string{"process": node}, 1 << 20, 1e12},
		{"peacepie_os_threads", map[string]string{"process": node}, 1, 1e6},
		{"peacepie_asks_total", map[string]string{"process": admin}, 6, 1e9},
		{"peacepie_ask_timeouts_total", map[string]string{"process": admin}, 1, 1e9},
		{"peacepie_moves_run_total", map[string]string{"process": admin}, 2, 2},
		{"peacepie_link_frames_total", map[string]string{"process": node, "peer": admin, "direction": "in"}, 5, 1e9},
		{"peacepie_link_frames_total", map[string]string{"process": admin, "peer": node, "direction": "out"}, 5, 1e9},
		{"peacepie_link_bytes_total", map[string]string{"process": node, "peer": admin, "direction": "out"}, 100, 1e12},
		{"go_goroutines", nil, 1, 1e9},
	}
	for _, c := range checks {
		v, ok := sample(families, c.family, c.labels)
		if !ok || v < c.atLeast || v > c.atMost {
			t.Errorf("%s%v = %v (found %v), want %v..%v", c.family, c.labels, v, ok, c.atLeast, c.atMost)
		}
	}
	// Counters never go down: a later scrape, after more messages.
	ws.expect("in_main", "echo", nil, "echoed")
	eventually(t, 5*time.Second, "the main process's handled messages to grow", func() bool {
		_, later := scrape(t, in, in.token)
		before, _ := sample(families, "peacepie_package_messages_handled_total", map[string]string{"process": admin, "package": "peacepie_std"})
		after, _ := sample(later, "peacepie_package_messages_handled_total", map[string]string{"process": admin, "package": "peacepie_std"})
		return after >= before+1
	})
}

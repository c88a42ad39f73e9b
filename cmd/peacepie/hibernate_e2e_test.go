package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestHibernationAcrossAMove: with hibernate_after = "200ms", an idle
// Sequence hibernates in the main process (get_actor and get_metrics say
// so); moved to a child process while it hibernates it keeps its count,
// handles the next messages in order and hibernates there too; removed,
// it is gone.
func TestHibernationAcrossAMove(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(dir+"/config", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/config/peacepie.toml", []byte("console = \"127.0.0.1:0\"\nhibernate_after = \"200ms\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in := start(t, dir, "run", "config/peacepie.toml")
	ws := dial(t, in)
	child := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	ws.expect(admin, "create_actor", raw(`{"class_desc": {"requires_dist": "peacepie_std", "class": "Sequence"}, "name": "seq"}`), "actor_is_created")
	for i := 1; i <= 100; i++ {
		ws.request("send", "seq", "next", map[string]any{"n": i}, 0)
	}
	hibernating := func(where string) {
		t.Helper()
		eventually(t, 10*time.Second, "seq hibernates in "+where, func() bool {
			info := ws.expect(admin, "get_actor", raw(`{"name": "seq"}`), "actor")
			return info.bodyString("node") == where && strings.Contains(info.String(), `"hibernating":true`)
		})
		if m := ws.expect(where, "get_metrics", nil, "metrics"); !strings.Contains(m.String(), `"hibernating":1`) {
			t.Errorf("get_metrics of %s with seq hibernating: %s", where, m)
		}
	}
	hibernating(admin)
	ws.expect(admin, "recreate_actor", raw(fmt.Sprintf(`{"entity": "seq", "node": %q}`, child)), "actor_is_recreated")
	for i := 101; i <= 200; i++ {
		ws.request("send", "seq", "next", map[string]any{"n": i}, 0)
	}
	if s := ws.ask("seq", "state", nil).String(); !strings.Contains(s, `"last":200`) || !strings.Contains(s, `"errors":0`) {
		t.Fatalf("after a move of a hibernating Sequence: %s", s)
	}
	hibernating(child)
	if s := ws.ask("seq", "state", nil).String(); !strings.Contains(s, `"last":200`) || !strings.Contains(s, `"errors":0`) {
		t.Fatalf("after its second hibernation: %s", s)
	}
	ws.expect(child, "remove_actor", raw(`{"name": "seq"}`), "actor_is_removed")
}

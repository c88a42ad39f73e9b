package host_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/peacepie/peacepie/host"
)

// TestOnWatched: the hook hears when the first watcher comes and the last
// goes, and NotifyWatched tells it the state again.
func TestOnWatched(t *testing.T) {
	p := newProcess(t, host.Config{Host: "first", Process: "main"})
	var mu sync.Mutex
	var got []bool
	p.OnWatched(func(on bool) { mu.Lock(); got = append(got, on); mu.Unlock() })
	w1 := p.Watch()
	w2 := p.Watch()
	w1.Close()
	w2.Close()
	w2.Close()
	p.NotifyWatched()
	mu.Lock()
	defer mu.Unlock()
	want := []bool{false, true, false, false}
	if len(got) != len(want) {
		t.Fatalf("the hook heard %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("the hook heard %v, want %v", got, want)
		}
	}
}

// TestOnOperatorWatched: the operator hook hears of the watches that are
// not internal only (a forwarder's watch is not an operator's), and the
// other hook of them all.
func TestOnOperatorWatched(t *testing.T) {
	p := newProcess(t, host.Config{Host: "first", Process: "main"})
	var mu sync.Mutex
	var all, ops []bool
	p.OnWatched(func(on bool) { mu.Lock(); all = append(all, on); mu.Unlock() })
	p.OnOperatorWatched(func(on bool) { mu.Lock(); ops = append(ops, on); mu.Unlock() })
	fwd := p.WatchInternal() // all: true
	w := p.Watch()           // ops: true
	w.Close()                // ops: false
	fwd.Close()              // all: false
	w2 := p.Watch()          // both true
	p.NotifyWatched()        // both again
	w2.Close()               // both false
	mu.Lock()
	defer mu.Unlock()
	if want := "[false true false true true false]"; fmt.Sprint(all) != want {
		t.Errorf("OnWatched heard %v, want %s", all, want)
	}
	if want := "[false true false true true false]"; fmt.Sprint(ops) != want {
		t.Errorf("OnOperatorWatched heard %v, want %s", ops, want)
	}
}

// TestForwardedEventsAndStats: an event of another process round-trips
// through its value and reaches watchers with its node; stats another
// process sent answer for its node and its actors.
func TestForwardedEventsAndStats(t *testing.T) {
	p := newProcess(t, host.Config{Host: "first", Process: "main"})
	child := "first.process_0.admin"
	p.Publish(host.Event{Kind: "printed", Node: child, Actor: "x", Line: "unseen"}) // nobody watches: dropped
	w := p.Watch()
	defer w.Close()
	for _, e := range []host.Event{
		{Kind: "printed", Node: child, Actor: "x", Line: "hello"},
		{Kind: "created", Node: child, Actor: "x", Class: host.ClassInfo{Class: "C", Package: "pkg", Version: "1.0.0"}},
		{Kind: "moved", Node: child, Actor: "x"},
	} {
		back, err := host.EventFromValue(e.Value())
		if err != nil {
			t.Fatalf("EventFromValue(%v): %v", e.Value(), err)
		}
		p.Publish(back)
		if got := <-w.C; got.Kind != e.Kind || got.Node != child || got.Actor != "x" || got.Line != e.Line || got.Class.Package != e.Class.Package {
			t.Errorf("published %+v, the watch got %+v", e, got)
		}
	}
	for _, bad := range []any{nil, "x", host.Object{{Key: "kind", Value: "printed"}}} {
		if _, err := host.EventFromValue(bad); err == nil {
			t.Errorf("EventFromValue(%v) is no error", bad)
		}
	}

	if s := p.Stats(child); s.String("node") != child || !has(s, "pending") || has(s, "handled") {
		t.Errorf("stats of a child not heard of yet: %v, want pending without counters", s)
	}
	p.NoteStats(child, host.Object{{Key: "kind", Value: "stats"}, {Key: "node", Value: child}, {Key: "handled", Value: int64(7)},
		{Key: "each", Value: host.Array{host.Object{{Key: "name", Value: "x"}, {Key: "handled", Value: int64(5)}, {Key: "mailbox", Value: int64(1)}, {Key: "refused", Value: int64(0)}}}}})
	if s := p.Stats(child); mustInt(s, "handled") != 7 {
		t.Errorf("stats of the child: %v, want handled 7", s)
	}
	if s := p.Stats("x"); s.String("node") != child || mustInt(s, "handled") != 5 || mustInt(s, "mailbox") != 1 {
		t.Errorf("stats of the child's actor: %v, want its node, handled 5 and mailbox 1", s)
	}
	p.ForgetStats(child)
	if s := p.Stats("x"); !has(s, "gone") {
		t.Errorf("stats of an actor of a forgotten child: %v, want gone", s)
	}
}

func has(o host.Object, key string) bool { _, ok := o.Get(key); return ok }

func mustInt(o host.Object, key string) int64 { v, _ := o.Get(key); i, _ := v.(int64); return i }

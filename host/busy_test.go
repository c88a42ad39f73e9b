package host_test

import (
	"context"
	"testing"
	"time"

	"github.com/peacepie/peacepie/host"
)

// TestBusyTime: an actor's busy time is sampled by the watchdog's budget
// scans (every 240 ms with the default budget): an actor that ran ten
// handlers of 100 ms is busy about a second; one that handled nothing is
// not; get_actor reports it as busy_ms.
func TestBusyTime(t *testing.T) {
	p := newProcess(t, host.Config{})
	sleeper := class("Sleeper", func() *funcs {
		return &funcs{receive: func(a *host.Actor, m *host.Message) (host.Reply, error) {
			time.Sleep(100 * time.Millisecond) // running, as far as the budget knows
			return host.Reply{Command: "slept"}, nil
		}}
	})
	a, err := p.Spawn("sleeper", sleeper, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Spawn("idle", echoClass, nil); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if r, err := p.Ask(context.Background(), host.Message{Command: "nap", Recipient: host.Address{Entity: "sleeper"}}, 10*time.Second); err != nil || r.Command != "slept" {
			t.Fatalf("nap: %v %s", err, r.Command)
		}
	}
	if busy := a.BusyTime(); busy < 480*time.Millisecond || busy > 10*time.Second {
		t.Errorf("busy after ten handlers of 100 ms: %v", busy)
	}
	if idle := p.Lookup("idle").BusyTime(); idle != 0 {
		t.Errorf("an actor that handled nothing is busy %v", idle)
	}
	r, err := p.Ask(context.Background(), host.Message{Command: "get_actor", Body: host.Object{{Key: "name", Value: "sleeper"}},
		Recipient: host.Address{Node: p.AdminName()}}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if ms, _ := r.Body.(host.Object).Get("busy_ms"); ms == nil || ms.(int64) < 480 {
		t.Errorf("get_actor: %v", r.Body)
	}
}

package host_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/peacepie/peacepie/host"
)

// metered is a behaviour whose memory is what its handlers say, and which
// counts its walks.
type metered struct {
	funcs
	held  atomic.Int64
	walks atomic.Int64
}

func (m *metered) MemoryInUse() int64 {
	m.walks.Add(1)
	return m.held.Load()
}

// TestActorMemory: get_actor measures what an actor holds between its
// messages (mem_bytes), a listing measures the actors whose figure is
// older than a second, an actor that handled nothing since is not walked
// again, and one busy in a long handler is listed at once with its last
// figure instead of holding the listing.
func TestActorMemory(t *testing.T) {
	p := newProcess(t, host.Config{})
	var b *metered
	entered, release := make(chan struct{}), make(chan struct{})
	hold := &goClass{name: "Hold", make: func() host.Behaviour {
		b = &metered{}
		b.receive = func(a *host.Actor, m *host.Message) (host.Reply, error) {
			switch m.Command {
			case "hold":
				b.held.Store(m.Body.(int64))
			case "block": // until the test is done with the listing
				close(entered)
				<-release
			}
			return host.Reply{Command: "done"}, nil
		}
		return b
	}}
	a, err := p.Spawn("hold", hold, nil)
	if err != nil {
		t.Fatal(err)
	}
	getActor := func() host.Object {
		t.Helper()
		r, err := p.Ask(context.Background(), host.Message{Command: "get_actor", Body: host.Object{{Key: "name", Value: "hold"}},
			Recipient: host.Address{Node: p.AdminName()}}, 10*time.Second)
		if err != nil || r.Command != "actor" {
			t.Fatalf("get_actor: %v %s", err, r.Command)
		}
		return r.Body.(host.Object)
	}
	ask := func(command string, body any) {
		t.Helper()
		if _, err := p.Ask(context.Background(), host.Message{Command: command, Body: body, Recipient: host.Address{Entity: "hold"}}, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if mem, _ := getActor().Get("mem_bytes"); mem != int64(0) {
		t.Errorf("mem_bytes of a new actor: %v, want 0", mem)
	}
	ask("hold", int64(5000))
	if mem, _ := getActor().Get("mem_bytes"); mem != int64(5000) {
		t.Errorf("mem_bytes after it holds 5000: %v", mem)
	}
	walks := b.walks.Load()
	getActor()
	if b.walks.Load() != walks {
		t.Errorf("an actor that handled nothing since its measurement was walked again")
	}
	if mem, _, ok := a.MemoryBytes(); !ok || mem != 5000 {
		t.Errorf("MemoryBytes: %d %v", mem, ok)
	}

	// Busy until the listing has answered: the listing does not wait for
	// it (it would wait for ever).
	go p.Ask(context.Background(), host.Message{Command: "block", Recipient: host.Address{Entity: "hold"}}, time.Minute)
	defer close(release)
	<-entered
	time.Sleep(1100 * time.Millisecond) // the figure is older than a second: a listing asks again
	r, err := p.Ask(context.Background(), host.Message{Command: "get_actors", Recipient: host.Address{Node: p.AdminName()}}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	list, _ := r.Body.(host.Object).Get("actors")
	if mem, _ := list.(host.Array)[0].(host.Object).Get("mem_bytes"); mem != int64(5000) {
		t.Errorf("mem_bytes of the busy actor in get_actors: %v, want its last figure 5000", mem)
	}
}

package cluster_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/peacepie/peacepie/cluster"
	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/internal/testhost"
	"github.com/peacepie/peacepie/net/link"
)

// floodPkg is a package whose Flood actor prints n lines on flood {n}.
var floodPkg = fstest.MapFS{
	"peacepie.toml": {Data: []byte("name = \"flood_pkg\"\nversion = \"1.0.0\"\n\n[actors]\nFlood = \"flood\"\n")},
	"flood.lua": {Data: []byte(`local Flood = {}
function Flood:flood(body)
  for i = 1, body.n do print("line " .. i) end
  return "flooded"
end
return Flood
`)},
}

// headFrames is a fake head: it counts what the child sends up.
type headFrames struct {
	mu     sync.Mutex
	counts map[string]int
	lines  []string
}

func (f *headFrames) count(command string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts[command]
}

func (f *headFrames) saw(s string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range f.lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// TestChildForwardsEvents: a child sends its events and stats up only
// while its head asks for them (watch_events {on} with the system's mark),
// at most 1000 events a second however much its actors print, and says
// how many it held back.
func TestChildForwardsEvents(t *testing.T) {
	p := testhost.Start(t, host.Config{Host: "first", Process: "process_0"}, floodPkg)
	secret := []byte("s3cret-s3cret-s3cret-s3cret-s3cret")
	ln, err := link.Listen("127.0.0.1:0", link.Config{Node: "first.main.admin", Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	// Made before the process is linked: the fake head reserves no names.
	p.Ask(t, "first.process_0.admin", "create_actor", testhost.MustJSON(t, `{"class_desc": {"requires_dist": "flood_pkg", "class": "Flood"}, "name": "flood"}`))
	frames := &headFrames{counts: map[string]int{}}
	heads := make(chan *link.Conn, 1)
	go ln.Serve(func(c *link.Conn) {
		heads <- c
		dec := host.NewDecoder()
		c.Run(func(b []byte, control bool) {
			var m host.Message
			if err := dec.Decode(b, &m); err != nil || !control {
				return
			}
			frames.mu.Lock()
			frames.counts[m.Command]++
			if o, ok := m.Body.(host.Object); ok && m.Command == "child_event" {
				frames.lines = append(frames.lines, o.String("line"))
			}
			frames.mu.Unlock()
		})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := link.Dial(ctx, ln.Addr(), link.Config{Node: p.AdminName(), Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	c := cluster.NewChild(p.Process, conn, p.Logger())
	p.SetRemote(c)
	go c.Run()
	head := <-heads
	t.Cleanup(func() { head.Close("test over") })
	watch := func(on string, control bool) {
		t.Helper()
		payload := []byte(`{"command":"watch_events","recipient":{"node":"first.process_0.admin"},"body":{"on":` + on + `},"sys":true}`)
		err := head.Send(payload)
		if control {
			err = head.SendControl(func(b []byte) ([]byte, error) { return append(b, payload...), nil })
		}
		if err != nil {
			t.Fatal(err)
		}
	}

	// Nobody watches: nothing is made, nothing goes up.
	if r := p.Ask(t, "flood", "flood", testhost.MustJSON(t, `{"n": 100}`)); r.Command != "flooded" {
		t.Fatalf("flood answered %v", r)
	}
	// In a message frame ("sys" in its JSON or not), watch_events is an
	// actor's message: ignored.
	watch("true", false)
	// In a control frame, stats come at once and then every second, and
	// events follow.
	watch("true", true)
	testhost.Eventually(t, 5*time.Second, "the child's stats", func() bool { return frames.count("child_stats") >= 1 })
	if n := frames.count("child_event"); n != 0 {
		t.Errorf("%d events went up before the head watched", n)
	}
	began := time.Now()
	if r := p.Ask(t, "flood", "flood", testhost.MustJSON(t, `{"n": 5000}`)); r.Command != "flooded" {
		t.Fatalf("flood answered %v", r)
	}
	took := time.Since(began)
	testhost.Eventually(t, 5*time.Second, "the count of the events held back", func() bool {
		return frames.saw("were not forwarded to the watchers")
	})
	// 1000 a second at most (the bucket is refilled once a second), and
	// the line that counts the rest.
	limit := 1000*(2+int(took/time.Second)) + 2
	if n := frames.count("child_event"); n > limit || n < 100 {
		t.Errorf("%d events of a flood of 5000 lines (%s) went up, want between 100 and %d", n, took, limit)
	}
	watch("false", true)
	testhost.Eventually(t, 5*time.Second, "the child to stop watching itself", func() bool { return !p.Watched() })
}

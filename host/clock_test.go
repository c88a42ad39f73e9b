package host

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// TestFakeClock: timers fire in time order within Advance, a periodic
// timer reset from its function fires again in the same Advance, a
// stopped one never, and the clock ends where Advance said.
func TestFakeClock(t *testing.T) {
	c := NewFakeClock()
	var mu sync.Mutex
	var got []string
	note := func(s string) { mu.Lock(); got = append(got, s); mu.Unlock() }
	c.AfterFunc(3*time.Second, func() { note("b@3") })
	c.AfterFunc(time.Second, func() { note("a@1") })
	stopped := c.AfterFunc(2*time.Second, func() { note("never") })
	var tick Timer
	n := 0
	tick = c.AfterFunc(2*time.Second, func() {
		n++
		note("tick")
		if n < 3 {
			tick.Reset(2 * time.Second)
		}
	})
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop of an armed timer reports true, of a stopped one false")
	}
	c.Advance(5 * time.Second)
	if want := []string{"a@1", "tick", "b@3", "tick"}; !slices.Equal(got, want) {
		t.Fatalf("after 5 s: %v, want %v", got, want)
	}
	if c.Now() != 5*time.Second || c.Pending() != 1 {
		t.Fatalf("now %s, %d pending; want 5s and 1", c.Now(), c.Pending())
	}
	c.Advance(10 * time.Second)
	if len(got) != 5 || c.Pending() != 0 {
		t.Fatalf("after 15 s: %v, %d pending", got, c.Pending())
	}
}

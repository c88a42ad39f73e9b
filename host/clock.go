package host

import (
	"container/heap"
	"sync"
	"time"
)

// Clock runs the timers of actors: After, Every and Sleep (Config.Clock).
type Clock interface {
	// AfterFunc calls f on its own goroutine (or, for a FakeClock, in
	// Advance) once d has passed, unless the timer is stopped first.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a timer of a Clock, as time.Timer made by time.AfterFunc.
type Timer interface {
	Stop() bool
	Reset(d time.Duration) bool
}

type realClock struct{}

func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// FakeClock is a Clock that moves only when Advance moves it, so that
// tests of timers run at once and always the same way. Safe for
// concurrent use.
type FakeClock struct {
	mu      sync.Mutex
	now     time.Duration // since the clock was made
	seq     uint64
	entries fakeHeap
}

// NewFakeClock returns a clock at 0.
func NewFakeClock() *FakeClock { return &FakeClock{} }

// Now returns how far the clock has moved.
func (c *FakeClock) Now() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc implements Clock.
func (c *FakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, f: f}
	c.scheduleLocked(t, d)
	return t
}

// scheduleLocked (re)arms t to fire d from now: an earlier arming's
// entry in the heap is stale from then on.
func (c *FakeClock) scheduleLocked(t *fakeTimer, d time.Duration) {
	c.seq++
	t.gen++
	t.live = true
	heap.Push(&c.entries, fakeEntry{t: t, at: c.now + max(d, 0), seq: c.seq, gen: t.gen})
}

// Advance moves the clock on by d, calling the functions of the timers
// that fall due, in the order of their times (and of their arming, for
// equal times), each with the clock at its time; a timer that one of them
// resets or makes fires within the same Advance if it falls due by its
// end.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now + max(d, 0)
	for len(c.entries) > 0 && c.entries[0].at <= end {
		e := heap.Pop(&c.entries).(fakeEntry)
		if !e.t.live || e.gen != e.t.gen {
			continue
		}
		e.t.live = false
		c.now = e.at
		c.mu.Unlock()
		e.t.f()
		c.mu.Lock()
	}
	c.now = end
	c.mu.Unlock()
}

// Step fires the timers due at the earliest time up to until (since the
// clock was made), with the clock at that time, and reports whether
// there were any; a caller that lets the actors handle what they brought
// between steps sees timers fire as a real clock fires them (a handler's
// cancel stops the next tick). The clock stays where it is when there
// were none.
func (c *FakeClock) Step(until time.Duration) bool {
	c.mu.Lock()
	fired := false
	var at time.Duration
	for len(c.entries) > 0 && c.entries[0].at <= until && (!fired || c.entries[0].at == at) {
		e := heap.Pop(&c.entries).(fakeEntry)
		if !e.t.live || e.gen != e.t.gen {
			continue
		}
		e.t.live = false
		c.now, at, fired = e.at, e.at, true
		c.mu.Unlock()
		e.t.f()
		c.mu.Lock()
	}
	c.mu.Unlock()
	return fired
}

// Pending returns how many timers are armed.
func (c *FakeClock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, e := range c.entries {
		if e.t.live && e.gen == e.t.gen {
			n++
		}
	}
	return n
}

type fakeTimer struct {
	c    *FakeClock
	f    func()
	gen  uint64 // which arming is current (guarded by c.mu)
	live bool   // armed, not fired or stopped
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.live
	t.live = false
	t.gen++
	return was
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.live
	t.c.scheduleLocked(t, d)
	return was
}

type fakeEntry struct {
	t   *fakeTimer
	at  time.Duration
	seq uint64
	gen uint64
}

type fakeHeap []fakeEntry

func (h fakeHeap) Len() int { return len(h) }
func (h fakeHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h fakeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *fakeHeap) Push(x any)   { *h = append(*h, x.(fakeEntry)) }
func (h *fakeHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// Quiet reports whether no actor of the process but except can go on
// without something from outside: each is idle, or waits in its handler
// (Sleep, Ask, a blocking call). `peacepie test` waits for it before and
// after it moves a FakeClock, so that what a test sent is handled first.
func (p *Process) Quiet(except string) bool {
	p.mu.RLock()
	actors := make([]*Actor, 0, len(p.actors))
	for name, a := range p.actors {
		if name != except {
			actors = append(actors, a)
		}
	}
	p.mu.RUnlock()
	for _, a := range actors {
		a.mu.Lock()
		busy := a.running && !a.inWait.Load()
		a.mu.Unlock()
		if busy {
			return false
		}
	}
	return true
}

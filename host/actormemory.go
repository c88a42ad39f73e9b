package host

import (
	"context"
	"sync/atomic"
	"time"
)

// What an actor holds, for the observer (get_actor, get_actors, metrics).
// Only the actor's own goroutine may walk its state, so a measurement is a
// system task that runs between two of its messages: it asks the
// behaviour's MemoryMeter (a Lua actor walks what its state reaches,
// LState.LiveSize, the walk the memory bound uses) and keeps the figure.
// Nothing is measured on the message path, and an actor that has handled
// nothing since its last measurement is not walked again.

// memoryFresh is how old a figure may be before a listing asks for a new
// one.
const memoryFresh = time.Second

// actorMemory is an actor's last measurement. mem and at are read by any
// goroutine; handledAt and dirty only on the actor's.
type actorMemory struct {
	mem       atomic.Int64 // bytes at the last measurement
	at        atomic.Int64 // when, in unix nanoseconds; 0: never
	pending   atomic.Bool  // a measurement is queued (at most one)
	handledAt uint64       // Actor.handled at the last measurement
	dirty     bool         // code ran outside a handler since (eval)
}

// MemoryBytes returns what the actor held at its last measurement and
// when; ok is false when it was never measured or its behaviour cannot
// say (not a MemoryMeter).
func (a *Actor) MemoryBytes() (bytes int64, at time.Time, ok bool) {
	ns := a.memory.at.Load()
	if ns == 0 {
		return 0, time.Time{}, false
	}
	return a.memory.mem.Load(), time.Unix(0, ns), true
}

// requestMeasure queues a measurement unless one is queued already or the
// last one is younger than fresh; done (if not nil) is closed when it has
// run, or at once when none was queued.
func (a *Actor) requestMeasure(fresh time.Duration, done chan<- struct{}) {
	if _, ok := a.behaviour().(MemoryMeter); !ok {
		closeIf(done)
		return
	}
	if ns := a.memory.at.Load(); ns != 0 && time.Since(time.Unix(0, ns)) < max(fresh, walkAgainAfter(a.memory.mem.Load())) {
		closeIf(done)
		return
	}
	if !a.memory.pending.CompareAndSwap(false, true) {
		closeIf(done) // the queued one will do: its figure comes soon
		return
	}
	a.pushSystem(sysTask{kind: sysMeasure, measured: done})
}

// walkAgainAfter is how long a figure of mem bytes is kept at least: a
// second per MiB, so that a large state (a walk's time grows with it, and
// the walk holds the actor's goroutine) is not walked at every poll of a
// console page.
func walkAgainAfter(mem int64) time.Duration {
	return time.Duration(mem>>20) * time.Second
}

func closeIf(c chan<- struct{}) {
	if c != nil {
		close(c)
	}
}

// measure runs on the actor's goroutine, between messages.
func (a *Actor) measure(done chan<- struct{}) {
	defer closeIf(done)
	a.memory.pending.Store(false)
	mm, ok := a.beh.(MemoryMeter)
	if !ok {
		return
	}
	handled := a.handled.Load()
	if a.memory.at.Load() == 0 || handled != a.memory.handledAt || a.memory.dirty {
		a.memory.mem.Store(mm.MemoryInUse())
		a.memory.handledAt, a.memory.dirty = handled, false
	}
	a.memory.at.Store(time.Now().UnixNano())
}

// MeasureMemory asks each of actors to measure what it holds (those
// measured within fresh are left as they are) and waits until they have,
// or until ctx is done: an actor busy in a long handler keeps its last
// figure.
func (p *Process) MeasureMemory(ctx context.Context, actors []*Actor, fresh time.Duration) {
	done := make([]chan struct{}, len(actors))
	for i, a := range actors {
		done[i] = make(chan struct{})
		a.requestMeasure(fresh, done[i])
	}
	for _, d := range done {
		select {
		case <-d:
		case <-ctx.Done():
			return
		}
	}
}

// liveActors lists the process's actors (the admin excluded), unsorted.
func (p *Process) liveActors() []*Actor {
	p.mu.RLock()
	defer p.mu.RUnlock()
	list := make([]*Actor, 0, len(p.actors))
	for _, a := range p.actors {
		list = append(list, a)
	}
	return list
}

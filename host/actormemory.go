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

// actorMemory is an actor's last measurement. mem, at and handledAt are
// read by any goroutine (an actor that has handled nothing since its
// figure, or hibernates, keeps it without a task: requestMeasure); dirty
// only on the actor's.
type actorMemory struct {
	mem       atomic.Int64  // bytes at the last measurement
	at        atomic.Int64  // when, in unix nanoseconds; 0: never
	pending   atomic.Bool   // a measurement is queued (at most one)
	handledAt atomic.Uint64 // Actor.handled at the last measurement, +1 (0: none); 0 after an eval
	dirty     bool          // code ran outside a handler since (eval)
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
func (a *Actor) requestMeasure(fresh time.Duration, w *measureGroup) {
	ns := a.memory.at.Load()
	if ns != 0 && (a.dormant.Load() || a.memory.handledAt.Load() == a.handled.Load()+1 && !a.inHandler()) {
		// Nothing ran since: the figure holds (a hibernating actor's
		// compact form does not change), and no task is queued for it.
		a.memory.at.Store(max(ns, time.Now().UnixNano()))
		return
	}
	if ns != 0 && time.Since(time.Unix(0, ns)) < max(fresh, walkAgainAfter(a.memory.mem.Load())) {
		return
	}
	if _, ok := a.behaviour().(MemoryMeter); !ok {
		return
	}
	if !a.memory.pending.CompareAndSwap(false, true) {
		return // the queued one will do: its figure comes soon
	}
	w.add()
	a.pushSystem(sysTask{kind: sysMeasure, measured: w})
}

// measureGroup counts the measurements a listing waits for: done is
// closed when the last one has run (or at once, if none was queued).
type measureGroup struct {
	n    atomic.Int64
	done chan struct{}
}

func newMeasureGroup() *measureGroup { return &measureGroup{done: make(chan struct{})} }

func (w *measureGroup) add() {
	if w != nil {
		w.n.Add(1)
	}
}

func (w *measureGroup) finish() {
	if w != nil && w.n.Add(-1) == 0 {
		close(w.done)
	}
}

// walkAgainAfter is how long a figure of mem bytes is kept at least: a
// second per MiB, so that a large state (a walk's time grows with it, and
// the walk holds the actor's goroutine) is not walked at every poll of a
// console page.
func walkAgainAfter(mem int64) time.Duration {
	return time.Duration(mem>>20) * time.Second
}

// measure runs on the actor's goroutine, between messages.
func (a *Actor) measure(w *measureGroup) {
	defer w.finish()
	a.memory.pending.Store(false)
	mm, ok := a.beh.(MemoryMeter)
	if !ok {
		return
	}
	handled := a.handled.Load()
	if a.memory.at.Load() == 0 || handled+1 != a.memory.handledAt.Load() || a.memory.dirty {
		a.memory.mem.Store(mm.MemoryInUse())
		a.memory.handledAt.Store(handled + 1)
		a.memory.dirty = false
	}
	a.memory.at.Store(time.Now().UnixNano())
}

// touched marks the actor's figure as out of date: code ran in it outside
// a handler (an eval), or it woke.
func (a *Actor) touched() {
	a.memory.dirty = true
	a.memory.handledAt.Store(0)
}

// MeasureMemory asks each of actors to measure what it holds (those
// measured within fresh are left as they are) and waits until they have,
// or until ctx is done: an actor busy in a long handler keeps its last
// figure.
func (p *Process) MeasureMemory(ctx context.Context, actors []*Actor, fresh time.Duration) {
	w := newMeasureGroup()
	w.add() // held until every request is made
	for _, a := range actors {
		a.requestMeasure(fresh, w)
	}
	w.finish()
	select {
	case <-w.done:
	case <-ctx.Done():
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

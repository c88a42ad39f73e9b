package host

import (
	"sync"
	"sync/atomic"
)

// Event is something a watcher (the REPL's watch, the console) may want to
// see: a line an actor printed, an actor created or removed, the system
// exiting.
type Event struct {
	Kind  string // "printed", "log", "created", "removed", "exiting", "process_created", "process_gone", "memory_exceeded", "mailbox_full"
	Node  string
	Actor string
	Class ClassInfo // for "created"
	Line  string    // for "printed" and "log", without the newline
}

// Value returns the event as a body value.
func (e Event) Value() Object {
	o := Object{{Key: "kind", Value: e.Kind}, {Key: "node", Value: e.Node}}
	if e.Actor != "" {
		o = append(o, Field{Key: "actor", Value: e.Actor})
	}
	if e.Kind == "created" {
		o = append(o, Field{Key: "class", Value: e.Class.Class}, Field{Key: "package", Value: e.Class.Package}, Field{Key: "version", Value: e.Class.Version})
	}
	if e.Kind == "printed" || e.Kind == "log" || e.Kind == "process_gone" || e.Kind == "memory_exceeded" || e.Kind == "mailbox_full" {
		o = append(o, Field{Key: "line", Value: e.Line})
	}
	return o
}

// eventHub fans events out to watchers. Publishing costs one atomic load
// when nobody watches. A watcher that does not keep up loses events (they
// are counted), never slows the actors down.
type eventHub struct {
	count atomic.Int32
	mu    sync.Mutex // guards subs
	subs  map[*Watch]struct{}
}

// Watch is a subscription to the events of a process.
type Watch struct {
	C       <-chan Event
	c       chan Event
	hub     *eventHub
	Dropped atomic.Uint64
}

// Watch subscribes to the process's events; call Close when done.
func (p *Process) Watch() *Watch {
	w := &Watch{c: make(chan Event, 256), hub: &p.events}
	w.C = w.c
	p.events.mu.Lock()
	if p.events.subs == nil {
		p.events.subs = make(map[*Watch]struct{})
	}
	p.events.subs[w] = struct{}{}
	p.events.count.Store(int32(len(p.events.subs)))
	p.events.mu.Unlock()
	return w
}

// Close ends the subscription and closes C. It may be called more than once.
func (w *Watch) Close() {
	h := w.hub
	h.mu.Lock()
	if _, ok := h.subs[w]; ok {
		delete(h.subs, w)
		close(w.c) // publish sends under h.mu, so nothing sends now
	}
	h.count.Store(int32(len(h.subs)))
	h.mu.Unlock()
}

func (h *eventHub) watched() bool { return h.count.Load() > 0 }

func (h *eventHub) publish(e Event) {
	h.mu.Lock()
	for w := range h.subs {
		select {
		case w.c <- e:
		default:
			w.Dropped.Add(1)
		}
	}
	h.mu.Unlock()
}

// Stats returns counters for a live view: for a node, the process's totals
// and, when it has at most 500 actors, each actor's; for an actor, its own.
// They are cheap to make but not free: watchers ask for them once a second.
func (p *Process) Stats(filter string) Object {
	if filter != "" && filter != p.adminName {
		a := p.Lookup(filter)
		if a == nil {
			return Object{{Key: "kind", Value: "stats"}, {Key: "actor", Value: filter}, {Key: "gone", Value: true}}
		}
		return Object{{Key: "kind", Value: "stats"}, {Key: "node", Value: p.adminName}, {Key: "actor", Value: filter},
			{Key: "handled", Value: int64(a.Handled())}, {Key: "mailbox", Value: int64(a.MailboxLen())}, {Key: "refused", Value: int64(a.Refused())}}
	}
	p.mu.RLock()
	list := make([]*Actor, 0, len(p.actors))
	for _, a := range p.actors {
		list = append(list, a)
	}
	p.mu.RUnlock()
	var handled, mailbox int64
	var each Array
	if len(list) <= 500 {
		each = make(Array, 0, len(list))
	}
	for _, a := range list {
		h, m := int64(a.Handled()), int64(a.MailboxLen())
		handled += h
		mailbox += m
		if each != nil {
			each = append(each, Object{{Key: "name", Value: a.name}, {Key: "handled", Value: h}, {Key: "mailbox", Value: m}, {Key: "refused", Value: int64(a.Refused())}})
		}
	}
	handled += int64(p.admin.Handled())
	o := Object{{Key: "kind", Value: "stats"}, {Key: "node", Value: p.adminName},
		{Key: "actors", Value: int64(len(list))}, {Key: "handled", Value: handled}, {Key: "mailbox", Value: mailbox}}
	if each != nil {
		o = append(o, Field{Key: "each", Value: each})
	}
	return o
}

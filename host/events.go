package host

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Event is something a watcher (the REPL's watch, the console) may want to
// see: a line an actor printed, an actor created, removed or moved in, the
// system exiting. A head also publishes the events its children forward
// (cluster), with their own node.
type Event struct {
	Kind  string // "printed", "log", "created", "removed", "moved", "exiting", "process_created", "process_gone", "head_lost", "head_changed", "memory_exceeded", "mailbox_full"
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
	if e.Kind == "printed" || e.Kind == "log" || e.Kind == "process_gone" || e.Kind == "head_lost" || e.Kind == "memory_exceeded" || e.Kind == "mailbox_full" {
		o = append(o, Field{Key: "line", Value: e.Line})
	}
	return o
}

// EventFromValue reads an event written by Event.Value (forwarded by a
// child process); it fails on a body without a kind and a node.
func EventFromValue(v any) (Event, error) {
	o, ok := v.(Object)
	if !ok {
		return Event{}, fmt.Errorf("%w: an event must be an object, not %s", ErrBadRequest, TypeName(v))
	}
	e := Event{Kind: o.String("kind"), Node: o.String("node"), Actor: o.String("actor"), Line: o.String("line")}
	if e.Kind == "" || e.Node == "" {
		return Event{}, fmt.Errorf("%w: an event needs a kind and a node", ErrBadRequest)
	}
	if e.Kind == "created" {
		e.Class = ClassInfo{Class: o.String("class"), Package: o.String("package"), Version: o.String("version")}
	}
	return e, nil
}

// eventHub fans events out to watchers. Publishing costs one atomic load
// when nobody watches. A watcher that does not keep up loses events (they
// are counted), never slows the actors down.
type eventHub struct {
	count atomic.Int32 // every watch
	ops   atomic.Int32 // the watches that are not internal (Process.WatchInternal)
	mu    sync.Mutex   // guards subs
	subs  map[*Watch]struct{}
	// hookMu serialises calls of hook, which is told whether anybody
	// watches each time that changes, and of opHook, told whether anybody
	// but the system's own forwarders watches (taken after mu is released).
	hookMu sync.Mutex
	hook   func(watched bool)
	opHook func(watched bool)
}

// Watch is a subscription to the events of a process.
type Watch struct {
	C        <-chan Event
	c        chan Event
	hub      *eventHub
	internal bool
	Dropped  atomic.Uint64
}

// Watch subscribes to the process's events; call Close when done.
func (p *Process) Watch() *Watch { return p.watch(false) }

// WatchInternal subscribes to the process's events like Watch, for the
// system's own use (a forwarder that passes them on to another process):
// it counts for OnWatched but not for OnOperatorWatched.
func (p *Process) WatchInternal() *Watch { return p.watch(true) }

func (p *Process) watch(internal bool) *Watch {
	w := &Watch{c: make(chan Event, 256), hub: &p.events, internal: internal}
	w.C = w.c
	p.events.mu.Lock()
	if p.events.subs == nil {
		p.events.subs = make(map[*Watch]struct{})
	}
	p.events.subs[w] = struct{}{}
	first := len(p.events.subs) == 1
	firstOp := !internal && p.events.ops.Add(1) == 1
	p.events.count.Store(int32(len(p.events.subs)))
	p.events.mu.Unlock()
	if first || firstOp {
		p.events.changed(first, firstOp)
	}
	return w
}

// OnWatched sets the function told, in order, whether anybody watches the
// process's events each time that changes (a head tells its children to
// forward their events, or to stop). It is called at once with the current
// state. It must not call Watch or Close.
func (p *Process) OnWatched(f func(watched bool)) {
	p.events.hookMu.Lock()
	p.events.hook = f
	p.events.hookMu.Unlock()
	p.events.changed(true, false)
}

// OnOperatorWatched sets the function told, in order, whether anybody but
// the system's own forwarders (WatchInternal) watches the process's events
// each time that changes (a host's head asks the root for the rest of the
// system's events, or stops). It is called at once with the current state.
// It must not call Watch or Close.
func (p *Process) OnOperatorWatched(f func(watched bool)) {
	p.events.hookMu.Lock()
	p.events.opHook = f
	p.events.hookMu.Unlock()
	p.events.changed(false, true)
}

// NotifyWatched calls the OnWatched and OnOperatorWatched functions again
// with the current state (a process joined that must be told, a host
// joined the system again).
func (p *Process) NotifyWatched() { p.events.changed(true, true) }

// changed tells the hooks the current state: hook when all, opHook when op.
func (h *eventHub) changed(all, op bool) {
	h.hookMu.Lock()
	defer h.hookMu.Unlock()
	if all && h.hook != nil {
		h.hook(h.watched())
	}
	if op && h.opHook != nil {
		h.opHook(h.ops.Load() > 0)
	}
}

// Watched reports whether anybody watches the process's events.
func (p *Process) Watched() bool { return p.events.watched() }

// Publish gives watchers an event that happened elsewhere (a child's,
// forwarded to its head); it costs one atomic load when nobody watches.
func (p *Process) Publish(e Event) {
	if p.events.watched() {
		p.events.publish(e)
	}
}

// Close ends the subscription and closes C. It may be called more than once.
func (w *Watch) Close() {
	h := w.hub
	h.mu.Lock()
	last, lastOp := false, false
	if _, ok := h.subs[w]; ok {
		delete(h.subs, w)
		close(w.c) // publish sends under h.mu, so nothing sends now
		last = len(h.subs) == 0
		lastOp = !w.internal && h.ops.Add(-1) == 0
	}
	h.count.Store(int32(len(h.subs)))
	h.mu.Unlock()
	if last || lastOp {
		h.changed(last, lastOp)
	}
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
//
// On a head, a filter that names another process, or an actor that lives
// there, is answered from the stats that process last sent (NoteStats), at
// most 3 seconds old; without them the answer has "pending": true (the
// process was just asked for them) instead of counters.
func (p *Process) Stats(filter string) Object {
	if filter != "" && filter != p.adminName {
		a := p.Lookup(filter)
		if a == nil {
			if o, ok := p.remoteStats(filter); ok {
				return o
			}
			if IsAdminName(filter) {
				return Object{{Key: "kind", Value: "stats"}, {Key: "node", Value: filter}, {Key: "pending", Value: true}}
			}
			return Object{{Key: "kind", Value: "stats"}, {Key: "actor", Value: filter}, {Key: "gone", Value: true}}
		}
		return Object{{Key: "kind", Value: "stats"}, {Key: "node", Value: p.adminName}, {Key: "actor", Value: filter},
			{Key: "handled", Value: int64(a.Handled())}, {Key: "mailbox", Value: int64(a.MailboxLen())}, {Key: "refused", Value: int64(a.Refused())}}
	}
	list, dormant := p.awakeActors() // the hibernating ones are in sums: nothing of theirs changes
	var handled, mailbox int64
	n := len(list)
	for _, d := range dormant {
		handled += int64(d.handled)
		n += int(d.actors)
	}
	var each Array
	if n <= 500 { // (those that hibernate are left out: their figures do not change)
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
		{Key: "actors", Value: int64(n)}, {Key: "hibernating", Value: int64(p.Hibernating())},
		{Key: "handled", Value: handled}, {Key: "mailbox", Value: mailbox}}
	if each != nil {
		o = append(o, Field{Key: "each", Value: each})
	}
	return o
}

// statsStale is the age past which stats another process sent are not shown.
const statsStale = 3 * time.Second

type noted struct {
	stats Object
	at    time.Time
}

// statsBook keeps the stats other processes sent (a head's children, while
// somebody watches).
type statsBook struct {
	mu    sync.Mutex // guards nodes
	nodes map[string]noted
}

// NoteStats records the stats (Process.Stats("") of that process) that the
// process node sent; Stats answers from them for node and its actors.
func (p *Process) NoteStats(node string, stats Object) {
	p.stats.mu.Lock()
	if p.stats.nodes == nil {
		p.stats.nodes = make(map[string]noted)
	}
	p.stats.nodes[node] = noted{stats: stats, at: time.Now()}
	p.stats.mu.Unlock()
}

// ForgetStats drops what NoteStats recorded for node (it is gone).
func (p *Process) ForgetStats(node string) {
	p.stats.mu.Lock()
	delete(p.stats.nodes, node)
	p.stats.mu.Unlock()
}

// remoteStats answers Stats for another process's node or actor from the
// book.
func (p *Process) remoteStats(filter string) (Object, bool) {
	p.stats.mu.Lock()
	defer p.stats.mu.Unlock()
	if n, ok := p.stats.nodes[filter]; ok {
		return n.stats, time.Since(n.at) < statsStale
	}
	for node, n := range p.stats.nodes {
		if time.Since(n.at) >= statsStale {
			continue
		}
		each, _ := n.stats.Get("each")
		arr, _ := each.(Array)
		for _, v := range arr {
			o, _ := v.(Object)
			if o.String("name") != filter {
				continue
			}
			out := Object{{Key: "kind", Value: "stats"}, {Key: "node", Value: node}, {Key: "actor", Value: filter}}
			for _, k := range []string{"handled", "mailbox", "refused"} {
				v, _ := o.Get(k)
				out = append(out, Field{Key: k, Value: v})
			}
			return out, true
		}
	}
	return nil, false
}

package cluster

import (
	"context"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/net/link"
)

// Events system-wide. A watcher (the console, peacepie attach) subscribes
// to the hub of the process it is connected to; to show the events and
// stats of every process, each process forwards its own up the tree of
// links while somebody above watches, the root passes down to each host
// whose head is watched what it has from the rest of the system, and
// nothing is sent when nobody watches:
//
//   - a head whose hub gains its first watcher sends watch_events {on: true}
//     to each child (and the root to each other host's head); the last
//     watcher gone, watch_events {on: false}. A child started while
//     somebody watches is told at once.
//   - a process told on subscribes to its own hub (a forwarder, an
//     internal watch) and sends up, as System messages: child_event
//     {event} for the events of its host's processes (those of the kinds
//     in forwarded: its actors', and a host's head also passes on its
//     children's; never what came down from the root), at most eventRate
//     a second, lines cut to maxEventLine bytes (what is over is counted
//     and reported as one log line a second); and child_stats {stats}
//     once a second.
//   - the head publishes child_event into its own hub with the event's
//     node, and keeps child_stats for Process.Stats (NoteStats); a host's
//     head that forwards passes its children's child_stats on to the root.
//   - a host's head (not the root) whose hub gains its first watcher that
//     is not a forwarder (Process.OnOperatorWatched: the console, attach)
//     sends watch_system {on: true} to the root, and {on: false} when the
//     last is gone; it asks again when it joins again.
//   - the root, told on by a host, runs a forwarder for it (member.down):
//     it watches the root's hub, so every process of the system forwards
//     up, and sends down to that host child_event for the events of every
//     process not on that host (its own, its children's, the other hosts'),
//     bounded as above, with process_created, and child_stats: its own
//     once a second, and those it gets from its children and the other
//     hosts as they come. The host publishes and notes them like its
//     children's. The node of each event and stats says where it comes
//     from: nothing goes back to its own host, and nothing is forwarded
//     twice.
//
// A forwarder's watch buffers 256 events: when the link is slow it loses
// events (counted like any watcher's), and actors are never held back.

// eventRate bounds the events a process forwards a second.
const eventRate = 1000

// maxEventLine bounds the line of a forwarded event, in bytes.
const maxEventLine = 4096

// forwarded are the kinds of event a process forwards up: those about its
// actors. The head publishes processes coming and going itself.
var forwarded = map[string]bool{
	"printed": true, "log": true, "created": true, "removed": true, "moved": true,
	"memory_exceeded": true, "mailbox_full": true,
}

// forwarder sends a process's events and stats up its link while the
// process above watches. Its methods may be called from any goroutine.
type forwarder struct {
	proc *host.Process
	// send writes a System message to the process above, or for the root's
	// forwarder to a host, down its link (it must not block for long: a
	// link's SendAppend).
	send func(m host.Message) error
	// keep says which events are sent; nil: those of the kinds in
	// forwarded that happened on this process's host (upward).
	keep func(e host.Event) bool

	mu   sync.Mutex // guards stop; set subscribes under it (forwarder.mu → eventHub.mu, hookMu)
	stop chan struct{}
}

// set starts (on) or stops forwarding; it does nothing when that is the
// state already.
func (f *forwarder) set(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case on && f.stop == nil:
		f.stop = make(chan struct{})
		go f.run(f.proc.WatchInternal(), f.stop)
	case !on && f.stop != nil:
		close(f.stop)
		f.stop = nil
	}
}

// on reports whether the process forwards.
func (f *forwarder) on() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stop != nil
}

func (f *forwarder) run(w *host.Watch, stop chan struct{}) {
	defer w.Close()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	node := f.proc.AdminName()
	keep := f.keep
	if keep == nil {
		own := hostOf(node)
		keep = func(e host.Event) bool { return forwarded[e.Kind] && hostOf(e.Node) == own }
	}
	tokens, over := eventRate, 0
	f.sendStats(node)
	for {
		select {
		case <-stop:
			return
		case e := <-w.C:
			if !keep(e) {
				continue
			}
			if tokens == 0 {
				over++
				continue
			}
			tokens--
			if len(e.Line) > maxEventLine {
				e.Line = e.Line[:maxEventLine] + "…"
			}
			f.sendUp("child_event", e.Value())
		case <-tick.C:
			tokens = eventRate
			if lost := over + int(w.Dropped.Swap(0)); lost > 0 {
				over = 0
				f.sendUp("child_event", host.Event{Kind: "log", Node: node,
					Line: "WARN events of this process were not forwarded to the watchers (at most 1000 a second) lost=" + strconv.Itoa(lost)}.Value())
			}
			f.sendStats(node)
		}
	}
}

func (f *forwarder) sendStats(node string) {
	f.sendUp("child_stats", host.Object{{Key: "node", Value: node}, {Key: "stats", Value: f.proc.Stats("")}})
}

func (f *forwarder) sendUp(command string, body any) {
	m := host.Message{System: true, ID: f.proc.NewMID(), Command: command, Body: body}
	_ = f.send(m) // a failure: the link is ending, and the forwarding with it
}

// watchEventsOn reads watch_events {on}.
func watchEventsOn(m *host.Message) bool {
	o, _ := m.Body.(host.Object)
	on, _ := o.Get("on")
	return on == true
}

// watchEvents tells a process below to forward its events, or to stop.
func (h *Head) watchEvents(c *link.Conn, on bool) {
	m := host.Message{System: true, ID: h.proc.NewMID(), Command: "watch_events", Recipient: host.Address{Node: c.Peer()},
		Body: host.Object{{Key: "on", Value: on}}}
	if err := sendOn(c, m); err != nil {
		h.log.Debug("watch_events is not sent", "node", c.Peer(), "error", err.Error())
	}
}

// watched is the hook of the head's hub (Process.OnWatched): every child,
// and the root's other hosts, forward their events while it is watched.
func (h *Head) watched(on bool) {
	h.mu.Lock()
	conns := make([]*link.Conn, 0, len(h.children)+len(h.members))
	for _, ch := range h.children {
		conns = append(conns, ch.conn)
	}
	for _, mb := range h.members {
		conns = append(conns, mb.conn)
	}
	h.mu.Unlock()
	for _, c := range conns {
		h.watchEvents(c, on)
	}
}

// childEvent publishes an event that a child or another host forwarded
// (child_event); a host's head that forwards passes it on to the root
// through its own forwarder, which watches this hub.
func (h *Head) childEvent(m *host.Message) {
	if e, err := host.EventFromValue(m.Body); err == nil {
		h.proc.Publish(e)
	}
}

// childStats notes the stats that a child or another host forwarded
// (child_stats), and passes them on: up, if they are this host's own; down
// to the other hosts that watch, from the root.
func (h *Head) childStats(m *host.Message) {
	o, _ := m.Body.(host.Object)
	stats, _ := o.Get("stats")
	node := o.String("node")
	if so, ok := stats.(host.Object); ok && host.IsAdminName(node) {
		h.proc.NoteStats(node, so)
	}
	// Up only this host's own (not what came down from the root).
	if h.fwd != nil && hostOf(node) == h.cfg.Host && h.fwd.on() {
		h.fwd.sendUp("child_stats", m.Body)
	}
	if h.root.Load() {
		h.passDown(node, m.Body)
	}
}

// downForwarder returns the root's forwarder of the rest of the system's
// events and stats to the host whose head's link is c (member.down).
func (h *Head) downForwarder(c *link.Conn) *forwarder {
	to, hostName := c.Peer(), hostOf(c.Peer())
	return &forwarder{proc: h.proc,
		send: func(m host.Message) error {
			m.Recipient = host.Address{Node: to}
			return sendForwarded(c, m)
		},
		keep: func(e host.Event) bool {
			return (forwarded[e.Kind] || e.Kind == "process_created") && hostOf(e.Node) != hostName
		}}
}

// passDown sends the child_stats of node (from a child of the root or
// another host) on to each host the root forwards to but node's own.
func (h *Head) passDown(node string, body any) {
	from := hostOf(node)
	h.mu.Lock()
	downs := make([]*forwarder, 0, len(h.members))
	for _, mb := range h.members {
		if mb.host != from {
			downs = append(downs, mb.down)
		}
	}
	h.mu.Unlock()
	for _, f := range downs { // forwarder.mu is not taken under Head.mu
		if f.on() {
			f.sendUp("child_stats", body)
		}
	}
}

// operatorWatched is the OnOperatorWatched hook of a host's head that is
// not the root: while somebody watches it, it asks the root for the events
// and stats of the rest of the system (watch_system).
func (h *Head) operatorWatched(on bool) {
	if h.root.Load() {
		return // the root has every event already
	}
	m := host.Message{System: true, ID: h.proc.NewMID(), Command: "watch_system", Body: host.Object{{Key: "on", Value: on}}}
	if err := h.sendToRoot(m); err != nil {
		h.log.Debug("watch_system is not sent; it is sent when the host joins", "on", on, "error", err.Error())
	}
}

// sendToRoot sends m up this host's link to the root (not root).
func (h *Head) sendToRoot(m host.Message) error {
	return h.toRoot(m, sendOn)
}

// forwardToRoot is the send of a host's forwarder (sendForwarded).
func (h *Head) forwardToRoot(m host.Message) error {
	return h.toRoot(m, sendForwarded)
}

func (h *Head) toRoot(m host.Message, send func(*link.Conn, host.Message) error) error {
	h.mu.Lock()
	up := h.up
	h.mu.Unlock()
	if up == nil {
		return host.ErrNoProcess
	}
	m.Recipient = host.Address{Node: up.Peer()}
	return send(up, m)
}

// sendForwarded sends what a forwarder forwards: events in the link's
// order, and a process's stats (child_stats, a snapshot a second) ahead of
// the messages waiting, so that a large message on the link does not make
// a live process look stalled in the console. Stats that find the link's
// room ahead full (link.ErrAheadFull) are dropped: the next second's
// replace them.
func sendForwarded(c *link.Conn, m host.Message) error {
	if m.Command == "child_stats" {
		return c.SendControlAhead(m.AppendJSON)
	}
	return sendOn(c, m)
}

// allActors answers get_actors {"all": true} on the root: every actor of
// the system, each process asked at once (5 s at most), a page of them
// (host.ActorQuery): each process lists its first offset+limit that
// match, and the page is cut from them all. A process that does not
// answer is listed in "unreachable" with the reason, and its actors are
// missing.
func (h *Head) allActors(p *host.Process, req host.Message) {
	q, err := host.ActorQueryOf(req.Body)
	if err != nil {
		p.Reply(&req, "error", host.Object{{Key: "mid", Value: req.ID.String()}, {Key: "message", Value: err.Error()}})
		return
	}
	each := host.ActorQuery{Limit: q.Offset + q.Limit, Filter: q.Filter} // Limit 0 stays 0: all
	if q.Limit == 0 {
		each.Limit = 0
	}
	var nodes []string
	for _, hv := range h.hosts() {
		ho, _ := hv.(host.Object)
		nodes = append(nodes, stringList(ho, "processes")...)
	}
	type answer struct {
		actors host.Array
		total  int64
		err    string
	}
	answers := make([]answer, len(nodes))
	var wg sync.WaitGroup
	for i, node := range nodes {
		if node == p.AdminName() {
			actors, total := p.ActorPage(each)
			answers[i].actors, answers[i].total = actors, int64(total)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			r, err := p.Ask(ctx, host.Message{Command: "get_actors", Recipient: host.Address{Node: node}, Body: host.Object{
				{Key: "limit", Value: int64(each.Limit)}, {Key: "filter", Value: each.Filter}}}, 5*time.Second)
			switch {
			case err != nil:
				answers[i].err = err.Error()
			case r.Command != "actors":
				answers[i].err = r.Command
			default:
				o, _ := r.Body.(host.Object)
				answers[i].actors, _ = mustGet(o, "actors").(host.Array)
				switch n := mustGet(o, "total").(type) {
				case int64:
					answers[i].total = n
				case float64:
					answers[i].total = int64(n)
				default: // a process of an older build: what it listed
					answers[i].total = int64(len(answers[i].actors))
				}
			}
		}()
	}
	wg.Wait()
	all := host.Array{}
	var total int64
	listed := make(host.Array, 0, len(nodes))
	var unreachable host.Array
	for i, a := range answers {
		if a.err != "" {
			unreachable = append(unreachable, host.Object{{Key: "node", Value: nodes[i]}, {Key: "error", Value: a.err}})
			continue
		}
		listed = append(listed, nodes[i])
		all = append(all, a.actors...)
		total += a.total
	}
	sort.SliceStable(all, func(i, j int) bool {
		a, _ := all[i].(host.Object)
		b, _ := all[j].(host.Object)
		return a.String("name") < b.String("name")
	})
	all = all[min(q.Offset, len(all)):]
	if q.Limit > 0 && len(all) > q.Limit {
		all = all[:q.Limit]
	}
	body := host.Object{{Key: "scope", Value: "system"}, {Key: "node", Value: p.AdminName()}, {Key: "actors", Value: all}, {Key: "nodes", Value: listed},
		{Key: "total", Value: total}, {Key: "offset", Value: int64(q.Offset)}, {Key: "limit", Value: int64(q.Limit)}}
	if unreachable != nil {
		body = append(body, host.Field{Key: "unreachable", Value: unreachable})
	}
	p.Reply(&req, "actors", body)
}

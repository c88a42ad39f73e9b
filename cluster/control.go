package cluster

import (
	"slices"

	"github.com/peacepie/peacepie/host"
)

// The control plane: what the reader of each kind of link does with the
// control frames that come on it (messages of the other end's system
// code, wire.KindControl; linkDecoder.decode marks them System). Each
// table is the whole of a reader's verbs, acted on in link order on the
// reader's goroutine, for frames addressed to this process's admin; a
// verb not in the table goes on as an ordinary message (to the admin,
// which accepts internal verbs only from the system: host/verbs.go, and
// answers asks such as reserve_name there, Head.Admin). docs/protocol.md
// lists the verbs, "Internal verbs".

// childControl: a child, from its head.
var childControl = map[string]func(c *Child, m *host.Message){
	"exit_process": func(c *Child, _ *host.Message) { c.proc.Shutdown() },
	"activate": func(c *Child, m *host.Message) {
		// In link order: what the head sends after it must find the actor.
		if err := c.proc.Activate(bodyOf(m).String("entity")); err != nil {
			c.log.Error("activate after a move", "error", err.Error())
		}
	},
	"process_gone": func(c *Child, m *host.Message) {
		o := bodyOf(m)
		if c.direct != nil {
			c.direct.gone(o.String("node"))
		}
		c.proc.ProcessGone(o.String("node"), o.String("reason"), stringList(o, "names")...)
	},
	"go_threads": func(c *Child, m *host.Message) {
		// The head shares the host's cores among its processes.
		v, _ := bodyOf(m).Get("n")
		if n, ok := v.(int64); ok && n >= 1 && n <= maxGoThreads {
			c.proc.SetGoThreads(int(n))
		} else {
			c.log.Warn("bad go_threads from the head: want {\"n\": a count of threads}", "body", describe(m.Body))
		}
	},
	"packages": func(c *Child, m *host.Message) {
		// Before anything the head sends after it (link order).
		if c.Packages != nil {
			if err := c.Packages(bodyOf(m).String("set")); err != nil {
				c.log.Error("the system's package set is not applied", "error", err.Error())
			}
		}
	},
	"watch_events": func(c *Child, m *host.Message) { c.fwd.set(watchEventsOn(m)) },
	"head_lost": func(c *Child, m *host.Message) {
		if c.direct != nil {
			c.direct.rootLost()
		}
		c.proc.HeadLost(bodyOf(m).String("reason"), nil)
	},
	"root_changed": func(c *Child, m *host.Message) {
		c.proc.RootChanged() // its flushes and moves out that the lost root ran end (host/moveout.go)
		if root := bodyOf(m).String("root"); c.direct != nil && root != "" {
			c.direct.rootChanged(root)
		}
	},
	// Direct routes (direct.go); ignored by a child without direct links.
	"route_hint": func(c *Child, m *host.Message) {
		if o := bodyOf(m); c.direct != nil {
			go c.direct.hinted(o.String("entity"), o.String("node"), o.String("addr"), c.viaOr(o.String("via")))
		}
	},
	"route_switch": func(c *Child, m *host.Message) {
		// To the actor's process: the asker's earlier messages are in. The
		// answer goes to the head that asked (via; through this host's
		// head if it is the root).
		o := bodyOf(m)
		if c.direct == nil {
			return
		}
		r := host.Message{System: true, ID: c.proc.NewMID(), Command: "route_switched", Recipient: host.Address{Node: c.viaOr(o.String("via"))},
			Body: host.Object{{Key: "entity", Value: o.String("entity")}, {Key: "node", Value: o.String("node")}, {Key: "epoch", Value: int64(epochOf(o))}}}
		sendOn(c.conn, r)
	},
	"route_switched": func(c *Child, m *host.Message) {
		if o := bodyOf(m); c.direct != nil {
			c.direct.switched(o.String("entity"), epochOf(o))
		}
	},
	"route_refused": func(c *Child, m *host.Message) {
		if o := bodyOf(m); c.direct != nil {
			c.direct.refused(o.String("entity"), epochOf(o))
		}
	},
	"route_end": func(c *Child, m *host.Message) {
		if o := bodyOf(m); c.direct != nil {
			c.direct.ended(o.String("entity"), mustGet(o, "wait"), o.String("via"))
		}
	},
}

// childLinkControl: a head, from one of its children (from, the child's
// admin).
var childLinkControl = map[string]func(h *Head, from string, m *host.Message){
	"child_event": func(h *Head, _ string, m *host.Message) { h.childEvent(m) },
	"child_stats": func(h *Head, _ string, m *host.Message) { h.childStats(m) },
	"direct_addr": func(h *Head, from string, m *host.Message) { h.noteDirectAddr(from, m) },
	"route_switch": func(h *Head, from string, m *host.Message) {
		o := bodyOf(m)
		h.routeSwitch(from, o.String("entity"), o.String("node"), mustGet(o, "epoch"))
	},
	"route_switched": func(h *Head, _ string, m *host.Message) { h.routeSwitched(m) },
	"route_ended":    func(h *Head, _ string, m *host.Message) { h.routeEnded(m) },
	"route_held": func(h *Head, from string, m *host.Message) {
		if list, ok := mustGet(bodyOf(m), "routes").(host.Array); ok {
			h.routesHeld(from, list)
		}
	},
}

// memberControl: the root, from the head of another host (mb). A host
// speaks only for itself: what it says of another host's processes is
// ignored.
var memberControl = map[string]func(h *Head, mb *member, m *host.Message){
	"host_join":         func(h *Head, mb *member, m *host.Message) { h.memberJoined(mb, *m) },
	"host_processes":    func(h *Head, mb *member, m *host.Message) { h.memberProcesses(mb, m) },
	"directory_replica": func(h *Head, mb *member, m *host.Message) { h.replicaOffered(mb, m) },
	"name_flush":        func(h *Head, mb *member, m *host.Message) { h.answerFlush(mb, *m) },
	// Direct routes between children of different hosts (direct.go): a
	// host asks only for its own children; the answers and markers come
	// from the host of the actor's process.
	"route_switch": func(h *Head, mb *member, m *host.Message) {
		o := bodyOf(m)
		if from := o.String("from"); hostOf(from) == mb.host {
			h.routeSwitch(from, o.String("entity"), o.String("node"), mustGet(o, "epoch"))
		}
	},
	"route_wanted": func(h *Head, mb *member, m *host.Message) {
		o := bodyOf(m)
		if from := o.String("from"); hostOf(from) == mb.host {
			h.hint(from, o.String("entity"))
		}
	},
	"route_switched": func(h *Head, _ *member, m *host.Message) { h.routeSwitched(m) },
	"route_ended":    func(h *Head, _ *member, m *host.Message) { h.routeEnded(m) },
	"route_held": func(h *Head, mb *member, m *host.Message) {
		o := bodyOf(m)
		if list, ok := mustGet(o, "routes").(host.Array); ok && hostOf(o.String("from")) == mb.host {
			h.routesHeld(o.String("from"), list)
		}
	},
	// A host forwards only its own processes' events and stats (events.go):
	// what else came would loop.
	"child_event": func(h *Head, mb *member, m *host.Message) {
		if hostOf(bodyOf(m).String("node")) == mb.host {
			h.childEvent(m)
		}
	},
	"child_stats": func(h *Head, mb *member, m *host.Message) {
		if hostOf(bodyOf(m).String("node")) == mb.host {
			h.childStats(m)
		}
	},
	"watch_system": func(_ *Head, mb *member, m *host.Message) { mb.down.set(watchEventsOn(m)) },
	"process_gone": func(h *Head, mb *member, m *host.Message) {
		o := bodyOf(m)
		node := o.String("node")
		if hostOf(node) != mb.host || node == mb.node {
			h.log.Warn("a host reported the end of a process not its own", "host", mb.host, "node", node)
			return
		}
		restart, _ := mustGet(o, "restart").(bool)
		h.nodeGone(node, o.String("reason"), restart)
	},
}

// uplinkControl: the head of a host that is not the root, from the root
// (host_welcome and join_elsewhere go to the join that waits for them:
// fromRoot).
var uplinkControl = map[string]func(h *Head, m *host.Message){
	"activate": func(h *Head, m *host.Message) {
		if err := h.proc.Activate(bodyOf(m).String("entity")); err != nil {
			h.log.Error("activate after a move", "error", err.Error())
		}
	},
	"name_here":    func(h *Head, m *host.Message) { h.nameNotice(m) },
	"name_flushed": func(h *Head, m *host.Message) { h.nameNotice(m) },
	"name_gone":    func(h *Head, m *host.Message) { h.nameNotice(m) },
	"watch_events": func(h *Head, m *host.Message) { h.fwd.set(watchEventsOn(m)) },
	"child_event":  func(h *Head, m *host.Message) { h.childEvent(m) }, // the rest of the system's, while this head is watched
	"child_stats":  func(h *Head, m *host.Message) { h.childStats(m) },
	"process_gone": func(h *Head, m *host.Message) { h.rootSaysGone(m) },
	"packages":     func(h *Head, m *host.Message) { h.followPackages(bodyOf(m).String("set")) },
	"exit_host": func(h *Head, _ *host.Message) {
		h.log.Info("the system is exiting")
		h.proc.Shutdown()
	},
}

// memberProcesses notes the processes a host says it has now
// (host_processes): its own only.
func (h *Head) memberProcesses(mb *member, m *host.Message) {
	nodes := mb.ownNodes(stringList(bodyOf(m), "nodes"))
	if list, ok := mustGet(bodyOf(m), "direct").(host.Array); ok {
		h.memberDirectAddrs(mb, list)
	}
	h.mu.Lock()
	old := mb.nodes
	mb.nodes = nodes
	h.mu.Unlock()
	for _, n := range nodes {
		if !slices.Contains(old, n) {
			h.proc.ProcessCreated(n)
		}
	}
}

// rootSaysGone acts on the root's process_gone (not root): the asks
// waiting on the process fail, and this host's children hear of it.
func (h *Head) rootSaysGone(m *host.Message) {
	o := bodyOf(m)
	names := stringList(o, "names")
	h.proc.ProcessGone(o.String("node"), o.String("reason"), names...)
	h.mu.Lock()
	to := h.neighbours("")
	h.mu.Unlock()
	h.tellGone(to, o.String("node"), o.String("reason"), names)
}

// bodyOf returns a message's body as an object (empty if it is not one).
func bodyOf(m *host.Message) host.Object {
	o, _ := m.Body.(host.Object)
	return o
}

// epochOf reads a route notice's epoch (0 when missing).
func epochOf(o host.Object) uint64 {
	v, _ := o.Get("epoch")
	n, _ := v.(int64)
	return uint64(n)
}

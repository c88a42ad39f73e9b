package cluster

import (
	"context"
	"fmt"
	"time"

	"github.com/peacepie/peacepie/host"
)

// The head of a host other than the root routes the names of its own
// child processes' actors itself, for the actors of its own process and
// of its children (upFromChild): the processes of a host talk without a
// trip to the root, and the head gives its children direct routes to each
// other (direct.go). Its table (hostDir) changes only by what
// the root sends down the uplink, in the root's order:
//
//   - name_here {name, node, epoch}: the name lives in that child now
//     (made, or moved in). The head does not route it yet: messages its
//     processes sent up for it before may still be on their way. It sends
//     name_flush {name, epoch} up behind them; the root answers name_flushed
//     behind them, but only while the name is not moving (the root may be
//     holding some of them, to deliver after the move); then, if the epoch
//     is still the one it waits for, the head routes the name itself.
//   - name_gone {name}: the name no longer lives here (removed, or moving
//     out: the root asks, and waits for the answer before it takes the
//     actor out, so every message the head routed to it is ahead of
//     move_out on the child's link).
//
// Everything else goes up, as before.

// tellNameLocked tells the host of node, if it is another one, that name
// lives there (root, h.mu held; sent from out once it is released).
func (h *Head) tellNameLocked(out *outbox, name, node string) {
	if mb := h.members[hostOf(node)]; mb != nil && node != mb.node {
		h.epoch++
		m := host.Message{System: true, ID: h.proc.NewMID(), Command: "name_here", Recipient: host.Address{Node: mb.node},
			Body: host.Object{{Key: "name", Value: name}, {Key: "node", Value: node}, {Key: "epoch", Value: h.epoch}}}
		out.add(mb.conn, m)
	}
}

// flush is a name a host waits to route itself: where it lives, and the
// epoch of the name_here that said so.
type flush struct {
	node  string
	epoch int64
}

// answerFlush sends name_flushed back to the member behind everything it
// sent before, unless the name is moving: then messages for it may be
// held here, and the member must not route it before they are delivered
// (the move ends with a new name_here, or a name_gone). Root, in the
// member's link order.
func (h *Head) answerFlush(m *member, msg host.Message) {
	o, _ := msg.Body.(host.Object)
	name := o.String("name")
	h.mu.Lock()
	if h.moving[name] != nil || hostOf(h.dir[name]) != m.host {
		h.mu.Unlock()
		return
	}
	back := host.Message{System: true, ID: h.proc.NewMID(), Command: "name_flushed", Recipient: host.Address{Node: m.node},
		Body: host.Object{{Key: "name", Value: name}, {Key: "epoch", Value: mustGet(o, "epoch")}}}
	o2 := reserve(m.conn, back)
	h.mu.Unlock()
	if err := o2.send(); err != nil {
		h.log.Warn("name_flushed is not sent", "host", m.host, "actor", name, "error", err.Error())
	}
}

// forgetNameLocked tells the host of node, if it is another one, that name
// no longer lives there (root, h.mu held; sent from out once it is
// released).
func (h *Head) forgetNameLocked(out *outbox, name, node string) {
	if mb := h.members[hostOf(node)]; mb != nil && node != mb.node {
		m := host.Message{System: true, ID: h.proc.NewMID(), Command: "name_gone", Recipient: host.Address{Node: mb.node},
			Body: host.Object{{Key: "name", Value: name}}}
		out.add(mb.conn, m)
	}
}

// hostUnrouteTimeout bounds a host's wait for the markers of its
// children's direct routes to a name the root takes back: less than the
// root's wait for the answer.
const hostUnrouteTimeout = 8 * time.Second

// takeNameBack makes the host of node, if it is another one, stop routing
// name itself, and waits until it has (root, before a move out of it).
func (h *Head) takeNameBack(ctx context.Context, name, node string) error {
	h.mu.Lock()
	mb := h.members[hostOf(node)]
	h.mu.Unlock()
	if mb == nil || node == mb.node {
		return nil
	}
	r, err := h.proc.Ask(ctx, host.Message{System: true, Command: "name_gone", Recipient: host.Address{Node: mb.node},
		Body: host.Object{{Key: "name", Value: name}}}, 10*time.Second)
	if err == nil && r.Command != "name_is_gone" {
		err = fmt.Errorf("%s: %s", r.Command, describe(r.Body))
	}
	if err != nil {
		return fmt.Errorf("%s did not give %q back: %w", mb.host, name, err)
	}
	return nil
}

// nameNotice handles name_here, name_flushed and name_gone from the root
// (not root; in the uplink's order).
func (h *Head) nameNotice(m *host.Message) {
	o, _ := m.Body.(host.Object)
	name := o.String("name")
	epoch, _ := mustGet(o, "epoch").(int64)
	var out outbox
	var unrouted *unrouteWait
	h.mu.Lock()
	switch m.Command {
	case "name_here":
		node := o.String("node")
		delete(h.hostDir, name)
		h.sendHeldLocked(&out, name, h.rootNode) // an earlier flush is over: they follow their way
		delete(h.flushing, name)
		if h.children[node] == nil || h.up == nil {
			h.mu.Unlock()
			out.send(h.log)
			return
		}
		h.flushing[name] = flush{node: node, epoch: epoch}
		// Its place taken under h.mu, as every message routed up: it
		// follows them all.
		f := host.Message{System: true, ID: h.proc.NewMID(), Command: "name_flush", Recipient: host.Address{Node: h.up.Peer()},
			Body: host.Object{{Key: "name", Value: name}, {Key: "epoch", Value: epoch}}}
		out.add(h.up, f)
	case "name_flushed":
		if f, ok := h.flushing[name]; ok && f.epoch == epoch {
			delete(h.flushing, name)
			if h.children[f.node] != nil {
				h.hostDir[name] = f.node
			}
			h.sendHeldLocked(&out, name, f.node) // before anything routed directly
		}
	case "name_gone":
		delete(h.hostDir, name)
		delete(h.flushing, name)
		h.sendHeldLocked(&out, name, h.rootNode) // ahead of what follows: the root holds them all
		// The direct routes of this host's children to it end too; the
		// answer to the root's ask (before a move) waits for their markers.
		// A notice (a release) waits for nothing.
		if unrouted = h.endRoutesLocked(&out, name, !m.Sender.IsZero()); unrouted != nil {
			h.unrouting[name] = unrouted
		}
	}
	h.mu.Unlock()
	out.send(h.log)
	if m.Command != "name_gone" {
		return
	}
	if unrouted == nil {
		h.proc.Reply(m, "name_is_gone", host.Object{{Key: "name", Value: name}})
		return
	}
	go func() { // not on the uplink's reader: the markers come on the children's links
		// Within the root's wait for the answer (takeNameBack, 10 s).
		ctx, cancel := context.WithTimeout(context.Background(), hostUnrouteTimeout)
		defer cancel()
		h.awaitUnroute(ctx, name, unrouted)
		h.proc.Reply(m, "name_is_gone", host.Object{{Key: "name", Value: name}})
	}()
}

// upFromChild routes a message from a child for an actor that is not in
// this process (not root): to the sibling where the actor lives, if the
// root gave this head its name (hostDir; the flush put every message
// that went up for it before ahead of it), held while its flush is on,
// else up to the root, as the messages the child sent before it went, so
// that none overtakes another. Without the root, it reports false: the
// host's own names still route.
func (h *Head) upFromChild(m host.Message) bool {
	e := m.Recipient.Entity
	if h.root.Load() || e == "" || m.Transit || m.Command == "exit" || m.Command == "quit" || h.proc.Lookup(e) != nil {
		return false
	}
	if m.Hops >= host.MaxHops {
		return false // the ordinary way reports the loop
	}
	m.Hops++
	h.mu.Lock()
	if _, ok := h.flushing[e]; ok {
		// Behind what went up for it before, as this process's own; when
		// the queue is full, the ordinary way refuses it to its sender.
		err := h.holdForFlushLocked(e, m)
		h.mu.Unlock()
		return err == nil
	}
	to := h.rootNode
	if n := h.hostDir[e]; n != "" && n != m.Sender.Node {
		to = n // a sibling's actor that the root gave this head to route
	}
	o, err := h.routeLocked(to, m)
	h.mu.Unlock()
	return err == nil && o.send() == nil
}

// answerRouteFlush answers route_flush from the process where a moved actor
// arrived (root): route_flushed behind everything that process sent
// before, unless the actor is moving again (messages for it may be held
// here): then the move's end asks for the flush again (finish).
func (h *Head) answerRouteFlush(name, node string, epoch any) {
	h.mu.Lock()
	if h.moving[name] != nil {
		h.flushWait[name] = node
		h.mu.Unlock()
		return
	}
	m := host.Message{System: true, ID: h.proc.NewMID(), Command: "route_flushed", Recipient: host.Address{Node: node},
		Body: host.Object{{Key: "entity", Value: name}, {Key: "epoch", Value: epoch}}}
	o, err := h.routeLocked(node, m) // its place behind everything node sent before
	h.mu.Unlock()
	if err == nil {
		err = o.send()
	}
	if err != nil {
		h.log.Warn("route_flushed is not delivered", "actor", name, "node", node, "error", err.Error())
	}
}

// sendHeldLocked takes the places on their link, in order, of the
// messages held for name's flush, for node (not root, h.mu held; out sends
// them once it is released).
func (h *Head) sendHeldLocked(out *outbox, name, node string) {
	q := h.flushQ[name]
	delete(h.flushQ, name)
	for _, m := range q {
		o, err := h.routeLocked(node, m)
		if err != nil {
			h.log.Warn("a message held for a name's flush is not delivered", "actor", name, "error", err.Error())
			continue
		}
		*out = append(*out, o)
	}
}

// forgetNode drops the names of a child that is gone (not root).
func (h *Head) forgetNode(node string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for name, n := range h.hostDir {
		if n == node {
			delete(h.hostDir, name)
			delete(h.routes, name) // their holders' links to node end with it
		}
	}
	for name, f := range h.flushing {
		if f.node == node {
			delete(h.flushing, name)
			delete(h.flushQ, name) // they are lost with the process
			delete(h.routes, name)
		}
	}
}

// flushAll routes the names waiting for a flush once the root is gone:
// nothing sent up can come back now (not root).
func (h *Head) flushAll() {
	var out outbox
	h.mu.Lock()
	for name, f := range h.flushing {
		if h.children[f.node] != nil {
			h.hostDir[name] = f.node
		}
		delete(h.flushing, name)
		h.sendHeldLocked(&out, name, f.node)
	}
	h.mu.Unlock()
	out.send(h.log)
}

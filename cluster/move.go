package cluster

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/peacepie/peacepie/host"
)

// move is an actor on its way between processes. While it moves, the head
// holds every message for it: transits (sent on by its old place, older)
// and the others, and delivers them, in that order, once it has arrived.
type move struct {
	from, to string
	id       string // names it to the old process, which keeps a copy until it is done (host/moveout.go)
	transits []host.Message
	held     []host.Message
}

// holdLocked keeps m for the end of name's move (h.mu held): a transit
// (a message the old place had taken) always, any other message while the
// move holds fewer than the process's mailbox limit; past it, m is refused
// with host.ErrMailboxFull, as the actor's mailbox would refuse it.
func (h *Head) holdLocked(mv *move, name string, m host.Message) error {
	if m.Transit {
		mv.transits = append(mv.transits, m)
		return nil
	}
	if limit := h.proc.MailboxLimit(); limit > 0 && len(mv.held)+len(mv.transits) >= limit {
		return fmt.Errorf("%w: %q is moving and %d messages wait for it, its limit", host.ErrMailboxFull, name, limit)
	}
	mv.held = append(mv.held, m)
	return nil
}

// holdForFlushLocked keeps m for the end of name's flush (not root, h.mu
// held), up to the process's mailbox limit (host.ErrMailboxFull past it).
func (h *Head) holdForFlushLocked(name string, m host.Message) error {
	if limit := h.proc.MailboxLimit(); limit > 0 && len(h.flushQ[name]) >= limit {
		return fmt.Errorf("%w: %d messages wait for the route to %q, its limit", host.ErrMailboxFull, limit, name)
	}
	h.flushQ[name] = append(h.flushQ[name], m)
	return nil
}

// routeAway is the root's Route of a message for an actor that its
// process did not find, in one step under h.mu, where the directory, the
// moves and (Head.mu → Process.mu) the process's registry agree: the actor
// may have arrived here meanwhile (it is pushed), be moving (the message
// is held, a transit with the transits), or live in another process (the
// message takes its place on that link, and is encoded and written once
// h.mu is released).
func (h *Head) routeAway(m host.Message) (host.Place, error) {
	name := m.Recipient.Entity
	h.mu.Lock()
	if delivered, err := h.proc.PushHere(m); delivered {
		h.mu.Unlock()
		return nil, err
	}
	if mv := h.moving[name]; mv != nil {
		err := h.holdLocked(mv, name, m)
		h.mu.Unlock()
		h.noteRefusal(m, err)
		return nil, err
	}
	node := h.dir[name]
	if node == "" {
		why := h.deadNames.why(name)
		h.mu.Unlock()
		if why != "" {
			return nil, fmt.Errorf("%w: %q: %s", host.ErrNoActor, name, why)
		}
		return nil, fmt.Errorf("%w: %q", host.ErrNoActor, name)
	}
	c, err := h.linkLocked(node)
	if err != nil {
		h.mu.Unlock()
		return nil, err
	}
	s := c.Reserve()
	h.mu.Unlock()
	return h.placeFor(node, m, s), nil
}

// owner returns the node an actor lives in, or "".
func (h *Head) owner(name string) string {
	if h.proc.Lookup(name) != nil {
		return h.proc.AdminName()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.dir[name]
}

func (h *Head) isNode(node string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.isNodeLocked(node)
}

// isNodeLocked reports whether node is a running process of the system
// (under h.mu).
func (h *Head) isNodeLocked(node string) bool {
	if node == h.proc.AdminName() {
		return true
	}
	if h.children[node] != nil {
		return true
	}
	if m := h.members[hostOf(node)]; m != nil {
		for _, n := range m.nodes {
			if n == node {
				return true
			}
		}
	}
	return false
}

// moveActor runs recreate_actor {"entity", "node", "class_desc"?} between
// two processes:
//  1. the head starts holding the actor's messages;
//  2. the old process takes the actor out (params, queue) and sends on, as
//     transits, what still reaches it;
//  3. the new process adopts it, hidden, with start and the queue;
//  4. under the head's lock: the directory points to the new place, the
//     held messages go there (transits first), then activate. Every
//     message to the actor is routed by the head after that, so none
//     overtakes them.
func (h *Head) moveActor(p *host.Process, req host.Message) {
	fail := func(err error) {
		p.Reply(&req, "actor_is_not_recreated", host.Object{{Key: "mid", Value: req.ID.String()}, {Key: "error", Value: err.Error()}})
	}
	body, _ := req.Body.(host.Object)
	name, to := body.String("entity"), body.String("node")
	from := h.owner(name)
	if err := h.writesRefused(); err != nil {
		fail(fmt.Errorf("move %q: %w", name, err))
		return
	}
	switch {
	case from == "":
		fail(fmt.Errorf("%w: %q", host.ErrNoActor, name))
		return
	case !h.isNode(to):
		fail(fmt.Errorf("%w: %s is not a process of this system", host.ErrNoProcess, to))
		return
	}
	timeout := 30 * time.Second
	if req.Timeout > 0 {
		timeout = time.Duration(req.Timeout * float64(time.Second))
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if from == to {
		// In place: the owner does it (a restart or a hot upgrade).
		r, err := p.Ask(ctx, host.Message{System: true, Command: "recreate_actor", Recipient: host.Address{Node: from},
			Body: host.Object{{Key: "entity", Value: name}, {Key: "class_desc", Value: mustGet(body, "class_desc")}}}, timeout)
		if err != nil {
			fail(err)
			return
		}
		p.Reply(&req, r.Command, r.Body)
		return
	}
	h.mu.Lock()
	if h.moving[name] != nil {
		h.mu.Unlock()
		fail(fmt.Errorf("%w: %q is already moving", host.ErrBadRequest, name))
		return
	}
	h.moves++
	mv := &move{from: from, to: to, id: fmt.Sprintf("%s#%d", h.proc.AdminName(), h.moves)}
	h.moving[name] = mv
	h.mu.Unlock()
	h.unroute(ctx, name) // every direct message to it is in its mailbox
	if err := h.takeNameBack(ctx, name, from); err != nil {
		h.finish(name, mv, from, false)
		fail(fmt.Errorf("take %q out of %s: %w", name, from, err))
		return
	}
	out, err := p.Ask(ctx, host.Message{System: true, Command: "move_out", Recipient: host.Address{Node: from},
		Body: host.Object{{Key: "entity", Value: name}, {Key: "to", Value: to}, {Key: "move", Value: mv.id}}}, timeout)
	if err == nil && out.Command != "moved_out" {
		err = fmt.Errorf("%s: %s", out.Command, describe(out.Body))
	}
	if err != nil {
		h.finish(name, mv, from, false) // it never left: deliver what was held there
		fail(fmt.Errorf("take %q out of %s: %w", name, from, err))
		return
	}
	ob, _ := out.Body.(host.Object)
	desc := mustGet(ob, "class_desc")
	if cd := mustGet(body, "class_desc"); cd != nil {
		desc = cd // a hot upgrade on the way
	}
	adopt := host.Object{{Key: "entity", Value: name}, {Key: "class_desc", Value: desc},
		{Key: "params", Value: mustGet(ob, "params")}, {Key: "queue", Value: mustGet(ob, "queue")}, {Key: "move", Value: mv.id}}
	in, err := p.Ask(ctx, host.Message{System: true, Command: "adopt_actor", Recipient: host.Address{Node: to}, Body: adopt}, timeout)
	if err == nil && in.Command != "adopted" {
		err = fmt.Errorf("%s: %s", in.Command, describe(in.Body))
	}
	if err != nil {
		// It cannot live there: it goes back where it was, as it was.
		adopt[1].Value = mustGet(ob, "class_desc")
		back, berr := p.Ask(ctx, host.Message{System: true, Command: "adopt_actor", Recipient: host.Address{Node: from}, Body: adopt}, timeout)
		if berr != nil || back.Command != "adopted" {
			h.log.Error("an actor that could not move could not go back either", "actor", name, "error", fmt.Sprint(berr))
		}
		h.finish(name, mv, from, true)
		fail(fmt.Errorf("%s cannot take %q (it stays in %s): %w", to, name, from, err))
		return
	}
	h.finish(name, mv, to, true)
	h.log.Info("actor is moved", "actor", name, "from", from, "to", to)
	p.Reply(&req, "actor_is_recreated", host.Object{{Key: "mid", Value: req.ID.String()}, {Key: "node", Value: to}, {Key: "entity", Value: name}})
}

// finish ends a move: the held messages go to node (transits first), then,
// if the actor was adopted there, it is activated; the directory points
// there. All under the head's lock, which every routing of the actor takes
// (routeAway), so nothing overtakes them: their places on the link are
// taken under it, and they are encoded and written once it is released
// (outbox.go).
//
// If node died during the move, the actor died with it: its death
// (nodeGone) already took the name out of the directory and told every
// process, and the name stays out (the held messages are dropped).
func (h *Head) finish(name string, mv *move, node string, activate bool) {
	var out outbox
	h.mu.Lock()
	defer func() {
		h.mu.Unlock()
		out.send(h.log)
	}()
	local := node == h.proc.AdminName()
	send := func(m host.Message) {
		m.Transit = true
		var err error
		if local {
			err = h.proc.PushAdopted(m)
			if err != nil && !activate {
				err = h.proc.PushLocal(m) // it never left the head
			}
		} else {
			var o outgoing
			if o, err = h.routeLocked(node, m); err == nil {
				out = append(out, o)
			}
		}
		if err != nil {
			h.log.Warn("a held message is not delivered", "actor", name, "error", err.Error())
		}
	}
	for _, m := range mv.transits {
		send(m)
	}
	for _, m := range mv.held {
		send(m)
	}
	alive := h.isNodeLocked(node)
	if !alive {
		h.log.Warn("an actor's process died while it moved: the actor is gone", "actor", name, "node", node)
	}
	if local {
		delete(h.dir, name)
		h.dirChanged(name)
	} else if alive {
		h.dir[name] = node
		h.dirChanged(name)
		defer h.tellNameLocked(&out, name, node) // after activate: its host may route it itself
	}
	if w, ok := h.flushWait[name]; ok {
		delete(h.flushWait, name)
		if w == node && !activate { // it stayed there, still waiting for its flush
			m := host.Message{System: true, ID: h.proc.NewMID(), Command: "route_reflush", Recipient: host.Address{Node: node},
				Body: host.Object{{Key: "entity", Value: name}}}
			if o, err := h.routeLocked(node, m); err != nil {
				h.log.Warn("route_reflush is not delivered", "actor", name, "error", err.Error())
			} else {
				out = append(out, o)
			}
		}
	}
	if activate && alive {
		if local {
			if err := h.proc.Activate(name); err != nil {
				h.log.Error("activate after a move", "actor", name, "error", err.Error())
			}
		} else {
			act := host.Message{System: true, ID: h.proc.NewMID(), Command: "activate", Recipient: host.Address{Node: node},
				Body: host.Object{{Key: "entity", Value: name}}}
			if o, err := h.routeLocked(node, act); err != nil {
				h.log.Error("activate after a move", "actor", name, "error", err.Error())
			} else {
				out = append(out, o)
			}
		}
		if node != mv.from { // the old process drops its copy (after activate: it is done)
			h.moveDoneLocked(&out, name, mv)
		}
	}
	delete(h.moving, name)
}

// moveDoneLocked tells a move's old process that the move is done
// (move_done): it drops the copy it kept (h.mu held; sent from out).
func (h *Head) moveDoneLocked(out *outbox, name string, mv *move) {
	if skipMoveDone.Load() {
		return
	}
	if mv.from == h.proc.AdminName() {
		h.proc.MoveDone(name, mv.id)
		return
	}
	if !h.isNodeLocked(mv.from) {
		return
	}
	m := host.Message{System: true, ID: h.proc.NewMID(), Command: "move_done", Recipient: host.Address{Node: mv.from},
		Body: host.Object{{Key: "entity", Value: name}, {Key: "move", Value: mv.id}}}
	if o, err := h.routeLocked(mv.from, m); err != nil {
		h.log.Warn("move_done is not delivered", "actor", name, "node", mv.from, "error", err.Error())
	} else {
		*out = append(*out, o)
	}
}

// skipMoveDone, set by tests, stands for a root that dies between a
// move's activate and its move_done.
var skipMoveDone atomic.Bool

// moveSettled answers move_settled {entity, node, other} from a process
// that settled a move whose root was lost (host.Process.RootChanged):
// the actor lives in node, where the directory, which came from the lost
// root's replica, may say other (or nothing). A name another actor holds
// meanwhile stays with it.
func (h *Head) moveSettled(p *host.Process, req host.Message) {
	body := bodyOf(&req)
	name, node, other := body.String("entity"), body.String("node"), body.String("other")
	var out outbox
	h.mu.Lock()
	cur := h.dir[name]
	here := h.proc.Lookup(name) != nil
	var err error
	switch {
	case h.moving[name] != nil:
		err = fmt.Errorf("%w: %q is moving", host.ErrBadRequest, name)
	case !h.isNodeLocked(node):
		err = fmt.Errorf("%w: %s is not a process of this system", host.ErrNoProcess, node)
	case node == h.proc.AdminName():
		if !here {
			err = fmt.Errorf("%w: %q is not in %s", host.ErrNoActor, name, node)
		} else if cur != "" {
			delete(h.dir, name)
			h.forgetNameLocked(&out, name, cur)
			h.dirChanged(name)
		}
	case here || (cur != "" && cur != node && cur != other):
		err = fmt.Errorf("%w: %q", host.ErrNameTaken, name)
	case cur != node:
		if cur != "" {
			h.forgetNameLocked(&out, name, cur)
		}
		h.dir[name] = node
		h.deadNames.forget(name)
		h.tellNameLocked(&out, name, node)
		h.dirChanged(name)
	}
	h.mu.Unlock()
	out.send(h.log)
	if err != nil {
		h.log.Warn("a move whose root was lost is not settled in the directory", "actor", name, "node", node, "error", err.Error())
		p.Reply(&req, "move_is_not_settled", host.Object{{Key: "mid", Value: req.ID.String()}, {Key: "error", Value: err.Error()}})
		return
	}
	p.Reply(&req, "move_is_settled", host.Object{{Key: "entity", Value: name}, {Key: "node", Value: node}})
}

func describe(v any) string {
	if o, ok := v.(host.Object); ok { // an error reply: its message, or a refusal: its error
		for _, key := range []string{"message", "error"} {
			if msg := o.String(key); msg != "" {
				return msg
			}
		}
	}
	data, err := host.MarshalValue(v)
	if err != nil {
		return err.Error()
	}
	return string(data)
}

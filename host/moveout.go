package host

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// A move's copy in its old process (moves whose root dies).
//
// The root runs a move (cluster/move.go): it takes the actor out of its old
// process, has the new one adopt it hidden, then activates it there. If
// the root dies in between, the actor would be lost with it: its state
// travels in the root's asks. So the old process keeps what it gave (the
// class, the params, the queue and the transits sent on after it) until
// the root says the move is done (move_done), or the actor comes back
// (Adopt). When its head tells it that another root heads the system
// (RootChanged, on root_changed), it asks the new process what became
// of each move it still holds (move_fate): an actor activated there stays
// there; one still hidden there, or never adopted, is dropped there (the
// move is undone for good: a late adopt_actor of it is refused) and made
// again here, from the copy. Either way the new root hears where it lives
// (move_settled), since its directory came from the lost root's replica,
// which may lag. Messages that reach this process for it meanwhile are
// kept with the copy and follow it.

// movedOut is what an old process keeps of an actor it gave to a move.
type movedOut struct {
	class    ClassInfo
	params   Object
	queue    []Message // what it had queued, then the transits sent on after
	to, move string    // the new process and the move's id (from move_out)
	orphan   bool      // its root is lost: messages for it are kept here
	orphanAt int       // queue[orphanAt:] came after the root was lost
	dropped  int       // messages not kept (over the mailbox limit)
}

// undoneMoves bounds the moves a new process remembers having undone.
const undoneMoves = 1024

// keepMovedOut starts the copy of an actor that a move takes out (p.mu
// not held); the caller puts its queue ahead of the transits kept.
func (p *Process) keepMovedOut(name string, class ClassInfo, params Object, to, move string) *movedOut {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.movedOut == nil {
		p.movedOut = make(map[string]*movedOut)
	}
	p.dropMovedOutLocked(name, p.movedOut[name])
	mo := &movedOut{class: class, params: params, to: to, move: move}
	p.movedOut[name] = mo
	return mo
}

// dropMovedOutLocked forgets name's copy if it is mo (p.mu held).
func (p *Process) dropMovedOutLocked(name string, mo *movedOut) {
	if mo == nil || p.movedOut[name] != mo {
		return
	}
	delete(p.movedOut, name)
	if mo.orphan {
		p.nOrphans.Add(-1)
	}
}

// keepLocked adds m to name's copy, up to the mailbox limit (p.mu held).
// It reports whether name has a copy.
func (p *Process) keepLocked(name string, m Message) bool {
	mo := p.movedOut[name]
	if mo == nil {
		return false
	}
	if limit := p.cfg.MailboxLimit; limit > 0 && len(mo.queue) >= limit {
		mo.dropped++
		return true
	}
	m.Transit = false
	mo.queue = append(mo.queue, m)
	return true
}

// transitKept sends m on for an actor that moved out (its onward
// function), and keeps a copy while the move is not done.
func (p *Process) transitKept(name string) func(Message) error {
	return func(m Message) error {
		p.mu.Lock()
		p.keepLocked(name, m)
		p.mu.Unlock()
		return p.transit(m)
	}
}

// keepForOrphan keeps m for an actor whose move's root was lost, while
// its fate is asked (deliverFrom, for a name not here). It reports false
// when the name has no such copy.
func (p *Process) keepForOrphan(m Message) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if mo := p.movedOut[m.Recipient.Entity]; mo == nil || !mo.orphan {
		return false
	}
	return p.keepLocked(m.Recipient.Entity, m)
}

// MoveDone drops the copy of a move that ended (move_done from its root).
func (p *Process) MoveDone(name, move string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if mo := p.movedOut[name]; mo != nil && mo.move == move {
		p.dropMovedOutLocked(name, mo)
	}
}

// MovesOut counts the moves whose copies this process keeps.
func (p *Process) MovesOut() int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return len(p.movedOut)
}

// MoveFate answers an old process's move_fate for name's move: "arrived"
// when the actor runs here, else "undone" (a hidden adoptee is dropped,
// and the move id is remembered so that its adopt_actor is refused).
func (p *Process) MoveFate(name, move string) string {
	p.mu.Lock()
	if p.actors[name] != nil {
		p.mu.Unlock()
		return "arrived"
	}
	h := p.hidden[name]
	delete(p.hidden, name)
	p.undone = append(p.undone, move)
	if len(p.undone) > undoneMoves {
		p.undone = p.undone[len(p.undone)-undoneMoves:]
	}
	p.mu.Unlock()
	if h != nil {
		h.discard()
		p.log.Info("a move whose root was lost is undone: its actor goes back", "actor", name, "move", move)
	}
	return "undone"
}

// moveUndone reports whether a move was undone here (p.mu held).
func (p *Process) moveUndoneLocked(move string) bool {
	if move == "" {
		return false
	}
	for _, u := range p.undone {
		if u == move {
			return true
		}
	}
	return false
}

// ErrMoveUndone: an adopt_actor of a move that its old process undid
// after the move's root was lost.
var ErrMoveUndone = errors.New("the move was undone after its root was lost")

// moveFateAsk bounds one move_fate ask; moveFateFor bounds the wait for a
// definite answer (the new process's host may join the new root later:
// up to cluster's rejoin grace, 10 s).
const (
	moveFateAsk = 3 * time.Second
	moveFateFor = 20 * time.Second
)

// RootChanged is told by the process's head that another root heads the
// system (the one before is lost, or was cut off from this host). The
// route flushes waiting for the lost root's answers end (what it was
// routing is lost with it), and the moves whose copies this process keeps
// are settled, each on its own goroutine; a move whose new process does
// not answer within moveFateFor keeps its copy until the next change of
// root.
func (p *Process) RootChanged() {
	p.endFlushes()
	p.mu.Lock()
	var names []string
	for name, mo := range p.movedOut {
		if !mo.orphan {
			mo.orphan, mo.orphanAt = true, len(mo.queue)
			p.nOrphans.Add(1)
			names = append(names, name)
		}
	}
	p.mu.Unlock()
	for _, name := range names {
		go p.resolveMoveOut(name)
	}
}

func (p *Process) resolveMoveOut(name string) {
	p.mu.RLock()
	mo := p.movedOut[name]
	p.mu.RUnlock()
	if mo == nil {
		return
	}
	deadline := time.Now().Add(moveFateFor)
	var fate string
	var lastErr error
	for fate == "" && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), moveFateAsk)
		r, err := p.Ask(ctx, Message{System: true, Command: "move_fate", Recipient: Address{Node: mo.to},
			Body: Object{{Key: "entity", Value: name}, {Key: "move", Value: mo.move}}}, moveFateAsk)
		cancel()
		switch {
		case err == nil && r.Command == "move_fate":
			o, _ := r.Body.(Object)
			fate = o.String("fate")
		case err == nil:
			lastErr = fmt.Errorf("%s: %v", r.Command, r.Body)
		default:
			lastErr = err
		}
		if fate == "" {
			time.Sleep(time.Second)
		}
	}
	switch fate {
	case "arrived":
		p.mu.Lock()
		p.dropMovedOutLocked(name, mo)
		kept := mo.queue[mo.orphanAt:]
		p.mu.Unlock()
		if err := p.settled(name, mo.to, p.adminName); err != nil {
			p.log.Warn("the new root did not hear where a moved actor lives", "actor", name, "error", err.Error())
		}
		p.log.Info("an actor whose move's root was lost had arrived", "actor", name, "node", mo.to, "messages_sent_on", len(kept))
		for _, m := range kept { // to where the root now says it is
			if err := p.deliver(m); err != nil && !m.Sender.IsZero() {
				p.replyNotFound(&m, name, err)
			}
		}
	case "undone":
		if err := p.revive(name, mo); err != nil {
			p.log.Error("an actor whose move's root was lost cannot be made again here", "actor", name, "error", err.Error())
			return
		}
		if err := p.settled(name, p.adminName, mo.to); err != nil {
			p.log.Warn("the new root did not hear where a moved actor lives", "actor", name, "error", err.Error())
		}
	default:
		p.mu.Lock()
		if cur := p.movedOut[name]; cur == mo && mo.orphan {
			mo.orphan = false // asked again at the next change of root
			p.nOrphans.Add(-1)
		}
		p.mu.Unlock()
		p.log.Warn("the fate of an actor whose move's root was lost is unknown; its copy is kept",
			"actor", name, "to", mo.to, "error", fmt.Sprint(lastErr))
	}
}

// revive makes the actor again here from its copy, with the messages kept
// after it, and lets it run.
func (p *Process) revive(name string, mo *movedOut) error {
	if p.cfg.Resolver == nil {
		return errors.New("this process has no package resolver")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	class, err := p.cfg.Resolver.Resolve(ctx, mo.class.Desc())
	if err != nil {
		return fmt.Errorf("class %s: %w", mo.class.Desc(), err)
	}
	p.mu.Lock()
	queue := mo.queue
	p.dropMovedOutLocked(name, mo)
	p.mu.Unlock()
	if err := p.Adopt(name, class, mo.params, queue); err != nil {
		return err
	}
	if err := p.Activate(name); err != nil {
		return err
	}
	p.log.Warn("the root running an actor's move was lost: the actor is made again where it was",
		"actor", name, "messages", len(queue), "messages_dropped", mo.dropped)
	return nil
}

// settled tells the root where name lives now that its move is settled
// (other: where the root may think it is), and waits for its answer.
func (p *Process) settled(name, node, other string) error {
	if p.remote == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), moveFateAsk)
	defer cancel()
	r, err := p.Ask(ctx, Message{System: true, Command: "move_settled", Recipient: Address{Node: p.HeadAdmin()},
		Body: Object{{Key: "entity", Value: name}, {Key: "node", Value: node}, {Key: "other", Value: other}}}, moveFateAsk)
	if err == nil && r.Command != "move_is_settled" {
		err = fmt.Errorf("%s: %v", r.Command, r.Body)
	}
	return err
}

// discard drops an adopted actor that never ran: no stop hook, no
// answers (its queue is the old process's to deliver), its behaviour's
// resources released.
func (a *Actor) discard() {
	a.mu.Lock()
	a.stopping = true
	for {
		if _, ok := a.queue.pop(); !ok {
			break
		}
	}
	a.mu.Unlock()
	a.cancel()
	a.cancelTimers()
	if c, ok := a.beh.(interface{ Close() }); ok {
		c.Close()
	}
}

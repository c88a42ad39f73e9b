package host

import (
	"context"
	"errors"
	"fmt"
)

// Remote reaches the other processes of a system. A process without one is
// a whole system by itself. cluster implements it: the head (the
// main process of the first host) keeps the directory of names and links
// to every child; a child reaches everything through the head.
//
// It has three parts: routing (Router, the one seam every message that
// leaves the process goes through), the system's names, and its
// processes.
type Remote interface {
	Router

	// Locate returns the node of an actor that is not in this process, or
	// "" when there is none (for admin requests about it, and to note which
	// process an ask waits on; messages take Route).
	Locate(name string) string
	// Reserve claims a name system-wide before an actor of that name and
	// class, with those params, is made in this process; Release gives it
	// back. NoteParams records an actor's params as they change (a
	// restarted process re-creates its actors with the last known ones).
	Reserve(name string, class ClassDesc, params Object) error
	Release(name string)
	NoteParams(name string, params Object)

	// Head returns the head admin's name.
	Head() string
	// Nodes lists the admins of all processes, the head first.
	Nodes() []Object
	// Admin handles the admin commands about processes (create_process,
	// remove_process, …); it reports false for other commands.
	Admin(p *Process, m *Message) bool
	// Shutdown stops the other processes when this one (the head) exits.
	Shutdown()
}

// Router is routing's one seam: a process delivers what its own actors
// take and hands every other message to Route.
type Router interface {
	// Route chooses the way of m, a message that leaves this process: to
	// node when it is given (a process's admin, a reply's process), else to
	// where m's recipient actor lives; and it takes m's place on that way.
	// Messages go out in the order of their Route calls, so a caller may
	// decide a message's way under a lock of its own and send it after
	// releasing it: no lock is held while a message is encoded or written
	// (a 20 MiB message would hold it for as long as that takes). The
	// place may address m for its way when it is filled. Route returns nil
	// and no error when m was taken on the way: held for a move or a route
	// flush, or delivered to its actor, which arrived here meanwhile. (m
	// is passed by value: a pointer through an interface would move every
	// message to the heap.)
	Route(node string, m Message) (Place, error)
}

// A Place is a message's place on its way out of the process, taken by
// Router.Route. Fill encodes the message into it and sends it; call it
// exactly once, with no lock held.
type Place interface {
	Fill(m Message) error
}

// MaxHops bounds how often a message is forwarded between processes.
const MaxHops = 8

// route is a message's way out of the process (Router.Route), its hops
// counted; the caller fills the place (fill) once it holds no lock.
func (p *Process) route(node string, m *Message) (Place, error) {
	if m.Hops >= MaxHops {
		return nil, fmt.Errorf("%w: %s (forwarded %d times)", ErrNoActor, m.Recipient, m.Hops)
	}
	m.Hops++
	return p.remote.Route(node, *m)
}

// fill sends m into its place (nil: m was taken on its way).
func fill(pl Place, m Message) error {
	if pl == nil {
		return nil
	}
	return pl.Fill(m)
}

// forward sends m to node ("": to its actor's process) in one step.
func (p *Process) forward(node string, m Message) error {
	pl, err := p.route(node, &m)
	if err != nil {
		return err
	}
	return fill(pl, m)
}

// transit sends on a message that reached an actor that has left this
// process: through the head, which knows where it went.
func (p *Process) transit(m Message) error {
	m.Transit = true
	if p.HeadAdmin() == p.adminName {
		return p.forward("", m) // the root: its directory says
	}
	return p.forward(p.HeadAdmin(), m)
}

// Extract takes a local actor out of this process for a move: between two
// of its messages it reads its params, takes its queued messages, stops it
// (its stop hook runs) and leaves the registry, without giving up the name;
// what is still sent to it goes on through the head (transit).
func (p *Process) Extract(ctx context.Context, name string) (ClassInfo, Object, []Message, error) {
	return p.ExtractFor(ctx, name, "", "")
}

// ExtractFor is Extract for move (its id) to the process to: the actor's
// class, params, queue and transits are kept here until the move is done
// (moveout.go).
func (p *Process) ExtractFor(ctx context.Context, name, to, move string) (ClassInfo, Object, []Message, error) {
	old := p.Lookup(name)
	if old == nil {
		return ClassInfo{}, nil, nil, fmt.Errorf("%w: %q", ErrNoActor, name)
	}
	var params Object
	var queue []Message
	t := &replaceTask{done: make(chan error, 1), make: nil}
	t.extract = func() error {
		if pg, ok := old.beh.(ParamsGetter); ok {
			var err error
			if params, err = pg.Params(); err != nil {
				return err
			}
		}
		var kept *movedOut
		if move != "" { // before the transits can start (Process.mu is not taken under Actor.mu)
			kept = p.keepMovedOut(name, old.class, params, to, move)
		}
		old.mu.Lock()
		for {
			m, ok := old.queue.pop()
			if !ok {
				break
			}
			queue = append(queue, m)
		}
		old.onwardFn = p.transit
		if kept != nil {
			old.onwardFn = p.transitKept(name)
		}
		old.stopping = true
		old.releaseLinksLocked()
		old.mu.Unlock()
		if kept != nil {
			p.mu.Lock()
			kept.queue = append(append([]Message(nil), queue...), kept.queue...) // the transits came after
			p.mu.Unlock()
		}
		if !p.underHead.Load() {
			p.mu.Lock()
			if p.actors[name] == old {
				delete(p.actors, name)
			}
			delete(p.awake, old)
			p.mu.Unlock()
			return nil
		}
		// What waited for its route flush goes to the head as ordinary
		// messages: behind what their senders sent there before (which the
		// head may be holding for this move) and, their places taken under
		// roundMu, ahead of what they send next. As transits they would be
		// delivered before those older messages.
		p.roundMu.Lock()
		p.mu.Lock()
		removed := p.actors[name] == old
		if removed {
			delete(p.actors, name)
		}
		delete(p.awake, old)
		p.mu.Unlock()
		var queued, sending []Message
		var places []Place
		if removed {
			for _, m := range p.takeRoundLocked(name) {
				pl, err := p.route(p.HeadAdmin(), &m)
				if err != nil {
					queued = append(queued, m)
					continue
				}
				places, sending = append(places, pl), append(sending, m)
			}
		}
		p.roundMu.Unlock()
		for i, pl := range places {
			if err := fill(pl, sending[i]); err != nil {
				queued = append(queued, sending[i])
			}
		}
		for _, m := range queued { // not sent: an asker hears of it
			if !m.Sender.IsZero() {
				p.replyNotFound(&m, name, nil)
			}
		}
		return nil
	}
	old.halt.Store(true)
	old.pushSystem(sysTask{kind: sysReplace, replace: t})
	old.interruptBlocking() // a call blocking the handler ends, so the move need not wait for it
	select {
	case err := <-t.done:
		return old.class, params, queue, err
	case <-ctx.Done():
		return ClassInfo{}, nil, nil, fmt.Errorf("extract %q: %w", name, ctx.Err())
	}
}

// Adopt makes an actor that has moved here, hidden until Activate: its
// mailbox starts with start and the messages it had queued; transit
// messages for it are taken meanwhile.
func (p *Process) Adopt(name string, class Class, params Object, queue []Message) error {
	return p.AdoptMove(name, class, params, queue, "")
}

// AdoptMove is Adopt for move (its id): refused with ErrMoveUndone when
// this process undid that move (MoveFate); an actor that comes back to
// the process it left drops the copy kept of it there.
func (p *Process) AdoptMove(name string, class Class, params Object, queue []Message, move string) error {
	p.mu.RLock()
	undone := p.moveUndoneLocked(move)
	p.mu.RUnlock()
	if undone {
		return fmt.Errorf("%w: %q (move %s)", ErrMoveUndone, name, move)
	}
	a := p.newActor(name, class.Info())
	newBeh := class.New
	if c, ok := class.(interface {
		NewCarrying(a *Actor, params Object) (Behaviour, error)
	}); ok {
		newBeh = c.NewCarrying
	}
	beh, err := p.makeBehaviour(a, newBeh, params)
	if err != nil {
		a.cancel()
		return err
	}
	a.setBehaviour(beh)
	a.queue.push(Message{ID: p.NewMID(), Command: "start", Recipient: Address{Entity: name}})
	for _, m := range queue {
		a.queue.push(m)
	}
	a.running = true // held until Activate
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.actors[name] != nil || p.hidden[name] != nil {
		a.cancel()
		return fmt.Errorf("%w: %q is already here", ErrNameTaken, name)
	}
	if p.moveUndoneLocked(move) {
		a.cancel()
		return fmt.Errorf("%w: %q (move %s)", ErrMoveUndone, name, move)
	}
	if p.hidden == nil {
		p.hidden = make(map[string]*Actor)
	}
	p.hidden[name] = a
	p.dropMovedOutLocked(name, p.movedOut[name]) // it came back
	return nil
}

// PushAdopted delivers m to the adopted (not yet activated) actor it names.
func (p *Process) PushAdopted(m Message) error {
	p.mu.RLock()
	a := p.hidden[m.Recipient.Entity]
	p.mu.RUnlock()
	if a == nil {
		return fmt.Errorf("%w: %q is not adopted here", ErrNoActor, m.Recipient.Entity)
	}
	return a.push(m)
}

// PushHere delivers m to the local actor it names, unless it is not here
// or has moved out (delivered false): for a router that decides under a
// lock of its own whether an actor is here (the root's Router.Route). m was sent
// here, not routed here, so it never goes on as a transit.
func (p *Process) PushHere(m Message) (delivered bool, err error) {
	a := p.Lookup(m.Recipient.Entity)
	if a == nil {
		return false, nil
	}
	err = a.pushRouted(m, false)
	if errors.Is(err, errMovedOut) {
		return false, nil
	}
	return true, err
}

// PushLocal delivers m to the local actor it names.
func (p *Process) PushLocal(m Message) error {
	a := p.Lookup(m.Recipient.Entity)
	if a == nil {
		return fmt.Errorf("%w: %q", ErrNoActor, m.Recipient.Entity)
	}
	return a.push(m)
}

// Activate puts an adopted actor in the registry and lets it run.
//
// In a process that is not the system's head, messages sent to the actor
// from here before it arrived went round by the head and may still be on
// their way back. So the messages from here (and, in a host's main
// process, from its children) wait in a queue (holdForFlush) while the
// process sends route_flush up behind the earlier ones and the head
// answers route_flushed behind them (not while the actor is moving again:
// it may be holding some; the move's end asks again, route_reflush). Then
// the queue goes to the actor, and later messages go straight to it.
func (p *Process) Activate(name string) error {
	round := p.underHead.Load()
	if round {
		// Held until the flush has its place on the way to the head: a
		// message from here chose its way either before (it is ahead of
		// the flush) or after (it waits). The flush is sent after.
		p.roundMu.Lock()
	}
	p.mu.Lock()
	a := p.hidden[name]
	if a == nil {
		p.mu.Unlock()
		if round {
			p.roundMu.Unlock()
		}
		return fmt.Errorf("%w: no actor %q is waiting to be activated", ErrNoActor, name)
	}
	if round { // before the actor can be found here
		if p.viaHead == nil {
			p.viaHead, p.roundQ, p.roundFull = make(map[string]uint64), make(map[string][]Message), make(map[string]bool)
		}
		if p.viaHead[name] == 0 {
			p.rounding.Add(1)
		}
		p.flushSeq++
		p.viaHead[name] = p.flushSeq
	}
	delete(p.hidden, name)
	p.actors[name] = a
	p.awake[a] = struct{}{}
	p.mu.Unlock()
	p.sched.enqueue(a)
	if round {
		f := p.reserveRouteFlushLocked(name)
		p.roundMu.Unlock()
		p.sendRouteFlush(f)
	}
	if p.events.watched() {
		p.events.publish(Event{Kind: "moved", Node: p.adminName, Actor: name})
	}
	return nil
}

// holdForFlush queues m for name if name waits for its route_flushed
// (held; err: the queue is full and m is refused). Else it reports whether a, the actor deliverFrom found before it
// took roundMu, has left meanwhile (gone): Extract sends the queue to the
// head as ordinary messages under roundMu, so m must not follow a as a
// transit, which the head delivers before them; it takes the way of a
// message for an actor that is not here, behind them.
func (p *Process) holdForFlush(name string, a *Actor, m Message) (held, gone bool, err error) {
	p.roundMu.Lock()
	defer p.roundMu.Unlock()
	if p.viaHead[name] == 0 {
		p.mu.RLock()
		gone = p.actors[name] != a
		p.mu.RUnlock()
		return false, gone, nil
	}
	return true, false, p.queueForFlushLocked(a, m)
}

// queueForFlushLocked queues m for a while a waits for its route_flushed
// (roundMu held), up to the mailbox limit; past it, m is refused with
// ErrMailboxFull and counted as the mailbox would (the first refusal of a
// wait is logged and published).
func (p *Process) queueForFlushLocked(a *Actor, m Message) error {
	name := a.name
	if limit := p.cfg.MailboxLimit; limit > 0 && len(p.roundQ[name]) >= limit {
		report := !p.roundFull[name]
		p.roundFull[name] = true
		return a.refuse(&m, fmt.Sprintf("holds %d messages waiting for its route after a move, its limit", limit), report)
	}
	p.roundQ[name] = append(p.roundQ[name], m)
	return nil
}

// takeRound ends name's wait and returns its queue.
func (p *Process) takeRound(name string) []Message {
	p.roundMu.Lock()
	defer p.roundMu.Unlock()
	return p.takeRoundLocked(name)
}

func (p *Process) takeRoundLocked(name string) []Message {
	q := p.roundQ[name]
	if p.viaHead[name] != 0 {
		delete(p.viaHead, name)
		delete(p.roundQ, name)
		delete(p.roundFull, name)
		p.rounding.Add(-1)
	}
	return q
}

// routeFlush is a route_flush whose place on the way to the head is taken.
type routeFlush struct {
	name  string
	epoch uint64
	place Place
	m     Message
}

// reserveRouteFlushLocked takes the place of a route_flush for name behind
// what this process sent the head before (roundMu held); sendRouteFlush
// sends it once roundMu is released. Without a head nothing can come back
// round, and the wait ends at once.
func (p *Process) reserveRouteFlushLocked(name string) routeFlush {
	epoch := p.viaHead[name]
	if epoch == 0 {
		return routeFlush{} // not waiting (the actor is not here)
	}
	head := p.HeadAdmin()
	m := Message{System: true, ID: p.NewMID(), Command: "route_flush", Recipient: Address{Node: head},
		Body: Object{{Key: "entity", Value: name}, {Key: "node", Value: p.adminName}, {Key: "epoch", Value: int64(epoch)}}}
	pl, err := p.route(head, &m)
	if err != nil {
		p.flushedLocked(name, epoch)
		return routeFlush{}
	}
	return routeFlush{name: name, epoch: epoch, place: pl, m: m}
}

func (p *Process) sendRouteFlush(f routeFlush) {
	if f.name == "" {
		return
	}
	if err := fill(f.place, f.m); err != nil {
		p.RouteFlushed(f.name, f.epoch) // no head: nothing can come back round
	}
}

// RouteFlushed ends the wait of name's messages (route_flushed) if epoch
// is that of its latest route_flush (an answer to an earlier stay of the
// actor here is stale): the queue goes to the actor, before any later
// message (they wait for roundMu).
func (p *Process) RouteFlushed(name string, epoch uint64) {
	p.roundMu.Lock()
	defer p.roundMu.Unlock()
	p.flushedLocked(name, epoch)
}

func (p *Process) flushedLocked(name string, epoch uint64) {
	if e := p.viaHead[name]; e == 0 || e != epoch {
		return
	}
	q := p.roundQ[name]
	a := p.Lookup(name)
	for i, m := range q {
		if a != nil {
			err := a.pushRouted(m, false)
			if errors.Is(err, errMovedOut) {
				// Extract waits for roundMu: it sends the rest on to the
				// head, in order, with the queue of its flush.
				p.roundQ[name] = q[i:]
				return
			}
			if err == nil {
				continue
			}
		}
		go p.deliver(m) // it has gone meanwhile (or is full): the ordinary way
	}
	delete(p.viaHead, name)
	delete(p.roundQ, name)
	delete(p.roundFull, name)
	p.rounding.Add(-1)
}

// RouteReflush sends route_flush again for name, if it still waits for one
// (the head did not answer while the actor was moving).
func (p *Process) RouteReflush(name string) {
	p.roundMu.Lock()
	f := p.reserveRouteFlushLocked(name)
	p.roundMu.Unlock()
	p.sendRouteFlush(f)
}

// SetRemote connects the process to the rest of its system. Call it before
// the process handles messages, and after r knows the system's head.
func (p *Process) SetRemote(r Remote) {
	p.remote = r
	p.underHead.Store(r.Head() != p.adminName)
}

// HeadsSystem tells the process whether it heads its system now (its
// Remote takes the role of a head that was lost, or gives it up again
// before it had it): what moves into a process that heads the system does
// not wait for route flushes through another process, and messages that
// wait for one already are delivered.
func (p *Process) HeadsSystem(heads bool) {
	p.underHead.Store(!heads)
	if !heads {
		return
	}
	p.endFlushes()
}

// endFlushes ends every route flush this process waits for: their
// answers will not come (this process heads the system now, or the root
// that was to answer is lost, and with it what it was routing).
func (p *Process) endFlushes() {
	p.roundMu.Lock()
	names := make([]string, 0, len(p.viaHead))
	for name := range p.viaHead {
		names = append(names, name)
	}
	for _, name := range names {
		p.flushedLocked(name, p.viaHead[name])
	}
	p.roundMu.Unlock()
}

// remoteNode returns the process an address leads to when it is another
// one, or "".
func (p *Process) remoteNode(a Address) string {
	switch {
	case a.Entity != "":
		if p.Lookup(a.Entity) != nil {
			return ""
		}
		return p.remote.Locate(a.Entity)
	case a.Node != "" && a.Node != p.adminName:
		return a.Node
	}
	return ""
}

// ProcessCreated tells watchers that a process joined the system.
func (p *Process) ProcessCreated(node string) {
	if p.events.watched() {
		p.events.publish(Event{Kind: "process_created", Node: node})
	}
}

// ProcessGone tells the process that node died with the actors it had
// (names, when known): asks waiting for a reply from it fail at once, and
// watchers see a "process_gone" event.
//
// The end is logged at WARN, unless it was asked for: reason GoneRemoved,
// or this process is exiting itself.
func (p *Process) ProcessGone(node, reason string, names ...string) {
	n := p.asks.failNode(node, reason, names)
	if p.exiting.Load() || reason == GoneRemoved { // an exit or remove_process: nothing is wrong
		p.log.Info("process is gone", "gone", node, "reason", reason, "asks_failed", n)
	} else {
		p.log.Warn("process is gone", "gone", node, "reason", reason, "asks_failed", n)
	}
	if p.events.watched() {
		p.events.publish(Event{Kind: "process_gone", Node: node, Line: reason})
	}
}

// HeadLost tells the process that the system's head cannot be reached:
// every ask waiting on another process fails at once, except those to the
// processes keep spares (nil: none), since names resolve through the head;
// watchers see a "head_lost" event.
func (p *Process) HeadLost(reason string, keep func(node string) bool) {
	if keep == nil {
		keep = func(string) bool { return false }
	}
	n := p.asks.failRemote(reason, keep)
	p.log.Warn("the system's head is lost", "reason", reason, "asks_failed", n)
	if p.events.watched() {
		p.events.publish(Event{Kind: "head_lost", Node: p.adminName, Line: reason})
	}
}

// NoteParams records the actor's current params with the head, so that a
// restarted process re-creates the actor with them. Behaviours call it
// after their params change.
func (a *Actor) NoteParams(params Object) {
	if a.proc.remote != nil {
		a.proc.remote.NoteParams(a.name, params)
	}
}

// GoneRemoved is the reason of a process that was stopped on purpose
// (remove_process, or an exit of the system).
const GoneRemoved = "removed"

// DeliverFromLink delivers a message that came down from the head (for
// a head: from the system's root, or the link of another host). When its
// recipient does not exist, an ask is answered actor_is_not_found.
func (p *Process) DeliverFromLink(m Message) { p.deliverLinked(m, true) }

// DeliverFromChild delivers a message that came from a child process.
func (p *Process) DeliverFromChild(m Message) { p.deliverLinked(m, false) }

func (p *Process) deliverLinked(m Message, fromHead bool) {
	if isExit(&m) {
		if err := p.exit(&m); err != nil {
			p.Reply(&m, "error", Object{{Key: "mid", Value: m.ID.String()}, {Key: "message", Value: err.Error()}})
		}
		return
	}
	a, err := p.deliverFrom(m, fromHead)
	if err != nil && !m.Sender.IsZero() {
		if errors.Is(err, ErrMailboxFull) {
			p.reply(&m, "mailbox_is_full", mailboxFullBody(&m, err))
		} else {
			p.replyNotFound(&m, m.Recipient.String(), err)
		}
	}
	if a != nil && a.backlogged.Load() {
		a.awaitDrain()
	}
}

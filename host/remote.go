package host

import (
	"context"
	"fmt"
)

// Remote reaches the other processes of a system. A process without one is
// a whole system by itself. internal/cluster implements it: the head (the
// main process of the first host) keeps the directory of names and links
// to every child; a child reaches everything through the head.
type Remote interface {
	// Forward sends m to the process whose admin is node.
	Forward(node string, m Message) error
	// Locate returns the node of an actor that is not in this process, or
	// "" when there is none.
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
	// Intercept takes a message for an actor that is moving between
	// processes (the head holds them until the move is done); it reports
	// false for other messages.
	Intercept(m Message) bool
}

// transit sends on a message that reached an actor that has left this
// process: through the head, which knows where it went.
func (p *Process) transit(m Message) error {
	m.Transit = true
	if p.HeadAdmin() == p.adminName {
		if p.remote.Intercept(m) {
			return nil
		}
		return p.deliver(m)
	}
	return p.forward(p.HeadAdmin(), m)
}

// Extract takes a local actor out of this process for a move: between two
// of its messages it reads its params, takes its queued messages, stops it
// (its stop hook runs) and leaves the registry, without giving up the name;
// what is still sent to it goes on through the head (transit).
func (p *Process) Extract(ctx context.Context, name string) (ClassInfo, Object, []Message, error) {
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
		old.mu.Lock()
		for {
			m, ok := old.queue.pop()
			if !ok {
				break
			}
			queue = append(queue, m)
		}
		old.onwardFn = p.transit
		old.stopping = true
		old.mu.Unlock()
		p.mu.Lock()
		if p.actors[name] == old {
			delete(p.actors, name)
		}
		p.mu.Unlock()
		return nil
	}
	old.halt.Store(true)
	old.pushSystem(sysTask{kind: sysReplace, replace: t})
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
	a := p.newActor(name, class.Info())
	newBeh := class.New
	if c, ok := class.(interface {
		NewCarrying(a *Actor, params Object) (Behaviour, error)
	}); ok {
		newBeh = c.NewCarrying
	}
	beh, err := newBeh(a, params)
	if err != nil {
		a.cancel()
		return err
	}
	a.beh = beh
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
	if p.hidden == nil {
		p.hidden = make(map[string]*Actor)
	}
	p.hidden[name] = a
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

// PushLocal delivers m to the local actor it names.
func (p *Process) PushLocal(m Message) error {
	a := p.Lookup(m.Recipient.Entity)
	if a == nil {
		return fmt.Errorf("%w: %q", ErrNoActor, m.Recipient.Entity)
	}
	return a.push(m)
}

// Activate puts an adopted actor in the registry and lets it run.
func (p *Process) Activate(name string) error {
	p.mu.Lock()
	a := p.hidden[name]
	if a == nil {
		p.mu.Unlock()
		return fmt.Errorf("%w: no actor %q is waiting to be activated", ErrNoActor, name)
	}
	delete(p.hidden, name)
	p.actors[name] = a
	p.mu.Unlock()
	p.sched.enqueue(a)
	return nil
}

// SetRemote connects the process to the rest of its system. Call it before
// the process handles messages.
func (p *Process) SetRemote(r Remote) { p.remote = r }

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
func (p *Process) ProcessGone(node, reason string, names ...string) {
	n := p.asks.failNode(node, reason, names)
	p.log.Warn("process is gone", "gone", node, "reason", reason, "asks_failed", n)
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

// maxHops bounds how often a message is forwarded between processes.
const maxHops = 8

func (p *Process) forward(node string, m Message) error {
	if m.Hops >= maxHops {
		return fmt.Errorf("%w: %s (forwarded %d times)", ErrNoActor, m.Recipient, m.Hops)
	}
	m.Hops++
	return p.remote.Forward(node, m)
}

// DeliverFromLink delivers a message that came from another process. When
// its recipient does not exist, an ask is answered actor_is_not_found.
func (p *Process) DeliverFromLink(m Message) {
	if m.Command == "exit" || m.Command == "quit" {
		p.exit(&m)
		return
	}
	if err := p.deliver(m); err != nil && !m.Sender.IsZero() {
		p.replyNotFound(&m, m.Recipient.String())
	}
}

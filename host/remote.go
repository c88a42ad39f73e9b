package host

import (
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

// ProcessGone tells the process that node died: asks waiting for a reply
// from it fail at once, and watchers see a "process_gone" event.
func (p *Process) ProcessGone(node, reason string) {
	n := p.asks.failNode(node, reason)
	p.log.Warn("process is gone", "gone", node, "reason", reason, "asks_failed", n)
	if p.events.watched() {
		p.events.publish(Event{Kind: "process_gone", Node: node, Line: reason})
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
const maxHops = 4

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

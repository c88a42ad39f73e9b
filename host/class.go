package host

import (
	"context"
	"fmt"
)

// ClassDesc says which class an actor is made from, as in
// {"requires_dist": "peacepie_example==0.2.0", "class": "HelloWorld"}.
type ClassDesc struct {
	RequiresDist string
	Class        string
}

// Value returns the class description as a body value.
func (d ClassDesc) Value() any {
	return Object{{Key: "requires_dist", Value: d.RequiresDist}, {Key: "class", Value: d.Class}}
}

// ClassDescFromValue reads a class description from a body value.
func ClassDescFromValue(v any) (ClassDesc, error) {
	o, ok := v.(Object)
	if !ok {
		return ClassDesc{}, fmt.Errorf(`%w: class_desc must be an object {"requires_dist": "package", "class": "Class"}, not %s`, ErrBadRequest, TypeName(v))
	}
	req, ok1 := o.Get("requires_dist")
	cls, ok2 := o.Get("class")
	rs, ok3 := req.(string)
	cs, ok4 := cls.(string)
	if !ok1 || !ok3 || rs == "" {
		return ClassDesc{}, fmt.Errorf("%w: class_desc.requires_dist must be a package name such as \"peacepie_example\"", ErrBadRequest)
	}
	if !ok2 || !ok4 || cs == "" {
		return ClassDesc{}, fmt.Errorf("%w: class_desc.class must be a class name such as \"HelloWorld\"", ErrBadRequest)
	}
	return ClassDesc{RequiresDist: rs, Class: cs}, nil
}

// ClassInfo describes where an actor's code comes from.
type ClassInfo struct {
	Package string
	Version string
	Commit  string // empty for packages built into the binary
	Class   string
}

// Desc returns a class description that resolves to exactly this version.
func (c ClassInfo) Desc() ClassDesc {
	req := c.Package
	if c.Version != "" {
		req += "==" + c.Version
	}
	return ClassDesc{RequiresDist: req, Class: c.Class}
}

// Class makes behaviours of one actor class.
type Class interface {
	Info() ClassInfo
	// New makes the behaviour of actor a with the given initial params. It is
	// called before the actor runs; the behaviour's methods are then called
	// only from the actor's goroutine.
	New(a *Actor, params Object) (Behaviour, error)
}

// Resolver finds a class by its description, loading its package if needed.
// It is called concurrently and must honour ctx for slow work.
type Resolver interface {
	Resolve(ctx context.Context, desc ClassDesc) (Class, error)
}

// Reply is what a behaviour answers to a message. An empty Command means no
// automatic reply (the behaviour replies later itself, or not at all).
type Reply struct {
	Command string
	Body    any
}

// Evaluator is implemented by behaviours that can run a piece of code
// inside the actor, for the REPL's lua command. Eval is called from the
// actor's goroutine between two messages, under the handler budget.
type Evaluator interface {
	Eval(a *Actor, code string) (any, error)
}

// Behaviour is the code of one actor. Its methods are called one at a time,
// from the actor's goroutine only.
type Behaviour interface {
	// Init runs once before any message; an error aborts the creation.
	// A behaviour may also have a method HasInit() bool: when it reports
	// false, Init is not called and the actor is ready at once.
	Init(a *Actor) error
	// Receive handles one message; m is valid only until Receive returns
	// (copy it to reply later). It returns the reply for the sender,
	// ErrNotHandled for an unknown command, or another error, which becomes
	// an error reply; the actor keeps running either way.
	Receive(a *Actor, m *Message) (Reply, error)
	// Stop runs once when the actor is removed or the system stops.
	Stop(a *Actor)
}

// MemoryMeter is implemented by behaviours that bound their memory to
// Actor.MemoryLimit. A Receive whose allocation was refused returns an
// error wrapping ErrMemory; the actor then reports it (a log line and a
// "memory_exceeded" event) and asks MemoryInUse, and when the actor still
// holds more than its limit (it kept what it had made) it is stopped.
// MemoryInUse is called on the actor's goroutine, between messages.
type MemoryMeter interface {
	MemoryInUse() int64
}

package host

import "errors"

// Sentinel errors of the engine. Callers test them with errors.Is; the
// wrapping error says which actor, node or command was involved.
var (
	// ErrNoActor: no actor of that name exists (or it is being removed).
	ErrNoActor = errors.New("actor is not found")
	// ErrNoProcess: the address names a process this system does not have.
	ErrNoProcess = errors.New("process is not found")
	// ErrTimeout: an ask got no reply within its timeout.
	ErrTimeout = errors.New("timed out waiting for a reply")
	// ErrNotHandled: the actor has no handler for the command.
	ErrNotHandled = errors.New("command is not handled")
	// ErrNameTaken: an actor of that name already exists in the system.
	ErrNameTaken = errors.New("actor name is taken")
	// ErrBadName: the name cannot be used for an actor.
	ErrBadName = errors.New("bad actor name")
	// ErrBudget: a handler ran longer than its time budget and was interrupted.
	ErrBudget = errors.New("handler exceeded its time budget")
	// ErrStopping: the actor or the system is shutting down.
	ErrStopping = errors.New("stopping")
	// ErrBadRequest: a command's body does not have the expected shape.
	ErrBadRequest = errors.New("bad request")
	// ErrNotAllowed: the sender may not send that command (an actor whose
	// package has no grant for it in the repo list).
	ErrNotAllowed = errors.New("not allowed")
	// ErrProcessLimit: the host runs as many child processes as its
	// config allows (max_processes).
	ErrProcessLimit = errors.New("too many processes")
	// ErrMemory: a handler's allocation was refused because the actor's
	// memory would have gone past Config.ActorMemory.
	ErrMemory = errors.New("actor exceeded its memory limit")
	// ErrMailboxFull: the recipient's mailbox holds Config.MailboxLimit
	// messages; the message was not queued.
	ErrMailboxFull = errors.New("mailbox is full")
	// ErrBusy: what was asked for is taken by an earlier request until it
	// ends (a Lua profile of the same actor).
	ErrBusy = errors.New("busy")
)

package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Actor is one running actor: a name, a mailbox and a behaviour. Messages are
// handled one at a time by a worker of the process's scheduler, so an idle
// actor costs no goroutine.
type Actor struct {
	name  string
	proc  *Process
	class ClassInfo
	beh   Behaviour
	log   atomic.Pointer[slog.Logger] // made on first use

	ctx    context.Context // cancelled when the actor starts stopping
	cancel context.CancelFunc

	blockMu     sync.Mutex // guards blockCtx and blockCancel (BlockingContext)
	blockCtx    context.Context
	blockCancel context.CancelFunc

	mu       sync.Mutex // guards queue, system, running, stopping
	queue    ring       // user messages
	system   []sysTask  // init and stop: they bypass the user backlog
	running  bool       // a goroutine is draining the mailbox
	stopping bool       // no more messages are accepted
	done     chan struct{}

	handled  atomic.Uint64
	refused  atomic.Uint64         // user messages refused because the mailbox was full
	full     bool                  // the mailbox is full and that has been reported (guarded by mu)
	halt     atomic.Bool           // a stop is pending: leave the rest of the batch
	onward   *Actor                // set when replaced: messages pushed here go there (guarded by mu)
	onwardFn func(m Message) error // set when moved out: messages pushed here go through it (guarded by mu)
	batched  atomic.Int32          // messages taken into the worker's batch, not handled yet

	// Link readers hold back while the mailbox is long (see awaitDrain).
	backlogged atomic.Bool   // the mailbox reached mailboxHigh and has not come down to mailboxLow
	inWait     atomic.Bool   // the handler waits (pp.ask, pp.sleep): the mailbox cannot shrink
	drained    chan struct{} // closed for the readers waiting on backlogged (guarded by mu)
	linkGaveUp bool          // a reader waited Config.LinkPause in vain: no more waits until the backlog ends (guarded by mu)

	budget budgetState

	tmu        sync.Mutex // guards timers, timerSeq, timerBytes
	timers     map[int]Timer
	timerSizes map[int]int64 // ValueSize of each live timer's message
	timerBytes int64         // what the live timers hold (TimerBytes)
	timerSeq   int
	initReply  chan error

	// busy is the actor's running time in watchdog ticks, sampled: each
	// budget scan that finds it inside a handler adds the ticks since the
	// scan before (BusyTime). Last: a cold field, written once a scan.
	busy atomic.Int64

	memory actorMemory // its last measurement (actormemory.go)
	born   time.Time   // when it was made (its uptime)

	// Hibernation (hibernate.go). sleeps: its behaviour may hibernate;
	// dormant: it hibernates now; woke: it woke since the scanner's last
	// walk; refusedAt: handled+1 when its last hibernation was refused;
	// awakeWhy: why. idleHandled and idleSince are the scanner's alone.
	sleeps          atomic.Bool
	dormant         atomic.Bool
	woke            atomic.Bool
	hibernateQueued atomic.Bool
	refusedAt       atomic.Uint64
	awakeWhy        atomic.Pointer[string]
	idleHandled     uint64
	idleSince       int64
	asleepCounts    packageCounts // what it counts in Process.dormantSums (its goroutine, Process.mu)
}

type sysKind uint8

const (
	sysInit sysKind = iota
	sysStop
	sysEval
	sysReplace
	sysMeasure
	sysHibernate
)

type sysTask struct {
	kind     sysKind
	eval     *evalTask
	replace  *replaceTask
	measured *measureGroup // sysMeasure: told when done (may be nil)
	handled  uint64        // sysHibernate: Actor.handled when the scanner saw it idle
}

// replaceTask makes a new actor from the old one's params, between two of
// its messages (Process.Recreate).
type replaceTask struct {
	make    func(params Object) (*Actor, error)
	extract func() error // instead of make: a move out of the process
	done    chan error   // capacity 1
}

type evalTask struct {
	code string
	done chan evalResult // capacity 1
}

type evalResult struct {
	value any
	err   error
}

// Name returns the actor's system-wide unique name.
func (a *Actor) Name() string { return a.name }

// IsHere reports whether an actor called name runs in this process now.
func (a *Actor) IsHere(name string) bool { return a.proc.Lookup(name) != nil }

// Node returns the name of the admin of the process the actor lives in.
func (a *Actor) Node() string { return a.proc.adminName }

// Class returns where the actor's code comes from.
func (a *Actor) Class() ClassInfo { return a.class }

// Process returns the process the actor lives in.
func (a *Actor) Process() *Process { return a.proc }

// Logger returns the actor's logger (with the actor's name attached).
func (a *Actor) Logger() *slog.Logger {
	if l := a.log.Load(); l != nil {
		return l
	}
	a.log.CompareAndSwap(nil, a.proc.log.With("actor", a.name))
	return a.log.Load()
}

// Context is cancelled when the actor starts stopping; blocking calls made
// on the actor's behalf use it.
func (a *Actor) Context() context.Context { return a.ctx }

// Address returns the address that reaches this actor.
func (a *Actor) Address() Address {
	if a == a.proc.admin {
		return Address{Node: a.proc.adminName}
	}
	return Address{Entity: a.name}
}

// push appends m to the mailbox and makes sure a goroutine drains it.
//
// The mailbox holds at most Config.MailboxLimit user messages, and bodies
// of at most Config.ActorMemory bytes in all (ValueSize; a message is
// taken into an empty mailbox whatever its size). Past either a
// message is refused with ErrMailboxFull: the sender of a send gets the
// error (a send from another process is dropped), an ask is answered
// mailbox_is_full at once (Process.StartAsk, deliverLinked). Either way
// the refusal is counted (Refused, shown by get_actor and the stats), and
// the first refusal after the mailbox was last below half the limit is
// logged and published as a "mailbox_full" event. Tasks (init, stop,
// eval, recreate, move) do not go through the mailbox and are never
// refused.
//
// The admin is bounded otherwise: what actors send it (m.From is set) is
// refused past AdminActorMessages waiting, a small bound, so that an actor
// flooding it with get_actors delays an operator's remove_actor by a
// moment at most; the system's messages and the operators' (console,
// REPL) are never refused there.
func (a *Actor) push(m Message) error { return a.pushRouted(m, true) }

// sizeOf is what m's body counts against the actor's memory bound (0
// without one).
func (a *Actor) sizeOf(m *Message) int64 {
	if a.proc.cfg.ActorMemory > 0 {
		return ValueSize(m.Body)
	}
	return 0
}

// errMovedOut is pushRouted's answer for a message the caller routes
// itself: the actor has moved out of this process.
var errMovedOut = errors.New("the actor has moved out of this process")

// pushRouted is push; routed says m came down from the head, which chose
// this process for it before the actor moved out, so it goes on as a
// transit (ahead of what the head holds for the move). A message that was
// sent here (routed false) is refused with errMovedOut instead: the
// caller sends it the ordinary way, behind the messages its sender sent
// before, which may be among the held ones (Process.Extract).
func (a *Actor) pushRouted(m Message, routed bool) error {
	var size int64
	if a.proc.cfg.ActorMemory > 0 {
		size = ValueSize(m.Body)
	}
	a.mu.Lock()
	if next := a.onward; next != nil {
		a.mu.Unlock()
		return next.pushRouted(m, routed) // the actor was replaced: its successor takes it
	}
	if fn := a.onwardFn; fn != nil {
		a.mu.Unlock()
		if !routed {
			return errMovedOut
		}
		return fn(m) // the actor moved to another process
	}
	if a.stopping {
		a.mu.Unlock()
		return fmt.Errorf("%w: %q is stopping", ErrNoActor, a.name)
	}
	limit, bound := a.proc.cfg.MailboxLimit, a.proc.cfg.ActorMemory
	if a == a.proc.admin {
		limit, bound = -1, -1
		if m.From != "" && !m.System {
			limit = AdminActorMessages
		}
	}
	if limit > 0 && a.queue.n+int(a.batched.Load()) >= limit {
		report := !a.full
		a.full = true
		a.mu.Unlock()
		return a.refuse(&m, fmt.Sprintf("holds %d messages, its limit", limit), report)
	}
	if bound > 0 && a.queue.n > 0 && a.queue.bytes+size > bound {
		report := !a.full
		a.full = true
		a.mu.Unlock()
		return a.refuse(&m, fmt.Sprintf("holds %.1f MiB of messages, its memory limit", float64(bound)/(1<<20)), report)
	}
	a.queue.pushSized(m, size)
	if a.queue.n >= mailboxHigh && !a.backlogged.Load() {
		a.backlogged.Store(true)
	}
	start := !a.running
	a.running = true
	a.mu.Unlock()
	if start {
		a.proc.sched.enqueue(a)
	}
	return nil
}

// AdminActorMessages bounds the messages from actors waiting in an
// admin's mailbox (Actor.push).
const AdminActorMessages = 1024

// belowHalf reports whether the mailbox holds less than half of each of
// its bounds (a bound <= 0 is none). Called with a.mu held.
func (a *Actor) belowHalf() bool {
	limit, bound := a.proc.cfg.MailboxLimit, a.proc.cfg.ActorMemory
	if a == a.proc.admin {
		limit, bound = AdminActorMessages, -1
	}
	return (limit <= 0 || a.queue.n < limit/2) && (bound <= 0 || a.queue.bytes <= bound/2)
}

// refuse counts a message refused by a full mailbox and, when report is
// set, logs it and publishes a "mailbox_full" event; why says what the
// mailbox holds ("holds N messages, its limit").
func (a *Actor) refuse(m *Message, why string, report bool) error {
	n := a.refused.Add(1)
	err := fmt.Errorf("%w: %q %s (%d refused so far)", ErrMailboxFull, a.name, why, n)
	if report {
		a.Logger().Warn("mailbox is full: messages are refused", "command", m.Command, "mid", m.ID.String(), "why", why)
		if a.proc.events.watched() {
			a.proc.events.publish(Event{Kind: "mailbox_full", Node: a.proc.adminName, Actor: a.name,
				Line: "the mailbox " + why + ": messages are refused until it is half empty"})
		}
	}
	return err
}

// Refused returns the number of messages refused so far because the
// mailbox was full.
func (a *Actor) Refused() uint64 { return a.refused.Load() }

// pushSystem queues a task ahead of all user messages.
func (a *Actor) pushSystem(t sysTask) {
	a.mu.Lock()
	a.system = append(a.system, t)
	start := !a.running
	a.running = true
	a.mu.Unlock()
	if start {
		a.proc.sched.enqueue(a)
	}
}

// Link backpressure: a link reader that queues a message for an actor whose
// mailbox holds mailboxHigh messages waits, before it reads on, until the
// mailbox is down to mailboxLow, the actor's handler waits in pp.ask or
// pp.sleep, or the actor stops. A reader waits at most Config.LinkPause
// per backlog: an actor stuck in a long handler costs the link one pause,
// and then its mailbox grows as it did without backpressure. A sender in
// another process that is faster than the actor is then held back by the
// link's TCP window, as its writes block, instead of filling this
// process's memory; and with one thread for Go code the reader does not
// run ahead of the actor by whole time slices.
const (
	mailboxHigh = 4096
	mailboxLow  = mailboxHigh / 2
)

// awaitDrain holds the calling link reader while a is backlogged (see
// mailboxHigh).
func (a *Actor) awaitDrain() {
	a.mu.Lock()
	if !a.backlogged.Load() || a.inWait.Load() || a.stopping || a.linkGaveUp {
		a.mu.Unlock()
		return
	}
	if a.drained == nil {
		a.drained = make(chan struct{})
	}
	drained := a.drained
	a.mu.Unlock()
	a.proc.linkPauses.Add(1)
	t := time.NewTimer(a.proc.cfg.LinkPause)
	select {
	case <-drained:
		t.Stop()
	case <-t.C:
		a.mu.Lock()
		if a.drained == drained { // the same backlog
			a.linkGaveUp = true
		}
		a.mu.Unlock()
	}
}

// releaseLinksLocked ends the backlog: waiting link readers go on.
func (a *Actor) releaseLinksLocked() {
	a.backlogged.Store(false)
	a.linkGaveUp = false
	a.wakeLinksLocked()
}

// wakeLinksLocked lets the link readers waiting for a go on.
func (a *Actor) wakeLinksLocked() {
	if a.drained != nil {
		close(a.drained)
		a.drained = nil
	}
}

// waitBegins is called by a handler about to wait (ask, sleep): its
// worker's slot goes to other actors, and link readers stop holding back
// for its mailbox, which cannot shrink meanwhile. waitEnds undoes it.
func (a *Actor) waitBegins() {
	a.proc.sched.block()
	a.inWait.Store(true)
	if a.backlogged.Load() {
		a.mu.Lock()
		a.wakeLinksLocked()
		a.mu.Unlock()
	}
}

func (a *Actor) waitEnds() {
	a.inWait.Store(false)
	a.proc.sched.unblock()
}

// MailboxLen returns the number of messages waiting, those a worker has
// taken for its current batch included.
func (a *Actor) MailboxLen() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.queue.n + int(a.batched.Load())
}

// BusyTime is how long the actor has run its handlers (hooks included,
// time blocked in an ask or a sleep not), estimated by the watchdog's
// budget scans (a sample every Budget/20): right over many scans, not for
// one handler; 0 in a process without a budget.
func (a *Actor) BusyTime() time.Duration { return time.Duration(a.busy.Load()) * watchdogPeriod }

// Handled returns the number of messages handled so far.
func (a *Actor) Handled() uint64 { return a.handled.Load() }

// run handles up to batchSize messages, taken from the mailbox in batches
// (one lock per batch) into buf, the worker's buffer. It reports whether
// messages remain (the actor must be queued again); otherwise the actor is
// idle or gone.
func (a *Actor) run(buf []Message) bool {
	handled := 0
	for handled < batchSize {
		a.mu.Lock()
		if len(a.system) > 0 {
			t := a.system[0]
			a.system = a.system[1:]
			a.mu.Unlock()
			if a.runSystem(t) {
				return false // stopped: running stays true, nobody queues it again
			}
			continue
		}
		batch := a.queue.popInto(buf[:0], batchSize-handled)
		if a.queue.n <= mailboxLow && a.backlogged.Load() {
			a.releaseLinksLocked()
		}
		if a.full && a.belowHalf() {
			a.full = false // the next refusal is reported again
		}
		if len(batch) == 0 {
			a.running = false
			a.mu.Unlock()
			return false
		}
		a.batched.Store(int32(len(batch)))
		a.mu.Unlock()
		for i := range batch {
			if a.halt.Load() {
				// A stop is waiting: the rest goes back, for finish to answer.
				a.mu.Lock()
				a.queue.pushFront(batch[i:])
				a.batched.Store(0)
				a.mu.Unlock()
				clear(batch)
				break
			}
			a.batched.Add(-1)
			a.handle(&batch[i])
			batch[i] = Message{}
		}
		handled += len(batch)
	}
	return true
}

func (a *Actor) handle(m *Message) {
	if raw, ok := m.Body.(RawJSON); ok {
		v, err := UnmarshalValue(raw)
		if err != nil {
			a.replyError(m, fmt.Errorf("%w: body of %q: %v", ErrBadRequest, m.Command, err))
			return
		}
		m.Body = v
	}
	if err := a.wake(); err != nil {
		a.replyError(m, err)
		return
	}
	a.budget.begin(a.proc)
	reply, err := a.beh.Receive(a, m)
	a.budget.end()
	a.handled.Add(1)
	overrun := a.budget.fired.Load()
	if overrun {
		a.budget.rearm() // also when the handler finished just as the watchdog fired
	}
	if err == nil {
		if reply.Command != "" && !m.Sender.IsZero() {
			a.proc.reply(m, reply.Command, reply.Body)
		}
		return
	}
	if errors.Is(err, ErrMemory) {
		a.replyError(m, err)
		a.memoryExceeded(m, err)
		return
	}
	if overrun {
		err = fmt.Errorf("%w (%s); %q was interrupted: %v", ErrBudget, a.proc.cfg.Budget, m.Command, err)
	} else if a.ctx.Err() != nil && !errors.Is(err, ErrNotHandled) {
		err = fmt.Errorf("%w: %q was interrupted because %q is stopping: %v", ErrStopping, m.Command, a.name, err)
	}
	a.replyError(m, err)
}

// replyError answers m with is_not_handled or error, as DESIGN.md says.
func (a *Actor) replyError(m *Message, err error) {
	mid := m.ID.String()
	if errors.Is(err, ErrNotHandled) {
		a.Logger().Debug("message is not handled", "command", m.Command, "mid", mid)
		if !m.Sender.IsZero() {
			body := Object{{Key: "mid", Value: mid}, {Key: "command", Value: m.Command}}
			if c, ok := a.beh.(interface{ Commands() Array }); ok { // what it would have handled
				body = append(body, Field{Key: "commands", Value: c.Commands()})
			}
			a.proc.reply(m, "is_not_handled", body)
		}
		return
	}
	var traced interface{ Traceback() string }
	if errors.Is(err, ErrStopping) {
		a.Logger().Info("handler interrupted by a stop", "command", m.Command, "mid", mid, "error", err.Error())
	} else if errors.As(err, &traced) {
		a.Logger().Error("handler failed", "command", m.Command, "mid", mid, "error", err.Error(), "traceback", traced.Traceback())
	} else {
		a.Logger().Error("handler failed", "command", m.Command, "mid", mid, "error", err.Error())
	}
	if !m.Sender.IsZero() {
		a.proc.reply(m, "error", Object{{Key: "mid", Value: mid}, {Key: "message", Value: err.Error()}})
	}
}

// runSystem runs an init or stop task; it returns true once the actor is gone.
func (a *Actor) runSystem(t sysTask) bool {
	switch t.kind {
	case sysInit:
		err := a.underBudget(" in init", func() error { return a.beh.Init(a) })
		a.initReply <- err
		if err != nil {
			a.finish(false)
			return true
		}
	case sysStop:
		a.finish(true)
		return true
	case sysReplace:
		if err := a.wake(); err != nil {
			t.replace.done <- err
			a.halt.Store(false)
			return false
		}
		return a.replace(t.replace)
	case sysMeasure:
		a.measure(t.measured)
	case sysHibernate:
		a.hibernate(t.handled)
	case sysEval:
		a.touched()
		if err := a.wake(); err != nil {
			t.eval.done <- evalResult{err: err}
			return false
		}
		ev, ok := a.beh.(Evaluator)
		if !ok {
			t.eval.done <- evalResult{err: fmt.Errorf("%w: %q cannot evaluate code", ErrBadRequest, a.name)}
			return false
		}
		var v any
		err := a.underBudget("", func() (err error) { v, err = ev.Eval(a, t.eval.code); return err })
		t.eval.done <- evalResult{v, err}
	}
	return false
}

// underBudget runs f, code of the behaviour outside a handler (init,
// eval, hibernating, waking), on the actor's goroutine under the handler
// budget: an error of a run the watchdog interrupted says so (where says
// in what), and the budget is armed again.
func (a *Actor) underBudget(where string, f func() error) error {
	a.budget.begin(a.proc)
	err := f()
	a.budget.end()
	if a.budget.fired.Load() {
		if err != nil {
			err = fmt.Errorf("%w (%s)%s: %v", ErrBudget, a.proc.cfg.Budget, where, err)
		}
		a.budget.rearm()
	}
	return err
}

// finish runs the stop hook (when the actor had started), cancels its
// timers, answers the asks still queued and leaves the registry.
func (a *Actor) finish(started bool) {
	a.mu.Lock()
	a.stopping = true
	a.releaseLinksLocked()
	a.mu.Unlock()
	a.cancel()
	a.cancelTimers()
	if started {
		a.budget.rearm()                         // the stop interrupted the last handler; the hook gets a fresh budget
		if !a.stopsAsleep() && a.wake() == nil { // (logged if not: no stop hook then)
			a.budget.begin(a.proc)
			a.beh.Stop(a)
			a.budget.end()
		}
	}
	a.proc.endDormant(a)      // removed asleep (no stop hook, or no waking)
	a.budget.interrupt(false) // for good: nothing of this actor runs any more
	a.proc.retire(a)
	a.proc.unregister(a)
	a.mu.Lock()
	var orphans []Message
	for {
		m, ok := a.queue.pop()
		if !ok {
			break
		}
		if !m.Sender.IsZero() {
			orphans = append(orphans, m)
		}
	}
	a.mu.Unlock()
	for i := range orphans {
		a.proc.replyNotFound(&orphans[i], a.name, nil)
	}
	close(a.done)
}

// stop asks the actor to stop after its current message; it returns a channel
// closed once the stop hook has run and the name is free.
func (a *Actor) stop() <-chan struct{} {
	a.mu.Lock()
	already := a.stopping
	a.stopping = true
	a.releaseLinksLocked()
	a.mu.Unlock()
	if !already {
		a.halt.Store(true)
		a.cancel()
		a.budget.interrupt(false) // a running handler stops at its next instruction
		a.pushSystem(sysTask{kind: sysStop})
	}
	return a.done
}

// Sleep blocks the actor for d or until it stops. The time does not count
// against the handler's budget.
func (a *Actor) Sleep(d time.Duration) error {
	if d <= 0 {
		return nil
	}
	a.budget.pause(a.proc)
	defer a.budget.resume(a.proc)
	a.waitBegins()
	defer a.waitEnds()
	done := make(chan struct{})
	t := a.proc.cfg.Clock.AfterFunc(d, func() { close(done) })
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-a.ctx.Done():
		return fmt.Errorf("sleep: %w: %q is being removed", ErrStopping, a.name)
	}
}

// BlockingContext is the context of a call out of the actor's handler that
// may block (Blocking): done when the actor stops, and when a move of the
// actor begins (the move waits for the handler, so the call must end).
// After a move that did not happen, the next call gets a fresh one.
func (a *Actor) BlockingContext() context.Context {
	a.blockMu.Lock()
	defer a.blockMu.Unlock()
	if a.blockCtx == nil {
		a.blockCtx, a.blockCancel = context.WithCancel(a.ctx)
	}
	return a.blockCtx
}

// interruptBlocking ends the calls that block the actor's handler (a move
// begins).
func (a *Actor) interruptBlocking() {
	a.blockMu.Lock()
	if a.blockCancel != nil {
		a.blockCancel()
	}
	a.blockCtx, a.blockCancel = nil, nil
	a.blockMu.Unlock()
}

// Blocking runs fn, a call out of the actor's handler that may block (a Go
// service's I/O), as Ask waits: the time does not count against the
// handler's budget, and the process's other actors run meanwhile. fn
// should return soon after BlockingContext is done (the actor stops or
// moves, or the process exits).
func (a *Actor) Blocking(fn func()) {
	a.budget.pause(a.proc)
	defer a.budget.resume(a.proc)
	a.waitBegins()
	defer a.waitEnds()
	fn()
}

// Send sends a message from this actor; it fails at once when the recipient
// is unknown.
func (a *Actor) Send(to Address, command string, body any) error {
	return a.proc.Send(a.message(to, command, body))
}

// message makes a message of this actor. What goes to an admin, and exit
// and quit (which go to the head admin whatever the recipient), carries
// the actor's package, so that the admin checks what the package may ask
// of it (Process.permit); messages to actors do not need it.
func (a *Actor) message(to Address, command string, body any) Message {
	m := Message{Command: command, Body: body, Recipient: to}
	if (to.Entity == "" && to.Reply == 0) || command == "exit" || command == "quit" {
		m.From = a.class.Package
	}
	return m
}

// Ask sends a request and waits for the reply, the timeout or the actor's
// stop. The waiting time does not count against the handler's budget.
func (a *Actor) Ask(to Address, command string, body any, timeout time.Duration) (Message, error) {
	a.budget.pause(a.proc)
	defer a.budget.resume(a.proc)
	a.waitBegins()
	defer a.waitEnds()
	return a.proc.Ask(a.ctx, a.message(to, command, body), timeout)
}

// MemoryLimit returns the bytes the actor's state may hold (see
// MemoryMeter); 0: unlimited.
func (a *Actor) MemoryLimit() int64 {
	return max(a.proc.cfg.ActorMemory, 0)
}

// memoryExceeded reports a handler whose allocation was refused, and stops
// the actor when it still holds more than its limit. It runs on the
// actor's goroutine, after the handler.
func (a *Actor) memoryExceeded(m *Message, err error) {
	limit := a.MemoryLimit()
	a.Logger().Warn("memory limit exceeded", "command", m.Command, "mid", m.ID.String(), "limit_mib", limit>>20, "error", err.Error())
	line := fmt.Sprintf("%q: %v", m.Command, err)
	mm, ok := a.beh.(MemoryMeter)
	if !ok || limit == 0 {
		a.proc.events.publish(Event{Kind: "memory_exceeded", Node: a.proc.adminName, Actor: a.name, Line: line})
		return
	}
	live := mm.MemoryInUse()
	if live <= limit {
		a.proc.events.publish(Event{Kind: "memory_exceeded", Node: a.proc.adminName, Actor: a.name, Line: line})
		return
	}
	reason := fmt.Sprintf("it holds about %.1f MiB after %q, over its memory limit of %d MiB", float64(live)/(1<<20), m.Command, limit>>20)
	a.Logger().Error("actor is stopped: over its memory limit", "command", m.Command, "mid", m.ID.String(), "live_bytes", live, "limit_bytes", limit)
	a.proc.events.publish(Event{Kind: "memory_exceeded", Node: a.proc.adminName, Actor: a.name, Line: line + "; the actor is stopped: " + reason})
	a.stop()
}

// BudgetContext returns the context a behaviour attaches to code that must
// be interruptible (the Lua state and its coroutines). It is done while the
// running handler is interrupted, for exceeding its budget or because the
// actor stops, and is re-armed before the next handler: it is the same
// value for the actor's whole life.
// It is nil when the process has no budget (Config.Budget < 0).
func (a *Actor) BudgetContext() context.Context {
	if a.proc.cfg.Budget < 0 {
		return nil
	}
	return a.budget.ctx
}

// AskResult is one answer of AskAll.
type AskResult struct {
	Reply Message
	Err   error
}

// AskAll sends all requests at once and waits for every reply, all within
// one timeout. Results are in the order of the requests.
func (a *Actor) AskAll(reqs []Message, timeout time.Duration) []AskResult {
	a.budget.pause(a.proc)
	defer a.budget.resume(a.proc)
	a.waitBegins()
	defer a.waitEnds()
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	out := make([]AskResult, len(reqs))
	pending := make([]*PendingAsk, len(reqs))
	for i, m := range reqs {
		m = a.message(m.Recipient, m.Command, m.Body)
		pa, nf, err := a.proc.StartAsk(m, timeout)
		if err != nil {
			out[i] = AskResult{Reply: nf, Err: err}
			continue
		}
		pending[i] = pa
	}
	deadline := time.Now().Add(timeout)
	for i, pa := range pending {
		if pa == nil {
			continue
		}
		r, err := pa.Wait(a.ctx, max(time.Until(deadline), time.Millisecond))
		out[i] = AskResult{Reply: r, Err: err}
	}
	return out
}

// ParamsGetter is implemented by behaviours whose params can be carried to a
// replacement (recreate_actor).
type ParamsGetter interface {
	Params() (Object, error)
}

// replace runs in the actor's goroutine between two messages: it makes the
// successor from this actor's params, hands it the queued messages after a
// start message, puts it in the registry in one step, and stops this one
// (its stop hook runs). Messages pushed here later go to the successor. It
// reports true when the actor is gone.
func (a *Actor) replace(t *replaceTask) bool {
	if t.extract != nil {
		if err := t.extract(); err != nil {
			a.halt.Store(false)
			t.done <- err
			return false
		}
		a.endInstance()
		t.done <- nil
		return true
	}
	var params Object
	if pg, ok := a.beh.(ParamsGetter); ok {
		var err error
		if params, err = pg.Params(); err != nil {
			t.done <- fmt.Errorf("read the params of %q: %w", a.name, err)
			a.halt.Store(false)
			return false
		}
	}
	next, err := t.make(params)
	if err != nil {
		t.done <- err
		a.halt.Store(false)
		return false
	}
	p := a.proc
	start := Message{ID: p.NewMID(), Command: "start", Recipient: next.Address()}
	a.mu.Lock()
	next.mu.Lock()
	next.queue.push(start)
	for {
		m, ok := a.queue.pop()
		if !ok {
			break
		}
		next.queue.push(m)
	}
	next.running = true // held until it is in the registry
	next.mu.Unlock()
	a.onward = next
	a.stopping = true
	a.releaseLinksLocked()
	a.mu.Unlock()
	p.mu.Lock()
	if p.actors[a.name] == a {
		p.actors[a.name] = next
		p.awake[next] = struct{}{}
	}
	delete(p.awake, a)
	p.mu.Unlock()
	a.endInstance()
	p.sched.enqueue(next)
	t.done <- nil
	return true
}

// endInstance ends an instance that was replaced or moved: its timers, its
// stop hook and its state; its name lives on elsewhere.
func (a *Actor) endInstance() {
	a.proc.retire(a)
	a.cancel()
	a.cancelTimers()
	a.budget.rearm()
	a.budget.begin(a.proc)
	a.beh.Stop(a)
	a.budget.end()
	a.budget.interrupt(false)
	close(a.done)
}

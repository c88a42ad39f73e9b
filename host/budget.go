package host

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// budgetState measures how long the current handler has been running, in
// ticks of the process's watchdog, not counting time blocked in Sleep or
// Ask. The actor goroutine calls begin/end/pause/resume (two atomic stores
// each, no clock reads); the watchdog reads start and used and interrupts.
type budgetState struct {
	start atomic.Int64 // watchdog tick when the running segment began; 0 = not running
	used  atomic.Int64 // ticks used by earlier segments of this handler
	fired atomic.Bool  // the watchdog interrupted the current handler

	ctx    *budgetCtx
	mu     sync.Mutex // guards closed and the swap of ctx's channel
	closed bool
}

// budgetCtx is the context attached to an actor's Lua state and to its
// coroutines for the actor's whole life. It is done while a handler is
// being interrupted and is re-armed with a fresh channel afterwards, so
// nothing that holds it stays cancelled.
type budgetCtx struct {
	ch atomic.Pointer[chan struct{}]
}

// errInterrupted is the error the Lua VM raises in an interrupted handler.
var errInterrupted = errors.New("interrupted")

func (c *budgetCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *budgetCtx) Done() <-chan struct{}       { return *c.ch.Load() }
func (c *budgetCtx) Value(any) any               { return nil }
func (c *budgetCtx) Err() error {
	select {
	case <-c.Done():
		return errInterrupted
	default:
		return nil
	}
}

func (b *budgetState) init() {
	b.ctx = &budgetCtx{}
	ch := make(chan struct{})
	b.ctx.ch.Store(&ch)
}

// interrupt makes the running handler fail at its next Lua instruction;
// overrun says it is the budget's doing (not a stop).
func (b *budgetState) interrupt(overrun bool) {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		if overrun {
			b.fired.Store(true)
		}
		close(*b.ctx.ch.Load())
	}
	b.mu.Unlock()
}

// rearm readies the context for the next handler.
func (b *budgetState) rearm() {
	b.mu.Lock()
	if b.closed {
		ch := make(chan struct{})
		b.ctx.ch.Store(&ch)
		b.closed = false
	}
	b.fired.Store(false)
	b.mu.Unlock()
}

func (b *budgetState) begin(p *Process) {
	b.used.Store(0)
	b.start.Store(p.tick.Load())
}

func (b *budgetState) end() { b.start.Store(0) }

func (b *budgetState) pause(p *Process) {
	if s := b.start.Load(); s != 0 {
		b.used.Add(p.tick.Load() - s)
		b.start.Store(0)
	}
}

func (b *budgetState) resume(p *Process) { b.start.Store(p.tick.Load()) }

// overrun reports whether the running handler has used more than limit ticks.
func (b *budgetState) overrun(now, limit int64) bool {
	s := b.start.Load()
	return s != 0 && b.used.Load()+now-s > limit
}

// watchdogPeriod is how often the watchdog checks for a stuck run queue.
const watchdogPeriod = 20 * time.Millisecond

// watchdog advances the budget tick, interrupts handlers that overrun their
// budget and keeps the run queue moving when all workers are busy.
func (p *Process) watchdog(stop <-chan struct{}) {
	t := time.NewTicker(watchdogPeriod)
	defer t.Stop()
	// Scan the actors for budget overruns about 20 times per budget.
	scanEvery := max(int64(p.cfg.Budget/20/watchdogPeriod), 1)
	limit := int64(p.cfg.Budget / watchdogPeriod)
	if p.cfg.Budget < 0 {
		scanEvery = -1 // no budget: never scan
	}
	var dequeued uint64
	for n := int64(1); ; n++ {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		now := p.tick.Add(1)
		dequeued = p.sched.unstick(dequeued)
		if n%historyEvery == 0 {
			p.noteHistory()
		}
		if scanEvery < 0 || n%scanEvery != 0 {
			continue
		}
		p.mu.RLock()
		for _, a := range p.actors {
			if a.budget.start.Load() == 0 {
				continue // not inside a handler
			}
			a.busy.Add(scanEvery) // a sample of its running time
			if a.budget.overrun(now, limit) {
				a.budget.interrupt(true)
			}
		}
		p.mu.RUnlock()
	}
}

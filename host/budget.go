package host

import (
	"context"
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

	mu       sync.Mutex // guards cancelFn; ctx is written under mu by the actor goroutine only
	ctx      context.Context
	cancelFn context.CancelFunc
}

func (b *budgetState) renew(parent context.Context) {
	b.mu.Lock()
	if b.cancelFn != nil {
		b.cancelFn()
	}
	b.ctx, b.cancelFn = context.WithCancel(parent)
	b.fired.Store(false)
	b.mu.Unlock()
}

func (b *budgetState) cancel() {
	b.mu.Lock()
	if b.cancelFn != nil {
		b.cancelFn()
	}
	b.mu.Unlock()
}

func (b *budgetState) interrupt() {
	b.mu.Lock()
	if !b.fired.Load() && b.cancelFn != nil {
		b.fired.Store(true)
		b.cancelFn()
	}
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
	var dequeued uint64
	for n := int64(1); ; n++ {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		now := p.tick.Add(1)
		dequeued = p.sched.unstick(dequeued)
		if n%scanEvery != 0 {
			continue
		}
		p.mu.RLock()
		for _, a := range p.actors {
			if a.budget.overrun(now, limit) {
				a.budget.interrupt()
			}
		}
		p.mu.RUnlock()
	}
}

package host

import (
	"sync"
	"time"
)

// The messages a process handled, second by second, for the last
// historyKept seconds (get_history): a console page opened now draws the
// minutes before it. The watchdog samples the total once a second
// (historyEvery ticks), in one pass over the registry like its budget
// scan.

const (
	historyKept  = 300
	historyEvery = int64(time.Second / watchdogPeriod)
)

type historyPoint struct {
	at      int64 // ms since 1970
	handled uint64
}

type history struct {
	mu   sync.Mutex // guards ring, next, n
	ring [historyKept]historyPoint
	next int
	n    int
}

// noteHistory records the process's handled total now (the watchdog).
func (p *Process) noteHistory() {
	total := p.admin.handled.Load()
	p.mu.RLock()
	for _, a := range p.actors {
		total += a.handled.Load()
	}
	p.mu.RUnlock()
	p.retired.mu.Lock()
	for _, c := range p.retired.byPackage {
		total += c.handled
	}
	p.retired.mu.Unlock()
	h := &p.history
	h.mu.Lock()
	h.ring[h.next] = historyPoint{at: time.Now().UnixMilli(), handled: total}
	h.next = (h.next + 1) % historyKept
	h.n = min(h.n+1, historyKept)
	h.mu.Unlock()
}

// History returns the recorded points, oldest first: [ms since 1970,
// messages handled so far], about one a second.
func (p *Process) History() Array {
	h := &p.history
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(Array, 0, h.n)
	for i := h.n; i > 0; i-- {
		e := h.ring[(h.next-i+historyKept)%historyKept]
		out = append(out, Array{e.at, int64(e.handled)})
	}
	return out
}

package host

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// The scheduler runs actors on worker goroutines. A worker drains one
// actor's mailbox, then parks in a small pool of idle workers, keeping its
// grown stack for the next actor (a fresh goroutine per wake-up would grow
// its stack through the Lua VM every time). Before parking, a worker spins
// briefly, yielding the processor, in case a reply arrives at once: in a
// conversation between two actors this avoids waking an OS thread per
// message. At most GOMAXPROCS workers spin at a time.
type scheduler struct {
	mu   sync.Mutex // guards idle
	idle []*worker

	spinning atomic.Int32
	stop     chan struct{}
}

type worker struct {
	next chan *Actor // capacity 1
}

const (
	maxIdleWorkers = 64
	spinRounds     = 50
)

// schedule runs a on an idle worker, or on a new one.
func (s *scheduler) schedule(a *Actor) {
	s.mu.Lock()
	if n := len(s.idle); n > 0 {
		w := s.idle[n-1]
		s.idle = s.idle[:n-1]
		s.mu.Unlock()
		w.next <- a
		return
	}
	s.mu.Unlock()
	go s.work(a)
}

func (s *scheduler) work(a *Actor) {
	var w *worker
	for {
		a.run()
		if w == nil {
			w = &worker{next: make(chan *Actor, 1)}
		}
		s.mu.Lock()
		if len(s.idle) >= maxIdleWorkers {
			s.mu.Unlock()
			return
		}
		s.idle = append(s.idle, w)
		s.mu.Unlock()
		select {
		case a = <-w.next:
		case <-s.stop:
			return
		}
	}
}

// spin waits a little for more work for a; it reports whether some arrived.
func (s *scheduler) spin(a *Actor) bool {
	if int(s.spinning.Add(1)) > runtime.GOMAXPROCS(0) {
		s.spinning.Add(-1)
		return false
	}
	defer s.spinning.Add(-1)
	for i := 0; i < spinRounds; i++ {
		runtime.Gosched()
		if a.pending.Load() > 0 {
			return true
		}
	}
	return false
}

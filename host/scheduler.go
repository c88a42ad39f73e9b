package host

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// The scheduler runs actors that have messages on a few worker goroutines,
// as skynet and Erlang do: an actor with work waits in the run queue, a
// worker takes it, handles up to batchSize messages and takes the next one.
// A hop to an idle actor therefore costs a queue push, not a goroutine
// switch, and workers keep their grown stacks.
//
// A worker whose handler blocks (pp.ask, pp.sleep) gives up its slot:
// another worker is woken or started, so blocked actors never starve the
// others. When the handler resumes, the worker finishes that actor and then
// leaves if there are more workers than slots.
type scheduler struct {
	mu       sync.Mutex // guards the fields below
	runq     []*Actor   // FIFO: runq[head:]
	head     int
	idle     int // workers parked in cond.Wait
	workers  int // workers holding a slot (not blocked in a handler)
	slots    int // GOMAXPROCS
	spinning int
	spin     bool // idle workers yield a while before parking (GOMAXPROCS > 1)
	stopped  bool
	cond     sync.Cond

	queued   atomic.Int32  // len(runq)-head, read by spinning workers
	dequeued atomic.Uint64 // actors taken from the queue so far
}

// batchSize bounds the messages one actor handles before the others get a
// turn; spinRounds is how long an idle worker yields before parking.
const (
	batchSize  = 64
	spinRounds = 40
)

func (s *scheduler) init() {
	s.cond.L = &s.mu
	s.setThreads(runtime.GOMAXPROCS(0))
}

// setThreads fits the workers to threads running Go code. Workers above
// the new number end as they finish their actor.
func (s *scheduler) setThreads(threads int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.slots = max(threads, 2)
	// With one thread for Go code, nothing can make work while a worker
	// yields, except what comes from outside, and yielding would only keep
	// the CPU from the other processes that send it.
	s.spin = threads > 1
}

// enqueue makes a runnable; the caller has just set a.running.
func (s *scheduler) enqueue(a *Actor) {
	s.mu.Lock()
	s.runq = append(s.runq, a)
	s.queued.Add(1)
	s.wakeLocked()
	s.mu.Unlock()
}

// wakeLocked makes sure a worker will look at the queue.
func (s *scheduler) wakeLocked() {
	switch {
	case s.spinning > 0:
		// a spinning worker will see it
	case s.idle > 0:
		s.cond.Signal()
	case s.workers < s.slots:
		s.workers++
		go s.work()
	}
}

func (s *scheduler) work() {
	buf := make([]Message, 0, batchSize)
	for {
		a := s.next()
		if a == nil {
			return
		}
		if a.run(buf) {
			s.enqueue(a) // more messages: back of the queue, others get a turn
		}
		s.mu.Lock()
		if s.workers > s.slots { // a blocked worker came back: one too many
			s.workers--
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
	}
}

// next returns the next runnable actor, or nil when the worker should end.
func (s *scheduler) next() *Actor {
	s.mu.Lock()
	defer s.mu.Unlock()
	spun := false
	for {
		if s.head < len(s.runq) {
			a := s.runq[s.head]
			s.runq[s.head] = nil
			s.head++
			if s.head == len(s.runq) {
				s.runq, s.head = s.runq[:0], 0
			}
			s.queued.Add(-1)
			s.dequeued.Add(1)
			return a
		}
		if s.stopped {
			s.workers--
			return nil
		}
		if s.spin && !spun && s.spinning == 0 {
			// Yield a little before parking: in a conversation the next
			// message usually comes within microseconds.
			spun = true
			s.spinning++
			s.mu.Unlock()
			for i := 0; i < spinRounds && s.queued.Load() == 0; i++ {
				runtime.Gosched()
			}
			s.mu.Lock()
			s.spinning--
			continue
		}
		s.idle++
		s.cond.Wait()
		s.idle--
	}
}

// block is called by a worker whose handler is about to wait; unblock when
// it resumes.
func (s *scheduler) block() {
	s.mu.Lock()
	s.workers--
	if s.head < len(s.runq) {
		s.wakeLocked()
	}
	s.mu.Unlock()
}

func (s *scheduler) unblock() {
	s.mu.Lock()
	s.workers++
	s.mu.Unlock()
}

// unstick adds a worker when actors wait in the queue and no worker has
// taken one since the last check: every worker is busy with a long handler
// (CPU-heavy Lua within its budget, or Go code that blocks). The extra
// worker leaves when the busy ones come back. The watchdog calls it.
func (s *scheduler) unstick(lastDequeued uint64) uint64 {
	now := s.dequeued.Load()
	if now == lastDequeued && s.queued.Load() > 0 {
		s.mu.Lock()
		if s.idle == 0 && s.spinning == 0 && s.head < len(s.runq) && !s.stopped {
			s.workers++
			go s.work()
		}
		s.mu.Unlock()
	}
	return now
}

// stop ends parked workers; busy ones end after their current actor.
func (s *scheduler) stop() {
	s.mu.Lock()
	s.stopped = true
	s.cond.Broadcast()
	s.mu.Unlock()
}

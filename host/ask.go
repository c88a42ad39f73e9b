package host

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// askTable holds the asks of a process that wait for their reply. A reply
// addressed to "_N" completes waiter N; a reply for a waiter that has gone
// (timed out) is dropped and counted.
//
// N is drawn from a ChaCha8 generator seeded from crypto/rand, so a reply
// address is 64 unguessable bits: seeing the reply addresses of some asks
// (an actor sees the sender of every ask it gets) tells nothing of the
// others, and an actor, a console client or a link peer cannot answer an
// ask it was not sent by trying numbers. Drawing one costs a few
// nanoseconds under mu, which open takes anyway.
type askTable struct {
	mu       sync.Mutex // guards waiting, rng, opened
	waiting  map[uint64]*waiter
	rng      *rand.ChaCha8
	opened   uint64        // asks made so far (metrics)
	timeouts atomic.Uint64 // asks that timed out (metrics)
}

// init makes the table empty, with a freshly seeded generator.
func (t *askTable) init() {
	var seed [32]byte
	crand.Read(seed[:]) // never fails (crypto/rand panics rather than return an error)
	t.waiting = make(map[uint64]*waiter)
	t.rng = rand.NewChaCha8(seed)
}

type waiter struct {
	id     uint64
	ch     chan Message // capacity 1: the reply is sent under askTable.mu
	timer  *time.Timer
	node   string // the process asked, when it is another one (set under askTable.mu)
	entity string // the actor asked, then
}

var waiterPool = sync.Pool{New: func() any { return &waiter{ch: make(chan Message, 1)} }}

func (t *askTable) open() *waiter {
	w := waiterPool.Get().(*waiter)
	w.node, w.entity = "", ""
	t.mu.Lock()
	for {
		// 0 is no reply address; a number in use (one in 2^64) is drawn again.
		w.id = t.rng.Uint64()
		if _, taken := t.waiting[w.id]; w.id != 0 && !taken {
			break
		}
	}
	t.waiting[w.id] = w
	t.opened++
	t.mu.Unlock()
	return w
}

// counts returns the asks made and those that timed out.
func (t *askTable) counts() (opened, timeouts uint64) {
	t.mu.Lock()
	opened = t.opened
	t.mu.Unlock()
	return opened, t.timeouts.Load()
}

// take removes waiter w; false means a reply has already been put in w.ch.
func (t *askTable) take(w *waiter) bool {
	t.mu.Lock()
	_, ok := t.waiting[w.id]
	delete(t.waiting, w.id)
	t.mu.Unlock()
	return ok
}

func (t *askTable) abandon(w *waiter) {
	if !t.take(w) {
		<-w.ch
	}
	waiterPool.Put(w)
}

func (t *askTable) complete(p *Process, id uint64, m Message) {
	t.mu.Lock()
	w, ok := t.waiting[id]
	if ok {
		delete(t.waiting, id)
		w.ch <- m
	}
	t.mu.Unlock()
	if !ok {
		p.lateReplies.Add(1)
	}
}

// failNode ends the asks waiting for a reply from node (a process that
// died), or from one of the actors it had (names), with an error that
// names it.
func (t *askTable) failNode(node, reason string, names []string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for id, w := range t.waiting {
		if w.node == node || (w.entity != "" && w.node != "" && slices.Contains(names, w.entity)) {
			delete(t.waiting, id)
			w.ch <- Message{Command: "error", Body: Object{{Key: "message", Value: "process " + node + " died: " + reason}}}
			n++
		}
	}
	return n
}

func (t *askTable) setNode(w *waiter, node, entity string) {
	t.mu.Lock()
	w.node, w.entity = node, entity
	t.mu.Unlock()
}

// failRemote ends every ask waiting on another process except those for
// which keep is true (the system's head is lost: they cannot be answered).
func (t *askTable) failRemote(reason string, keep func(node string) bool) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for id, w := range t.waiting {
		if w.node != "" && !keep(w.node) {
			delete(t.waiting, id)
			w.ch <- Message{Command: "error", Body: Object{{Key: "message", Value: reason}}}
			n++
		}
	}
	return n
}

// failAll ends every waiting ask with a shutdown notice.
func (t *askTable) failAll() {
	t.mu.Lock()
	for id, w := range t.waiting {
		delete(t.waiting, id)
		w.ch <- Message{Command: "error", Body: Object{{Key: "message", Value: "the system is shutting down"}}}
	}
	t.mu.Unlock()
}

// wait waits for the reply to w, up to timeout or until ctx ends. It parks
// at once: an ask that yielded for its reply first (as it did until issue
// 20) sent the asker to the global run queue on every yield, so asker and
// asked ran on different threads and handed each message across CPUs
// (docs/architecture.md, "Asks").
func (t *askTable) wait(w *waiter, ctx context.Context, timeout time.Duration, req *Message) (Message, error) {
	if w.timer == nil {
		w.timer = time.NewTimer(timeout)
	} else {
		w.timer.Reset(timeout)
	}
	var err error
	select {
	case r := <-w.ch:
		w.timer.Stop()
		waiterPool.Put(w)
		return r, nil
	case <-w.timer.C:
		err = fmt.Errorf("ask %q of %s: %w after %s", req.Command, req.Recipient, ErrTimeout, timeout)
	case <-ctx.Done():
		w.timer.Stop()
		err = fmt.Errorf("ask %q of %s: %w", req.Command, req.Recipient, ctx.Err())
	}
	if !t.take(w) {
		// The reply arrived just as we gave up: it is in the channel.
		r := <-w.ch
		waiterPool.Put(w)
		return r, nil
	}
	if errors.Is(err, ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
		t.timeouts.Add(1)
	}
	waiterPool.Put(w)
	return Message{}, err
}

package host

import (
	"errors"
	"fmt"
	"time"
)

// Hibernation (docs/architecture.md, "Hibernation"): an actor whose
// behaviour can give up its state (a Hibernator that Hibernates) and that
// has handled no message for Config.HibernateAfter, has no timer armed and
// nothing queued, is asked to hibernate: between two of its messages, on
// its goroutine, its behaviour becomes a Dormant (a compact form) and the
// state is released. Whatever reaches the behaviour next (a message, an
// eval, a replacement or a move, its removal) wakes it first, on its
// goroutine and in order: Dormant.Wake makes the behaviour again.
//
// The scanner (Process.hibernator) walks the process's actors every
// HibernateAfter/4 and notes, without touching the message path, which
// have handled nothing since its last walk.

// Hibernator is implemented by behaviours that can give up their state
// while their actor is idle.
type Hibernator interface {
	// Hibernates reports whether the class asks for hibernation (read
	// once, when the behaviour is made).
	Hibernates() bool
	// Hibernate runs on the actor's goroutine between two messages,
	// under the handler budget. It returns the compact form, the state
	// released, or an error saying why the actor stays awake (then the
	// state is kept).
	Hibernate(a *Actor) (Dormant, error)
}

// Dormant is a hibernated behaviour. It may also have a method HasStop()
// bool: when it reports false, the actor is removed without being woken
// (no stop hook would run).
type Dormant interface {
	// Wake makes the behaviour again, on the actor's goroutine under the
	// handler budget.
	Wake(a *Actor) (Behaviour, error)
	// Size is what the compact form holds, in bytes.
	Size() int64
}

// asleep stands for a hibernated behaviour in Actor.beh. Every way into
// the behaviour wakes the actor first (Actor.wake); its methods are the
// answer of an actor that could not be woken.
type asleep struct{ d Dormant }

func (s *asleep) Init(*Actor) error { return errAsleep }
func (s *asleep) Receive(*Actor, *Message) (Reply, error) {
	return Reply{}, errAsleep
}
func (s *asleep) Stop(*Actor) {}

// MemoryInUse is what the compact form holds (MemoryMeter).
func (s *asleep) MemoryInUse() int64 { return s.d.Size() }

var errAsleep = errors.New("the actor is hibernating and could not be woken")

// setBehaviour gives a the behaviour beh (before it runs, or on its
// goroutine), noting whether it may hibernate.
func (a *Actor) setBehaviour(beh Behaviour) {
	a.mu.Lock()
	a.beh = beh
	a.mu.Unlock()
	if h, ok := beh.(Hibernator); ok && h.Hibernates() {
		a.sleeps.Store(true)
	}
}

// behaviour returns a's behaviour, for a goroutine other than a's own.
func (a *Actor) behaviour() Behaviour {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.beh
}

// Hibernating reports whether the actor is hibernating now.
func (a *Actor) Hibernating() bool { return a.dormant.Load() }

// AwakeReason returns why the actor's last hibernation was refused ("" if
// none was, or it has hibernated since).
func (a *Actor) AwakeReason() string {
	if r := a.awakeWhy.Load(); r != nil {
		return *r
	}
	return ""
}

// hibernate runs the sysHibernate task: the actor hibernates if it is
// still idle (it has handled nothing since the scanner saw it at handled:
// a long handler, or one waiting in an ask or a sleep, ended meanwhile)
// and its behaviour agrees.
func (a *Actor) hibernate(handled uint64) {
	defer a.hibernateQueued.Store(false)
	if _, ok := a.beh.(*asleep); ok {
		return
	}
	h, ok := a.beh.(Hibernator)
	if !ok {
		return
	}
	a.mu.Lock()
	busy := a.queue.n > 0 || len(a.system) > 0 || a.stopping
	a.mu.Unlock()
	a.tmu.Lock()
	timers := len(a.timers)
	a.tmu.Unlock()
	if busy || a.handled.Load() != handled {
		return // a message came, or a handler ended, meanwhile: awake
	}
	if timers > 0 {
		why := "a timer is armed"
		a.awakeWhy.Store(&why)
		a.refusedAt.Store(handled + 1) // not asked again until it handles a message
		return
	}
	var d Dormant
	err := a.underBudget("", func() (err error) { d, err = h.Hibernate(a); return err })
	if err != nil {
		why := err.Error()
		a.awakeWhy.Store(&why)
		a.refusedAt.Store(a.handled.Load() + 1)
		a.Logger().Debug("actor stays awake", "reason", why)
		return
	}
	a.awakeWhy.Store(nil)
	a.mu.Lock()
	a.beh = &asleep{d: d}
	a.mu.Unlock()
	a.memory.mem.Store(d.Size())
	a.proc.beginDormant(a)
	a.memory.handledAt.Store(a.handled.Load() + 1)
	a.memory.dirty = false
	a.memory.at.Store(time.Now().UnixNano())
}

// stopsAsleep reports whether a hibernating actor may end without being
// woken: its dormant form says it has no stop hook.
func (a *Actor) stopsAsleep() bool {
	s, ok := a.beh.(*asleep)
	if !ok {
		return false
	}
	h, ok := s.d.(interface{ HasStop() bool })
	return ok && !h.HasStop()
}

// wake makes a hibernating actor's behaviour again (on its goroutine);
// nil when it is awake.
func (a *Actor) wake() error {
	s, ok := a.beh.(*asleep)
	if !ok {
		return nil
	}
	var beh Behaviour
	err := a.underBudget("", func() (err error) { beh, err = s.d.Wake(a); return err })
	if err != nil {
		a.Logger().Error("actor could not be woken", "error", err.Error())
		return fmt.Errorf("wake %q from hibernation: %w", a.name, err)
	}
	a.mu.Lock()
	a.beh = beh
	a.mu.Unlock()
	a.proc.endDormant(a)
	a.woke.Store(true)
	a.touched()
	return nil
}

// beginDormant counts a, which has just hibernated, among the dormant
// (on a's goroutine): out of the awake set, its figures into the sums of
// its package version, as they are now (endDormant takes the same out).
func (p *Process) beginDormant(a *Actor) {
	a.asleepCounts = packageCounts{actors: 1, handled: a.handled.Load(), refused: a.refused.Load(), memory: a.memory.mem.Load()}
	key := packageVersion{a.class.Package, a.class.Version}
	p.mu.Lock()
	delete(p.awake, a)
	c := p.dormantSums[key]
	if c == nil {
		c = &packageCounts{}
		p.dormantSums[key] = c
	}
	c.add(&a.asleepCounts, 1)
	a.dormant.Store(true)
	p.mu.Unlock()
	p.hibernating.Add(1)
}

// endDormant undoes beginDormant when a wakes or ends asleep (on a's
// goroutine); nothing if a does not hibernate.
func (p *Process) endDormant(a *Actor) {
	if !a.dormant.Load() {
		return
	}
	key := packageVersion{a.class.Package, a.class.Version}
	p.mu.Lock()
	if c := p.dormantSums[key]; c != nil {
		c.add(&a.asleepCounts, -1)
		if c.actors == 0 {
			delete(p.dormantSums, key)
		}
	}
	if p.actors[a.name] == a { // (one that ends leaves the set when it leaves the registry)
		p.awake[a] = struct{}{}
	}
	a.dormant.Store(false)
	p.mu.Unlock()
	p.hibernating.Add(-1)
}

// awakeActors lists the process's actors that do not hibernate (the admin
// excluded), unsorted, and copies the sums of those that do.
func (p *Process) awakeActors() ([]*Actor, map[packageVersion]packageCounts) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	list := make([]*Actor, 0, len(p.awake))
	for a := range p.awake {
		list = append(list, a)
	}
	sums := make(map[packageVersion]packageCounts, len(p.dormantSums))
	for k, c := range p.dormantSums {
		sums[k] = *c
	}
	return list, sums
}

// inHandler reports whether the actor is inside a handler, running or
// waiting in an ask or a sleep (a hint for other goroutines).
func (a *Actor) inHandler() bool { return a.budget.start.Load() != 0 || a.inWait.Load() }

// Hibernating returns how many of the process's actors hibernate now.
func (p *Process) Hibernating() int { return int(p.hibernating.Load()) }

// hibernator asks the actors idle for HibernateAfter to hibernate, until
// stop is closed.
func (p *Process) hibernator(stop <-chan struct{}) {
	after := p.cfg.HibernateAfter
	t := time.NewTicker(max(after/4, 10*time.Millisecond))
	defer t.Stop()
	var list []*Actor
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		now := time.Now().UnixNano()
		list = list[:0]
		p.mu.RLock()
		for a := range p.awake {
			if a.sleeps.Load() {
				list = append(list, a)
			}
		}
		p.mu.RUnlock()
		for _, a := range list {
			n := a.handled.Load()
			if n != a.idleHandled || a.woke.Swap(false) || a.idleSince == 0 {
				a.idleHandled, a.idleSince = n, now // active since the last walk
				continue
			}
			if time.Duration(now-a.idleSince) < after || a.refusedAt.Load() == n+1 || a.inHandler() {
				continue // not idle long enough, refused with nothing handled since, or in a long handler
			}
			if a.hibernateQueued.CompareAndSwap(false, true) {
				a.pushSystem(sysTask{kind: sysHibernate, handled: n})
			}
		}
		clear(list) // no actor kept alive by the scanner's buffer
	}
}

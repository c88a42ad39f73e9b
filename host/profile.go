package host

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The Lua profiler (profile_lua): for a chosen time, a goroutine of the
// process asks each chosen actor, every interval while it runs a handler,
// for the stack of functions it is in (Sampler: the Lua runtime answers on
// the actor's own goroutine, at its next instruction). The stacks are
// counted in a Profile and given back as collapsed stacks
// ("outer;inner count" lines: speedscope, flamegraph.pl and the console's
// flame graph read them).

// Sampler is implemented by behaviours whose running code can be sampled
// (luart's actors). StartSampling and StopSampling may be called from any
// goroutine; RequestSample too: the stack is added to the profile on the
// actor's goroutine, at the next instruction it runs. An actor is sampled
// into one profile at a time: StartSampling reports false while another
// one samples it, and StopSampling(p) ends p's only.
type Sampler interface {
	StartSampling(p *Profile) bool
	StopSampling(p *Profile)
	RequestSample()
}

// Profile counts sampled stacks, at most MaxProfileStacks distinct ones
// (the others are counted under "[other stacks]").
type Profile struct {
	mu      sync.Mutex // guards stacks, samples
	stacks  map[string]int64
	samples int64

	// Asleep is, once ProfileLua returns, how many of the chosen actors
	// hibernated through the whole profile: they ran nothing to sample.
	Asleep int
}

// MaxProfileStacks bounds the distinct stacks of a profile.
const MaxProfileStacks = 10000

// Add counts one sample of stack (frames from the outermost, joined by
// ';'). Safe for concurrent use.
func (p *Profile) Add(stack string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stacks == nil {
		p.stacks = make(map[string]int64)
	}
	if _, ok := p.stacks[stack]; !ok && len(p.stacks) >= MaxProfileStacks {
		stack = "[other stacks]"
	}
	p.stacks[stack]++
	p.samples++
}

// Collapsed returns the profile as collapsed stacks, the most sampled
// first, and the number of samples.
func (p *Profile) Collapsed() (string, int64) {
	p.mu.Lock()
	type entry struct {
		stack string
		n     int64
	}
	list := make([]entry, 0, len(p.stacks))
	for s, n := range p.stacks {
		list = append(list, entry{s, n})
	}
	samples := p.samples
	p.mu.Unlock()
	sort.Slice(list, func(i, j int) bool {
		if list[i].n != list[j].n {
			return list[i].n > list[j].n
		}
		return list[i].stack < list[j].stack
	})
	var b strings.Builder
	for _, e := range list {
		b.WriteString(e.stack)
		b.WriteByte(' ')
		b.WriteString(strconv.FormatInt(e.n, 10))
		b.WriteByte('\n')
	}
	return b.String(), samples
}

// Profiling limits: a profile lasts at most MaxProfileDuration, samples
// at most every MinProfileInterval, and takes at most MaxProfiledActors.
const (
	MaxProfileDuration = time.Minute
	MinProfileInterval = time.Millisecond
	MaxProfiledActors  = 10000
)

// ProfileLua samples the actors of this process that name is (an actor)
// or whose package is pkg, every interval while they run a handler, for
// d; it returns the profile and how many actors it sampled.
func (p *Process) ProfileLua(ctx context.Context, name, pkg string, d, interval time.Duration) (*Profile, int, error) {
	switch {
	case (name == "") == (pkg == ""):
		return nil, 0, fmt.Errorf("%w: give an actor (\"actor\") or a package (\"package\"), not both", ErrBadRequest)
	case d <= 0 || d > MaxProfileDuration:
		return nil, 0, fmt.Errorf("%w: \"seconds\" must be more than 0 and at most %v, not %v", ErrBadRequest, MaxProfileDuration.Seconds(), d.Seconds())
	case interval < MinProfileInterval || interval > d:
		return nil, 0, fmt.Errorf("%w: the interval must be from %v to the duration, not %v", ErrBadRequest, MinProfileInterval, interval)
	}
	var chosen []*Actor
	if name != "" {
		a := p.Lookup(name)
		if a == nil {
			return nil, 0, fmt.Errorf("%w: %q", ErrNoActor, name)
		}
		chosen = append(chosen, a)
	} else {
		p.mu.RLock()
		for _, a := range p.actors {
			if a.class.Package == pkg && len(chosen) < MaxProfiledActors {
				chosen = append(chosen, a)
			}
		}
		p.mu.RUnlock()
	}
	prof := &Profile{}
	// Each chosen actor with the sampler of its behaviour now: nil while
	// it hibernates (its stand-in samples nothing), and a behaviour that
	// changes (a wake, an upgrade, a hibernation) is picked up every
	// profileRescan.
	entries := make([]profiled, 0, len(chosen))
	taken := 0 // actors another profile samples
	for _, a := range chosen {
		e := profiled{a: a}
		switch beh := a.behaviour(); {
		case isAsleep(beh):
			e.slept = true
		case isSampler(beh):
			if !beh.(Sampler).StartSampling(prof) {
				taken++
				continue
			}
			e.s, e.beh = beh.(Sampler), beh
		default:
			continue // Go code: nothing to sample
		}
		entries = append(entries, e)
	}
	defer func() {
		for _, e := range entries {
			if e.s != nil {
				e.s.StopSampling(prof)
			}
		}
	}()
	if len(entries) == 0 {
		if taken > 0 {
			return nil, 0, fmt.Errorf("%w: another profile samples %s until it ends (one profile at a time per actor)", ErrBusy, what(name, pkg))
		}
		return prof, 0, nil
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	rescan := time.NewTicker(profileRescan)
	defer rescan.Stop()
	end := time.NewTimer(d)
	defer end.Stop()
	sampled := func() int {
		n := 0
		for _, e := range entries {
			switch {
			case e.slept:
				prof.Asleep++
			case e.sampledOnce || e.s != nil:
				n++
			}
		}
		return n
	}
	for {
		select {
		case <-t.C:
			for _, e := range entries {
				if e.s != nil && e.a.budget.start.Load() != 0 { // inside a handler
					e.s.RequestSample()
				}
			}
		case <-rescan.C:
			for i := range entries {
				entries[i].follow(prof)
			}
		case <-end.C:
			return prof, sampled(), nil
		case <-ctx.Done():
			return prof, sampled(), ctx.Err()
		case <-p.done:
			return prof, sampled(), fmt.Errorf("the process is shutting down")
		}
	}
}

// profileRescan is how often a profile looks for actors of its own that
// woke from hibernation or got a new behaviour.
const profileRescan = 100 * time.Millisecond

// profiled is an actor a profile samples.
type profiled struct {
	a           *Actor
	beh         Behaviour // the behaviour s belongs to
	s           Sampler   // nil while the actor hibernates
	sampledOnce bool      // s was set for a while, then the behaviour went
	slept       bool      // it has hibernated throughout so far
}

func isSampler(b Behaviour) bool {
	_, ok := b.(Sampler)
	return ok
}

// isAsleep tells a hibernating actor by its stand-in behaviour, which
// Actor.hibernate sets under the actor's lock a moment before it counts
// the actor as hibernating (Actor.dormant).
func isAsleep(b Behaviour) bool {
	_, ok := b.(*asleep)
	return ok
}

// follow moves e's sampling to the actor's behaviour of now: off one that
// is gone (hibernated, replaced), onto one that came (woke, upgraded).
func (e *profiled) follow(prof *Profile) {
	beh := e.a.behaviour()
	if beh == e.beh {
		return
	}
	if e.s != nil {
		e.s.StopSampling(prof)
		e.s, e.beh, e.sampledOnce = nil, nil, true
	}
	if isAsleep(beh) {
		return
	}
	e.slept = false
	if s, ok := beh.(Sampler); ok && s.StartSampling(prof) {
		e.s, e.beh = s, beh
	}
}

func what(name, pkg string) string {
	if name != "" {
		return fmt.Sprintf("%q", name)
	}
	return fmt.Sprintf("the actors of package %q", pkg)
}

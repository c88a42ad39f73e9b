package host

import (
	"errors"
	"fmt"
	"time"
)

// After delivers command with body to the actor itself once, after d. It
// returns an id for CancelTimer. Timers end with the actor.
func (a *Actor) After(d time.Duration, command string, body any) int {
	return a.addTimer(d, 0, command, body)
}

// Every delivers command with body to the actor itself every d, the first
// time after d. It returns an id for CancelTimer.
func (a *Actor) Every(d time.Duration, command string, body any) int {
	return a.addTimer(d, d, command, body)
}

func (a *Actor) addTimer(d, period time.Duration, command string, body any) int {
	a.tmu.Lock()
	defer a.tmu.Unlock()
	if a.timers == nil {
		a.timers = make(map[int]Timer)
		a.timerSizes = make(map[int]int64)
	}
	a.timerSeq++
	id := a.timerSeq
	msg := Message{Command: command, Body: body, Recipient: a.Address()}
	size := TimerCost + ValueSize(body) + int64(len(command))
	var t Timer
	t = a.proc.cfg.Clock.AfterFunc(d, func() {
		a.tmu.Lock()
		defer a.tmu.Unlock()
		if _, live := a.timers[id]; !live {
			return // cancelled: no tick after CancelTimer
		}
		m := msg
		m.ID = a.proc.NewMID()
		if err := a.push(m); err != nil && !errors.Is(err, ErrMailboxFull) {
			return // the actor is gone; a full mailbox only loses this tick
		}
		if period > 0 {
			t.Reset(period)
		} else {
			a.dropTimerLocked(id)
		}
	})
	a.timers[id] = t
	a.timerSizes[id] = size
	a.timerBytes += size
	return id
}

// TimerCost is what a timer costs beyond its message's body, in bytes.
const TimerCost = 256

// TimerBytes returns about how many bytes the actor's live timers hold,
// their messages included: they count in its memory (MemoryMeter).
func (a *Actor) TimerBytes() int64 {
	a.tmu.Lock()
	defer a.tmu.Unlock()
	return a.timerBytes
}

func (a *Actor) dropTimerLocked(id int) {
	delete(a.timers, id)
	a.timerBytes -= a.timerSizes[id]
	delete(a.timerSizes, id)
}

// CancelTimer stops a timer; it reports whether the timer was still active.
func (a *Actor) CancelTimer(id int) bool {
	a.tmu.Lock()
	defer a.tmu.Unlock()
	t, ok := a.timers[id]
	if ok {
		t.Stop()
		a.dropTimerLocked(id)
	}
	return ok
}

func (a *Actor) cancelTimers() {
	a.tmu.Lock()
	defer a.tmu.Unlock()
	for id, t := range a.timers {
		t.Stop()
		a.dropTimerLocked(id)
	}
}

// ParseSeconds converts a body value in seconds to a duration.
func ParseSeconds(v any) (time.Duration, error) {
	f, ok := ToFloat(v)
	if !ok || f < 0 || f > 1e9 {
		return 0, fmt.Errorf("%w: want a number of seconds >= 0, got %s", ErrBadRequest, TypeName(v))
	}
	return time.Duration(f * float64(time.Second)), nil
}

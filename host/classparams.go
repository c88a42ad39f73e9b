package host

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// DeclaredParams returns the params an actor of the class desc names
// starts with when it is created without any: the class's declared
// defaults, as get_params would show them (the console's create form
// offers them: get_classes {"package", "version", "class"}). The behaviour
// is made as create_actor makes it and then dropped: it is never
// registered, and neither its init nor its stop hook runs. Making it runs
// its module's top-level code, within the handler budget and the actor
// memory bound.
func (p *Process) DeclaredParams(ctx context.Context, desc ClassDesc) (Object, error) {
	if p.cfg.Resolver == nil {
		return nil, errors.New("this process has no package resolver")
	}
	class, err := p.cfg.Resolver.Resolve(ctx, desc)
	if err != nil {
		return nil, err
	}
	a := p.newActor("", class.Info())
	defer a.cancel()
	beh, err := p.makeBehaviour(a, class.New, nil)
	if err != nil {
		return nil, err
	}
	if c, ok := beh.(interface{ Close() }); ok {
		defer c.Close()
	}
	pg, ok := beh.(ParamsGetter)
	if !ok {
		return Object{}, nil
	}
	return pg.Params()
}

// makeBehaviour makes a's behaviour with newBehaviour (Class.New or
// NewCarrying). That runs the class module's top-level code, which the
// watchdog does not see (a is not registered yet), so it is bounded by
// the handler budget here: a module that never finishes loading fails
// with ErrBudget instead of holding its creator for ever.
func (p *Process) makeBehaviour(a *Actor, newBehaviour func(*Actor, Object) (Behaviour, error), params Object) (Behaviour, error) {
	if p.cfg.Budget <= 0 {
		return newBehaviour(a, params)
	}
	var mu sync.Mutex // orders the timer's interrupt before the end of making
	made := false
	t := time.AfterFunc(p.cfg.Budget, func() {
		mu.Lock()
		if !made {
			a.budget.interrupt(true)
		}
		mu.Unlock()
	})
	beh, err := newBehaviour(a, params)
	mu.Lock()
	made = true
	mu.Unlock()
	t.Stop()
	if a.budget.fired.Load() {
		a.budget.rearm()
		if err != nil {
			return nil, fmt.Errorf("%w (%s) while its module was loaded: %v", ErrBudget, p.cfg.Budget, err)
		}
	}
	return beh, err
}

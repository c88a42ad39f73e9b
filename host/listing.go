package host

import (
	"container/heap"
	"context"
	"fmt"
	"sort"
	"strings"
)

// A listing of a process's actors (get_actors) is a page: the actors
// sorted by name, from offset, at most limit of them, those whose name or
// class contains filter (any case), with the number that match. A
// process of a million actors answers the page without sorting them all:
// a heap keeps the first offset+limit names, and only the page's actors
// are measured and described.

// DefaultListLimit is how many actors get_actors lists when the request
// says no limit; "limit": 0 lists them all (for tools that need every
// name; a large process answers slowly then).
const DefaultListLimit = 10000

// ActorQuery is get_actors' page: {"offset", "limit", "filter"}.
type ActorQuery struct {
	Offset, Limit int // Limit 0: all
	Filter        string
}

// maxListPosition bounds get_actors' offset and limit (more actors than a
// process can hold; offset+limit must not overflow).
const maxListPosition = 1 << 30

// ActorQueryOf reads a page from a get_actors body (nil: the first
// DefaultListLimit actors).
func ActorQueryOf(body any) (ActorQuery, error) {
	q := ActorQuery{Limit: DefaultListLimit}
	o, _ := body.(Object)
	if v, ok := o.Get("offset"); ok {
		n := numberOf(v)
		if n < 0 || n > maxListPosition || n != float64(int(n)) {
			return q, fmt.Errorf("%w: get_actors offset must be a whole number from 0 to %d", ErrBadRequest, maxListPosition)
		}
		q.Offset = int(n)
	}
	if v, ok := o.Get("limit"); ok {
		n := numberOf(v)
		if n < 0 || n > maxListPosition || n != float64(int(n)) {
			return q, fmt.Errorf("%w: get_actors limit must be a whole number from 0 (all) to %d", ErrBadRequest, maxListPosition)
		}
		q.Limit = int(n)
	}
	if v, ok := o.Get("filter"); ok {
		s, isString := v.(string)
		if !isString {
			return q, fmt.Errorf("%w: get_actors filter must be a string, not %s", ErrBadRequest, TypeName(v))
		}
		q.Filter = strings.ToLower(s)
	}
	return q, nil
}

// Value returns the page's fields of a get_actors answer.
func (q ActorQuery) fields(total int) []Field {
	return []Field{{Key: "total", Value: int64(total)}, {Key: "offset", Value: int64(q.Offset)}, {Key: "limit", Value: int64(q.Limit)}}
}

func (q ActorQuery) matches(a *Actor) bool {
	if q.Filter == "" {
		return true
	}
	return containsFold(a.name, q.Filter) || containsFold(a.class.Class, q.Filter)
}

// containsFold reports whether s contains sub (lower case) in any case,
// without making a lower-case copy of s (a listing of a million actors
// would make a million).
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// ActorPage lists a page of the process's actors (the admin excluded) as
// get_actors shows them, with what each holds measured within the last
// second (measureWait at most), and the number of actors that match.
func (p *Process) ActorPage(q ActorQuery) (Array, int) {
	live := p.liveActors()
	total := 0
	var chosen []*Actor
	if q.Limit == 0 {
		for _, a := range live {
			if q.matches(a) {
				live[total] = a
				total++
			}
		}
		chosen = live[:total]
		sort.Slice(chosen, func(i, j int) bool { return chosen[i].name < chosen[j].name })
		chosen = chosen[min(q.Offset, len(chosen)):]
	} else {
		keep := q.Offset + q.Limit
		h := &byNameDesc{}
		for _, a := range live {
			if !q.matches(a) {
				continue
			}
			total++
			if h.Len() < keep {
				heap.Push(h, a)
			} else if a.name < (*h)[0].name {
				(*h)[0] = a
				heap.Fix(h, 0)
			}
		}
		chosen = make([]*Actor, h.Len())
		for i := len(chosen) - 1; i >= 0; i-- {
			chosen[i] = heap.Pop(h).(*Actor)
		}
		chosen = chosen[min(q.Offset, len(chosen)):]
	}
	ctx, cancel := context.WithTimeout(context.Background(), measureWait)
	p.MeasureMemory(ctx, chosen, memoryFresh)
	cancel()
	actors := make(Array, len(chosen))
	for i, a := range chosen {
		actors[i] = a.Info().Value()
	}
	return actors, total
}

// byNameDesc is a max-heap of actors by name: its top is the last of the
// names kept.
type byNameDesc []*Actor

func (h byNameDesc) Len() int           { return len(h) }
func (h byNameDesc) Less(i, j int) bool { return h[i].name > h[j].name }
func (h byNameDesc) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *byNameDesc) Push(x any)        { *h = append(*h, x.(*Actor)) }
func (h *byNameDesc) Pop() any {
	old := *h
	a := old[len(old)-1]
	*h = old[:len(old)-1]
	return a
}

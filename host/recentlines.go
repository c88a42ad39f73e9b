package host

import "time"

// The last printed lines of a process (get_lines), so that a console page
// opened later shows what its actors printed before: a ring of
// recentLinesKept lines, each cut to recentLineBytes, guarded by
// Process.outMu (taken anyway to write the line).

const (
	recentLinesKept = 1000
	recentLineBytes = 1024
)

type recentLine struct {
	at    time.Time
	actor string
	line  string
}

type recentLines struct {
	ring [recentLinesKept]recentLine
	next int // where the next line goes
	n    int // lines held, up to recentLinesKept
}

// addLocked records a line (p.outMu held).
func (r *recentLines) addLocked(actor, line string) {
	if len(line) > recentLineBytes {
		line = line[:recentLineBytes] + "…"
	}
	r.ring[r.next] = recentLine{at: time.Now(), actor: actor, line: line}
	r.next = (r.next + 1) % recentLinesKept
	r.n = min(r.n+1, recentLinesKept)
}

// RecentLines returns up to n of the last lines the process's actors
// printed (of actor alone, if not ""), oldest first: {"at" (ms since
// 1970), "actor", "line"}.
func (p *Process) RecentLines(actor string, n int) Array {
	p.outMu.Lock()
	defer p.outMu.Unlock()
	r := &p.recent
	var picked []recentLine
	for i := 0; i < r.n && len(picked) < n; i++ {
		e := r.ring[(r.next-1-i+recentLinesKept)%recentLinesKept]
		if actor == "" || e.actor == actor {
			picked = append(picked, e)
		}
	}
	out := make(Array, 0, len(picked))
	for i := len(picked) - 1; i >= 0; i-- {
		e := picked[i]
		out = append(out, Object{{Key: "at", Value: e.at.UnixMilli()}, {Key: "actor", Value: e.actor}, {Key: "line", Value: e.line}})
	}
	return out
}

package host

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Counters for metrics (get_metrics; web's /metrics turns them into
// Prometheus' format). Nothing here is on the message path: an actor
// counts what it handles and refuses already (Actor.handled, refused),
// and a scrape sums them over the live actors. So
// that the sums never go down (a Prometheus counter must not), an actor
// instance that ends (removed, replaced, moved out) adds its counts to its
// process's retired totals, per package version.

// retiredCounts is what ended actor instances had counted, by package
// version.
type retiredCounts struct {
	mu        sync.Mutex // guards byPackage
	byPackage map[packageVersion]*packageCounts
}

type packageVersion struct{ name, version string }

type packageCounts struct {
	actors           int64 // live only
	handled, refused uint64
	mailbox          int64 // live only
	memory           int64 // live only: what they held when last measured (actormemory.go)
}

// add adds d's figures to c, times sign (1 or -1).
func (c *packageCounts) add(d *packageCounts, sign int64) {
	c.actors += sign * d.actors
	c.handled += uint64(sign) * d.handled
	c.refused += uint64(sign) * d.refused
	c.mailbox += sign * d.mailbox
	c.memory += sign * d.memory
}

// retire adds an ended instance's counts to the process's totals; each
// instance is retired once (finish, or endInstance).
func (p *Process) retire(a *Actor) {
	if a == p.admin {
		return
	}
	key := packageVersion{a.class.Package, a.class.Version}
	h, r := a.handled.Load(), a.refused.Load()
	if h == 0 && r == 0 {
		return
	}
	p.retired.mu.Lock()
	if p.retired.byPackage == nil {
		p.retired.byPackage = make(map[packageVersion]*packageCounts)
	}
	c := p.retired.byPackage[key]
	if c == nil {
		c = &packageCounts{}
		p.retired.byPackage[key] = c
	}
	c.handled += h
	c.refused += r
	p.retired.mu.Unlock()
}

// goMetrics are the runtime figures a process reports with its counters.
var goMetrics = []string{"/memory/classes/heap/objects:bytes", "/gc/cycles/total:gc-cycles", "/sched/goroutines:goroutines"}

// MetricsValue answers get_metrics: the process's counters since it
// started (handled and refused summed over live and ended actors, with
// the admin's), its gauges (actors, messages waiting in mailboxes), the
// same per package version, and its Go runtime's heap, collections and
// goroutines. Cost: one pass over the awake actors (the hibernating ones
// are counted in sums kept as they hibernate and wake: hibernate.go), and
// a measurement of what each awake actor holds that is older than
// memoryFresh (measureWait at most).
func (p *Process) MetricsValue() Object {
	list, dormant := p.awakeActors()
	ctx, cancel := context.WithTimeout(context.Background(), measureWait)
	p.MeasureMemory(ctx, list, memoryFresh)
	cancel()
	byPackage := map[packageVersion]*packageCounts{}
	p.retired.mu.Lock()
	for k, c := range p.retired.byPackage {
		byPackage[k] = &packageCounts{handled: c.handled, refused: c.refused}
	}
	p.retired.mu.Unlock()
	for k, d := range dormant {
		c := byPackage[k]
		if c == nil {
			c = &packageCounts{}
			byPackage[k] = c
		}
		c.add(&d, 1)
	}
	var total packageCounts
	for _, a := range list {
		key := packageVersion{a.class.Package, a.class.Version}
		c := byPackage[key]
		if c == nil {
			c = &packageCounts{}
			byPackage[key] = c
		}
		c.actors++
		c.handled += a.handled.Load()
		c.refused += a.refused.Load()
		c.mailbox += int64(a.MailboxLen())
		if mem, _, ok := a.MemoryBytes(); ok {
			c.memory += mem
		}
	}
	keys := make([]packageVersion, 0, len(byPackage))
	for k, c := range byPackage {
		keys = append(keys, k)
		total.actors += c.actors
		total.handled += c.handled
		total.refused += c.refused
		total.mailbox += c.mailbox
		total.memory += c.memory
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].name != keys[j].name {
			return keys[i].name < keys[j].name
		}
		return keys[i].version < keys[j].version
	})
	packages := make(Array, 0, len(keys))
	for _, k := range keys {
		c := byPackage[k]
		packages = append(packages, Object{{Key: "package", Value: k.name}, {Key: "version", Value: k.version},
			{Key: "actors", Value: c.actors}, {Key: "handled", Value: int64(c.handled)}, {Key: "refused", Value: int64(c.refused)},
			{Key: "mailbox", Value: c.mailbox}, {Key: "lua_memory_bytes", Value: c.memory}})
	}
	asks, timeouts := p.asks.counts()
	samples := make([]metrics.Sample, len(goMetrics))
	for i, name := range goMetrics {
		samples[i].Name = name
	}
	metrics.Read(samples)
	value := func(i int) int64 {
		if samples[i].Value.Kind() == metrics.KindUint64 {
			return int64(samples[i].Value.Uint64())
		}
		return 0
	}
	var gc debug.GCStats
	debug.ReadGCStats(&gc)
	var lastPause time.Duration
	if len(gc.Pause) > 0 {
		lastPause = gc.Pause[0]
	}
	return Object{
		{Key: "node", Value: p.adminName},
		{Key: "actors", Value: total.actors},
		{Key: "hibernating", Value: int64(p.Hibernating())},
		{Key: "handled", Value: int64(total.handled + p.admin.handled.Load())},
		{Key: "refused", Value: int64(total.refused)},
		{Key: "mailbox", Value: total.mailbox},
		{Key: "lua_memory_bytes", Value: total.memory},
		{Key: "late_replies", Value: int64(p.lateReplies.Load())},
		{Key: "link_pauses", Value: int64(p.linkPauses.Load())},
		{Key: "asks", Value: int64(asks)},
		{Key: "ask_timeouts", Value: int64(timeouts)},
		{Key: "moves_run", Value: p.movesRun()},
		{Key: "process_restarts", Value: p.processRestarts()},
		{Key: "moves_out", Value: int64(p.MovesOut())},
		{Key: "packages", Value: packages},
		{Key: "go_heap_bytes", Value: value(0)},
		{Key: "go_gc_cycles", Value: value(1)},
		{Key: "go_gc_pause_ns", Value: int64(gc.PauseTotal)},
		{Key: "go_gc_last_pause_ns", Value: int64(lastPause)},
		{Key: "goroutines", Value: value(2)},
		{Key: "go_threads", Value: int64(runtime.GOMAXPROCS(0))},
		{Key: "os_threads", Value: int64(pprof.Lookup("threadcreate").Count())},
		{Key: "rss_bytes", Value: residentBytes()},
		{Key: "links", Value: p.linkStats()},
	}
}

// movesRun is how many moves this process ran as the system's root
// (cluster's Head), 0 elsewhere.
func (p *Process) movesRun() int64 {
	if m, ok := p.remote.(interface{ MovesRun() int64 }); ok {
		return m.MovesRun()
	}
	return 0
}

// processRestarts is how many child processes this process restarted as
// their head (cluster's Head), 0 elsewhere.
func (p *Process) processRestarts() int64 {
	if r, ok := p.remote.(interface{ ProcessRestarts() int64 }); ok {
		return r.ProcessRestarts()
	}
	return 0
}

// linkStats lists what the process's links carried (cluster's Head and
// Child: [{"peer", "frames_in", "frames_out", "bytes_in", "bytes_out"}]).
func (p *Process) linkStats() Array {
	if l, ok := p.remote.(interface{ LinkStats() Array }); ok {
		return l.LinkStats()
	}
	return Array{}
}

// residentBytes is the process's resident set size, from /proc/self/statm
// (0 where there is none: not Linux).
func residentBytes() int64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(data))
	if len(fields) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}

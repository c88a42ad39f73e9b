package luart_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"testing"
	"time"

	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/internal/config"
)

// BenchmarkLuaAskIdle: with K idle Lua actors resident in the process (0,
// 10,000, 100,000), Go asks a Lua actor b.N times in a row, each ask timed
// alone: ns/op is the mean, with p50, p99 and max beside it; lua-ask-ns is
// the mean of b.N asks a Lua handler makes of the same actor (BenchmarkLuaAsk's
// path), with their p50, p99 and max as lua-ask-*; B/idle-actor is the heap an idle actor keeps, and GCs the
// collections during the timed asks; the collector runs as `peacepie run`
// sets it (gc_percent 400, or GOGC). With hibernated, the idle actors are
// of a class that hibernates, and the asks start once all of them have.
func BenchmarkLuaAskIdle(b *testing.B) {
	for _, k := range []int{0, 10000, 100000} {
		b.Run(fmt.Sprintf("idle=%d", k), func(b *testing.B) { askIdle(b, k, false) })
	}
	for _, k := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("idle=%d,hibernated", k), func(b *testing.B) { askIdle(b, k, true) })
	}
}

func askIdle(b *testing.B, k int, hibernated bool) {
	// The collector as `peacepie run` sets it (gc_percent, 400 by
	// default), unless GOGC says otherwise, as there.
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(config.Defaults().GCPercent))
	}
	cfg, class := host.Config{Budget: time.Hour}, "Idle"
	if hibernated {
		cfg.HibernateAfter, class = 100*time.Millisecond, "Sleepy"
	}
	bn := newBenchConfig(b, cfg)
	defer func() { bn.p.Shutdown(); <-bn.p.Done() }() // not at the end of the whole benchmark: 100,000 actors weigh a GB
	bn.spawn(b, "Server", "server", nil)
	bn.spawn(b, "Asker", "asker", nil)
	c, err := bn.p.Resolver().Resolve(context.Background(), host.ClassDesc{RequiresDist: "bench", Class: class})
	if err != nil {
		b.Fatal(err)
	}
	var before, after runtime.MemStats
	settledHeap(&before) // what an earlier run left (its goroutines end late) is gone
	for i := 0; i < k; i++ {
		if _, err := bn.p.Spawn(fmt.Sprintf("idle_%d", i), c, nil); err != nil {
			b.Fatal(err)
		}
	}
	for deadline := time.Now().Add(10 * time.Minute); hibernated && bn.p.Hibernating() < k; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d actors hibernate after 10 minutes", bn.p.Hibernating(), k)
		}
	}
	settledHeap(&after)

	ask := host.Message{Command: "get", Body: host.Object{{Key: "n", Value: int64(1)}, {Key: "s", Value: "ask"}}, Recipient: host.Address{Entity: "server"}}
	lat := make([]time.Duration, b.N)
	var gcBefore, gcAfter runtime.MemStats
	runtime.ReadMemStats(&gcBefore)
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		r, err := bn.p.Process.Ask(context.Background(), ask, 10*time.Second)
		lat[i] = time.Since(t0)
		if err != nil || r.Command != "got" {
			b.Fatalf("ask: %v %s", err, r.Command)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&gcAfter)
	slices.Sort(lat)
	at := func(q float64) float64 {
		return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(at(0.5), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
	b.ReportMetric(float64(lat[len(lat)-1].Nanoseconds())/1e3, "max-µs")
	b.ReportMetric(float64(gcAfter.NumGC-gcBefore.NumGC), "GCs")
	if k > 0 {
		b.ReportMetric((float64(after.HeapAlloc)-float64(before.HeapAlloc))/float64(k), "B/idle-actor")
	}

	n := max(b.N, 1000)
	start := time.Now()
	q := bn.luaAsks(b, n)
	b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(n), "lua-ask-ns")
	q.report(b, "lua-ask-")
}

// settledHeap collects until the live heap stops shrinking (by 1 %, at
// most 20 tries a tenth of a second apart) and reads the memory stats.
func settledHeap(m *runtime.MemStats) {
	runtime.GC()
	runtime.ReadMemStats(m)
	for range 20 {
		last := m.HeapAlloc
		time.Sleep(100 * time.Millisecond)
		runtime.GC()
		runtime.ReadMemStats(m)
		if m.HeapAlloc > last-last/100 {
			return
		}
	}
}

// BenchmarkGoChanRoundTrip: a round trip between two goroutines over
// unbuffered channels, each timed alone (mean, p99): the machine's floor
// for an in-process ask, to compare figures across machines.
func BenchmarkGoChanRoundTrip(b *testing.B) {
	req, resp := make(chan int), make(chan int)
	go func() {
		for v := range req {
			resp <- v
		}
	}()
	defer close(req)
	lat := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		req <- i
		<-resp
		lat[i] = time.Since(t0)
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[min(len(lat)-1, int(0.99*float64(len(lat))))].Nanoseconds())/1e3, "p99-µs")
}

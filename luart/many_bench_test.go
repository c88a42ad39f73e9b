package luart_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/peacepie/peacepie/host"
)

// BenchmarkMillionActors: one op makes 1,000,000 actors of a class that
// hibernates (hibernate_after 1 s) in one process and waits until all of
// them hibernate. Then, with the million resident: B/actor is the heap a
// hibernated actor keeps, spawn-µs the time to make one; wake-p50/p99-µs
// the time of an ask of a hibernated actor (it is woken to answer), 1,000
// of them; metrics-ms, actors-ms and page-ms how long the process's admin
// takes to answer get_metrics, get_actors (its default page, 10,000
// actors) and the console's page of 50 with a filter, the worst of five;
// and ask-p99-µs an ask of an awake actor among them.
func BenchmarkMillionActors(b *testing.B) {
	const k = 1_000_000
	for range b.N {
		million(b, k)
	}
}

func million(b *testing.B, k int) {
	bn := newBenchConfig(b, host.Config{Budget: time.Hour, HibernateAfter: time.Second})
	defer func() { bn.p.Shutdown(); <-bn.p.Done() }()
	bn.spawn(b, "Server", "server", nil)
	c, err := bn.p.Resolver().Resolve(context.Background(), host.ClassDesc{RequiresDist: "bench", Class: "Sleepy"})
	if err != nil {
		b.Fatal(err)
	}
	var before, after runtime.MemStats
	settledHeap(&before)
	start := time.Now()
	for i := range k {
		if _, err := bn.p.Spawn(fmt.Sprintf("idle_%d", i), c, nil); err != nil {
			b.Fatal(err)
		}
	}
	spawned := time.Since(start)
	for deadline := time.Now().Add(20 * time.Minute); bn.p.Hibernating() < k; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d actors hibernate after 20 minutes", bn.p.Hibernating(), k)
		}
	}
	settledHeap(&after)
	b.ReportMetric((float64(after.HeapAlloc)-float64(before.HeapAlloc))/float64(k), "B/actor")
	b.ReportMetric(float64(spawned.Microseconds())/float64(k), "spawn-µs")

	ask := func(to, command string, body any) time.Duration {
		addr, err := host.ParseAddress(to)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		r, err := bn.p.Process.Ask(context.Background(), host.Message{Command: command, Body: body, Recipient: addr}, time.Minute)
		took := time.Since(t0)
		if err != nil || r.Command == "error" {
			b.Fatalf("ask %s %s: %v %s %v", to, command, err, r.Command, r.Body)
		}
		return took
	}
	wakes := make([]time.Duration, 1000)
	for i := range wakes {
		wakes[i] = ask(fmt.Sprintf("idle_%d", i*997), "echo", host.Object{{Key: "n", Value: int64(i)}})
	}
	slices.Sort(wakes)
	b.ReportMetric(float64(wakes[len(wakes)/2].Microseconds()), "wake-p50-µs")
	b.ReportMetric(float64(wakes[len(wakes)*99/100].Microseconds()), "wake-p99-µs")
	admin := bn.p.AdminName()
	var metrics, actors, page time.Duration
	for range 5 {
		metrics = max(metrics, ask(admin, "get_metrics", nil))
		actors = max(actors, ask(admin, "get_actors", nil))
		page = max(page, ask(admin, "get_actors", host.Object{{Key: "offset", Value: int64(1000)}, {Key: "limit", Value: int64(50)}, {Key: "filter", Value: "idle_9"}}))
	}
	b.ReportMetric(float64(metrics.Milliseconds()), "metrics-ms")
	b.ReportMetric(float64(actors.Milliseconds()), "actors-ms")
	b.ReportMetric(float64(page.Milliseconds()), "page-ms")
	lat := make([]time.Duration, 10000)
	get := host.Object{{Key: "n", Value: int64(1)}, {Key: "s", Value: "ask"}}
	for i := range lat {
		lat[i] = ask("server", "get", get)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "ask-p99-µs")
}

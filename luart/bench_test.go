package luart_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"testing/fstest"
	"time"

	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/internal/testhost"
)

// benchPackage holds the actors of the benchmarks. Every message carries a
// small body, a table with a number and a short string, as real actors send.
var benchPackage = fstest.MapFS{
	"peacepie.toml": {Data: []byte(`
name = "bench"
version = "1.0.0"
[actors]
Streamer = "streamer"
Sink = "sink"
Pinger = "pinger"
Asker = "asker"
Server = "server"
RingNode = "ring"
Idle = "idle"
Sleepy = "sleepy"
`)},
	"streamer.lua": {Data: []byte(`
local pp = require "peacepie"
local Streamer = {}
function Streamer:blast(body)
  local send, sleep, to = pp.send, pp.sleep, body.to
  for i = 1, body.n do
    while not send(to, "msg", { n = i, s = "hello" }) do
      -- The sink's mailbox is full (with one Go thread the sink runs only
      -- between this handler's time slices): let it drain, as a real
      -- sender would, instead of losing the message and the benchmark.
      sleep(0.001)
    end
  end
end
return Streamer
`)},
	"sink.lua": {Data: []byte(`
local pp = require "peacepie"
local Sink = { params = { target = 0, count = 0, probe = "probe" } }
function Sink:msg(body)
  local c = self.count + 1
  self.count = c
  if c == self.target then pp.send(self.probe, "done", { n = c, s = "sink" }) end
end
return Sink
`)},
	"pinger.lua": {Data: []byte(`
local pp = require "peacepie"
local Pinger = { params = { left = 0, peer = "", probe = "probe" } }
function Pinger:start(body)
  self.left = body.n
  pp.send(self.peer, "ping", { n = self.left, s = "ping" })
end
function Pinger:pong(body)
  local left = self.left - 2
  self.left = left
  if left <= 0 then
    pp.send(self.probe, "done", { n = 0, s = "pinger" })
  else
    pp.send(self.peer, "ping", { n = left, s = "ping" })
  end
end
return Pinger
`)},
	"server.lua": {Data: []byte(`
local pp = require "peacepie"
local Server = {}
function Server:ping(body)
  pp.send("pinger", "pong", { n = body.n, s = "pong" })
end
function Server:get(body)
  return "got", { n = body.n, s = "got" }
end
return Server
`)},
	"asker.lua": {Data: []byte(`
local pp = require "peacepie"
local Asker = {}
-- run asks n times in a row, each ask timed alone, and answers the
-- latencies' p50, p99 and max in microseconds.
function Asker:run(body)
  local ask, clock, n = pp.ask, pp.clock, body.n
  local took = {}
  for i = 1, n do took[i] = 0 end -- no table growth while timing
  for i = 1, n do
    local t0 = clock()
    local r, err = ask("server", "get", { n = i, s = "ask" })
    took[i] = clock() - t0
    if not r then error(err) end
  end
  table.sort(took)
  local function at(q) return took[math.max(1, math.ceil(q * n))] * 1e6 end
  return "ran", { p50_us = at(0.5), p99_us = at(0.99), max_us = took[n] * 1e6 }
end
return Asker
`)},
	"ring.lua": {Data: []byte(`
local pp = require "peacepie"
local RingNode = { params = { next = "", probe = "probe" } }
function RingNode:token(body)
  local left = body.n - 1
  if left <= 0 then
    pp.send(self.probe, "done", { n = 0, s = "ring" })
  else
    pp.send(self.next, "token", { n = left, s = "token" })
  end
end
return RingNode
`)},
	"idle.lua": {Data: []byte(`
local pp = require "peacepie"
local Idle = { params = { period = 1, label = "idle" } }
function Idle:echo(body) return "echoed", body end
return Idle
`)},
	"sleepy.lua": {Data: []byte(`
local Sleepy = { hibernate = true, params = { period = 1, label = "idle" } }
function Sleepy:echo(body) return "echoed", body end
return Sleepy
`)},
}

// probe is a Go actor that reports each "done" on a channel.
type probe struct{ done chan struct{} }

func (p *probe) Info() host.ClassInfo { return host.ClassInfo{Package: "bench", Class: "Probe"} }
func (p *probe) New(*host.Actor, host.Object) (host.Behaviour, error) {
	return p, nil
}
func (p *probe) Init(*host.Actor) error { return nil }
func (p *probe) Stop(*host.Actor)       {}
func (p *probe) Receive(_ *host.Actor, m *host.Message) (host.Reply, error) {
	p.done <- struct{}{}
	return host.Reply{}, nil
}

type bench struct {
	p     *testhost.Process
	probe *probe
}

func newBench(b *testing.B) *bench {
	return newBenchBudget(b, time.Hour)
}

func newBenchBudget(b *testing.B, budget time.Duration) *bench {
	return newBenchConfig(b, host.Config{Budget: budget})
}

func newBenchConfig(b *testing.B, cfg host.Config) *bench {
	b.Helper()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	p := testhost.Start(b, cfg, benchPackage)
	pr := &probe{done: make(chan struct{}, 16)}
	if _, err := p.Spawn("probe", pr, nil); err != nil {
		b.Fatal(err)
	}
	return &bench{p: p, probe: pr}
}

func (bn *bench) spawn(b *testing.B, class, name string, params host.Object) *host.Actor {
	b.Helper()
	c, err := bn.p.Resolver().Resolve(context.Background(), host.ClassDesc{RequiresDist: "bench", Class: class})
	if err != nil {
		b.Fatal(err)
	}
	a, err := bn.p.Spawn(name, c, params)
	if err != nil {
		b.Fatal(err)
	}
	return a
}

func (bn *bench) send(b *testing.B, to, command string, body any) {
	b.Helper()
	addr, _ := host.ParseAddress(to)
	if err := bn.p.Send(host.Message{Command: command, Body: body, Recipient: addr}); err != nil {
		b.Fatal(err)
	}
}

func (bn *bench) wait(b *testing.B) {
	b.Helper()
	select {
	case <-bn.probe.done:
	case <-time.After(5 * time.Minute):
		b.Fatal("benchmark did not finish")
	}
}

func reportRate(b *testing.B, unit string) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
}

// BenchmarkLuaSend: actor A's handler sends b.N messages to actor B, whose
// handler counts them; many messages are in flight.
func BenchmarkLuaSend(b *testing.B) {
	bn := newBench(b)
	bn.spawn(b, "Streamer", "streamer", nil)
	bn.spawn(b, "Sink", "sink", host.Object{{Key: "target", Value: int64(b.N)}})
	b.ResetTimer()
	bn.send(b, "streamer", "blast", host.Object{{Key: "to", Value: "sink"}, {Key: "n", Value: int64(b.N)}})
	bn.wait(b)
	b.StopTimer()
	reportRate(b, "msgs/s")
}

// BenchmarkLuaPingPong: two actors pass one message back and forth; each
// hop is one iteration. The sub-benchmark without a budget shows what the
// per-instruction budget check costs.
func BenchmarkLuaPingPong(b *testing.B) {
	b.Run("budget", func(b *testing.B) { pingPong(b, newBench(b)) })
	b.Run("nobudget", func(b *testing.B) { pingPong(b, newBenchBudget(b, -1)) })
}

func pingPong(b *testing.B, bn *bench) {
	bn.spawn(b, "Pinger", "pinger", host.Object{{Key: "peer", Value: "server"}})
	bn.spawn(b, "Server", "server", nil)
	n := max(b.N, 2)
	b.ResetTimer()
	bn.send(b, "pinger", "start", host.Object{{Key: "n", Value: int64(n)}})
	bn.wait(b)
	b.StopTimer()
	reportRate(b, "msgs/s")
}

// BenchmarkLuaAsk: a Lua handler makes b.N asks in a row to another Lua
// actor, timing each (pp.clock): ns/op is the mean, p50, p99 and max beside it.
func BenchmarkLuaAsk(b *testing.B) {
	bn := newBench(b)
	bn.spawn(b, "Asker", "asker", nil)
	bn.spawn(b, "Server", "server", nil)
	b.ResetTimer()
	q := bn.luaAsks(b, b.N)
	b.StopTimer()
	reportRate(b, "asks/s")
	q.report(b, "")
}

// askQuantiles are the latencies the Asker measured, in microseconds.
type askQuantiles struct{ p50, p99, max float64 }

// luaAsks has the Asker ask the Server n times and answers its figures.
func (bn *bench) luaAsks(b *testing.B, n int) askQuantiles {
	b.Helper()
	r, err := bn.p.Process.Ask(context.Background(), host.Message{
		Command: "run", Body: host.Object{{Key: "n", Value: int64(n)}}, Recipient: host.Address{Entity: "asker"},
	}, time.Hour)
	if err != nil || r.Command != "ran" {
		b.Fatalf("run: %v %s %v", err, r.Command, r.Body)
	}
	body, _ := r.Body.(host.Object)
	num := func(key string) float64 {
		v, _ := body.Get(key)
		switch x := v.(type) {
		case float64:
			return x
		case int64:
			return float64(x)
		}
		b.Fatalf("run answered %v: no number %s", r.Body, key)
		return 0
	}
	return askQuantiles{p50: num("p50_us"), p99: num("p99_us"), max: num("max_us")}
}

// report adds the figures to the benchmark's, each unit after prefix.
func (q askQuantiles) report(b *testing.B, prefix string) {
	b.ReportMetric(q.p50, prefix+"p50-µs")
	b.ReportMetric(q.p99, prefix+"p99-µs")
	b.ReportMetric(q.max, prefix+"max-µs")
}

// BenchmarkLuaRing: 1000 actors in a ring pass one token; each hop is one
// iteration.
func BenchmarkLuaRing(b *testing.B) {
	const size = 1000
	bn := newBench(b)
	for i := 0; i < size; i++ {
		bn.spawn(b, "RingNode", fmt.Sprintf("node_%d", i), host.Object{{Key: "next", Value: fmt.Sprintf("node_%d", (i+1)%size)}})
	}
	b.ResetTimer()
	bn.send(b, "node_0", "token", host.Object{{Key: "n", Value: int64(b.N)}, {Key: "s", Value: "token"}})
	bn.wait(b)
	b.StopTimer()
	reportRate(b, "hops/s")
}

// BenchmarkLuaSpawn creates idle Lua actors (a class with params and a
// handler) and reports the rate and the heap an idle actor keeps.
func BenchmarkLuaSpawn(b *testing.B) {
	bn := newBench(b)
	c, err := bn.p.Resolver().Resolve(context.Background(), host.ClassDesc{RequiresDist: "bench", Class: "Idle"})
	if err != nil {
		b.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := bn.p.Spawn(fmt.Sprintf("idle_%d", i), c, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportRate(b, "actors/s")
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(b.N), "B/actor")
}

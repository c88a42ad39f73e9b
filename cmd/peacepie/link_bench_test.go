package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Cross-process benchmarks between Lua actors in two OS processes: a Pump
// in the head and a Sequence (or an Echo) in a child. One b.N iteration is
// one message (send), or one ask. BenchmarkHost* are the same between the
// main processes of two hosts (two `peacepie run` on loopback).

func benchSystem(b *testing.B) (*wsConn, string) {
	b.Helper()
	in := start(b, b.TempDir(), "run", "--console", "127.0.0.1:0")
	benchCPU = func() (time.Duration, time.Duration) {
		return processCPU(in.cmd.Process.Pid), childrenCPU(in.cmd.Process.Pid)
	}
	ws := dial(b, in)
	node := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	ws.expect(admin, "create_actor", raw(`{"class_desc": {"requires_dist": "peacepie_std", "class": "Pump"}, "name": "pump"}`), "actor_is_created")
	return ws, node
}

func benchHosts(b *testing.B) (*wsConn, string) {
	b.Helper()
	in := start(b, b.TempDir(), "run", "--console", "127.0.0.1:0")
	addr, secret := joinInfo(b, in)
	second := startHost(b, "second", addr, secret, nil)
	benchCPU = func() (time.Duration, time.Duration) {
		return processCPU(in.cmd.Process.Pid), processCPU(second.cmd.Process.Pid)
	}
	ws := dial(b, in)
	eventually(b, 10*time.Second, "second to join", func() bool { return hostStates(ws)["second"] == "up" })
	ws.expect(admin, "create_actor", raw(`{"class_desc": {"requires_dist": "peacepie_std", "class": "Pump"}, "name": "pump"}`), "actor_is_created")
	return ws, "second.main.admin"
}

// BenchmarkLinkSend: the head's Pump streams b.N messages to a Sequence in
// the child.
func BenchmarkLinkSend(b *testing.B) { benchSend(b, benchSystem) }

// BenchmarkHostSend: BenchmarkLinkSend between two hosts.
func BenchmarkHostSend(b *testing.B) { benchSend(b, benchHosts) }

// BenchmarkLinkAsk: the head's Pump asks an Echo in the child b.N times in
// a row (one message in flight each way: also the ping-pong figure, at two
// messages per ask).
func BenchmarkLinkAsk(b *testing.B) { benchAsk(b, benchSystem) }

// BenchmarkHostAsk: BenchmarkLinkAsk between two hosts.
func BenchmarkHostAsk(b *testing.B) { benchAsk(b, benchHosts) }

func benchSend(b *testing.B, setup func(*testing.B) (*wsConn, string)) {
	ws, node := setup(b)
	ws.expect(node, "create_actor", raw(`{"class_desc": {"requires_dist": "peacepie_std", "class": "Sequence"}, "name": "seq"}`), "actor_is_created")
	sender0, receiver0 := benchCPU()
	b.ResetTimer()
	// The pump sends in rounds of at most a million, so that each of its
	// handlers stays well within handler_budget (5 s) on a slow machine.
	const round = 1_000_000
	for from := 1; from <= b.N; from += round {
		n := min(round, b.N-from+1)
		if r := ws.request("ask", "pump", "send", map[string]any{"to": "seq", "command": "next", "n": n, "from": from}, 600); r.command() != "sent" {
			b.Fatalf("pump send: %s", r)
		}
	}
	want := fmt.Sprintf(`"last":%d`, b.N)
	deadline := time.Now().Add(10 * time.Minute)
	for !strings.Contains(ws.ask("seq", "state", nil).String(), want) {
		if time.Now().After(deadline) {
			b.Fatal("the messages did not all arrive")
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	sender1, receiver1 := benchCPU()
	if s := ws.ask("seq", "state", nil).String(); !strings.Contains(s, `"errors":0`) {
		b.Fatalf("sequence errors: %s", s)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	// CPU per message of each side: steadier than the rate on a noisy
	// machine (a tick is 10 ms: run a few million messages).
	b.ReportMetric(float64((sender1-sender0).Nanoseconds())/float64(b.N), "send-cpu-ns/msg")
	b.ReportMetric(float64((receiver1-receiver0).Nanoseconds())/float64(b.N), "recv-cpu-ns/msg")
}

// benchCPU reports the CPU time used so far by the sending and the
// receiving process of the benchmark's system (set by its setup).
var benchCPU func() (sender, receiver time.Duration)

// processCPU is the user and system time of process pid (Linux /proc;
// 0 where it cannot be read).
func processCPU(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command (which may hold spaces) in parentheses.
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * (time.Second / 100) // USER_HZ
}

// childrenCPU is processCPU summed over the children of pid.
func childrenCPU(pid int) time.Duration {
	var sum time.Duration
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", child))
		if err != nil {
			continue
		}
		f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			sum += processCPU(child)
		}
	}
	return sum
}

func benchAsk(b *testing.B, setup func(*testing.B) (*wsConn, string)) {
	ws, node := setup(b)
	ws.expect(node, "create_actor", raw(`{"class_desc": {"requires_dist": "peacepie_std", "class": "Echo"}, "name": "echo"}`), "actor_is_created")
	b.ResetTimer()
	r := ws.request("ask", "pump", "ask", map[string]any{"to": "echo", "command": "echo", "n": b.N}, 600)
	b.StopTimer()
	if r.command() != "asked" {
		b.Fatalf("pump ask: %s", r)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "asks/s")
	b.ReportMetric(2*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	if body, _ := r["body"].(map[string]any); body != nil && body["p99_us"] != nil { // each ask timed by the Pump
		p99, err := strconv.ParseFloat(fmt.Sprint(body["p99_us"]), 64)
		if err != nil {
			b.Fatalf("the pump's p99_us: %v", body["p99_us"])
		}
		b.ReportMetric(p99, "p99-µs")
	}
}

// BenchmarkLinkPingPong: a Rally in the head and one in the child send a
// ball back and forth b.N times (sends, one message in flight).
func BenchmarkLinkPingPong(b *testing.B) { benchPingPong(b, benchSystem) }

// BenchmarkHostPingPong: BenchmarkLinkPingPong between two hosts.
func BenchmarkHostPingPong(b *testing.B) { benchPingPong(b, benchHosts) }

// BenchmarkHostInnerPingPong: BenchmarkLinkPingPong between the main
// process and a child of a host that is not the head (its head routes
// them itself, without the root).
func BenchmarkHostInnerPingPong(b *testing.B) {
	benchPingPongAt(b, func(b *testing.B) (*wsConn, string) {
		ws, _ := benchHosts(b)
		return ws, ws.expect("second.main.admin", "create_process", nil, "process_is_created").bodyString("node")
	}, func() string { return "second.main.admin" })
}

// BenchmarkChildPingPong: BenchmarkLinkPingPong between two child
// processes of the first host: the first balls go through the head, the
// rest over the direct link the children open between them (cluster's
// direct.go).
func BenchmarkChildPingPong(b *testing.B) {
	var first string
	benchPingPongAt(b, func(b *testing.B) (*wsConn, string) {
		ws, node := benchSystem(b)
		first = node
		return ws, ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	}, func() string { return first })
}

// BenchmarkHostChildPingPong: BenchmarkChildPingPong between two children
// of a host that is not the first (its head gives them their direct link).
func BenchmarkHostChildPingPong(b *testing.B) {
	var first string
	benchPingPongAt(b, func(b *testing.B) (*wsConn, string) {
		ws, _ := benchHosts(b)
		first = ws.expect("second.main.admin", "create_process", nil, "process_is_created").bodyString("node")
		return ws, ws.expect("second.main.admin", "create_process", nil, "process_is_created").bodyString("node")
	}, func() string { return first })
}

// BenchmarkHostsChildPingPong: BenchmarkChildPingPong between a child of
// the first host and a child of the second: the first balls go through
// both heads, the rest over the direct link the root gives them.
func BenchmarkHostsChildPingPong(b *testing.B) {
	var first string
	benchPingPongAt(b, func(b *testing.B) (*wsConn, string) {
		ws, _ := benchHosts(b)
		first = ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
		return ws, ws.expect("second.main.admin", "create_process", nil, "process_is_created").bodyString("node")
	}, func() string { return first })
}

func benchPingPong(b *testing.B, setup func(*testing.B) (*wsConn, string)) {
	benchPingPongAt(b, setup, func() string { return admin })
}

// benchPingPongAt runs the rally between an actor in pingNode (asked after
// setup) and one in the node setup returns.
func benchPingPongAt(b *testing.B, setup func(*testing.B) (*wsConn, string), pingNode func() string) {
	ws, node := setup(b)
	ws.expect(pingNode(), "create_actor", raw(`{"class_desc": {"requires_dist": "peacepie_std", "class": "Rally"}, "name": "ping"}`), "actor_is_created")
	ws.expect(node, "create_actor", raw(`{"class_desc": {"requires_dist": "peacepie_std", "class": "Rally"}, "name": "pong"}`), "actor_is_created")
	b.ResetTimer()
	ws.expect("ping", "serve", map[string]any{"to": "pong", "n": b.N}, "served")
	// The last ball (left = 1) lands at pong when b.N is odd. The poll is
	// sparse, so that it does not take the CPU from the rally (pinned, the
	// test shares it): it adds at most 10 ms to a run of about a second.
	last := "ping"
	if b.N%2 == 1 {
		last = "pong"
	}
	deadline := time.Now().Add(10 * time.Minute)
	for !strings.Contains(ws.ask(last, "state", nil).String(), `"finished":true`) {
		if time.Now().After(deadline) {
			b.Fatal("the rally did not finish")
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkMoveIdleActor: recreate_actor of an idle actor between two
// processes and back; one b.N iteration is one move.
func BenchmarkMoveIdleActor(b *testing.B) {
	ws, node := benchSystem(b)
	ws.expect(admin, "create_actor", raw(`{"class_desc": {"requires_dist": "peacepie_std", "class": "Echo"}, "name": "idle"}`), "actor_is_created")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		to := node
		if i%2 == 1 {
			to = admin
		}
		ws.expect(admin, "recreate_actor", raw(fmt.Sprintf(`{"entity": "idle", "node": %q}`, to)), "actor_is_recreated")
	}
}

// BenchmarkCreateProcess: create_process until process_is_created (the
// child runs and is linked, ready for actors); one b.N iteration is one
// process, removed again outside the timing.
func BenchmarkCreateProcess(b *testing.B) {
	in := start(b, b.TempDir(), "run", "--console", "127.0.0.1:0")
	ws := dial(b, in)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		node := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
		b.StopTimer()
		ws.expect(admin, "remove_process", map[string]any{"node": node}, "process_is_removed")
		b.StartTimer()
	}
}

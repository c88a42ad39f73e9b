package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// netns is a network namespace made by a test, with one end of a veth
// pair whose other end is in the peer namespace.
type netns struct {
	name, dev, ip string
}

// ipCmd runs ip with args and fails the test on error.
func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// makeNetnsPair makes two namespaces joined by a veth pair, 10.213.N.1 and
// .2, each with loopback up; they are deleted at the end of the test. A
// machine where namespaces cannot be made skips the test, except in CI.
func makeNetnsPair(t *testing.T) (a, b netns) {
	t.Helper()
	buf := make([]byte, 3)
	rand.Read(buf)
	id := hex.EncodeToString(buf)
	a = netns{name: "ppa" + id, dev: "ppa" + id, ip: fmt.Sprintf("10.213.%d.1", buf[0])}
	b = netns{name: "ppb" + id, dev: "ppb" + id, ip: fmt.Sprintf("10.213.%d.2", buf[0])}
	if out, err := exec.Command("ip", "netns", "add", a.name).CombinedOutput(); err != nil {
		msg := fmt.Sprintf("network namespaces cannot be made here (ip netns add: %v: %s)", err, strings.TrimSpace(string(out)))
		if os.Getenv("CI") != "" {
			t.Fatal(msg + "; CI must run this test (as root)")
		}
		t.Skip(msg)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", a.name).Run() })
	ipCmd(t, "netns", "add", b.name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", b.name).Run() })
	ipCmd(t, "link", "add", a.dev, "type", "veth", "peer", "name", b.dev)
	for _, n := range []netns{a, b} {
		ipCmd(t, "link", "set", n.dev, "netns", n.name)
		ipCmd(t, "-n", n.name, "addr", "add", n.ip+"/24", "dev", n.dev)
		ipCmd(t, "-n", n.name, "link", "set", n.dev, "up")
		ipCmd(t, "-n", n.name, "link", "set", "lo", "up")
	}
	return a, b
}

// nsAsk runs `peacepie ask` inside a namespace against the console of in
// (which listens on that namespace's loopback) and returns its stdout.
func nsAsk(t *testing.T, ns netns, in *instance, args ...string) cliResult {
	t.Helper()
	full := append([]string{"netns", "exec", ns.name, binPath, "ask", "--json", "--url", in.url}, args...)
	cmd := exec.Command("ip", full...)
	cmd.Env = childEnv()
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	_ = cmd.Run()
	return cliResult{out.String(), errb.String(), cmd.ProcessState.ExitCode()}
}

// TestHostPartition runs two hosts in two network namespaces joined by a
// veth pair and cuts the link: both sides notice within seconds, asks
// across fail promptly instead of hanging, each side's own traffic goes
// on, and once the link is back the host rejoins with its actors.
func TestHostPartition(t *testing.T) {
	t.Parallel()
	a, b := makeNetnsPair(t)
	firstDir := t.TempDir()
	first := startCmd(t, firstDir, nil, "ip", "netns", "exec", a.name, binPath, "run", "--console", "127.0.0.1:0",
		"--links", a.ip+":0", "--gossip", a.ip+":0")
	addr, _ := joinInfo(t, first)
	secret := filepath.Join(firstDir, "config", "secret")
	second := startCmd(t, t.TempDir(), nil, "ip", "netns", "exec", b.name, binPath, "run", "--console", "127.0.0.1:0",
		"--host", "second", "--join", addr, "--secret-file", secret, "--links", b.ip+":0", "--gossip", b.ip+":0")

	hostsOf := func(ns netns, in *instance) string { return nsAsk(t, ns, in, admin, "get_hosts").stdout }
	eventually(t, 15*time.Second, "second to join across the veth", func() bool {
		return strings.Contains(hostsOf(a, first), `"name":"second","head":false,"state":"up"`)
	})
	nsAsk(t, a, first, "second.main.admin", "create_process").check(t, "create_process on second", 0, "process_is_created", "")
	nsAsk(t, a, first, "second.process_0.admin", "create_actor", string(createBody("HelloWorld", "on_b"))).check(t, "create on_b", 0, "actor_is_created", "")
	nsAsk(t, a, first, "second.main.admin", "create_actor", string(createBody("HelloWorld", "on_b_main"))).check(t, "create on_b_main", 0, "actor_is_created", "")
	nsAsk(t, a, first, admin, "create_actor", string(createBody("HelloWorld", "on_a"))).check(t, "create on_a", 0, "actor_is_created", "")
	nsAsk(t, a, first, "on_b", "tick").check(t, "ask across the veth", 0, "hello_world", "")

	// Cut the link.
	cut := time.Now()
	ipCmd(t, "-n", a.name, "link", "set", a.dev, "down")
	eventually(t, 10*time.Second, "the first host to see second gone", func() bool {
		return strings.Contains(hostsOf(a, first), `"name":"second","head":false,"state":"gone"`)
	})
	t.Logf("first saw the partition after %s", time.Since(cut).Round(time.Millisecond))
	eventually(t, 10*time.Second, "second to see the head lost", func() bool {
		return strings.Contains(second.stderr.String(), "lost the system's head")
	})
	t.Logf("second saw the partition after %s", time.Since(cut).Round(time.Millisecond))

	// Nothing hangs: asks across fail at once; each side's own traffic goes on.
	begin := time.Now()
	r := nsAsk(t, a, first, "--timeout", "8", "on_b", "tick")
	if r.code == 0 || time.Since(begin) > 4*time.Second {
		t.Errorf("an ask across the cut: code %d after %s: %s%s", r.code, time.Since(begin), r.stdout, r.stderr)
	}
	nsAsk(t, a, first, "on_a", "tick").check(t, "the first host's own actor", 0, "hello_world", "")
	nsAsk(t, b, second, "on_b_main", "tick").check(t, "second's own actor in its main process", 0, "hello_world", "")
	nsAsk(t, b, second, "on_b", "tick").check(t, "second's actor in its child process", 0, "hello_world", "")
	begin = time.Now()
	r = nsAsk(t, b, second, "--timeout", "8", "on_a", "tick")
	if r.code == 0 || time.Since(begin) > 4*time.Second {
		t.Errorf("an ask from second across the cut: code %d after %s: %s%s", r.code, time.Since(begin), r.stdout, r.stderr)
	}

	// Heal: second rejoins with its actors.
	ipCmd(t, "-n", a.name, "link", "set", a.dev, "up")
	eventually(t, 20*time.Second, "second to rejoin", func() bool {
		return strings.Contains(hostsOf(a, first), `"name":"second","head":false,"state":"up"`)
	})
	eventually(t, 10*time.Second, "on_b to answer from the first host again", func() bool {
		return nsAsk(t, a, first, "on_b", "tick").code == 0
	})
	nsAsk(t, a, first, "on_b_main", "tick").check(t, "on_b_main after the heal", 0, "hello_world", "")
	nsAsk(t, b, second, "on_a", "tick").check(t, "on_a from second after the heal", 0, "hello_world", "")

	nsAsk(t, a, first, admin, "exit")
	for _, in := range []*instance{first, second} {
		in.waitExit(t, 15*time.Second)
	}
}

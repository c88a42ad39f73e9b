package cluster_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/peacepie/peacepie/cluster"
	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/internal/testhost"
	"github.com/peacepie/peacepie/net/link"
)

// startRoot starts a process that heads a system of hosts, without child
// processes or gossip.
func startRoot(t *testing.T, secret string) (*testhost.Process, *cluster.Head) {
	t.Helper()
	p := testhost.Start(t, host.Config{})
	h, err := cluster.NewHead(p.Process, cluster.HeadConfig{Host: "first", Secret: []byte(secret), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	p.SetRemote(h)
	return p, h
}

func hostList(t *testing.T, p *testhost.Process) string {
	t.Helper()
	r := p.Ask(t, "first.main.admin", "get_hosts", nil)
	data, _ := host.MarshalValue(r.Body)
	return string(data)
}

// TestMisbehavingHost: a host that knows the secret but sends nonsense
// (bad JSON, bodies of the wrong shape, processes and deaths of other
// hosts) changes nothing it should not, and the root keeps working.
func TestMisbehavingHost(t *testing.T) {
	p, h := startRoot(t, "s3cret-s3cret-s3cret-s3cret-s3cret")
	p.Ask(t, "first.main.admin", "create_actor", testhost.MustJSON(t,
		`{"class_desc": {"requires_dist": "peacepie_example", "class": "HelloWorld"}, "name": "local"}`))
	events := p.Watch()
	defer events.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := link.Dial(ctx, h.Addr(), link.Config{Node: "evil.main.admin", Secret: []byte("s3cret-s3cret-s3cret-s3cret-s3cret")})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close("test over")
	welcome := make(chan string, 4)
	go c.Run(func(b []byte, _ bool) { welcome <- string(b) })
	// The notices of a host's system code come in control frames.
	send := func(s string) {
		if err := c.SendControl(func(b []byte) ([]byte, error) { return append(b, s...), nil }); err != nil {
			t.Fatal(err)
		}
	}
	root := `"recipient":{"node":"first.main.admin"}`
	send(`{not json`)
	send(`{"command":"host_join",` + root + `,"body":"a string"}`)
	select {
	case w := <-welcome:
		if !strings.Contains(w, "host_welcome") {
			t.Fatalf("the answer to host_join: %s", w)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no welcome")
	}
	send(`{"command":"host_join",` + root + `,"body":{"nodes":[1, null, "first.process_0.admin", "evil.process_7.admin", "evil.x"],"actors":[3, {"name":"local","node":"evil.main.admin"}, {"name":"stolen","node":"first.main.admin"}]}}`)
	send(`{"command":"host_processes",` + root + `,"body":{"nodes":{"a":1}}}`)
	send(`{"command":"host_processes",` + root + `,"body":{"nodes":["evil.process_7.admin","first.process_3.admin"]}}`)
	send(`{"command":"process_gone",` + root + `,"body":{"node":"first.main.admin","reason":"lies"}}`)
	send(`{"command":"process_gone",` + root + `,"body":{"node":"evil.main.admin"}}`)
	send(`{"command":"process_gone",` + root + `,"body":42}`)
	send(`{"command":"tick","recipient":"nobody","sender":{"node":"evil.main.admin","entity":"_1"}}`)
	send(`{"command":"process_gone",` + root + `,"body":{"node":"evil.process_7.admin","reason":"a real end"}}`)
	// The last notice is the only end of a process the root may believe.
	for done := false; !done; {
		select {
		case e := <-events.C:
			if e.Kind != "process_gone" {
				continue
			}
			if e.Node != "evil.process_7.admin" {
				t.Fatalf("the root believed a host about the end of %s", e.Node)
			}
			done = true
		case <-time.After(5 * time.Second):
			t.Fatal("the root did not hear of the end of evil.process_7.admin")
		}
	}

	testhost.Eventually(t, 5*time.Second, "the host's own processes listed", func() bool {
		return strings.Contains(hostList(t, p), `"processes":["evil.main.admin","evil.process_7.admin"]`)
	})
	list := hostList(t, p)
	if strings.Contains(list, "first.process_") || strings.Contains(list, "evil.x") {
		t.Errorf("a host listed processes not its own: %s", list)
	}
	// The root's own actor keeps its name and works; nothing was stolen.
	if r := p.Ask(t, "local", "tick", nil); r.Command != "hello_world" {
		t.Errorf("the root's actor after the nonsense: %s %v", r.Command, r.Body)
	}
	if r := p.Ask(t, "first.main.admin", "seek_actor", testhost.MustJSON(t, `{"entity": "stolen"}`)); r.Command != "actor_is_not_found" {
		t.Errorf("a host claimed a name for another host's process: %s %v", r.Command, r.Body)
	}
	if !strings.Contains(list, `"name":"evil","head":false,"state":"up"`) {
		t.Errorf("the host is not up after its nonsense: %s", list)
	}
}

// TestHeadOnAMemoryNetworkNeedsSpawn: the real children link over TCP, so
// a head on another network must start its children itself.
func TestHeadOnAMemoryNetworkNeedsSpawn(t *testing.T) {
	p := testhost.Start(t, host.Config{})
	_, err := cluster.NewHead(p.Process, cluster.HeadConfig{Host: "first", Secret: []byte("s3cret-s3cret-s3cret-s3cret-s3cret"), Network: link.NewMemNetwork()})
	if err == nil || !strings.Contains(err.Error(), "Spawn") {
		t.Fatalf("a head on a memory network with the real children: %v", err)
	}
}

// Package clustertest runs a head and its children in one test process,
// so that tests drive the control plane of cluster (moves, route
// and name flushes, deaths) without starting OS processes.
//
// Start makes the head's process (a testhost process named
// "<host>.main.admin") and a cluster.Head whose HeadConfig.Spawn starts
// each child in the test's process: a host.Process with the built-in
// packages (peacepie_std, peacepie_example), linked to the head with
// link.Dial with the system's secret, as the real child links, and run by
// cluster.NewChild(...).Run. The links run on a link.MemNetwork of the
// system's own (HeadConfig.Network), which a host that Joins shares: the
// same handshake, framing and keep-alive as on TCP, with no sockets.
// Everything else is the production code: the head's routing, the links,
// the child's handling of the head's notices.
//
//	s := clustertest.Start(t, clustertest.Options{Children: 3})
//	s.CreateActor(t, s.Children[0], "seq", "peacepie_std", "Sequence", "")
//	r := s.Move("seq", s.Children[1]) // recreate_actor through the head
//	s.Kill(s.Children[1])              // a death: its link is cut at once
//	s.Eventually(t, "seq to be gone", func() bool { ... })
//
// Hold stops a child's link (or a joined host's link to the root) before
// the next write that carries a given text (a reply such as "adopted"),
// so a test can act between two steps of a protocol (kill a process, or
// Crash a host, in the middle of a move) without sleeps.
//
// Tests poll with Eventually, which has a deadline; nothing waits a fixed
// time for a state. Every process logs to Logs, which a failed test
// prints.
package clustertest

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/peacepie/peacepie/cluster"
	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/internal/testhost"
	"github.com/peacepie/peacepie/net/link"
)

// Secret is the system's secret in tests.
const Secret = "clustertest-secret-clustertest-secret"

// Options configure Start.
type Options struct {
	Host     string // the host's name; "first"
	Children int    // child processes started at once
	// Join is the link address of a head (System.Head.Addr()) this host
	// joins as another host of its system; empty: this head is the root.
	// Set by System.Join, which gives the host that system's network.
	Join string
	// Restart is HeadConfig.Restart (with a Backoff of 10 ms).
	Restart bool
	// RecreateElsewhere is HeadConfig.RecreateElsewhere.
	RecreateElsewhere bool
	// Packages are package trees every process has besides the built-in
	// ones (testhost.Config's extra).
	Packages []fs.FS
	// MailboxLimit is every process's host.Config.MailboxLimit (0: the
	// default).
	MailboxLimit int
	// LogLevel of Logs; slog.LevelInfo when 0 (Info is 0: Debug is
	// negative, so Info is the least it can be set to here).
	LogLevel slog.Level

	network link.Network // nil: a new link.MemNetwork (System.Join: the joined system's)
}

// System is a head and its in-process children.
type System struct {
	Main     *testhost.Process
	Head     *cluster.Head
	Children []string // the children Start started, by admin name
	Logs     *testhost.Output

	t    testing.TB
	log  *slog.Logger
	opts Options
	net  *headNet // the head's links; children dial over opts.network

	mu    sync.Mutex
	procs map[string]*Child // every child started, by admin name (a restart replaces it)
}

// Child is a child process running in the test's process.
type Child struct {
	Node   string
	Proc   *host.Process
	Out    *testhost.Output
	mu     sync.Mutex
	remote *cluster.Child // once it linked
	raw    net.Conn       // the link's connection, once linked
	holds  *holdList
	killed chan struct{} // closed by Kill
	kill   sync.Once
	ran    chan struct{} // closed when Run returned (or the link never came)
	ready  chan struct{} // closed once its remote is set (or it never linked)
}

// Start starts a head (the system's root) and opts.Children children; all
// of them are stopped when the test ends.
func Start(t testing.TB, opts Options) *System {
	t.Helper()
	if opts.Host == "" {
		opts.Host = "first"
	}
	if opts.network == nil {
		opts.network = link.NewMemNetwork()
	}
	logs := &testhost.Output{}
	s := &System{Logs: logs, t: t, opts: opts, procs: map[string]*Child{},
		log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: opts.LogLevel}))}
	crashed := make(chan struct{})
	s.net = &headNet{Network: opts.network, holds: newHoldList(crashed), crashed: crashed}
	// Registered first, so it runs last: after the head stopped its
	// children, what is left (a child killed or never linked) is ended.
	t.Cleanup(func() {
		s.mu.Lock()
		list := make([]*Child, 0, len(s.procs))
		for _, c := range s.procs {
			list = append(list, c)
		}
		s.mu.Unlock()
		for _, c := range list {
			c.Kill()
			c.Wait()
		}
		if t.Failed() {
			t.Logf("logs of the system:\n%s", logs.String())
		}
	})
	s.Main = testhost.Start(t, host.Config{Host: opts.Host, Process: "main", Logger: s.log.With("process", "main"), MailboxLimit: opts.MailboxLimit}, opts.Packages...)
	h, err := cluster.NewHead(s.Main.Process, cluster.HeadConfig{Host: opts.Host, Secret: []byte(Secret), Network: s.net,
		Logger: s.log.With("process", "main"), Spawn: s.spawn, Restart: opts.Restart, RecreateElsewhere: opts.RecreateElsewhere, Join: opts.Join, Backoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatalf("new head: %v", err)
	}
	s.Head = h
	s.Main.SetRemote(h)
	for range opts.Children {
		s.Children = append(s.Children, s.CreateProcess(t))
	}
	return s
}

// Join starts another host (see Start) that joins s's system, over s's
// network.
func (s *System) Join(t testing.TB, opts Options) *System {
	t.Helper()
	opts.Join, opts.network = s.Head.Addr(), s.opts.network
	return Start(t, opts)
}

// CreateProcess starts a child through the head (as create_process does)
// and returns its admin's name.
func (s *System) CreateProcess(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	node, err := s.Head.CreateProcess(ctx)
	if err != nil {
		t.Fatalf("create process: %v", err)
	}
	return node
}

// Child returns the running child node (the last one started under that
// name), or nil.
func (s *System) Child(node string) *Child {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.procs[node]
}

// Process returns the process of node, the head's or a child's, once it
// is ready (a child is linked before its remote is set: the head may
// list it a moment before); nil for none.
func (s *System) Process(node string) *host.Process {
	if node == s.Main.AdminName() {
		return s.Main.Process
	}
	if c := s.Child(node); c != nil {
		<-c.ready
		return c.Proc
	}
	return nil
}

// spawn is the head's HeadConfig.Spawn: the child runs here, and links to
// the head as the real one does (runner's child command).
func (s *System) spawn(_ context.Context, spec cluster.ChildSpec) (cluster.ChildProcess, error) {
	log := s.log.With("process", spec.Process)
	cfg, out, err := testhost.Config(host.Config{Host: spec.Host, Process: spec.Process, Logger: log, MailboxLimit: s.opts.MailboxLimit}, s.opts.Packages...)
	if err != nil {
		return nil, fmt.Errorf("clustertest: %w", err)
	}
	p, err := host.NewProcess(cfg)
	if err != nil {
		return nil, fmt.Errorf("clustertest: new process: %w", err)
	}
	if p.AdminName() != spec.Node {
		p.Shutdown()
		return nil, fmt.Errorf("clustertest: the child is %s, the head waits for %s", p.AdminName(), spec.Node)
	}
	killed := make(chan struct{})
	c := &Child{Node: spec.Node, Proc: p, Out: out, holds: newHoldList(killed), killed: killed, ran: make(chan struct{}), ready: make(chan struct{})}
	s.mu.Lock()
	s.procs[spec.Node] = c
	s.mu.Unlock()
	secret := bytes.Clone(spec.Secret) // the real child reads its copy from stdin
	go c.run(s.opts.network, spec.Parent, secret, log)
	return c, nil
}

// run links the child to its head over network and delivers what comes
// until the link ends; then the process shuts down (Child.Run).
func (c *Child) run(network link.Network, parent string, secret []byte, log *slog.Logger) {
	defer close(c.ran)
	ready := sync.OnceFunc(func() { close(c.ready) })
	defer ready()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	conn, err := link.Dial(ctx, parent, link.Config{Node: c.Proc.AdminName(), Secret: secret, Logger: log, Network: network})
	cancel()
	if err != nil {
		log.Error("the child could not link to its head", "error", err.Error())
		c.Proc.Shutdown()
		return
	}
	conn.SetWriteHook(func(nc net.Conn) net.Conn {
		c.mu.Lock()
		c.raw = nc
		c.mu.Unlock()
		select {
		case <-c.killed: // killed while it linked
			nc.Close()
		default:
		}
		return &heldConn{Conn: nc, holds: c.holds}
	})
	ch := cluster.NewChild(c.Proc, conn, log)
	if err := ch.EnableDirect("127.0.0.1:0", link.Config{Secret: secret, Logger: log, Network: dialHeld{network, c.holds}}); err != nil {
		log.Error("the child could not listen for direct links", "error", err.Error())
	}
	c.Proc.SetRemote(ch)
	c.mu.Lock()
	c.remote = ch
	c.mu.Unlock()
	ready()
	ch.Run()
}

// Network returns the network the system's links run on (a process that
// dials one of them must use it).
func (s *System) Network() link.Network { return s.opts.network }

// Remote returns its cluster.Child, or nil before it linked.
func (c *Child) Remote() *cluster.Child {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.remote
}

// Pid implements cluster.ChildProcess: the test's process.
func (c *Child) Pid() int { return os.Getpid() }

// Release implements cluster.ChildProcess: as a real child whose stdin
// closes, it shuts down.
func (c *Child) Release() { c.Proc.Shutdown() }

// Kill implements cluster.ChildProcess: the child dies at once. Its link's
// connection is closed under it (the head reads an error, as after kill
// -9; nothing queued is written), then its process shuts down.
func (c *Child) Kill() {
	c.kill.Do(func() {
		close(c.killed)
		c.mu.Lock()
		raw := c.raw
		c.mu.Unlock()
		if raw != nil {
			raw.Close()
		}
		c.Proc.Shutdown()
	})
}

// Wait implements cluster.ChildProcess.
func (c *Child) Wait() {
	<-c.ran
	<-c.Proc.Done()
}

// Kill kills the child node (see Child.Kill) and returns once it ended.
func (s *System) Kill(t testing.TB, node string) {
	t.Helper()
	c := s.Child(node)
	if c == nil {
		t.Fatalf("kill %s: no such child", node)
	}
	c.Kill()
	done := make(chan struct{})
	go func() { c.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("kill %s: it did not end within 10 s", node)
	}
}

// Hold is a stop on a link: the first write that carries its text waits
// until Release (or the death of the process or host; the write then
// fails).
type Hold struct {
	text    []byte
	reached chan struct{}
	release chan struct{}
	once    sync.Once
}

// Hold stops a link before the next write whose bytes hold text (a
// command such as `"command":"adopted"`): node's link to its head or a
// direct link it dialed to a sibling when node is a child, the host's
// link to the root (its uplink) when node is s.Main's admin. What the process sends stays queued behind it. Writes
// are batches of frames, so the frames written with it wait too.
func (s *System) Hold(t testing.TB, node, text string) *Hold {
	t.Helper()
	var holds *holdList
	if node == s.Main.AdminName() {
		holds = s.net.holds
	} else if c := s.Child(node); c != nil {
		holds = c.holds
	} else {
		t.Fatalf("hold %s: no such process", node)
	}
	h := &Hold{text: []byte(text), reached: make(chan struct{}), release: make(chan struct{})}
	holds.mu.Lock()
	holds.list = append(holds.list, h)
	holds.mu.Unlock()
	t.Cleanup(h.Release)
	return h
}

// Reached is closed once a write is held.
func (h *Hold) Reached() <-chan struct{} { return h.reached }

// Release lets the held write (and those behind it) go.
func (h *Hold) Release() { h.once.Do(func() { close(h.release) }) }

// Wait waits until a write is held, for 10 s at most.
func (h *Hold) Wait(t testing.TB) {
	t.Helper()
	select {
	case <-h.reached:
	case <-time.After(10 * time.Second):
		t.Fatalf("no write with %q within 10 s", h.text)
	}
}

// holdList is the holds on the writes of a process's links.
type holdList struct {
	mu   sync.Mutex
	list []*Hold
	dead <-chan struct{} // closed when the process dies: a held write fails
}

func newHoldList(dead <-chan struct{}) *holdList { return &holdList{dead: dead} }

// heldConn is a link's connection that stops at its holds.
type heldConn struct {
	net.Conn
	holds *holdList
}

func (w *heldConn) Write(p []byte) (int, error) {
	l := w.holds
	l.mu.Lock()
	var h *Hold
	for i, x := range l.list {
		if bytes.Contains(p, x.text) {
			h = x
			l.list = slices.Delete(l.list, i, i+1)
			break
		}
	}
	l.mu.Unlock()
	if h != nil {
		close(h.reached)
		select {
		case <-h.release:
		case <-l.dead:
			return 0, net.ErrClosed
		}
	}
	return w.Conn.Write(p)
}

// dialHeld is a child's network for its direct links: the links it dials
// to its siblings stop at the child's holds, as its link to the head does.
type dialHeld struct {
	link.Network
	holds *holdList
}

func (n dialHeld) Dial(ctx context.Context, addr string) (net.Conn, error) {
	c, err := n.Network.Dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	return &heldConn{Conn: c, holds: n.holds}, nil
}

// headNet is the network as a head uses it: it keeps the connections the
// head dials (its uplink) and accepts (its children's links, other hosts'
// links), and its listener, so that Crash cuts them all at once; the
// connections it dials stop at the holds on the host's main process.
type headNet struct {
	link.Network
	holds   *holdList
	crashed chan struct{} // closed by crash (the holds' dead)

	mu      sync.Mutex
	conns   []net.Conn
	lns     []net.Listener
	dialed  map[string][]net.Conn // by the address dialed, for CutLinksTo
	blocked map[string]bool       // addresses this head may not dial (Isolate)
	dead    bool
}

// keep adds c to what crash cuts, or closes it if the host crashed.
func (n *headNet) keep(c net.Conn) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.dead {
		c.Close()
		return false
	}
	n.conns = append(n.conns, c)
	return true
}

func (n *headNet) Dial(ctx context.Context, addr string) (net.Conn, error) {
	n.mu.Lock()
	blocked := n.blocked[addr]
	n.mu.Unlock()
	if blocked {
		return nil, fmt.Errorf("clustertest: dial %s: a partition is in the way: %w", addr, net.ErrClosed)
	}
	c, err := n.Network.Dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	if !n.keep(c) {
		return nil, fmt.Errorf("clustertest: dial %s: the host crashed: %w", addr, net.ErrClosed)
	}
	n.mu.Lock()
	if n.dialed == nil {
		n.dialed = map[string][]net.Conn{}
	}
	n.dialed[addr] = append(n.dialed[addr], c)
	n.mu.Unlock()
	return &heldConn{Conn: c, holds: n.holds}, nil
}

func (n *headNet) Listen(addr string) (net.Listener, error) {
	ln, err := n.Network.Listen(addr)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	n.lns = append(n.lns, ln)
	n.mu.Unlock()
	return &keptListener{Listener: ln, n: n}, nil
}

// crash closes the head's listener and every connection it has.
func (n *headNet) crash() {
	n.mu.Lock()
	if n.dead {
		n.mu.Unlock()
		return
	}
	n.dead = true
	close(n.crashed)
	conns, lns := n.conns, n.lns
	n.conns, n.lns = nil, nil
	n.mu.Unlock()
	for _, ln := range lns {
		ln.Close()
	}
	for _, c := range conns {
		c.Close()
	}
}

// block forbids (or, off, allows again) dials to addr.
func (n *headNet) block(addr string, on bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.blocked == nil {
		n.blocked = map[string]bool{}
	}
	n.blocked[addr] = on
}

// cut closes the connections the head dialed to addr.
func (n *headNet) cut(addr string) {
	n.mu.Lock()
	conns := n.dialed[addr]
	delete(n.dialed, addr)
	n.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

type keptListener struct {
	net.Listener
	n *headNet
}

func (l *keptListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if !l.n.keep(c) {
		return nil, fmt.Errorf("clustertest: the host crashed: %w", net.ErrClosed)
	}
	return c, nil
}

// Crash kills the host at once, as kill -9 of its main process (its
// children die with it): every connection of its head is cut (the root
// reads the end of the host's link, nobody hears a goodbye), its children
// are killed, then its main process shuts down. It returns once all of
// them ended.
func (s *System) Crash(t testing.TB) {
	t.Helper()
	// The directory's replica dies with the rest at once, as with kill -9:
	// cut first, so that what the head does about its links ending (its
	// hosts look gone to it) cannot reach the other replicas.
	if r := s.Head.Replica(); r != nil {
		r.Stop()
	}
	s.net.crash()
	s.mu.Lock()
	children := make([]*Child, 0, len(s.procs))
	for _, c := range s.procs {
		children = append(children, c)
	}
	s.mu.Unlock()
	for _, c := range children {
		c.Kill()
	}
	s.Main.Process.Shutdown()
	done := make(chan struct{})
	go func() {
		for _, c := range children {
			c.Wait()
		}
		<-s.Main.Process.Done()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("crash of host %s: its processes did not end within 10 s", s.opts.Host)
	}
}

// CutLinksTo closes the connections this host's head has dialed to addr
// (another head's links address: its uplink to the root, its directory
// link), as a short partition would: the host stays up and joins again.
func (s *System) CutLinksTo(addr string) { s.net.cut(addr) }

// Isolate puts a partition between this host's head and the heads of
// others: neither side can dial the other, and the links they dialed to
// each other are cut (the links between heads are always dialed by one of
// the two). Heal takes it away.
func (s *System) Isolate(others ...*System) {
	for _, o := range others {
		s.net.block(o.Head.Addr(), true)
		o.net.block(s.Head.Addr(), true)
	}
	for _, o := range others {
		s.net.cut(o.Head.Addr())
		o.net.cut(s.Head.Addr())
	}
}

// Heal takes away a partition that Isolate put.
func (s *System) Heal(others ...*System) {
	for _, o := range others {
		s.net.block(o.Head.Addr(), false)
		o.net.block(s.Head.Addr(), false)
	}
}

// Ask asks recipient from the head's process and returns the reply (an
// error reply too); it fails the test on a transport error.
func (s *System) Ask(t testing.TB, recipient, command string, body any) host.Message {
	t.Helper()
	return s.AskFrom(t, s.Main.AdminName(), recipient, command, body)
}

// AskFrom asks recipient from the process of node (the head's or a
// child's), as an actor there would: its routing is that process's.
func (s *System) AskFrom(t testing.TB, node, recipient, command string, body any) host.Message {
	t.Helper()
	p := s.Process(node)
	if p == nil {
		t.Fatalf("ask from %s: no such process", node)
	}
	to, err := host.ParseAddress(recipient)
	if err != nil {
		t.Fatal(err)
	}
	r, err := p.Ask(context.Background(), host.Message{Command: command, Body: body, Recipient: to}, 10*time.Second)
	if err != nil && r.Command == "" {
		t.Fatalf("ask %s %s from %s: %v", recipient, command, node, err)
	}
	return r
}

// JSON parses a JSON body.
func JSON(t testing.TB, s string) any {
	t.Helper()
	return testhost.MustJSON(t, s)
}

// CreateActor creates actor name of pkg's class in node (its admin's
// create_actor); params is a JSON object or "".
func (s *System) CreateActor(t testing.TB, node, name, pkg, class, params string) {
	t.Helper()
	if params == "" {
		params = "{}"
	}
	body := JSON(t, fmt.Sprintf(`{"class_desc": {"requires_dist": %q, "class": %q}, "name": %q, "params": %s}`, pkg, class, name, params))
	if r := s.Ask(t, node, "create_actor", body); r.Command != "actor_is_created" {
		t.Fatalf("create %s in %s: %s %s", name, node, r.Command, describe(r.Body))
	}
}

// Move moves the actor name to node (recreate_actor, which the head
// runs) and returns the error of a move that did not happen.
func (s *System) Move(name, node string) error {
	body := host.Object{{Key: "entity", Value: name}, {Key: "node", Value: node}}
	r, err := s.Main.Process.Ask(context.Background(), host.Message{Command: "recreate_actor", Body: body,
		Recipient: host.Address{Node: s.Main.AdminName()}}, 30*time.Second)
	if err != nil && r.Command == "" {
		return fmt.Errorf("move %s to %s: %w", name, node, err)
	}
	if r.Command != "actor_is_recreated" {
		return fmt.Errorf("move %s to %s: %s %s", name, node, r.Command, describe(r.Body))
	}
	return nil
}

// Where returns the process the actor name lives in, by asking every
// running process: "" when none has it; more than one is an error.
func (s *System) Where(name string) (string, error) {
	var found []string
	if s.Main.Lookup(name) != nil {
		found = append(found, s.Main.AdminName())
	}
	s.mu.Lock()
	for node, c := range s.procs {
		select {
		case <-c.Proc.Done():
			continue
		case <-c.killed:
			continue
		default:
		}
		if c.Proc.Lookup(name) != nil {
			found = append(found, node)
		}
	}
	s.mu.Unlock()
	switch len(found) {
	case 0:
		return "", nil
	case 1:
		return found[0], nil
	}
	slices.Sort(found)
	return "", fmt.Errorf("%q lives in %d processes: %v", name, len(found), found)
}

// Eventually polls cond until it holds, for 10 s at most.
func (s *System) Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testhost.Eventually(t, 10*time.Second, what, cond)
}

func describe(v any) string {
	data, err := host.MarshalValue(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(data)
}

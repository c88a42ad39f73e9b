package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/internal/ratelog"
	"github.com/peacepie/peacepie/net/link"
)

// linkDecoder decodes what one link carries (senders use sendOn or
// fillSlot); only its reader uses it.
type linkDecoder struct{ dec *host.Decoder }

func newLinkDecoder() linkDecoder { return linkDecoder{host.NewDecoder()} }

// decode decodes a message that came in a message frame, or in a control
// frame (control): the frame's kind alone makes it the system's
// (Message.System).
func (d linkDecoder) decode(p []byte, control bool) (host.Message, error) {
	var m host.Message
	err := d.dec.Decode(p, &m)
	m.System = control
	return m, err
}

// HeadConfig configures the head.
type HeadConfig struct {
	Host       string // host name
	ConfigPath string // passed to children
	Secret     []byte // the system's secret
	Listen     string // link address; "127.0.0.1:0"
	// Join is the link address of a host of the system this host joins;
	// empty for the first host, which is the system's root.
	Join string
	// Gossip is the membership address (UDP and TCP) of this host; empty
	// for none (a system of one host).
	Gossip     string
	TLS        *tls.Config // mutual TLS on links (nil: none)
	Executable string      // the binary children run; os.Executable()
	ChildArgs  []string    // extra arguments for children (--repos, tests)
	Logger     *slog.Logger
	// HandshakeTimeout and MaxUnauthenticated bound strangers on the
	// links listener (link.Config); 0: link's defaults (5s, 64).
	HandshakeTimeout   time.Duration
	MaxUnauthenticated int
	// Restart brings a child that died back under its name, with its
	// actors re-created from their class and last known params, after
	// Backoff (doubled, up to 30 s, while it keeps dying within a minute).
	Restart bool
	Backoff time.Duration
	// RecreateElsewhere makes the actors of a host that dies again, from
	// their class and last known params, in the main processes of the
	// surviving hosts (failover.go, recreateElsewhere).
	RecreateElsewhere bool
	// MaxProcesses bounds the child processes this host runs at once
	// (being started included): create_process past it is refused with
	// host.ErrProcessLimit. 0: DefaultMaxProcesses.
	MaxProcesses int
	// Packages is the system's package set (packages.go): the root sends
	// it to every process and host and again when it changes; the others
	// follow it. nil: every process uses its own repo list.
	Packages Packages
	// ShareCores is the number of cores this host's processes share
	// (go_threads = 0): each runs its Go code on ShareCores ÷ processes
	// threads, at least one, adjusted as processes come and go. 0: every
	// process keeps the thread count it started with.
	ShareCores int
	// Spawn starts a child process (spawn.go). nil: the real one, which
	// runs Executable's hidden command "child"; tests start children in
	// their own process (cluster/clustertest).
	Spawn SpawnFunc
	// Network carries the head's links: its listener, and its dial to
	// join (nil: TCP). Children must link over it too, so another one
	// needs a Spawn that starts them in this process (a link.MemNetwork in
	// cluster/clustertest).
	Network link.Network
}

// Head is host.Remote for the main process.
type Head struct {
	// Set by NewHead, then only read.
	cfg  HeadConfig
	proc *host.Process
	ln   *link.Listener
	log  *slog.Logger
	// refusals logs the messages refused on their way (noteRefusal).
	refusals *ratelog.Logger
	// root: this head is the system's root. Set by NewHead, and once by
	// takeOver (failover.go) when the root is lost and this host's replica
	// leads the directory's group.
	root atomic.Bool
	// watchingPackages: watchPackages runs (started by the root, or by a
	// head that takes over).
	watchingPackages atomic.Bool

	gossip *gossip // nil: no gossip

	sharing sync.Mutex // serializes shareCores; taken before mu
	// reporting serializes reportProcesses from its list to its send, so
	// that a list made earlier is never sent after a later one (the root
	// would forget a new child); taken before mu.
	reporting sync.Mutex

	// repl is this host's replica of the directory (replicate.go); a host
	// that is not the root starts a new one each time it joins.
	repl atomic.Pointer[replication]

	// mu guards every field below, and in what they point to: a child's
	// removing and threads, a move's transits and held, a member's nodes
	// and gossip, a record's params (the other fields of those are set
	// before they are shared). It is held only to read and change them,
	// and to take a message's place on a link (outbox.go): never while a
	// message is encoded or written, nor while waiting for a process. The
	// lock order is in docs/architecture.md ("Locks").
	mu        sync.Mutex
	children  map[string]*child
	dir       map[string]string // root: actor name → node, for actors of children and other hosts
	next      int               // the number of the next process_N
	waiting   map[string]chan *link.Conn
	gone      []host.Object      // the last processes that ended, for get_processes
	records   map[string]*record // actor name → what re-creates it (root; its own process's actors too)
	moving    map[string]*move   // actors on their way between processes
	moves     int64              // numbers the moves this root has run
	restarted int64              // child processes restarted after they ended by themselves
	stopping  bool               // the head is shutting down: no restarts
	restarts  map[string]restartState
	pending   map[string]bool // children gone that a restart will bring back: they keep their place in MaxProcesses

	rootNode   string                        // the root's admin
	members    map[string]*member            // root: the other hosts
	goneHosts  map[string]string             // root: hosts that went, and why
	lost       map[string]map[string]*record // root: actors of processes that died, for a restart
	up         *link.Conn                    // not root: the link to the root
	joining    *link.Conn                    // not root: the link it joins on, until the welcome (replies go up it: route)
	rootAddr   string                        // not root: the root's link address
	rootGossip string                        // not root: the root's gossip address
	hostDir    map[string]string             // not root: actors of this host's children, as the root said (names.go)
	flushing   map[string]flush              // not root: names the root gave, waiting for their flush
	flushQ     map[string][]host.Message     // not root: messages from this process for them, meanwhile
	epoch      int64                         // root: numbers the name_here notices
	flushWait  map[string]string             // root: route_flush not answered during a move: actor → node (its epoch is asked again)
	fwd        *forwarder                    // not root: this host's events, to the root while it watches (events.go)
	directAddr map[string]string             // a child's address for direct links from its siblings (direct.go)
	routes     map[string]map[string]bool    // actor name → the children holding a direct route to it
	unrouting  map[string]*unrouteWait       // moves waiting for the direct routes to their actor to end
	unrouteSeq int64                         // numbers the waits (unrouteWait.id)
	deadNames  deadNames                     // root: names whose process died lately, and why
	// reserving: root: new names whose reservation the directory's group
	// is committing (reserve); the mirror leaves them alone meanwhile.
	reserving map[string]*reservation
}

// reservation is a new name the directory's group is committing for node
// (Head.reserving); gone is set (under Head.mu) when node dies meanwhile.
type reservation struct {
	node string
	gone bool
}

// record is what the head knows of an actor of a child: enough to make it
// again after a restart.
type record struct {
	class  host.ClassDesc
	params host.Object
}

type restartState struct {
	backoff time.Duration
	last    time.Time
}

type child struct {
	node     string
	proc     ChildProcess
	conn     *link.Conn
	removing bool // stopped on purpose: no restart (guarded by Head.mu)
	threads  int  // its share of the cores, as last told (ShareCores; guarded by Head.mu)
}

// NewHead starts the link listener and the gossip of a host's main
// process; with cfg.Join it joins the system there first (and fails if it
// cannot), else it is the system's root.
func NewHead(proc *host.Process, cfg HeadConfig) (*Head, error) {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("cluster: %w", err)
		}
		cfg.Executable = exe
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Network != nil && cfg.Network != link.TCP && cfg.Spawn == nil {
		return nil, errors.New("cluster: a Network other than TCP needs a Spawn whose children link over it")
	}
	ln, err := link.Listen(cfg.Listen, link.Config{Node: proc.AdminName(), Secret: cfg.Secret, Logger: cfg.Logger, TLS: cfg.TLS,
		HandshakeTimeout: cfg.HandshakeTimeout, MaxUnauthenticated: cfg.MaxUnauthenticated, Network: cfg.Network})
	if err != nil {
		return nil, err
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = time.Second
	}
	if cfg.MaxProcesses <= 0 {
		cfg.MaxProcesses = DefaultMaxProcesses
	}
	h := &Head{cfg: cfg, proc: proc, ln: ln, log: cfg.Logger, refusals: ratelog.New(cfg.Logger, 10, 256), children: map[string]*child{}, dir: map[string]string{},
		waiting: map[string]chan *link.Conn{}, records: map[string]*record{}, reserving: map[string]*reservation{}, restarts: map[string]restartState{}, pending: map[string]bool{},
		moving: map[string]*move{}, rootNode: proc.AdminName(), members: map[string]*member{},
		goneHosts: map[string]string{}, lost: map[string]map[string]*record{}, hostDir: map[string]string{}, flushing: map[string]flush{}, flushQ: map[string][]host.Message{},
		flushWait: map[string]string{}, directAddr: map[string]string{}, routes: map[string]map[string]bool{}, unrouting: map[string]*unrouteWait{}}
	h.root.Store(cfg.Join == "")
	if h.cfg.Spawn == nil {
		h.cfg.Spawn = h.spawnExec
	}
	if cfg.Gossip != "" {
		g, err := startGossip(cfg.Host, cfg.Gossip, cfg.Secret, cfg.Logger, gossipEvents{up: h.hostUp, down: h.hostDown})
		if err != nil {
			ln.Close()
			return nil, err
		}
		h.gossip = g
	}
	// Every head has the forwarder up and the operator's watch, used
	// while it is not the root: a root may become one of the others
	// (failover.go, yieldRoot).
	h.fwd = &forwarder{proc: proc, send: h.forwardToRoot}
	proc.OnOperatorWatched(h.operatorWatched)
	proc.OnWatched(h.watched)
	if h.root.Load() {
		if err := h.startReplication(); err != nil {
			ln.Close()
			if h.gossip != nil {
				h.gossip.Leave()
			}
			return nil, err
		}
	}
	go ln.Serve(h.onLink)
	if h.root.Load() && cfg.Packages != nil {
		go h.watchPackages()
	}
	if !h.root.Load() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := h.join(ctx, cfg.Join); err != nil {
			ln.Close()
			if h.gossip != nil {
				h.gossip.Leave()
			}
			return nil, err
		}
	}
	return h, nil
}

func (h *Head) onLink(c *link.Conn) {
	if h.isRaftLink(c.Peer()) {
		h.acceptRaftLink(c)
		return
	}
	if isMainNode(c.Peer()) {
		if h.root.Load() {
			h.acceptMember(c)
		} else {
			h.redirect(c)
		}
		return
	}
	h.mu.Lock()
	ch := h.waiting[c.Peer()]
	delete(h.waiting, c.Peer())
	h.mu.Unlock()
	if ch == nil {
		h.log.Warn("link from a process that was not started here", "node", c.Peer())
		c.Close("unknown process")
		return
	}
	ch <- c
	dec := newLinkDecoder()
	from, hints := c.Peer(), hintGate{}
	err := c.Run(func(p []byte, control bool) {
		m, err := dec.decode(p, control)
		if err != nil {
			h.log.Warn("bad message from a child", "node", c.Peer(), "error", err.Error())
			return
		}
		if m.System && m.Recipient.Node == h.proc.AdminName() {
			if act := childLinkControl[m.Command]; act != nil {
				act(h, from, &m)
				return
			}
		}
		if !h.upFromChild(m) {
			h.proc.DeliverFromChild(m)
		}
		if e := m.Recipient.Entity; e != "" && !m.System && !m.Transit && m.Recipient.Reply == 0 && hints.allow(e, time.Now()) {
			h.hint(from, e)
		}
	})
	h.childGone(c.Peer(), err)
}

// childGone forgets a child whose link ended, and its actors.
func (h *Head) childGone(node string, err error) {
	reason := fmt.Sprint(err)
	h.mu.Lock()
	ch := h.children[node]
	h.mu.Unlock()
	if ch == nil {
		return
	}
	// The link says only that it ended (EOF): the process's end says how.
	if es, ok := ch.proc.(interface{ ExitStatus(time.Duration) string }); ok {
		if st := es.ExitStatus(exitStatusWait); st != "" {
			reason += " (the process ended: " + st + ")"
		}
	}
	h.mu.Lock()
	if h.children[node] != ch {
		h.mu.Unlock()
		return
	}
	delete(h.children, node)
	h.directGoneLocked(node)
	restart := !ch.removing && !h.stopping && h.cfg.Restart
	if restart {
		h.pending[node] = true
	}
	// Listed as gone before anybody hears of it.
	h.gone = append(h.gone, host.Object{{Key: "node", Value: node}, {Key: "state", Value: "gone"}, {Key: "reason", Value: reason}})
	if len(h.gone) > 20 {
		h.gone = h.gone[len(h.gone)-20:]
	}
	up := h.up
	h.mu.Unlock()
	h.log.Info("process is gone", "node", node, "reason", reason)
	h.proc.ForgetStats(node)
	ch.proc.Release()
	go ch.proc.Wait()
	h.shareCores()
	if h.root.Load() {
		// Its names leave the directory; every process hears of it.
		h.nodeGone(node, reason, restart)
	} else {
		h.forgetNode(node)
		h.proc.ProcessGone(node, reason)
		if up != nil {
			m := host.Message{System: true, ID: h.proc.NewMID(), Command: "process_gone", Recipient: host.Address{Node: up.Peer()},
				Body: host.Object{{Key: "node", Value: node}, {Key: "reason", Value: reason}, {Key: "restart", Value: restart}}}
			sendOn(up, m)
		}
		h.reportProcesses()
	}
	if restart {
		go h.restart(node)
	}
}

// exitStatusWait bounds how long a head waits for a child whose link ended
// to end too, to report how it ended.
const exitStatusWait = 500 * time.Millisecond

// restart brings node back after the back-off; the root re-creates its
// actors.
func (h *Head) restart(node string) {
	h.mu.Lock()
	st := h.restarts[node]
	if st.backoff == 0 || time.Since(st.last) > time.Minute {
		st.backoff = h.cfg.Backoff
	} else {
		st.backoff = min(2*st.backoff, 30*time.Second)
	}
	st.last = time.Now()
	h.restarts[node] = st
	h.restarted++
	h.mu.Unlock()
	h.log.Warn("restarting a process", "node", node, "in", st.backoff.String())
	time.Sleep(st.backoff)
	h.mu.Lock()
	delete(h.pending, node) // from here on it is counted in waiting
	h.mu.Unlock()
	if h.isStopping() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := node[len(h.cfg.Host)+1 : len(node)-len(".admin")]
	if _, err := h.createNamed(ctx, name); err != nil {
		h.log.Error("the process could not be restarted", "node", node, "error", err.Error())
		return
	}
	h.log.Info("process restarted", "node", node)
	if h.root.Load() {
		h.restore(ctx, node)
		return
	}
	if _, err := h.proc.Ask(ctx, host.Message{System: true, Command: "restore_process", Recipient: host.Address{Node: h.Head()},
		Body: host.Object{{Key: "node", Value: node}}}, 25*time.Second); err != nil {
		h.log.Error("the system's head did not restore the process's actors", "node", node, "error", err.Error())
	}
}

func (h *Head) isStopping() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stopping
}

// coreShareLocked is the threads each process of this host gets with
// ShareCores (those being started count).
func (h *Head) coreShareLocked() int {
	return max(1, h.cfg.ShareCores/(1+len(h.children)+len(h.waiting)))
}

// shareCores gives this process and each child its share of the cores,
// telling the children whose share changed (ShareCores; a no-op without).
// Fewer threads than cores per process keep the processes of a host from
// waking threads on the cores the others work on: streaming between two
// processes on two cores gains about a quarter (docs/architecture.md).
func (h *Head) shareCores() {
	if h.cfg.ShareCores == 0 {
		return
	}
	var out outbox
	h.sharing.Lock()
	h.mu.Lock()
	n := h.coreShareLocked()
	for _, ch := range h.children {
		if ch.threads != n {
			ch.threads = n
			m := host.Message{System: true, ID: h.proc.NewMID(), Command: "go_threads", Recipient: host.Address{Node: ch.node},
				Body: host.Object{{Key: "n", Value: int64(n)}}}
			out.add(ch.conn, m) // in the order of the shares
		}
	}
	h.mu.Unlock()
	h.proc.SetGoThreads(n)
	h.sharing.Unlock()
	out.send(h.log)
}

// DefaultMaxProcesses is the child processes a host runs at most when its
// config does not say (max_processes).
const DefaultMaxProcesses = 16

// CreateProcess starts a child process and returns its admin's name once
// the child is linked and ready for actors. Past HeadConfig.MaxProcesses
// children it fails with host.ErrProcessLimit.
//
// The place is taken under the same lock as the count (in waiting), and a
// child gone that a restart will bring back keeps its place, so neither
// concurrent calls nor restarts take the host past its limit.
func (h *Head) CreateProcess(ctx context.Context) (string, error) {
	h.mu.Lock()
	if n := len(h.children) + len(h.waiting) + len(h.pending); n >= h.cfg.MaxProcesses {
		h.mu.Unlock()
		return "", fmt.Errorf("create process: %w: host %s runs %d child processes, its limit (max_processes in its config)",
			host.ErrProcessLimit, h.cfg.Host, n)
	}
	name := "process_" + strconv.Itoa(h.next)
	h.next++
	node, ready, threads := h.reserveLocked(name)
	h.mu.Unlock()
	return h.spawn(ctx, name, node, ready, threads)
}

// createNamed starts the child process "name" again (a restart).
func (h *Head) createNamed(ctx context.Context, name string) (string, error) {
	h.mu.Lock()
	node, ready, threads := h.reserveLocked(name)
	h.mu.Unlock()
	return h.spawn(ctx, name, node, ready, threads)
}

// reserveLocked registers the child "name" as awaited (it then counts in
// MaxProcesses) and returns its node, the channel its link arrives on and
// its share of the cores. Called with h.mu held.
func (h *Head) reserveLocked(name string) (node string, ready chan *link.Conn, threads int) {
	node = h.cfg.Host + "." + name + ".admin"
	ready = make(chan *link.Conn, 1)
	h.waiting[node] = ready
	return node, ready, h.coreShareLocked()
}

// spawn starts the child process reserved by reserveLocked and waits until
// it is linked.
func (h *Head) spawn(ctx context.Context, name, node string, ready chan *link.Conn, threads int) (string, error) {
	fail := func(err error) (string, error) {
		h.mu.Lock()
		delete(h.waiting, node)
		h.mu.Unlock()
		return "", fmt.Errorf("create process %s: %w", name, err)
	}
	spec := ChildSpec{Host: h.cfg.Host, Process: name, Node: node, Parent: h.Addr(), Secret: h.cfg.Secret}
	if h.cfg.ShareCores > 0 {
		spec.GoThreads = threads
	}
	cp, err := h.cfg.Spawn(ctx, spec)
	if err != nil {
		return fail(err)
	}
	select {
	case c := <-ready:
		h.packagesForChild(c) // before anything else reaches it
		h.mu.Lock()
		h.children[node] = &child{node: node, proc: cp, conn: c, threads: threads}
		h.mu.Unlock()
		h.log.Info("process is created", "node", node, "pid", cp.Pid())
		h.proc.NotifyWatched() // it forwards its events if somebody watches
		h.shareCores()
		h.proc.ProcessCreated(node)
		if !h.root.Load() {
			h.reportProcesses()
		}
		return node, nil
	case <-ctx.Done():
		cp.Release()
		cp.Kill()
		go cp.Wait()
		return fail(fmt.Errorf("it did not link in time: %w", ctx.Err()))
	}
}

// RemoveProcess stops a child: its actors' stop hooks run, then it exits.
func (h *Head) RemoveProcess(ctx context.Context, node string) error {
	h.mu.Lock()
	ch := h.children[node]
	h.mu.Unlock()
	if ch == nil {
		return fmt.Errorf("%w: %q", host.ErrNoProcess, node)
	}
	h.stopChild(ctx, ch)
	return nil
}

func (h *Head) stopChild(ctx context.Context, ch *child) {
	h.mu.Lock()
	ch.removing = true
	h.mu.Unlock()
	m := host.Message{System: true, ID: h.proc.NewMID(), Command: "exit_process", Recipient: host.Address{Node: ch.node}}
	sendOn(ch.conn, m)
	done := make(chan struct{})
	go func() { ch.proc.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		ch.proc.Kill()
		<-done
	}
	h.childGone(ch.node, errors.New(host.GoneRemoved))
}

// Route implements host.Router. The root routes a message for an actor
// (node "") in one step under h.mu (routeAway). In a host other than the
// root, a message for an actor is routed under the lock with the host's
// own names (names.go): the way its caller was given may have changed
// since. The way is chosen and the message's place on its link taken under
// h.mu; it is encoded and written after (outbox.go).
func (h *Head) Route(node string, m host.Message) (host.Place, error) {
	if h.root.Load() && node == "" {
		return h.routeAway(m)
	}
	s, err := h.route(node, m)
	h.noteRefusal(m, err)
	if err != nil || s == nil {
		return nil, err
	}
	return h.placeFor(node, m, s), nil
}

// forward sends m to node in one step (Route).
func (h *Head) forward(node string, m host.Message) error {
	pl, err := h.Route(node, m)
	if err != nil || pl == nil {
		return err
	}
	return pl.Fill(m)
}

// noteRefusal logs a message refused because too many wait for its actor
// on its way (a move, a flush: holdLocked), at a bounded rate: the actor is
// not here to count it.
func (h *Head) noteRefusal(m host.Message, err error) {
	if errors.Is(err, host.ErrMailboxFull) {
		h.refusals.Warn("a message for an actor on its way is refused", "actor", m.Recipient.Entity, "command", m.Command, "error", err.Error())
	}
}

// route is Route under h.mu, up to the message's place on its link (nil:
// the message is held here).
func (h *Head) route(node string, m host.Message) (*link.Slot, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if e := m.Recipient.Entity; h.root.Load() && e != "" && m.Recipient.Reply == 0 {
		// The choice of node and this send are two steps: a move may
		// have begun between them. Then the message waits with the others
		// (sent now, it could reach the old place after the actor left and
		// come back behind later ones).
		if mv := h.moving[e]; mv != nil {
			return nil, h.holdLocked(mv, e, m)
		}
	}
	if e := m.Recipient.Entity; !h.root.Load() && e != "" && !m.Transit && m.Recipient.Reply == 0 {
		if _, ok := h.flushing[e]; ok {
			return nil, h.holdForFlushLocked(e, m)
		}
		switch n := h.hostDir[e]; {
		case n != "":
			node = n
		case node == "" && h.up == nil:
			return nil, fmt.Errorf("%w: %q: the system's head %s is unreachable", host.ErrNoActor, e, h.rootNode)
		case node == "" || h.children[node] != nil:
			node = h.rootNode
		}
	}
	if node == "" {
		return nil, fmt.Errorf("%w: message %q has no recipient", host.ErrBadAddress, m.Command)
	}
	if m.Recipient.Reply != 0 && !h.root.Load() && h.up == nil && h.joining != nil && h.children[node] == nil {
		// A reply to another host while this one joins: the root routes
		// to a host as soon as it has its link, ahead of the welcome.
		return h.joining.Reserve(), nil
	}
	c, err := h.linkLocked(node)
	if err != nil {
		return nil, err
	}
	return c.Reserve(), nil
}

// routeLocked is Route with h.mu held, up to the message's place on its
// link (outbox.go).
func (h *Head) routeLocked(node string, m host.Message) (outgoing, error) {
	c, err := h.linkLocked(node)
	if err != nil {
		return outgoing{}, err
	}
	h.addressFor(node, &m)
	return reserve(c, m), nil
}

// linkLocked returns the link a message for node goes on (h.mu held): to
// a child; from the root to the host of node; from another host to the
// root.
func (h *Head) linkLocked(node string) (*link.Conn, error) {
	if ch := h.children[node]; ch != nil {
		return ch.conn, nil
	}
	hostName := hostOf(node)
	switch {
	case hostName == h.cfg.Host:
		return nil, fmt.Errorf("%w: %q", host.ErrNoProcess, node)
	case h.root.Load():
		mb := h.members[hostName]
		if mb == nil {
			if reason, ok := h.goneHosts[hostName]; ok {
				return nil, fmt.Errorf("%w: %q: %s", host.ErrNoProcess, node, reason)
			}
			return nil, fmt.Errorf("%w: %q: no host %q in this system", host.ErrNoProcess, node, hostName)
		}
		return mb.conn, nil
	case h.up == nil:
		return nil, fmt.Errorf("%w: %q: the system's head %s is unreachable", host.ErrNoProcess, node, h.rootNode)
	}
	return h.up, nil
}

// placeFor is m's place s on its way to node. A message for an actor
// that the root sends to another host carries node there (addressedPlace),
// so that its host need not look the name up (it needs no lock: node and
// the host's name say it).
func (h *Head) placeFor(node string, m host.Message, s *link.Slot) host.Place {
	if h.root.Load() && m.Recipient.Entity != "" && hostOf(node) != h.cfg.Host {
		return &addressedPlace{slot: s, node: node}
	}
	return placeOf(s)
}

// addressFor writes node into m as placeFor's place does.
func (h *Head) addressFor(node string, m *host.Message) {
	if h.root.Load() && m.Recipient.Entity != "" && hostOf(node) != h.cfg.Host {
		m.Recipient.Node = node
	}
}

// addressedPlace is a place that writes its node into the message (placeFor).
type addressedPlace struct {
	slot *link.Slot
	node string
}

// Fill implements host.Place.
func (p *addressedPlace) Fill(m host.Message) error {
	m.Recipient.Node = p.node
	return fillSlot(p.slot, m)
}

// Locate implements host.Remote: the root knows every name; another host
// sends names it does not have to the root.
func (h *Head) Locate(name string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.root.Load():
		return h.dir[name]
	case h.hostDir[name] != "":
		return h.hostDir[name]
	case h.up == nil:
		return ""
	}
	return h.rootNode
}

// Reserve implements host.Remote for actors of the head itself.
func (h *Head) Reserve(name string, class host.ClassDesc, params host.Object) error {
	if h.root.Load() {
		return h.reserve(name, h.proc.AdminName(), &record{class: class, params: params})
	}
	return reserveAt(h.proc, h.Head(), name, class, params)
}

// NoteParams implements host.Remote: the root records its own actors'
// params (a failover may re-create them elsewhere, failover.go); another
// head tells the root.
func (h *Head) NoteParams(name string, params host.Object) {
	if !h.root.Load() {
		h.proc.Send(host.Message{System: true, Command: "params_known", Recipient: host.Address{Node: h.Head()},
			Body: host.Object{{Key: "name", Value: name}, {Key: "node", Value: h.proc.AdminName()}, {Key: "params", Value: params}}})
		return
	}
	h.mu.Lock()
	if r := h.records[name]; r != nil && params != nil {
		r.params = params
		h.dirChanged(name)
	}
	h.mu.Unlock()
}

func (h *Head) reserve(name, node string, rec *record) error {
	var out outbox
	defer func() { out.send(h.log) }() // after h.mu is released
	h.mu.Lock()
	defer h.mu.Unlock()
	n, taken := h.dir[name]
	if taken && n != node {
		return fmt.Errorf("%w: %q already exists in %s", host.ErrNameTaken, name, n)
	}
	if r := h.reserving[name]; r != nil {
		return fmt.Errorf("%w: %q is being made in %s", host.ErrNameTaken, name, r.node)
	}
	if !taken {
		if err := h.writesRefused(); err != nil {
			return fmt.Errorf("reserve %q: %w", name, err)
		}
	}
	if node != h.proc.AdminName() && h.proc.Lookup(name) != nil {
		return fmt.Errorf("%w: %q already exists in %s", host.ErrNameTaken, name, h.proc.AdminName())
	}
	if !taken && h.proc.Lookup(name) == nil {
		// A new name: the directory's group gives it, so that two roots
		// (one cut off, one that took over) can never both give it.
		if err := h.commitReservationLocked(name, node, rec); err != nil {
			return err
		}
	}
	h.dirChanged(name)
	h.deadNames.forget(name)
	if rec != nil {
		h.records[name] = rec
	}
	if node != h.proc.AdminName() {
		h.dir[name] = node
		h.tellNameLocked(&out, name, node)
	}
	return nil
}

// Release implements host.Remote.
func (h *Head) Release(name string) {
	if !h.root.Load() {
		releaseAt(h.proc, h.Head(), name)
		return
	}
	h.mu.Lock()
	if h.dir[name] == "" {
		delete(h.records, name)
	}
	h.mu.Unlock()
	h.dirChanged(name) // an actor of the root's own process
}

func (h *Head) release(name, node string) {
	var out outbox
	h.mu.Lock()
	if h.dir[name] == node {
		delete(h.dir, name)
		h.dirChanged(name)
		h.forgetNameLocked(&out, name, node)
		h.endRoutesLocked(&out, name, false) // nobody waits for the markers
	}
	if h.dir[name] == "" && h.proc.Lookup(name) == nil {
		delete(h.records, name)
	}
	h.mu.Unlock()
	out.send(h.log)
}

// Head implements host.Remote: the system's root.
func (h *Head) Head() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.rootNode
}

// Nodes implements host.Remote.
func (h *Head) Nodes() []host.Object {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := []host.Object{{{Key: "node", Value: h.proc.AdminName()}, {Key: "pid", Value: int64(os.Getpid())}}}
	nodes := make([]string, 0, len(h.children))
	for n := range h.children {
		nodes = append(nodes, n)
	}
	sort.Strings(nodes)
	for _, n := range nodes {
		count := 0
		for _, at := range h.dir {
			if at == n {
				count++
			}
		}
		o := host.Object{{Key: "node", Value: n}, {Key: "pid", Value: int64(h.children[n].proc.Pid())}}
		if h.root.Load() { // only the root's directory knows where actors are
			o = append(o, host.Field{Key: "actors", Value: int64(count)})
		}
		if h.cfg.ShareCores > 0 {
			o = append(o, host.Field{Key: "go_threads", Value: int64(h.children[n].threads)})
		}
		if addr := h.directAddr[n]; addr != "" {
			o = append(o, host.Field{Key: "direct_links", Value: addr}) // where its siblings dial it
		}
		out = append(out, o)
	}
	return out
}

func (h *Head) processList() host.Array {
	var out host.Array
	for _, n := range h.Nodes() {
		out = append(out, n.String("node"))
	}
	return out
}

// Gone lists the processes that ended lately (get_processes shows them),
// oldest first: each node once, with its last end, and none that runs again
// (a restarted child is listed among the running processes only).
func (h *Head) Gone() []host.Object {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]host.Object, 0, len(h.gone))
	seen := make(map[string]bool, len(h.gone))
	for i := len(h.gone) - 1; i >= 0; i-- {
		node := h.gone[i].String("node")
		if seen[node] || h.children[node] != nil {
			continue
		}
		seen[node] = true
		out = append(out, h.gone[i])
	}
	slices.Reverse(out)
	return out
}

// Admin implements host.Remote: create_process, remove_process,
// get_hosts, and the directory requests of children and hosts (which
// another host passes on to the root).
func (h *Head) Admin(p *host.Process, m *host.Message) bool {
	req := *m
	body, _ := m.Body.(host.Object)
	if !h.root.Load() {
		switch m.Command {
		case "reserve_name", "release_name", "params_known", "move_settled", "recreate_actor", "restore_process", "get_hosts", "route_flush", "pin_package", "fetch_package", "get_actors":
			root := h.Head()
			req.Recipient = host.Address{Node: root}
			if err := h.forward(root, req); err != nil {
				if m.Command == "get_hosts" { // this host alone, then
					p.Reply(m, "hosts", host.Object{{Key: "hosts", Value: host.Array{host.Object{{Key: "name", Value: h.cfg.Host},
						{Key: "head", Value: false}, {Key: "state", Value: "up"}, {Key: "processes", Value: h.processList()}}}}})
					return true
				}
				p.Reply(m, "error", host.Object{{Key: "mid", Value: m.ID.String()}, {Key: "message", Value: err.Error()}})
			}
			return true
		}
	}
	switch m.Command {
	case "get_actors": // {"all": true} (host.admin passes only that on)
		go h.allActors(p, req)
	case "get_hosts":
		p.Reply(m, "hosts", host.Object{{Key: "hosts", Value: h.hosts()}})
	case "route_flush":
		h.answerRouteFlush(body.String("entity"), body.String("node"), mustGet(body, "epoch"))
	case "restore_process":
		node := body.String("node")
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
			defer cancel()
			h.restore(ctx, node)
			p.Reply(&req, "process_is_restored", host.Object{{Key: "node", Value: node}})
		}()
	case "create_process":
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			node, err := h.CreateProcess(ctx)
			if err != nil {
				p.Reply(&req, "process_is_not_created", host.Object{{Key: "mid", Value: req.ID.String()}, {Key: "error", Value: err.Error()}})
				return
			}
			p.Reply(&req, "process_is_created", host.Object{{Key: "node", Value: node}})
		}()
	case "remove_process":
		node := body.String("node")
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := h.RemoveProcess(ctx, node); err != nil {
				p.Reply(&req, "process_is_not_removed", host.Object{{Key: "mid", Value: req.ID.String()}, {Key: "error", Value: err.Error()}})
				return
			}
			p.Reply(&req, "process_is_removed", host.Object{{Key: "node", Value: node}})
		}()
	case "reserve_name":
		var rec *record
		if cd, err := host.ClassDescFromValue(mustGet(body, "class_desc")); err == nil {
			params, _ := mustGet(body, "params").(host.Object)
			rec = &record{class: cd, params: params}
		}
		// A new name waits for the directory's group to commit it: not
		// in the admin, which goes on meanwhile. The creator waits for
		// the answer before it sends anything else about the name.
		go func() {
			if err := h.reserve(body.String("name"), body.String("node"), rec); err != nil {
				p.Reply(&req, "name_is_taken", host.Object{{Key: "error", Value: err.Error()}})
			} else {
				p.Reply(&req, "name_is_reserved", nil)
			}
		}()
	case "recreate_actor":
		go h.moveActor(p, req)
	case "move_settled":
		h.moveSettled(p, req)
	case "pin_package":
		go h.pinPackage(p, req)
	case "fetch_package":
		go h.fetchPackage(p, req)
	case "release_name":
		h.release(body.String("name"), body.String("node"))
	case "params_known":
		params, _ := mustGet(body, "params").(host.Object)
		h.mu.Lock()
		if r := h.records[body.String("name")]; r != nil && params != nil && h.dir[body.String("name")] == body.String("node") {
			r.params = params
			h.dirChanged(body.String("name"))
		}
		h.mu.Unlock()
	default:
		return false
	}
	return true
}

// Shutdown implements host.Remote: the root tells every other host to
// exit; every head stops its children (2 s at most), then its listener; a
// host other than the root says it is leaving.
func (h *Head) Shutdown() {
	h.mu.Lock()
	h.stopping = true
	list := make([]*child, 0, len(h.children))
	for _, ch := range h.children {
		list = append(list, ch)
	}
	members := make([]*member, 0, len(h.members))
	for _, m := range h.members {
		members = append(members, m)
	}
	up := h.up
	h.mu.Unlock()
	for _, mb := range members {
		m := host.Message{System: true, ID: h.proc.NewMID(), Command: "exit_host", Recipient: host.Address{Node: mb.node}}
		sendOn(mb.conn, m)
	}
	defer func() {
		if up != nil { // the root hears why first
			up.Close("the host is leaving")
			select {
			case <-up.Done():
			case <-time.After(1500 * time.Millisecond):
			}
		}
		if h.gossip != nil {
			h.gossip.Leave()
		}
		for _, mb := range members { // they close their links as they go
			select {
			case <-mb.conn.Done():
			case <-time.After(3 * time.Second):
			}
		}
	}()
	var wg sync.WaitGroup
	for _, ch := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			h.stopChild(ctx, ch)
		}()
	}
	wg.Wait()
	h.ln.Close()
	if r := h.repl.Load(); r != nil {
		r.close()
	}
}

func mustGet(o host.Object, key string) any {
	v, _ := o.Get(key)
	return v
}

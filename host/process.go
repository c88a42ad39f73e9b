package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
)

// Config configures a Process. Zero fields take the defaults shown.
type Config struct {
	Host     string        // host name; "first"
	Process  string        // process name; "main"
	Budget   time.Duration // running time allowed to one handler; 5s; < 0: unlimited
	Resolver Resolver      // finds actor classes; required to create actors
	Logger   *slog.Logger  // slog.Default()
	Output   io.Writer     // where actors print; os.Stdout
	// ShutdownTimeout bounds how long exit waits for stop hooks; 1.5s.
	ShutdownTimeout time.Duration
	// CreateTimeout is the budget of create_actor when the request has no
	// timeout; 30s.
	CreateTimeout time.Duration
	// AllowEval lets the admin's eval command run code inside actors (the
	// REPL's lua command). Off by default.
	AllowEval bool
	// LinkPause bounds how long a link reader waits for an actor's full
	// mailbox before it reads on (link backpressure, see mailboxHigh); 50ms.
	LinkPause time.Duration
	// Grants returns the admin commands the repo list grants the actors of
	// a package (GrantableCommands; GrantAll for every one). nil grants
	// nothing. It is called for each restricted admin command, from any
	// goroutine.
	Grants func(pkg string) []string
	// ActorMemory bounds the memory one actor's state may hold, in bytes
	// (see MemoryMeter); 64 MiB; < 0: unlimited.
	ActorMemory int64
	// MailboxLimit bounds the user messages waiting in one actor's mailbox
	// (see Actor.push); 100000; < 0: unlimited.
	MailboxLimit int
	// Clock runs the actors' timers (After, Every, Sleep); nil: the real
	// one. `peacepie test` gives a FakeClock that tests advance.
	Clock Clock
	// HibernateAfter is how long an actor whose class allows it
	// (Hibernator) stays idle before it hibernates (hibernate.go); 0:
	// never.
	HibernateAfter time.Duration
}

// DefaultMailboxLimit is Config.MailboxLimit's default.
const DefaultMailboxLimit = 100_000

// DefaultActorMemory is Config.ActorMemory's default.
const DefaultActorMemory = 64 << 20

func (c *Config) setDefaults() {
	if c.Clock == nil {
		c.Clock = realClock{}
	}
	if c.Host == "" {
		c.Host = "first"
	}
	if c.Process == "" {
		c.Process = "main"
	}
	if c.Budget == 0 {
		c.Budget = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Output == nil {
		c.Output = os.Stdout
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 1500 * time.Millisecond
	}
	if c.CreateTimeout <= 0 {
		c.CreateTimeout = 30 * time.Second
	}
	if c.LinkPause <= 0 {
		c.LinkPause = 50 * time.Millisecond
	}
	if c.ActorMemory == 0 {
		c.ActorMemory = DefaultActorMemory
	}
	if c.MailboxLimit == 0 {
		c.MailboxLimit = DefaultMailboxLimit
	}
}

// Process is one OS process of a peacepie system: its actors, its admin and
// its pending asks. All methods are safe for concurrent use.
type Process struct {
	cfg       Config
	adminName string
	midPrefix string
	log       *slog.Logger
	seq       atomic.Uint64
	tick      atomic.Int64 // advanced by the watchdog; see budgetState

	admin  *Actor
	remote Remote // nil: the process is the whole system
	asks   askTable
	sched  scheduler
	events eventHub
	stats  statsBook // what other processes' stats were (a head)

	mu     sync.RWMutex // guards actors, awake, dormantSums, hidden, spawning, stopping
	actors map[string]*Actor
	// awake are the registered actors that do not hibernate, and
	// dormantSums what the hibernating ones count, by package version
	// (hibernate.go): what walks every actor often (metrics, stats, the
	// hibernation scanner) walks the awake ones only.
	awake       map[*Actor]struct{}
	dormantSums map[packageVersion]*packageCounts
	hidden      map[string]*Actor // adopted in a move, not yet activated
	// movedOut keeps what this process gave to moves not yet done, undone
	// the moves it undid after their root was lost (moveout.go); nOrphans
	// counts the copies whose root is lost, for the fast path.
	movedOut map[string]*movedOut
	undone   []string
	nOrphans atomic.Int32
	// spawning holds the messages for actors being made here, whose names
	// the system's directory already has (Spawn); nSpawning counts them,
	// for the fast path.
	spawning  map[string][]Message
	nSpawning atomic.Int32

	// Actors moved in lately, whose messages from here wait for their
	// route_flushed (remote.go). rounding counts them, for the fast path.
	roundMu   sync.Mutex
	rounding  atomic.Int32
	underHead atomic.Bool       // another process heads the system (SetRemote, BecameHead)
	viaHead   map[string]uint64 // name → the epoch of its route_flush
	flushSeq  uint64            // numbers the route_flush markers (roundMu)
	roundQ    map[string][]Message
	roundFull map[string]bool // names whose roundQ has refused a message (reported once per wait)
	stopping  bool            // shutdown has begun: no new actors
	exiting   atomic.Bool     // Shutdown was called: the ends of other processes are expected

	outMu   sync.Mutex  // serialises printed lines; guards recent
	recent  recentLines // the last printed lines (recentlines.go)
	history history     // messages handled, second by second (history.go)

	shutdownOnce sync.Once
	stopWatchdog chan struct{}
	done         chan struct{}
	hibernating  atomic.Int64 // actors hibernating now (hibernate.go)
	lateReplies  atomic.Uint64
	retired      retiredCounts // what ended actor instances counted (metrics.go)
	linkPauses   atomic.Uint64 // link readers held back by a full mailbox
}

// NewProcess starts a process with its admin actor.
func NewProcess(cfg Config) (*Process, error) {
	cfg.setDefaults()
	for _, n := range []string{cfg.Host, cfg.Process} {
		if err := ValidateNodeName(n); err != nil {
			return nil, err
		}
	}
	p := &Process{
		cfg:          cfg,
		adminName:    cfg.Host + "." + cfg.Process + ".admin",
		midPrefix:    cfg.Host + "." + cfg.Process,
		actors:       make(map[string]*Actor),
		awake:        make(map[*Actor]struct{}),
		dormantSums:  make(map[packageVersion]*packageCounts),
		stopWatchdog: make(chan struct{}),
		done:         make(chan struct{}),
	}
	p.log = cfg.Logger.With("node", p.adminName)
	p.tick.Store(1)
	p.sched.init()
	p.asks.init()
	p.admin = p.newActor(p.adminName, ClassInfo{Package: "peacepie", Class: "Admin"})
	p.admin.beh = &admin{p: p, listings: make(chan struct{}, maxListings)}
	go p.watchdog(p.stopWatchdog)
	if cfg.HibernateAfter > 0 {
		go p.hibernator(p.stopWatchdog)
	}
	return p, nil
}

// AdminName returns "<host>.<process>.admin".
func (p *Process) AdminName() string { return p.adminName }

// HeadAdmin returns the name of the admin that heads the system.
func (p *Process) HeadAdmin() string {
	if p.remote != nil {
		return p.remote.Head()
	}
	return p.adminName
}

// Done is closed when the process has shut down.
func (p *Process) Done() <-chan struct{} { return p.done }

// Logger returns the process's logger.
func (p *Process) Logger() *slog.Logger { return p.log }

// NewMID returns a fresh message id.
func (p *Process) NewMID() MID { return MID{Prefix: p.midPrefix, Seq: p.seq.Add(1)} }

// Print writes one printed line of an actor to the process output.
func (p *Process) Print(line string) {
	p.outMu.Lock()
	io.WriteString(p.cfg.Output, line)
	p.outMu.Unlock()
}

// Print writes a line the actor printed (ending in a newline) to the
// process output, and to watchers.
func (a *Actor) Print(line string) {
	p := a.proc
	p.outMu.Lock()
	io.WriteString(p.cfg.Output, line)
	p.recent.addLocked(a.name, strings.TrimSuffix(line, "\n"))
	p.outMu.Unlock()
	if a.proc.events.watched() {
		a.proc.events.publish(Event{Kind: "printed", Node: a.proc.adminName, Actor: a.name, Line: strings.TrimSuffix(line, "\n")})
	}
}

func (p *Process) newActor(name string, class ClassInfo) *Actor {
	a := &Actor{name: name, proc: p, class: class, done: make(chan struct{}), born: time.Now()}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.budget.init()
	return a
}

// Send delivers m. It stamps a mid when m has none. exit and quit go to the
// head admin whatever the recipient. The error is ErrNoActor or ErrNoProcess
// (wrapped) when the recipient does not exist; the message is then dropped.
func (p *Process) Send(m Message) error {
	if m.Command == "" {
		return fmt.Errorf("%w: a message needs a command", ErrBadRequest)
	}
	if m.ID.Seq == 0 && m.ID.Prefix == "" {
		m.ID = p.NewMID()
	}
	if isExit(&m) {
		// Never queued behind a backlog: the head admin acts on it at once.
		return p.exit(&m)
	}
	return p.deliver(m)
}

// isExit reports whether m asks the system to exit: exit or quit sent to
// anyone but a reply address. A reply is only ever an answer, so a handler
// that returns "exit" answers its asker with that command and stops
// nothing (it would otherwise stop the system without the grant an
// actor's exit needs).
func isExit(m *Message) bool {
	return (m.Command == "exit" || m.Command == "quit") && m.Recipient.Reply == 0
}

func (p *Process) deliver(m Message) error {
	_, err := p.deliverFrom(m, false)
	return err
}

// deliverFrom delivers m; fromHead says it came down from the head (the
// system's router), so it may reach an actor whose messages from here
// still go round by the head (viaHead). It returns the actor whose mailbox
// took m, if any.
func (p *Process) deliverFrom(m Message, fromHead bool) (*Actor, error) {
	r := m.Recipient
	switch {
	case r.Reply != 0:
		if r.Node != "" && r.Node != p.adminName {
			if p.remote != nil {
				return nil, p.forward(r.Node, m)
			}
			return nil, fmt.Errorf("%w: %s", ErrNoProcess, r.Node)
		}
		p.asks.complete(p, r.Reply, m)
		return nil, nil
	case r.Entity != "":
		p.mu.RLock()
		a := p.actors[r.Entity]
		p.mu.RUnlock()
		if a != nil && !fromHead && p.rounding.Load() > 0 {
			held, gone, err := p.holdForFlush(r.Entity, a, m)
			if held {
				return nil, err // nil, or the queue is full
			}
			if gone {
				a = nil
			}
		}
		if a != nil {
			err := a.pushRouted(m, fromHead || p.remote == nil)
			if !errors.Is(err, errMovedOut) {
				return a, err
			}
			// It moved out meanwhile: the ordinary way.
		}
		if p.nSpawning.Load() > 0 && !m.Transit {
			made, held, err := p.holdForSpawn(m)
			if held {
				return nil, err
			}
			if made != nil {
				return made, made.pushRouted(m, fromHead || p.remote == nil)
			}
		}
		if p.remote == nil {
			return nil, fmt.Errorf("%w: %q", ErrNoActor, r.Entity)
		}
		if m.Transit {
			p.mu.RLock()
			h := p.hidden[r.Entity]
			p.mu.RUnlock()
			if h != nil {
				// Not returned: it runs only when activated, which comes
				// on this link behind its transits, so a reader must not
				// wait for it.
				return nil, h.push(m)
			}
		}
		if p.nOrphans.Load() > 0 && p.keepForOrphan(m) {
			return nil, nil // its move's root was lost: it waits with the actor's copy
		}
		return p.deliverAway(m, fromHead)
	case r.Node == p.adminName:
		return p.admin, p.admin.push(m)
	case r.Node != "":
		if p.remote != nil {
			return nil, p.forward(r.Node, m)
		}
		return nil, fmt.Errorf("%w: %q", ErrNoProcess, r.Node)
	}
	return nil, fmt.Errorf("%w: message %q has no recipient", ErrBadAddress, m.Command)
}

// deliverAway delivers m to an actor that is not here (any more, or yet):
// where the system's directory says (Router.Route). In a process under a
// head, the way is chosen and the message's place on it taken under
// roundMu, so that the two are one step for Activate, which takes the
// place of its route_flush under it: the message is either ahead of the
// flush, or finds the actor here. It is encoded and written after roundMu
// is released. The root's Route makes the same check under its
// directory's lock.
func (p *Process) deliverAway(m Message, fromHead bool) (*Actor, error) {
	if !p.underHead.Load() {
		pl, err := p.route("", &m)
		if err != nil {
			return nil, err
		}
		return nil, fill(pl, m)
	}
	p.roundMu.Lock()
	if a := p.Lookup(m.Recipient.Entity); a != nil { // it arrived here meanwhile
		var err error
		if !fromHead && p.viaHead[m.Recipient.Entity] != 0 {
			err = p.queueForFlushLocked(a, m)
			a = nil
		} else {
			err = a.pushRouted(m, fromHead)
		}
		if !errors.Is(err, errMovedOut) {
			p.roundMu.Unlock()
			return a, err
		}
		// It is moving out, with no queue of its route flush for Extract
		// to send on ahead of m: m goes to the head like any message for
		// an actor that is not here.
	}
	pl, err := p.route("", &m)
	p.roundMu.Unlock()
	if err != nil {
		return nil, err
	}
	return nil, fill(pl, m)
}

// reply answers the message req with a new message to its sender.
func (p *Process) reply(req *Message, command string, body any) {
	err := p.Send(Message{Command: command, Body: body, Recipient: req.Sender})
	if err != nil {
		p.log.Warn("reply is not delivered", "command", command, "mid", req.ID.String(), "error", err.Error())
	}
}

// Reply answers req (if it has a sender) with command and body.
func (p *Process) Reply(req *Message, command string, body any) {
	if !req.Sender.IsZero() {
		p.reply(req, command, body)
	}
}

// replyNotFound answers req actor_is_not_found; err, if not nil, says why
// ("message": the actor's host is gone, the head unreachable, ...).
func (p *Process) replyNotFound(req *Message, name string, err error) {
	body := Object{{Key: "mid", Value: req.ID.String()}, {Key: "entity", Value: name}}
	if err != nil {
		body = append(body, Field{Key: "message", Value: err.Error()})
	}
	p.reply(req, "actor_is_not_found", body)
}

// Lookup returns the local actor of that name, or nil.
func (p *Process) Lookup(name string) *Actor {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.actors[name]
}

// ValidateName checks that name can be given to an actor: not empty, at
// most 200 bytes, not reserved (_N, <host>.<process>.admin), and without
// slashes or any character unsafeName refuses.
func ValidateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: the name is empty", ErrBadName)
	case len(name) > 200:
		return fmt.Errorf("%w: %q is longer than 200 bytes", ErrBadName, name[:40]+"…")
	case name[0] == '_':
		return fmt.Errorf("%w: %q: names starting with _ are reserved for replies", ErrBadName, name)
	case IsAdminName(name):
		return fmt.Errorf("%w: %q: names of the form <host>.<process>.admin are reserved for admins", ErrBadName, name)
	case strings.ContainsRune(name, '/'):
		return fmt.Errorf("%w: %q contains a slash", ErrBadName, name)
	}
	if why := unsafeName(name); why != "" {
		return fmt.Errorf("%w: names %s: %q", ErrBadName, why, name)
	}
	return nil
}

// ValidateNodeName checks a host or process name: no dots, spaces or
// slashes, nor anything unsafeName refuses.
func ValidateNodeName(name string) error {
	if strings.ContainsAny(name, ". /") {
		return fmt.Errorf("host and process names may not contain dots, spaces or slashes: %q", name)
	}
	if why := unsafeName(name); why != "" {
		return fmt.Errorf("host and process names %s: %q", why, name)
	}
	return nil
}

// unsafeName says why a name (of an actor, a process or a host) would be
// unsafe to show, or "": names are printed on operators' terminals and in
// the console, so they may not hold what a terminal acts on or hides, nor
// what looks like something else there. Refused: invalid UTF-8, spaces of
// any kind (and line or paragraph separators), control characters (C0,
// DEL, C1: escape sequences) and format characters (bidi overrides and
// isolates, zero-width spaces and joiners, the BOM, soft hyphens).
func unsafeName(name string) string {
	if !utf8.ValidString(name) {
		return "must be valid UTF-8"
	}
	for _, r := range name {
		switch {
		case unicode.IsSpace(r) || unicode.In(r, unicode.Zl, unicode.Zp):
			return fmt.Sprintf("may not contain spaces (%U)", r)
		case unicode.IsControl(r):
			return fmt.Sprintf("may not contain control characters (%U)", r)
		case unicode.Is(unicode.Cf, r):
			return fmt.Sprintf("may not contain invisible formatting characters such as bidi controls or zero-width spaces (%U)", r)
		}
	}
	return ""
}

// Spawn creates an actor of class named name, runs its init hook and returns
// once it is ready for messages. The name must be free system-wide.
func (p *Process) Spawn(name string, class Class, params Object) (*Actor, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if p.Lookup(name) != nil {
		return nil, fmt.Errorf("%w: %q already exists", ErrNameTaken, name)
	}
	select {
	case <-p.done:
		return nil, fmt.Errorf("create %q: %w: the system is shutting down", name, ErrStopping)
	default:
	}
	if p.remote != nil {
		// From the reservation on, the system routes the name here: what
		// arrives before the actor is registered waits for it, in order
		// (a message sent round again would come back behind later ones).
		if err := p.beginSpawn(name); err != nil {
			return nil, err
		}
		if err := p.remote.Reserve(name, class.Info().Desc(), params); err != nil {
			p.endSpawn(name)
			return nil, err
		}
	}
	a := p.newActor(name, class.Info())
	beh, err := p.makeBehaviour(a, class.New, params)
	if err != nil {
		a.cancel()
		p.endSpawn(name)
		p.release(name)
		return nil, err
	}
	a.setBehaviour(beh)
	withInit := true
	if ic, ok := beh.(interface{ HasInit() bool }); ok {
		withInit = ic.HasInit()
	}
	if withInit {
		a.initReply = make(chan error, 1)
		a.system = append(a.system, sysTask{kind: sysInit})
		a.running = true
	}
	p.mu.Lock()
	if p.stopping {
		p.mu.Unlock()
		a.cancel()
		p.endSpawn(name)
		p.release(name)
		return nil, fmt.Errorf("create %q: %w: the system is shutting down", name, ErrStopping)
	}
	if p.actors[name] != nil {
		p.mu.Unlock()
		a.cancel()
		p.endSpawn(name)
		return nil, fmt.Errorf("%w: %q already exists", ErrNameTaken, name)
	}
	// What waited for it goes first (behind init), before anybody else
	// can find it.
	waited := p.takeSpawnLocked(name)
	for _, m := range waited {
		a.queue.pushSized(m, a.sizeOf(&m))
	}
	run := len(waited) > 0 && !a.running
	a.running = a.running || run
	p.actors[name] = a
	p.awake[a] = struct{}{}
	p.mu.Unlock()
	if run {
		p.sched.enqueue(a)
	}
	if withInit {
		p.sched.enqueue(a)
		if err := <-a.initReply; err != nil {
			<-a.done
			return nil, fmt.Errorf("init of %q: %w", name, err)
		}
	}
	if p.events.watched() {
		p.events.publish(Event{Kind: "created", Node: p.adminName, Actor: name, Class: a.class})
	}
	return a, nil
}

// beginSpawn starts holding the messages for name, which is about to be
// reserved for an actor made here.
func (p *Process) beginSpawn(name string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.actors[name] != nil || p.hidden[name] != nil {
		return fmt.Errorf("%w: %q already exists", ErrNameTaken, name)
	}
	if _, ok := p.spawning[name]; ok {
		return fmt.Errorf("%w: %q is being created", ErrNameTaken, name)
	}
	if p.spawning == nil {
		p.spawning = make(map[string][]Message)
	}
	p.spawning[name] = nil
	p.nSpawning.Add(1)
	return nil
}

// takeSpawnLocked ends the holding of name's messages and returns them
// (p.mu held).
func (p *Process) takeSpawnLocked(name string) []Message {
	q, ok := p.spawning[name]
	if ok {
		delete(p.spawning, name)
		p.nSpawning.Add(-1)
	}
	return q
}

// endSpawn ends the holding of name's messages when no actor was made:
// an asker hears that there is none.
func (p *Process) endSpawn(name string) {
	p.mu.Lock()
	q := p.takeSpawnLocked(name)
	p.mu.Unlock()
	for i := range q {
		if !q[i].Sender.IsZero() {
			p.replyNotFound(&q[i], name, nil)
		}
	}
}

// holdForSpawn queues m if its actor is being made here (held), up to
// the mailbox's limit; made is the actor if it was registered meanwhile.
func (p *Process) holdForSpawn(m Message) (made *Actor, held bool, err error) {
	name := m.Recipient.Entity
	p.mu.Lock()
	defer p.mu.Unlock()
	if a := p.actors[name]; a != nil {
		return a, false, nil
	}
	q, ok := p.spawning[name]
	if !ok {
		return nil, false, nil
	}
	if limit := p.cfg.MailboxLimit; limit > 0 && len(q) >= limit {
		return nil, true, fmt.Errorf("%w: %q is being created and holds %d messages, its limit", ErrMailboxFull, name, limit)
	}
	p.spawning[name] = append(q, m)
	return nil, true, nil
}

func (p *Process) unregister(a *Actor) {
	p.mu.Lock()
	removed := p.actors[a.name] == a
	if removed {
		delete(p.actors, a.name)
	}
	delete(p.awake, a)
	p.mu.Unlock()
	if removed {
		for _, m := range p.takeRound(a.name) {
			if !m.Sender.IsZero() {
				p.replyNotFound(&m, a.name, nil)
			}
		}
	}
	if removed {
		p.release(a.name)
	}
	if removed && p.events.watched() {
		p.events.publish(Event{Kind: "removed", Node: p.adminName, Actor: a.name})
	}
}

func (p *Process) release(name string) {
	if p.remote != nil {
		p.remote.Release(name)
	}
}

// Remove stops the named actor (its stop hook runs) and frees the name. It
// waits for the stop until ctx ends.
func (p *Process) Remove(ctx context.Context, name string) error {
	a := p.Lookup(name)
	if a == nil {
		return fmt.Errorf("%w: %q", ErrNoActor, name)
	}
	select {
	case <-a.stop():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("remove %q: %w", name, ctx.Err())
	}
}

// mailboxFullBody is the body of the mailbox_is_full reply to req.
// MailboxLimit is the process's bound on the user messages waiting for
// one actor (Config.MailboxLimit): also the bound of what a router holds
// for an actor on its way (cluster: a move, a name's flush).
func (p *Process) MailboxLimit() int { return p.cfg.MailboxLimit }

func mailboxFullBody(req *Message, err error) Object {
	return Object{{Key: "mid", Value: req.ID.String()}, {Key: "entity", Value: req.Recipient.String()}, {Key: "message", Value: err.Error()}}
}

// ActorInfo describes an actor for the listing commands.
type ActorInfo struct {
	Name    string
	Node    string
	Class   ClassInfo
	Mailbox int
	Handled uint64
	Refused uint64        // messages refused because the mailbox was full
	Busy    time.Duration // time spent in its handlers (Actor.BusyTime)
	Uptime  time.Duration
	// Memory is what its state held when last measured (actormemory.go),
	// MemoryAge how long ago; -1: never measured, or not a MemoryMeter.
	Memory    int64
	MemoryAge time.Duration
	// Hibernating: its state is given up until its next message
	// (hibernate.go); AwakeReason: why its last hibernation was refused.
	Hibernating bool
	AwakeReason string
}

// Value returns the info as a body value.
func (i ActorInfo) Value() Object {
	o := Object{
		{Key: "name", Value: i.Name},
		{Key: "node", Value: i.Node},
		{Key: "class", Value: i.Class.Class},
		{Key: "package", Value: i.Class.Package},
		{Key: "version", Value: i.Class.Version},
		{Key: "commit", Value: i.Class.Commit},
		{Key: "mailbox", Value: int64(i.Mailbox)},
		{Key: "handled", Value: int64(i.Handled)},
		{Key: "refused", Value: int64(i.Refused)},
		{Key: "busy_ms", Value: i.Busy.Milliseconds()},
		{Key: "uptime_s", Value: i.Uptime.Truncate(time.Second).Seconds()},
	}
	if i.Memory >= 0 {
		o = append(o, Field{Key: "mem_bytes", Value: i.Memory}, Field{Key: "mem_age_ms", Value: i.MemoryAge.Milliseconds()})
	}
	if i.Hibernating {
		o = append(o, Field{Key: "hibernating", Value: true})
	}
	if i.AwakeReason != "" {
		o = append(o, Field{Key: "stays_awake", Value: i.AwakeReason})
	}
	return o
}

// Info returns the actor's details.
func (a *Actor) Info() ActorInfo {
	i := ActorInfo{Name: a.name, Node: a.Node(), Class: a.class, Mailbox: a.MailboxLen(), Handled: a.Handled(), Refused: a.Refused(),
		Busy: a.BusyTime(), Uptime: time.Since(a.born), Memory: -1, Hibernating: a.Hibernating(), AwakeReason: a.AwakeReason()}
	if mem, at, ok := a.MemoryBytes(); ok {
		i.Memory, i.MemoryAge = mem, time.Since(at)
	}
	return i
}

// Actors lists the actors of the process, sorted by name, the admin excluded.
func (p *Process) Actors() []ActorInfo {
	return actorInfos(p.liveActors())
}

func actorInfos(list []*Actor) []ActorInfo {
	infos := make([]ActorInfo, len(list))
	for i, a := range list {
		infos[i] = a.Info()
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].Name < infos[j].Name })
	return infos
}

// Shutdown stops every actor (stop hooks run, bounded by ShutdownTimeout)
// and then the process. It returns at once; Done is closed at the end.
func (p *Process) Shutdown() {
	p.shutdownOnce.Do(func() { go p.shutdown() })
}

func (p *Process) shutdown() {
	p.exiting.Store(true)
	p.log.Info("shutting down")
	if p.remote != nil {
		p.remote.Shutdown() // the head stops the other processes first
	}
	p.mu.Lock()
	p.stopping = true
	list := make([]*Actor, 0, len(p.actors))
	for _, a := range p.actors {
		list = append(list, a)
	}
	p.mu.Unlock()
	deadline := time.NewTimer(p.cfg.ShutdownTimeout)
	defer deadline.Stop()
	for _, a := range list {
		a.stop()
	}
	for _, a := range list {
		select {
		case <-a.done:
		case <-deadline.C:
			p.log.Warn("stop hooks did not finish in time", "timeout", p.cfg.ShutdownTimeout)
			goto out
		}
	}
out:
	p.admin.stop()
	close(p.stopWatchdog)
	p.sched.stop()
	p.asks.failAll()
	close(p.done)
}

// Ask sends m with a reply address of this process and waits for the first
// reply. It fails with ErrTimeout after timeout, with ctx's error when ctx
// ends, and with ErrNoActor or ErrNoProcess when the recipient does not
// exist; in that last case the returned message is the actor_is_not_found
// reply an asker would have received.
func (p *Process) Ask(ctx context.Context, m Message, timeout time.Duration) (Message, error) {
	w, nf, err := p.startAsk(&m, timeout)
	if err != nil {
		return nf, err
	}
	return p.asks.wait(w, ctx, askTimeout(timeout), &m)
}

// DefaultAskTimeout is how long an ask waits when its timeout is 0.
const DefaultAskTimeout = 10 * time.Second

func askTimeout(t time.Duration) time.Duration {
	if t <= 0 {
		return DefaultAskTimeout
	}
	return t
}

// PendingAsk is an ask that has been sent and waits for its reply.
type PendingAsk struct {
	p   *Process
	w   *waiter
	req Message
}

// StartAsk sends m as an ask and returns at once; Wait collects the reply.
// Errors are as for Ask.
func (p *Process) StartAsk(m Message, timeout time.Duration) (*PendingAsk, Message, error) {
	w, nf, err := p.startAsk(&m, timeout)
	if err != nil {
		return nil, nf, err
	}
	return &PendingAsk{p: p, w: w, req: m}, Message{}, nil
}

// startAsk sends *m as an ask, with its ID, reply address and timeout set
// in *m, and returns the waiter of its reply. Ask keeps m on its stack: a PendingAsk would be one more allocation per ask.
func (p *Process) startAsk(m *Message, timeout time.Duration) (*waiter, Message, error) {
	timeout = askTimeout(timeout)
	w := p.asks.open()
	if m.ID.Seq == 0 && m.ID.Prefix == "" {
		m.ID = p.NewMID()
	}
	m.Sender = Address{Node: p.adminName, Reply: w.id}
	m.Timeout = timeout.Seconds()
	if p.remote != nil {
		if node := p.remoteNode(m.Recipient); node != "" {
			p.asks.setNode(w, node, m.Recipient.Entity)
		}
	}
	if err := p.Send(*m); err != nil {
		p.asks.abandon(w)
		if errors.Is(err, ErrMailboxFull) {
			return nil, Message{ID: p.NewMID(), Command: "mailbox_is_full", Body: mailboxFullBody(m, err)}, err
		}
		if errors.Is(err, ErrNoActor) || errors.Is(err, ErrNoProcess) {
			return nil, Message{ID: p.NewMID(), Command: "actor_is_not_found", Body: Object{
				{Key: "mid", Value: m.ID.String()}, {Key: "entity", Value: m.Recipient.String()}, {Key: "message", Value: err.Error()},
			}}, err
		}
		return nil, Message{}, err
	}
	return w, Message{}, nil
}

// Wait waits up to timeout for the reply. It must be called exactly once.
func (pa *PendingAsk) Wait(ctx context.Context, timeout time.Duration) (Message, error) {
	return pa.p.asks.wait(pa.w, ctx, askTimeout(timeout), &pa.req)
}

// PrintLine writes a line to w through the process's output lock, so it
// does not interleave with what actors print.
func PrintLine(w io.Writer, p *Process, line string) {
	p.outMu.Lock()
	io.WriteString(w, line)
	p.outMu.Unlock()
}

// Resolver returns the class resolver of the process.
func (p *Process) Resolver() Resolver { return p.cfg.Resolver }

// ErrEvalDisabled: the config does not allow eval.
var ErrEvalDisabled = errors.New("evaluating code in actors is disabled (set repl_lua = true in the config)")

// Eval runs code inside the named actor between two of its messages, under
// its handler budget, and returns the value of the code. It is refused
// unless Config.AllowEval is set.
func (p *Process) Eval(ctx context.Context, name, code string) (any, error) {
	if !p.cfg.AllowEval {
		return nil, ErrEvalDisabled
	}
	a := p.Lookup(name)
	if a == nil {
		return nil, fmt.Errorf("%w: %q", ErrNoActor, name)
	}
	p.log.Warn("evaluating code in an actor", "actor", name, "code", code)
	t := &evalTask{code: code, done: make(chan evalResult, 1)}
	a.mu.Lock()
	if a.stopping {
		a.mu.Unlock()
		return nil, fmt.Errorf("%w: %q is stopping", ErrNoActor, name)
	}
	a.system = append(a.system, sysTask{kind: sysEval, eval: t})
	start := !a.running
	a.running = true
	a.mu.Unlock()
	if start {
		p.sched.enqueue(a)
	}
	select {
	case r := <-t.done:
		return r.value, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("eval in %q: %w", name, ctx.Err())
	}
}

// Recreate replaces a local actor by a new one of class (the same class for
// a restart, another version for a hot upgrade) under the same name: the
// params and the queued messages carry over, the new instance gets start
// first, and nothing sent to the name is lost or reordered. It waits for
// the old actor to finish its current message.
func (p *Process) Recreate(ctx context.Context, name string, class Class) error {
	old := p.Lookup(name)
	if old == nil {
		return fmt.Errorf("%w: %q", ErrNoActor, name)
	}
	t := &replaceTask{done: make(chan error, 1), make: func(params Object) (*Actor, error) {
		next := p.newActor(name, class.Info())
		newBeh := class.New
		if c, ok := class.(interface {
			NewCarrying(a *Actor, params Object) (Behaviour, error)
		}); ok {
			newBeh = c.NewCarrying // the new version may declare other params
		}
		beh, err := p.makeBehaviour(next, newBeh, params)
		if err != nil {
			next.cancel()
			return nil, fmt.Errorf("make the new %q: %w", name, err)
		}
		next.setBehaviour(beh)
		return next, nil
	}}
	old.halt.Store(true) // the rest of a batch waits in the queue
	old.pushSystem(sysTask{kind: sysReplace, replace: t})
	old.interruptBlocking() // a call blocking the handler ends, so the swap need not wait for it
	select {
	case err := <-t.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("recreate %q: %w", name, ctx.Err())
	}
}

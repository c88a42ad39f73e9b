package host

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"
)

// admin is the behaviour of the admin actor "<host>.<process>.admin". Slow
// commands (creating and removing actors) run in their own goroutines and
// reply when done, so the admin's mailbox never waits behind them.
type admin struct {
	p *Process
	// listings bounds the listings answered on goroutines (replyLater):
	// past it the admin answers in its own turn, so a flood of get_actors
	// slows the admin down instead of piling up goroutines.
	listings chan struct{}
}

// maxListings is the size of admin.listings.
const maxListings = 16

func (ad *admin) Init(*Actor) error { return nil }
func (ad *admin) Stop(*Actor)       {}

func (ad *admin) Receive(a *Actor, m *Message) (Reply, error) {
	p := ad.p
	if !m.System && IsInternal(m.Command) {
		// Only the system's processes use these among themselves.
		return Reply{}, fmt.Errorf("%w: %q is a verb of the system's own processes", ErrNotHandled, m.Command)
	}
	if err := p.permit(m); err != nil {
		p.log.Warn("admin command refused", "command", m.Command, "package", m.From, "mid", m.ID.String())
		return Reply{}, err
	}
	switch m.Command {
	case "create_actor":
		ad.createActor(m)
	case "create_actors":
		ad.createActors(m)
	case "remove_actor":
		ad.removeActor(m)
	case "seek_actor":
		return ad.seekActor(m)
	case "get_actors":
		q, err := ActorQueryOf(m.Body)
		if err != nil {
			return Reply{}, err
		}
		if o, _ := m.Body.(Object); o != nil {
			if all, _ := o.Get("all"); all == true {
				// Every actor of the system: the head gathers them
				// (Remote.Admin); a process alone is the whole system.
				if p.remote != nil && p.remote.Admin(p, m) {
					return Reply{}, nil
				}
				ad.replyLater(m, func() (string, any) {
					actors, total := p.ActorPage(q)
					return "actors", append(Object{{Key: "scope", Value: "system"}, {Key: "node", Value: p.adminName},
						{Key: "actors", Value: actors}, {Key: "nodes", Value: Array{p.adminName}}}, q.fields(total)...)
				})
				return Reply{}, nil
			}
		}
		ad.replyLater(m, func() (string, any) {
			actors, total := p.ActorPage(q)
			return "actors", append(Object{{Key: "scope", Value: "process"}, {Key: "node", Value: p.adminName}, {Key: "actors", Value: actors}}, q.fields(total)...)
		})
	case "get_actor":
		name, err := nameField(m.Body, "name")
		if err != nil {
			return Reply{}, err
		}
		if ad.forwardTo(m, name) {
			return Reply{}, nil
		}
		act := p.Lookup(name)
		if act == nil {
			return Reply{"actor_is_not_found", notFoundBody(m, name)}, nil
		}
		ad.replyLater(m, func() (string, any) {
			ctx, cancel := context.WithTimeout(context.Background(), measureWait)
			defer cancel()
			p.MeasureMemory(ctx, []*Actor{act}, 0)
			return "actor", act.Info().Value()
		})
	case "profile_lua":
		ad.profileLua(m)
	case "get_go_profile":
		ad.goProfile(m)
	case "get_classes": // {"package"?, "version"?}: what may be created here
		ad.getClasses(m)
	case "get_history": // messages handled, second by second (history.go)
		return Reply{"history", Object{{Key: "node", Value: p.adminName}, {Key: "every", Value: 1.0}, {Key: "points", Value: p.History()}}}, nil
	case "get_lines": // {"actor"?, "n"?}: the last printed lines (recentlines.go)
		o, _ := m.Body.(Object)
		name := o.String("actor")
		if name != "" && ad.forwardTo(m, name) {
			return Reply{}, nil
		}
		n := recentLinesKept
		k, err := numberField(o, "n", float64(n))
		if err != nil {
			return Reply{}, err
		}
		if k >= 1 && k < float64(n) {
			n = int(k)
		}
		return Reply{"lines", Object{{Key: "node", Value: p.adminName}, {Key: "lines", Value: p.RecentLines(name, n)}}}, nil
	case "get_metrics": // this process's counters (metrics.go)
		ad.replyLater(m, func() (string, any) { return "metrics", p.MetricsValue() })
	case "get_processes":
		self := p.processValue()
		if f, ok := p.remote.(interface{ ProcessFields() []Field }); ok { // a child
			self = append(self, f.ProcessFields()...)
		}
		procs := Array{self}
		if g, ok := p.remote.(interface{ Gone() []Object }); ok { // a head
			for _, n := range p.remote.Nodes()[1:] {
				procs = append(procs, n)
			}
			for _, n := range g.Gone() {
				procs = append(procs, n)
			}
		}
		reply := Object{{Key: "host", Value: p.cfg.Host}, {Key: "processes", Value: procs}}
		if d, ok := p.remote.(interface{ DirectoryView() Object }); ok { // a head with a replica
			if view := d.DirectoryView(); view != nil {
				reply = append(reply, Field{Key: "directory", Value: view})
			}
		}
		return Reply{"processes", reply}, nil
	case "eval":
		ad.eval(m)
	case "recreate_actor":
		ad.recreateActor(m)
	case "move_out", "adopt_actor", "activate":
		ad.move(m)
	case "move_fate": // an old process asks what became of a move whose root was lost (moveout.go)
		if o, ok := m.Body.(Object); ok {
			fate := p.MoveFate(o.String("entity"), o.String("move"))
			p.Reply(m, "move_fate", Object{{Key: "entity", Value: o.String("entity")}, {Key: "fate", Value: fate}})
		}
	case "move_done":
		if o, ok := m.Body.(Object); ok {
			p.MoveDone(o.String("entity"), o.String("move"))
		}
	case "route_flushed", "route_reflush":
		// The head's answers about a moved-in actor (Process.Activate).
		if o, ok := m.Body.(Object); ok && m.Command == "route_flushed" {
			epoch, _ := mustGetInt(o, "epoch")
			p.RouteFlushed(o.String("entity"), uint64(epoch))
		} else if ok {
			p.RouteReflush(o.String("entity"))
		}
	case "get_commands":
		return Reply{"commands", Object{{Key: "commands", Value: adminCommands}}}, nil
	case "get_hosts":
		if p.remote != nil && p.remote.Admin(p, m) {
			return Reply{}, nil
		}
		return Reply{"hosts", Object{{Key: "hosts", Value: Array{Object{
			{Key: "name", Value: p.cfg.Host},
			{Key: "head", Value: true},
			{Key: "state", Value: "up"},
			{Key: "processes", Value: Array{p.adminName}},
		}}}}}, nil
	default:
		if p.remote != nil && p.remote.Admin(p, m) {
			return Reply{}, nil
		}
		return Reply{}, fmt.Errorf("%w: %q", ErrNotHandled, m.Command)
	}
	return Reply{}, nil
}

// profileLua runs profile_lua {"actor" | "package", "seconds"?,
// "interval_ms"?} (profile.go) and replies lua_profile {"node", "actor" |
// "package", "seconds", "actors", "hibernating", "samples", "collapsed"}. An actor of
// another process is profiled there; a package, in this process only.
func (ad *admin) profileLua(req *Message) {
	p := ad.p
	m := new(Message)
	*m = *req
	o, ok := m.Body.(Object)
	if !ok {
		p.Reply(m, "error", Object{{Key: "mid", Value: m.ID.String()}, {Key: "message", Value: fmt.Sprintf("%v: the body must be an object with \"actor\" or \"package\", not %s", ErrBadRequest, TypeName(m.Body))}})
		return
	}
	name, pkg := o.String("actor"), o.String("package")
	if name != "" && ad.forwardTo(m, name) {
		return
	}
	seconds, err := numberField(o, "seconds", 5)
	if err != nil {
		p.Reply(m, "error", Object{{Key: "mid", Value: m.ID.String()}, {Key: "message", Value: "profile_lua: " + err.Error()}})
		return
	}
	ms, err := numberField(o, "interval_ms", 1)
	if err != nil {
		p.Reply(m, "error", Object{{Key: "mid", Value: m.ID.String()}, {Key: "message", Value: "profile_lua: " + err.Error()}})
		return
	}
	interval := time.Duration(ms * float64(time.Millisecond))
	go func() {
		d := time.Duration(seconds * float64(time.Second))
		ctx, cancel := context.WithTimeout(context.Background(), d+time.Second)
		defer cancel()
		prof, n, err := p.ProfileLua(ctx, name, pkg, d, interval)
		if err != nil {
			p.Reply(m, "error", Object{{Key: "mid", Value: m.ID.String()}, {Key: "message", Value: "profile_lua: " + err.Error()}})
			return
		}
		collapsed, samples := prof.Collapsed()
		body := Object{{Key: "node", Value: p.adminName}}
		if name != "" {
			body = append(body, Field{Key: "actor", Value: name})
		} else {
			body = append(body, Field{Key: "package", Value: pkg})
		}
		body = append(body, Field{Key: "seconds", Value: seconds}, Field{Key: "actors", Value: int64(n)},
			Field{Key: "hibernating", Value: int64(prof.Asleep)}, Field{Key: "samples", Value: samples}, Field{Key: "collapsed", Value: collapsed})
		p.Reply(m, "lua_profile", body)
	}()
}

// goProfile answers get_go_profile {"profile", "seconds"?} with go_profile
// {"node", "profile", "data": base64 of pprof's format} (goprofile.go).
func (ad *admin) goProfile(req *Message) {
	p := ad.p
	m := new(Message)
	*m = *req
	o, _ := m.Body.(Object)
	name := o.String("profile")
	seconds, err := numberField(o, "seconds", 10)
	if err != nil {
		p.Reply(m, "error", Object{{Key: "mid", Value: m.ID.String()}, {Key: "message", Value: "get_go_profile: " + err.Error()}})
		return
	}
	go func() {
		d := time.Duration(seconds * float64(time.Second))
		ctx, cancel := context.WithTimeout(context.Background(), max(d, 0)+10*time.Second)
		defer cancel()
		data, err := p.GoProfile(ctx, name, d)
		if err != nil {
			p.Reply(m, "error", Object{{Key: "mid", Value: m.ID.String()}, {Key: "message", Value: "get_go_profile: " + err.Error()}})
			return
		}
		p.Reply(m, "go_profile", Object{{Key: "node", Value: p.adminName}, {Key: "profile", Value: name},
			{Key: "data", Value: base64.StdEncoding.EncodeToString(data)}})
	}()
}

// PackageCatalog is implemented by resolvers that can list what may be
// created (luart.Runtime, over a repo.Store): the packages, and the
// classes of a package version.
type PackageCatalog interface {
	Packages() (Array, error)
	Classes(ctx context.Context, name, version string) (Object, error)
}

// getClasses answers get_classes: without a package, packages {"node",
// "packages": [{"name", "versions", "source"}]}; with one (and a version,
// or its highest), classes {"node", "package", "version", "classes"},
// fetching the version first if it is not in the cache.
func (ad *admin) getClasses(req *Message) {
	p := ad.p
	m := new(Message)
	*m = *req
	fail := func(err error) {
		p.Reply(m, "error", Object{{Key: "mid", Value: m.ID.String()}, {Key: "message", Value: "get_classes: " + err.Error()}})
	}
	cat, ok := p.cfg.Resolver.(PackageCatalog)
	if !ok {
		fail(errors.New("this process cannot list its packages"))
		return
	}
	o, _ := m.Body.(Object)
	pkg := o.String("package")
	if pkg == "" {
		list, err := cat.Packages()
		if err != nil {
			fail(err)
			return
		}
		p.Reply(m, "packages", Object{{Key: "node", Value: p.adminName}, {Key: "packages", Value: list}})
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), ad.budget(m))
		defer cancel()
		if class := o.String("class"); class != "" {
			// One class's declared params, for the create form.
			spec := pkg
			if v := o.String("version"); v != "" {
				spec += "==" + v
			}
			params, err := p.DeclaredParams(ctx, ClassDesc{RequiresDist: spec, Class: class})
			if err != nil {
				fail(err)
				return
			}
			p.Reply(m, "class_params", Object{{Key: "node", Value: p.adminName}, {Key: "package", Value: pkg}, {Key: "class", Value: class}, {Key: "params", Value: params}})
			return
		}
		classes, err := cat.Classes(ctx, pkg, o.String("version"))
		if err != nil {
			fail(err)
			return
		}
		p.Reply(m, "classes", append(Object{{Key: "node", Value: p.adminName}}, classes...))
	}()
}

// numberOf reads a JSON number (-1 for anything else, which the checks
// refuse).
// numberField reads the optional number key of o: def when it is absent,
// an error that names it when it is not a number.
func numberField(o Object, key string, def float64) (float64, error) {
	v, ok := o.Get(key)
	if !ok {
		return def, nil
	}
	switch n := v.(type) {
	case int64:
		return float64(n), nil
	case float64:
		return n, nil
	}
	return 0, fmt.Errorf("%w: %q must be a number, not %s", ErrBadRequest, key, TypeName(v))
}

func numberOf(v any) float64 {
	switch n := v.(type) {
	case int64:
		return float64(n)
	case float64:
		return n
	}
	return -1
}

// forwardTo sends an admin request about an actor of another process to
// that process's admin, with its sender, and reports whether it did.
func (ad *admin) forwardTo(m *Message, name string) bool {
	p := ad.p
	if p.remote == nil || p.Lookup(name) != nil {
		return false
	}
	node := p.remote.Locate(name)
	if node == "" || node == p.adminName {
		return false
	}
	fwd := *m
	fwd.Recipient = Address{Node: node}
	return p.forward(node, fwd) == nil
}

// measureWait bounds how long a listing waits for its actors'
// measurements (MeasureMemory): one busy in a long handler is listed with
// its last figure.
const measureWait = 200 * time.Millisecond

// replyLater answers req with what answer returns, on a goroutine of its
// own (at most maxListings at once): a listing that waits for
// measurements does not hold the admin.
func (ad *admin) replyLater(req *Message, answer func() (command string, body any)) {
	m := new(Message)
	*m = *req
	select {
	case ad.listings <- struct{}{}:
	default: // maxListings wait already: this one in the admin's turn
		command, body := answer()
		ad.p.Reply(m, command, body)
		return
	}
	go func() {
		defer func() { <-ad.listings }()
		command, body := answer()
		ad.p.Reply(m, command, body)
	}()
}

func (p *Process) processValue() Object {
	p.mu.RLock()
	n := len(p.actors)
	p.mu.RUnlock()
	return Object{
		{Key: "node", Value: p.adminName},
		{Key: "pid", Value: int64(os.Getpid())},
		{Key: "actors", Value: int64(n)},
		{Key: "hibernating", Value: int64(p.Hibernating())},
		{Key: "late_replies", Value: int64(p.lateReplies.Load())},
		{Key: "link_pauses", Value: int64(p.linkPauses.Load())},
		{Key: "go_threads", Value: int64(runtime.GOMAXPROCS(0))},
	}
}

// SetGoThreads sets the threads that run this OS process's Go code
// (GOMAXPROCS) and fits the actor scheduler to them.
func (p *Process) SetGoThreads(n int) {
	if n < 1 || n == runtime.GOMAXPROCS(0) {
		return
	}
	runtime.GOMAXPROCS(n)
	p.sched.setThreads(n)
}

func notFoundBody(m *Message, name string) Object {
	return Object{{Key: "mid", Value: m.ID.String()}, {Key: "entity", Value: name}}
}

// nameField reads a required string field of an object body.
func nameField(body any, key string) (string, error) {
	o, ok := body.(Object)
	if !ok {
		return "", fmt.Errorf("%w: the body must be an object with %q, not %s", ErrBadRequest, key, TypeName(body))
	}
	v, _ := o.Get(key)
	s, ok := v.(string)
	if !ok || s == "" {
		return "", fmt.Errorf("%w: %q must be a non-empty string, not %s", ErrBadRequest, key, TypeName(v))
	}
	return s, nil
}

// budget returns the time a slow command may take: the asker's timeout, or
// the configured default.
func (ad *admin) budget(m *Message) time.Duration {
	if m.Timeout > 0 {
		return time.Duration(m.Timeout * float64(time.Second))
	}
	return ad.p.cfg.CreateTimeout
}

func (ad *admin) resolve(ctx context.Context, desc ClassDesc) (Class, error) {
	if ad.p.cfg.Resolver == nil {
		return nil, errors.New("this process has no package resolver")
	}
	return ad.p.cfg.Resolver.Resolve(ctx, desc)
}

func (ad *admin) createActor(req *Message) {
	p := ad.p
	m := new(Message) // req is only valid during Receive; the reply comes later
	*m = *req
	fail := func(err error) {
		p.log.Warn("actor is not created", "mid", m.ID.String(), "error", err.Error())
		p.Reply(m, "actor_is_not_created", Object{{Key: "mid", Value: m.ID.String()}, {Key: "error", Value: err.Error()}})
	}
	o, ok := m.Body.(Object)
	if !ok {
		fail(fmt.Errorf(`%w: the body must be {"class_desc": {...}, "name": "..."}, not %s`, ErrBadRequest, TypeName(m.Body)))
		return
	}
	name, err := nameField(o, "name")
	if err != nil {
		fail(err)
		return
	}
	cd, _ := o.Get("class_desc")
	desc, err := ClassDescFromValue(cd)
	if err != nil {
		fail(err)
		return
	}
	var params Object
	if pv, ok := o.Get("params"); ok && pv != nil {
		if params, ok = pv.(Object); !ok {
			fail(fmt.Errorf("%w: params must be an object of name: value, not %s", ErrBadRequest, TypeName(pv)))
			return
		}
	}
	if err := ValidateName(name); err != nil {
		fail(err)
		return
	}
	if p.Lookup(name) != nil {
		fail(fmt.Errorf("%w: %q already exists", ErrNameTaken, name))
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), ad.budget(m))
		defer cancel()
		class, err := ad.resolve(ctx, desc)
		if err == nil {
			err = p.permitPackage(m, class.Info().Package)
		}
		if err != nil {
			fail(fmt.Errorf("create %q: %w", name, err))
			return
		}
		if _, err := p.Spawn(name, class, params); err != nil {
			fail(fmt.Errorf("create %q: %w", name, err))
			return
		}
		p.log.Info("actor is created", "actor", name, "class", class.Info().Class, "package", class.Info().Package)
		p.Reply(m, "actor_is_created", Object{{Key: "node", Value: p.adminName}, {Key: "entity", Value: name}})
	}()
}

func (ad *admin) createActors(req *Message) {
	p := ad.p
	m := new(Message) // req is only valid during Receive; the reply comes later
	*m = *req
	fail := func(err error) {
		p.log.Warn("actors are not created", "mid", m.ID.String(), "error", err.Error())
		p.Reply(m, "actors_are_not_created", Object{{Key: "mid", Value: m.ID.String()}, {Key: "error", Value: err.Error()}})
	}
	o, ok := m.Body.(Object)
	if !ok {
		fail(fmt.Errorf(`%w: the body must be {"class_desc": {...}, "names": [...]}, not %s`, ErrBadRequest, TypeName(m.Body)))
		return
	}
	cd, _ := o.Get("class_desc")
	desc, err := ClassDescFromValue(cd)
	if err != nil {
		fail(err)
		return
	}
	nv, _ := o.Get("names")
	arr, ok := nv.(Array)
	if !ok || len(arr) == 0 {
		fail(fmt.Errorf("%w: names must be a non-empty array of strings", ErrBadRequest))
		return
	}
	names := make([]string, len(arr))
	seen := make(map[string]bool, len(arr))
	for i, v := range arr {
		s, ok := v.(string)
		if !ok {
			fail(fmt.Errorf("%w: names[%d] must be a string, not %s", ErrBadRequest, i, TypeName(v)))
			return
		}
		if err := ValidateName(s); err != nil {
			fail(err)
			return
		}
		if seen[s] || p.Lookup(s) != nil {
			fail(fmt.Errorf("%w: %q already exists", ErrNameTaken, s))
			return
		}
		seen[s] = true
		names[i] = s
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), ad.budget(m))
		defer cancel()
		class, err := ad.resolve(ctx, desc)
		if err == nil {
			err = p.permitPackage(m, class.Info().Package)
		}
		if err != nil {
			fail(err)
			return
		}
		entities := make(Array, 0, len(names))
		for _, name := range names {
			if _, err := p.Spawn(name, class, nil); err != nil {
				// All or nothing: remove the ones made so far.
				for _, made := range entities {
					_ = p.Remove(ctx, made.(string))
				}
				fail(fmt.Errorf("create %q: %w", name, err))
				return
			}
			entities = append(entities, name)
		}
		p.Reply(m, "actors_are_created", Object{{Key: "node", Value: p.adminName}, {Key: "entities", Value: entities}})
	}()
}

func (ad *admin) removeActor(req *Message) {
	p := ad.p
	m := new(Message) // req is only valid during Receive; the reply comes later
	*m = *req
	name, err := nameField(m.Body, "name")
	if err != nil {
		p.Reply(m, "error", Object{{Key: "mid", Value: m.ID.String()}, {Key: "message", Value: err.Error()}})
		return
	}
	if p.Lookup(name) == nil {
		if ad.forwardTo(m, name) {
			return
		}
		p.Reply(m, "actor_is_absent", notFoundBody(m, name))
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), p.cfg.ShutdownTimeout+p.cfg.Budget)
		defer cancel()
		if err := p.Remove(ctx, name); err != nil {
			if errors.Is(err, ErrNoActor) {
				p.Reply(m, "actor_is_absent", notFoundBody(m, name))
				return
			}
			p.Reply(m, "error", Object{{Key: "mid", Value: m.ID.String()}, {Key: "message", Value: err.Error()}})
			return
		}
		p.log.Info("actor is removed", "actor", name)
		p.Reply(m, "actor_is_removed", Object{{Key: "node", Value: p.adminName}, {Key: "entity", Value: name}})
	}()
}

func (ad *admin) seekActor(m *Message) (Reply, error) {
	name, err := nameField(m.Body, "entity")
	if err != nil {
		return Reply{}, err
	}
	act := ad.p.Lookup(name)
	if act == nil {
		if ad.forwardTo(m, name) {
			return Reply{}, nil
		}
		return Reply{"actor_is_not_found", notFoundBody(m, name)}, nil
	}
	return Reply{"actor_is_found", Object{
		{Key: "mid", Value: m.ID.String()},
		{Key: "node", Value: act.Node()},
		{Key: "entity", Value: name},
		{Key: "class_desc", Value: act.class.Desc().Value()},
		{Key: "package", Value: act.class.Package},
		{Key: "version", Value: act.class.Version},
		{Key: "commit", Value: act.class.Commit},
	}}, nil
}

// exit shuts the system down; Send calls it for exit and quit, whatever the
// recipient, so it never waits in a mailbox. It refuses (ErrNotAllowed)
// an actor whose package has no grant for it.
func (p *Process) exit(m *Message) error {
	if err := p.permit(m); err != nil {
		p.log.Warn("exit refused", "package", m.From, "mid", m.ID.String())
		return err
	}
	if head := p.HeadAdmin(); head != p.adminName {
		// Only the head stops the system: pass it on.
		fwd := *m
		fwd.Recipient = Address{Node: head}
		if err := p.forward(head, fwd); err == nil {
			return nil
		}
	}
	p.log.Info("exit requested", "mid", m.ID.String())
	if p.events.watched() {
		p.events.publish(Event{Kind: "exiting", Node: p.adminName})
	}
	if !m.Sender.IsZero() {
		p.reply(m, "is_exiting", Object{{Key: "mid", Value: m.ID.String()}})
	}
	p.Shutdown()
	return nil
}

// adminCommands are the commands every admin understands.
var adminCommands = Array{"create_actor", "create_actors", "create_process", "eval", "exit", "get_actor", "get_actors",
	"get_classes", "get_commands", "get_go_profile", "get_history", "get_hosts", "get_lines", "get_metrics", "get_processes", "profile_lua", "quit", "recreate_actor", "remove_actor", "remove_process", "seek_actor"}

// eval runs {"name", "code"} inside an actor (see Process.Eval) and replies
// evaluated {"result"}.
func (ad *admin) eval(req *Message) {
	p := ad.p
	m := new(Message)
	*m = *req
	name, err := nameField(m.Body, "name")
	var code string
	if err == nil {
		code, err = nameField(m.Body, "code")
	}
	if err != nil {
		p.Reply(m, "error", Object{{Key: "mid", Value: m.ID.String()}, {Key: "message", Value: err.Error()}})
		return
	}
	if p.Lookup(name) == nil && ad.forwardTo(m, name) {
		// The actor's process evaluates it, if its config allows.
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), p.cfg.Budget+ad.budget(m))
		defer cancel()
		v, err := p.Eval(ctx, name, code)
		if err != nil {
			if errors.Is(err, ErrNoActor) {
				p.Reply(m, "actor_is_not_found", notFoundBody(m, name))
				return
			}
			p.Reply(m, "error", Object{{Key: "mid", Value: m.ID.String()}, {Key: "message", Value: err.Error()}})
			return
		}
		p.Reply(m, "evaluated", Object{{Key: "result", Value: v}})
	}()
}

// recreateActor is recreate_actor {"entity", "node"?, "class_desc"?}: the
// actor is made again in its process (a restart, or with class_desc a hot
// upgrade), keeping its params and queued messages (Process.Recreate).
// Moving it to another process is not supported yet.
func (ad *admin) recreateActor(req *Message) {
	p := ad.p
	m := new(Message)
	*m = *req
	fail := func(err error) {
		p.Reply(m, "actor_is_not_recreated", Object{{Key: "mid", Value: m.ID.String()}, {Key: "error", Value: err.Error()}})
	}
	name, err := nameField(m.Body, "entity")
	if err != nil {
		fail(err)
		return
	}
	o := m.Body.(Object)
	act := p.Lookup(name)
	if node := o.String("node"); node != "" && (act == nil || node != p.adminName) && p.remote != nil {
		// A move between processes: the head runs it.
		if head := p.HeadAdmin(); head != p.adminName {
			fwd := *m
			fwd.Recipient = Address{Node: head}
			if err := p.forward(head, fwd); err != nil {
				fail(err)
			}
			return
		}
		if !p.remote.Admin(p, m) {
			fail(fmt.Errorf("%w: this system cannot move actors", ErrBadRequest))
		}
		return
	}
	if act == nil {
		if ad.forwardTo(m, name) {
			return
		}
		fail(fmt.Errorf("%w: %q", ErrNoActor, name))
		return
	}
	if node := o.String("node"); node != "" && node != p.adminName {
		fail(fmt.Errorf("%w: %s is not a process of this system", ErrBadRequest, node))
		return
	}
	desc := act.Class().Desc()
	if cd, ok := o.Get("class_desc"); ok && cd != nil {
		if desc, err = ClassDescFromValue(cd); err != nil {
			fail(err)
			return
		}
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), ad.budget(m))
		defer cancel()
		class, err := ad.resolve(ctx, desc)
		if err != nil {
			fail(fmt.Errorf("recreate %q: %w", name, err))
			return
		}
		if err := p.Recreate(ctx, name, class); err != nil {
			fail(err)
			return
		}
		p.log.Info("actor is recreated", "actor", name, "class", class.Info().Class, "package", class.Info().Package, "version", class.Info().Version)
		p.Reply(m, "actor_is_recreated", Object{{Key: "mid", Value: m.ID.String()}, {Key: "node", Value: p.adminName}, {Key: "entity", Value: name}})
	}()
}

// move serves the steps of a move between processes, asked by the head:
// move_out {"entity", "to", "move"} → moved_out {"class_desc", "params",
// "queue"} (the actor leaves this process, which keeps a copy until
// move_done); adopt_actor {"entity", "class_desc", "params", "queue",
// "move"} → adopted (it arrives here, hidden); activate {"entity"} (it
// runs).
func (ad *admin) move(req *Message) {
	p := ad.p
	m := new(Message)
	*m = *req
	o, _ := m.Body.(Object)
	name := o.String("entity")
	fail := func(err error) {
		p.Reply(m, "error", Object{{Key: "mid", Value: m.ID.String()}, {Key: "message", Value: err.Error()}})
	}
	switch m.Command {
	case "activate":
		if err := p.Activate(name); err != nil {
			p.log.Error("activate after a move", "actor", name, "error", err.Error())
		}
	case "move_out":
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), ad.budget(m))
			defer cancel()
			class, params, queue, err := p.ExtractFor(ctx, name, o.String("to"), o.String("move"))
			if err != nil {
				fail(err)
				return
			}
			q := make(Array, 0, len(queue))
			for _, qm := range queue {
				v, err := MessageValue(qm)
				if err != nil {
					p.log.Error("a queued message cannot travel", "actor", name, "error", err.Error())
					continue
				}
				q = append(q, v)
			}
			if params == nil {
				params = Object{}
			}
			p.Reply(m, "moved_out", Object{{Key: "class_desc", Value: class.Desc().Value()}, {Key: "params", Value: params}, {Key: "queue", Value: q}})
		}()
	case "adopt_actor":
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), ad.budget(m))
			defer cancel()
			cd, _ := o.Get("class_desc")
			desc, err := ClassDescFromValue(cd)
			if err != nil {
				fail(err)
				return
			}
			class, err := ad.resolve(ctx, desc)
			if err != nil {
				fail(err)
				return
			}
			pv, _ := o.Get("params")
			params, _ := pv.(Object)
			qv, _ := o.Get("queue")
			qa, _ := qv.(Array)
			queue := make([]Message, 0, len(qa))
			for _, v := range qa {
				qm, err := MessageFromValue(v)
				if err != nil {
					fail(err)
					return
				}
				queue = append(queue, qm)
			}
			if err := p.AdoptMove(name, class, params, queue, o.String("move")); err != nil {
				fail(err)
				return
			}
			p.Reply(m, "adopted", Object{{Key: "node", Value: p.adminName}, {Key: "entity", Value: name}})
		}()
	}
}

// mustGetInt reads an integer field of an object body.
func mustGetInt(o Object, key string) (int64, bool) {
	v, _ := o.Get(key)
	i, ok := v.(int64)
	return i, ok
}

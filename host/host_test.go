package host_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/peacepie/peacepie/host"
)

// ---- a tiny Go actor class for the tests ----

// funcs is a behaviour made of optional functions.
type funcs struct {
	init    func(a *host.Actor) error
	receive func(a *host.Actor, m *host.Message) (host.Reply, error)
	stop    func(a *host.Actor)
}

func (f *funcs) Init(a *host.Actor) error {
	if f.init != nil {
		return f.init(a)
	}
	return nil
}

func (f *funcs) Receive(a *host.Actor, m *host.Message) (host.Reply, error) {
	if f.receive != nil {
		return f.receive(a, m)
	}
	return host.Reply{}, fmt.Errorf("%w: %q", host.ErrNotHandled, m.Command)
}

func (f *funcs) Stop(a *host.Actor) {
	if f.stop != nil {
		f.stop(a)
	}
}

// goClass makes a fresh behaviour for each actor.
type goClass struct {
	name string
	make func() host.Behaviour
}

func (c *goClass) Info() host.ClassInfo {
	return host.ClassInfo{Package: "gotest", Version: "1.0.0", Class: c.name}
}

func (c *goClass) New(*host.Actor, host.Object) (host.Behaviour, error) { return c.make(), nil }

func class(name string, f func() *funcs) *goClass {
	return &goClass{name: name, make: func() host.Behaviour { return f() }}
}

// resolver finds the classes it was given by name.
type resolver map[string]host.Class

func (r resolver) Resolve(_ context.Context, desc host.ClassDesc) (host.Class, error) {
	if desc.RequiresDist != "gotest" {
		return nil, fmt.Errorf("no package %q", desc.RequiresDist)
	}
	c, ok := r[desc.Class]
	if !ok {
		return nil, fmt.Errorf("no class %q", desc.Class)
	}
	return c, nil
}

// echoClass answers "ping" with "pong" and "echo" with the body.
var echoClass = class("Echo", func() *funcs {
	return &funcs{receive: func(_ *host.Actor, m *host.Message) (host.Reply, error) {
		switch m.Command {
		case "ping":
			return host.Reply{Command: "pong"}, nil
		case "echo":
			return host.Reply{Command: "echoed", Body: m.Body}, nil
		}
		return host.Reply{}, fmt.Errorf("%w: %q", host.ErrNotHandled, m.Command)
	}}
})

func newProcess(t *testing.T, cfg host.Config) *host.Process {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Resolver == nil {
		cfg.Resolver = resolver{"Echo": echoClass}
	}
	p, err := host.NewProcess(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Shutdown()
		select {
		case <-p.Done():
		case <-time.After(10 * time.Second):
			t.Error("the process did not shut down")
		}
	})
	return p
}

func spawn(t *testing.T, p *host.Process, name string, c host.Class) *host.Actor {
	t.Helper()
	a, err := p.Spawn(name, c, nil)
	if err != nil {
		t.Fatalf("spawn %s: %v", name, err)
	}
	return a
}

func to(name string) host.Address {
	a, err := host.ParseAddress(name)
	if err != nil {
		panic(err)
	}
	return a
}

func ask(t *testing.T, p *host.Process, name, command string, body any) host.Message {
	t.Helper()
	r, err := p.Ask(context.Background(), host.Message{Command: command, Body: body, Recipient: to(name)}, 10*time.Second)
	if err != nil {
		t.Fatalf("ask %s %s: %v", name, command, err)
	}
	return r
}

func field(t *testing.T, body any, key string) any {
	t.Helper()
	o, ok := body.(host.Object)
	if !ok {
		t.Fatalf("body %#v is not an object", body)
	}
	v, ok := o.Get(key)
	if !ok {
		t.Fatalf("body %s has no %q", js(body), key)
	}
	return v
}

func js(v any) string {
	b, err := host.MarshalValue(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ---- tests ----

// orderClass checks that "n" messages carry 0, 1, 2, ... and answers
// "result" with how many came and the first one out of order.
var orderClass = class("Order", func() *funcs {
	next, bad := int64(0), int64(-1)
	return &funcs{receive: func(_ *host.Actor, m *host.Message) (host.Reply, error) {
		switch m.Command {
		case "n":
			if m.Body != next && bad < 0 {
				bad = next
			}
			next++
			return host.Reply{}, nil
		case "result":
			return host.Reply{Command: "result", Body: host.Object{{Key: "count", Value: next}, {Key: "bad", Value: bad}}}, nil
		}
		return host.Reply{}, host.ErrNotHandled
	}}
})

func TestOrderedDelivery(t *testing.T) {
	const n = 10000
	// A Go actor that sends n numbered messages to "sink" when told "go".
	sender := class("Sender", func() *funcs {
		return &funcs{receive: func(a *host.Actor, m *host.Message) (host.Reply, error) {
			for i := int64(0); i < n; i++ {
				if err := a.Send(to("sink"), "n", i); err != nil {
					return host.Reply{}, err
				}
			}
			return host.Reply{Command: "sent"}, nil
		}}
	})
	tests := []struct {
		name string
		send func(t *testing.T, p *host.Process)
	}{
		{"from outside the actors", func(t *testing.T, p *host.Process) {
			for i := int64(0); i < n; i++ {
				if err := p.Send(host.Message{Command: "n", Body: i, Recipient: to("sink")}); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"from another actor", func(t *testing.T, p *host.Process) {
			spawn(t, p, "source", sender)
			if r := ask(t, p, "source", "go", nil); r.Command != "sent" {
				t.Fatalf("go: %s %s", r.Command, js(r.Body))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProcess(t, host.Config{})
			spawn(t, p, "sink", orderClass)
			tt.send(t, p)
			// The ask travels behind the numbered messages from this
			// goroutine, or behind the source's sends; poll until all came.
			var r host.Message
			eventually(t, 10*time.Second, "all messages", func() bool {
				r = ask(t, p, "sink", "result", nil)
				return field(t, r.Body, "count") == int64(n)
			})
			if bad := field(t, r.Body, "bad"); bad != int64(-1) {
				t.Fatalf("message %v arrived out of order", bad)
			}
		})
	}
}

// gateClass blocks "wait" until its gate is closed (telling entered, when
// not nil, that it has begun) and answers "ping".
func gateClass(gate <-chan struct{}, reply string, entered chan<- struct{}) *goClass {
	return class("Gate", func() *funcs {
		return &funcs{receive: func(_ *host.Actor, m *host.Message) (host.Reply, error) {
			switch m.Command {
			case "wait":
				if entered != nil {
					entered <- struct{}{}
				}
				<-gate
				return host.Reply{Command: reply}, nil
			case "ping":
				return host.Reply{Command: "pong"}, nil
			}
			return host.Reply{}, host.ErrNotHandled
		}}
	})
}

func lateReplies(t *testing.T, p *host.Process) int64 {
	t.Helper()
	r := ask(t, p, p.AdminName(), "get_processes", nil)
	procs, _ := field(t, r.Body, "processes").(host.Array)
	if len(procs) != 1 {
		t.Fatalf("get_processes: %s", js(r.Body))
	}
	n, _ := field(t, procs[0], "late_replies").(int64)
	return n
}

func TestAskTimeoutAndLateReply(t *testing.T) {
	p := newProcess(t, host.Config{})
	gate1, gate2 := make(chan struct{}), make(chan struct{})
	entered := make(chan struct{}, 2)
	spawn(t, p, "slow", gateClass(gate1, "late", nil))
	spawn(t, p, "other", gateClass(gate2, "on_time", entered))
	defer func() {
		select {
		case <-gate1:
		default:
			close(gate1)
		}
	}()

	start := time.Now()
	r, err := p.Ask(context.Background(), host.Message{Command: "wait", Recipient: to("slow")}, 50*time.Millisecond)
	if !errors.Is(err, host.ErrTimeout) {
		t.Fatalf("ask: %v (reply %s), want ErrTimeout", err, r.Command)
	}
	if d := time.Since(start); d < 50*time.Millisecond || d > 3*time.Second {
		t.Fatalf("the ask gave up after %s, want about 50ms", d)
	}
	if !strings.Contains(err.Error(), "wait") {
		t.Errorf("the timeout error %q does not name the command", err)
	}

	// A second ask is waiting while the late reply of the first arrives;
	// it must get its own reply, not the late one.
	type result struct {
		r   host.Message
		err error
	}
	second := make(chan result, 1)
	go func() {
		r, err := p.Ask(context.Background(), host.Message{Command: "wait", Recipient: to("other")}, 10*time.Second)
		second <- result{r, err}
	}()
	select {
	case <-entered: // the second ask is being handled
	case <-time.After(5 * time.Second):
		t.Fatal("the second ask did not arrive")
	}
	before := lateReplies(t, p)
	close(gate1)
	eventually(t, 5*time.Second, "the late reply to be counted", func() bool { return lateReplies(t, p) == before+1 })
	close(gate2)
	select {
	case res := <-second:
		if res.err != nil || res.r.Command != "on_time" {
			t.Fatalf("second ask: %s %v, want on_time", res.r.Command, res.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second ask got no reply")
	}
	// The slow actor is still fine.
	if r := ask(t, p, "slow", "ping", nil); r.Command != "pong" {
		t.Fatalf("ping after the late reply: %s", r.Command)
	}
}

func TestAskContextCancel(t *testing.T) {
	p := newProcess(t, host.Config{})
	gate := make(chan struct{})
	defer close(gate)
	spawn(t, p, "slow", gateClass(gate, "late", nil))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err := p.Ask(ctx, host.Message{Command: "wait", Recipient: to("slow")}, 10*time.Second)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ask: %v, want the context's error", err)
	}
}

func TestAskUnknownRecipient(t *testing.T) {
	p := newProcess(t, host.Config{})
	tests := []struct {
		name    string
		to      host.Address
		wantErr error
	}{
		{"unknown name", host.Address{Entity: "nobody"}, host.ErrNoActor},
		{"unknown name in this node", host.Address{Node: "first.main.admin", Entity: "nobody"}, host.ErrNoActor},
		{"unknown process", host.Address{Node: "first.process_9.admin"}, host.ErrNoProcess},
		{"reply of an unknown process", host.Address{Node: "first.process_9.admin", Reply: 3}, host.ErrNoProcess},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			r, err := p.Ask(context.Background(), host.Message{Command: "ping", Recipient: tt.to}, 10*time.Second)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ask: %v, want %v", err, tt.wantErr)
			}
			if time.Since(start) > time.Second {
				t.Fatalf("the ask took %s: a missing actor must be reported at once", time.Since(start))
			}
			if r.Command != "actor_is_not_found" {
				t.Fatalf("reply %q, want actor_is_not_found", r.Command)
			}
			if _, ok := field(t, r.Body, "mid").(string); !ok {
				t.Fatalf("actor_is_not_found without a mid: %s", js(r.Body))
			}
			if err := p.Send(host.Message{Command: "ping", Recipient: tt.to}); !errors.Is(err, tt.wantErr) {
				t.Fatalf("send: %v, want %v", err, tt.wantErr)
			}
		})
	}
	if err := p.Send(host.Message{Command: "ping"}); !errors.Is(err, host.ErrBadAddress) {
		t.Fatalf("send without a recipient: %v, want ErrBadAddress", err)
	}
}

func TestNotHandled(t *testing.T) {
	p := newProcess(t, host.Config{})
	spawn(t, p, "echo", echoClass)
	for _, name := range []string{"echo", p.AdminName()} {
		t.Run(name, func(t *testing.T) {
			mid := p.NewMID()
			r, err := p.Ask(context.Background(), host.Message{ID: mid, Command: "no_such_command", Recipient: to(name)}, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if r.Command != "is_not_handled" {
				t.Fatalf("reply %s %s, want is_not_handled", r.Command, js(r.Body))
			}
			if got := field(t, r.Body, "mid"); got != mid.String() {
				t.Fatalf("mid %v, want %s", got, mid)
			}
		})
	}
	// A plain send of an unknown command is dropped quietly and the actor
	// keeps working.
	if err := p.Send(host.Message{Command: "no_such_command", Recipient: to("echo")}); err != nil {
		t.Fatal(err)
	}
	if r := ask(t, p, "echo", "ping", nil); r.Command != "pong" {
		t.Fatalf("ping: %s", r.Command)
	}
}

func TestHandlerErrorReply(t *testing.T) {
	p := newProcess(t, host.Config{})
	var handled atomic.Int64
	c := class("Failing", func() *funcs {
		return &funcs{receive: func(_ *host.Actor, m *host.Message) (host.Reply, error) {
			handled.Add(1)
			switch m.Command {
			case "fail":
				return host.Reply{}, errors.New("the disk is on fire")
			case "ping":
				return host.Reply{Command: "pong"}, nil
			}
			return host.Reply{}, host.ErrNotHandled
		}}
	})
	spawn(t, p, "failing", c)
	for i := 0; i < 3; i++ {
		mid := p.NewMID()
		r, err := p.Ask(context.Background(), host.Message{ID: mid, Command: "fail", Recipient: to("failing")}, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if r.Command != "error" {
			t.Fatalf("reply %s, want error", r.Command)
		}
		if got := field(t, r.Body, "mid"); got != mid.String() {
			t.Fatalf("mid %v, want %s", got, mid)
		}
		if msg, _ := field(t, r.Body, "message").(string); !strings.Contains(msg, "the disk is on fire") {
			t.Fatalf("message %q does not carry the handler's error", msg)
		}
		// The failure of a plain send is only logged.
		if err := p.Send(host.Message{Command: "fail", Recipient: to("failing")}); err != nil {
			t.Fatal(err)
		}
		if r := ask(t, p, "failing", "ping", nil); r.Command != "pong" {
			t.Fatalf("ping after an error: %s", r.Command)
		}
	}
	if got := handled.Load(); got != 9 {
		t.Fatalf("handled %d messages, want 9", got)
	}
	if a := p.Lookup("failing"); a == nil || a.Handled() != 9 {
		t.Fatalf("Handled() of the actor is wrong: %v", a)
	}
}

// TestStopIsNotStuckBehindBacklog fills a mailbox with 100000 messages whose
// handler is slow, removes the actor, and checks that the stop comes right
// after the message in progress and that the queued asks are answered.
func TestStopIsNotStuckBehindBacklog(t *testing.T) {
	const backlog = 100000
	const askEvery = 100 // every 100th queued message is an ask
	removers := []struct {
		name   string
		remove func(p *host.Process) error
	}{
		{"Process.Remove", func(p *host.Process) error {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return p.Remove(ctx, "busy")
		}},
		{"admin remove_actor", func(p *host.Process) error {
			r, err := p.Ask(context.Background(), host.Message{
				Command: "remove_actor", Body: host.Object{{Key: "name", Value: "busy"}}, Recipient: to(p.AdminName()),
			}, 5*time.Second)
			if err != nil {
				return err
			}
			if r.Command != "actor_is_removed" {
				return fmt.Errorf("remove_actor: %s %s", r.Command, js(r.Body))
			}
			return nil
		}},
	}
	for _, rm := range removers {
		t.Run(rm.name, func(t *testing.T) {
			p := newProcess(t, host.Config{})
			gate := make(chan struct{})
			started := make(chan struct{}, 1)
			var handled, stops, afterStop atomic.Int64
			var stopped atomic.Bool
			busy := class("Busy", func() *funcs {
				return &funcs{
					receive: func(_ *host.Actor, m *host.Message) (host.Reply, error) {
						if stopped.Load() {
							afterStop.Add(1)
						}
						handled.Add(1)
						select {
						case started <- struct{}{}:
						default:
						}
						<-gate
						time.Sleep(time.Millisecond) // 100000 of these would take minutes
						return host.Reply{Command: "done"}, nil
					},
					stop: func(*host.Actor) { stopped.Store(true); stops.Add(1) },
				}
			})
			a := spawn(t, p, "busy", busy)
			if err := p.Send(host.Message{Command: "work", Recipient: to("busy")}); err != nil {
				t.Fatal(err)
			}
			<-started // the first message is in progress and blocks
			var asks []*host.PendingAsk
			for i := 0; i < backlog; i++ {
				m := host.Message{Command: "work", Body: int64(i), Recipient: to("busy")}
				if i%askEvery == 0 {
					pa, _, err := p.StartAsk(m, 30*time.Second)
					if err != nil {
						t.Fatal(err)
					}
					asks = append(asks, pa)
					continue
				}
				if err := p.Send(m); err != nil {
					t.Fatal(err)
				}
			}
			if n := a.MailboxLen(); n != backlog {
				t.Fatalf("mailbox holds %d messages, want %d", n, backlog)
			}

			removed := make(chan error, 1)
			go func() { removed <- rm.remove(p) }()
			// Once the stop is requested, new messages are refused.
			eventually(t, 5*time.Second, "the actor to refuse messages", func() bool {
				return errors.Is(p.Send(host.Message{Command: "work", Recipient: to("busy")}), host.ErrNoActor)
			})
			start := time.Now()
			close(gate)
			select {
			case err := <-removed:
				if err != nil {
					t.Fatalf("remove: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("remove is stuck behind the backlog: %d of %d messages handled", handled.Load(), backlog)
			}
			t.Logf("removed %s after the gate opened, %d messages handled", time.Since(start), handled.Load())
			// Only the message in progress should be handled; allow one more
			// for the instant between refusing messages and queueing the stop.
			if n := handled.Load(); n > 2 {
				t.Errorf("%d messages were handled after the stop was requested; want only the one in progress", n-1)
			}
			if stops.Load() != 1 {
				t.Errorf("the stop hook ran %d times, want once", stops.Load())
			}
			if p.Lookup("busy") != nil {
				t.Error("the name is still registered")
			}
			for i, pa := range asks {
				r, err := pa.Wait(context.Background(), 5*time.Second)
				if err != nil {
					t.Fatalf("queued ask %d: %v", i, err)
				}
				if r.Command != "actor_is_not_found" {
					t.Fatalf("queued ask %d got %s %s, want actor_is_not_found", i, r.Command, js(r.Body))
				}
				if e := field(t, r.Body, "entity"); e != "busy" {
					t.Fatalf("actor_is_not_found names %v", e)
				}
			}
			if afterStop.Load() != 0 {
				t.Errorf("%d messages were handled after the stop hook", afterStop.Load())
			}
			// The name is free again.
			spawn(t, p, "busy", echoClass)
			if r := ask(t, p, "busy", "ping", nil); r.Command != "pong" {
				t.Fatalf("the new busy: %s", r.Command)
			}
		})
	}
}

func TestRemoveMissing(t *testing.T) {
	p := newProcess(t, host.Config{})
	if err := p.Remove(context.Background(), "nobody"); !errors.Is(err, host.ErrNoActor) {
		t.Fatalf("Remove: %v, want ErrNoActor", err)
	}
	r := ask(t, p, p.AdminName(), "remove_actor", host.Object{{Key: "name", Value: "nobody"}})
	if r.Command != "actor_is_absent" {
		t.Fatalf("remove_actor: %s, want actor_is_absent", r.Command)
	}
	r = ask(t, p, p.AdminName(), "remove_actor", "nobody")
	if r.Command != "error" {
		t.Fatalf("remove_actor with a bad body: %s, want error", r.Command)
	}
}

func TestNames(t *testing.T) {
	p := newProcess(t, host.Config{})
	bad := []string{"", "_x", "_17", "a.b.admin", "first.main.admin", "has space", "tab\tname", "line\nbreak", "a/b", strings.Repeat("x", 201)}
	for _, name := range bad {
		t.Run(fmt.Sprintf("bad %q", name), func(t *testing.T) {
			if err := host.ValidateName(name); !errors.Is(err, host.ErrBadName) {
				t.Fatalf("ValidateName: %v, want ErrBadName", err)
			}
			if _, err := p.Spawn(name, echoClass, nil); !errors.Is(err, host.ErrBadName) {
				t.Fatalf("Spawn: %v, want ErrBadName", err)
			}
			r := ask(t, p, p.AdminName(), "create_actor", createBody(name, "Echo"))
			if r.Command != "actor_is_not_created" {
				t.Fatalf("create_actor: %s, want actor_is_not_created", r.Command)
			}
		})
	}
	for _, name := range []string{"hello_world", "dancer_00", "a.b", "Ünïcode", "x-y", strings.Repeat("x", 200)} {
		if err := host.ValidateName(name); err != nil {
			t.Errorf("ValidateName(%q): %v", name, err)
		}
	}

	t.Run("duplicate", func(t *testing.T) {
		spawn(t, p, "dup", echoClass)
		if _, err := p.Spawn("dup", echoClass, nil); !errors.Is(err, host.ErrNameTaken) {
			t.Fatalf("second Spawn: %v, want ErrNameTaken", err)
		}
		r := ask(t, p, p.AdminName(), "create_actor", createBody("dup", "Echo"))
		if r.Command != "actor_is_not_created" {
			t.Fatalf("create_actor: %s, want actor_is_not_created", r.Command)
		}
		if msg, _ := field(t, r.Body, "error").(string); !strings.Contains(msg, "dup") || !strings.Contains(msg, host.ErrNameTaken.Error()) {
			t.Fatalf("error %q does not say the name is taken", msg)
		}
		// The first actor is untouched.
		if r := ask(t, p, "dup", "ping", nil); r.Command != "pong" {
			t.Fatalf("ping: %s", r.Command)
		}
	})

	t.Run("concurrent creates of one name", func(t *testing.T) {
		const n = 20
		var wg sync.WaitGroup
		var ok, taken atomic.Int64
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := p.Spawn("race", echoClass, nil)
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, host.ErrNameTaken):
					taken.Add(1)
				default:
					t.Errorf("Spawn: %v", err)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 1 || taken.Load() != n-1 {
			t.Fatalf("%d created, %d refused; want 1 and %d", ok.Load(), taken.Load(), n-1)
		}
	})
}

func createBody(name, class string) host.Object {
	return host.Object{
		{Key: "class_desc", Value: host.Object{{Key: "requires_dist", Value: "gotest"}, {Key: "class", Value: class}}},
		{Key: "name", Value: name},
	}
}

func TestAdminCreateAndSeek(t *testing.T) {
	p := newProcess(t, host.Config{})
	r := ask(t, p, p.AdminName(), "create_actor", createBody("e1", "Echo"))
	if r.Command != "actor_is_created" || field(t, r.Body, "entity") != "e1" || field(t, r.Body, "node") != "first.main.admin" {
		t.Fatalf("create_actor: %s %s", r.Command, js(r.Body))
	}
	if r := ask(t, p, "e1", "echo", host.Array{int64(1)}); r.Command != "echoed" || js(r.Body) != "[1]" {
		t.Fatalf("echo: %s %s", r.Command, js(r.Body))
	}
	r = ask(t, p, p.AdminName(), "seek_actor", host.Object{{Key: "entity", Value: "e1"}})
	if r.Command != "actor_is_found" || field(t, r.Body, "node") != "first.main.admin" {
		t.Fatalf("seek_actor: %s %s", r.Command, js(r.Body))
	}
	if cd := js(field(t, r.Body, "class_desc")); cd != `{"requires_dist":"gotest==1.0.0","class":"Echo"}` {
		t.Fatalf("class_desc %s", cd)
	}
	r = ask(t, p, p.AdminName(), "seek_actor", host.Object{{Key: "entity", Value: "nobody"}})
	if r.Command != "actor_is_not_found" {
		t.Fatalf("seek_actor nobody: %s", r.Command)
	}
	r = ask(t, p, p.AdminName(), "create_actor", createBody("e2", "NoSuchClass"))
	if r.Command != "actor_is_not_created" || !strings.Contains(js(r.Body), "NoSuchClass") {
		t.Fatalf("create_actor of an unknown class: %s %s", r.Command, js(r.Body))
	}
	r = ask(t, p, p.AdminName(), "create_actors", host.Object{
		{Key: "class_desc", Value: host.Object{{Key: "requires_dist", Value: "gotest"}, {Key: "class", Value: "Echo"}}},
		{Key: "names", Value: host.Array{"m1", "m2", "m3"}},
	})
	if r.Command != "actors_are_created" || js(field(t, r.Body, "entities")) != `["m1","m2","m3"]` {
		t.Fatalf("create_actors: %s %s", r.Command, js(r.Body))
	}
	r = ask(t, p, p.AdminName(), "get_actors", nil)
	var names []string
	for _, a := range field(t, r.Body, "actors").(host.Array) {
		names = append(names, a.(host.Object).String("name"))
	}
	if strings.Join(names, ",") != "e1,m1,m2,m3" {
		t.Fatalf("get_actors lists %v", names)
	}
	for _, bad := range []any{nil, "x", host.Object{{Key: "name", Value: "x"}}} {
		r = ask(t, p, p.AdminName(), "create_actor", bad)
		if r.Command != "actor_is_not_created" {
			t.Fatalf("create_actor %s: %s", js(bad), r.Command)
		}
	}
}

func TestShutdown(t *testing.T) {
	p := newProcess(t, host.Config{ShutdownTimeout: 200 * time.Millisecond})
	var stops atomic.Int64
	stopper := class("Stopper", func() *funcs {
		return &funcs{
			receive: func(*host.Actor, *host.Message) (host.Reply, error) { return host.Reply{Command: "pong"}, nil },
			stop:    func(*host.Actor) { stops.Add(1) },
		}
	})
	spawn(t, p, "s1", stopper)
	spawn(t, p, "s2", stopper)
	// An actor stuck in a handler that ignores the stop does not hold the
	// shutdown up beyond ShutdownTimeout, and the ask waiting for it ends.
	gate := make(chan struct{})
	defer close(gate)
	entered := make(chan struct{}, 1)
	spawn(t, p, "stuck", gateClass(gate, "late", entered))
	pending, _, err := p.StartAsk(host.Message{Command: "wait", Recipient: to("stuck")}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	<-entered

	select {
	case <-p.Done():
		t.Fatal("Done is closed before Shutdown")
	default:
	}
	start := time.Now()
	p.Shutdown()
	p.Shutdown() // twice is harmless
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done is not closed after Shutdown")
	}
	t.Logf("shut down in %s", time.Since(start))
	if stops.Load() != 2 {
		t.Fatalf("%d stop hooks ran, want 2", stops.Load())
	}
	r, err := pending.Wait(context.Background(), 5*time.Second)
	if err == nil && r.Command != "error" {
		t.Fatalf("the pending ask got %s, want an error", r.Command)
	}

	for _, name := range []string{"s1", "nobody", p.AdminName()} {
		r, err := p.Ask(context.Background(), host.Message{Command: "ping", Recipient: to(name)}, time.Second)
		if err == nil {
			t.Fatalf("ask %s after shutdown: %s, want an error", name, r.Command)
		}
		if errors.Is(err, host.ErrTimeout) {
			t.Fatalf("ask %s after shutdown waited for its timeout: %v", name, err)
		}
	}
	if _, err := p.Spawn("late", echoClass, nil); !errors.Is(err, host.ErrStopping) {
		t.Fatalf("Spawn after shutdown: %v, want ErrStopping", err)
	}
}

func TestExitFromAnyRecipient(t *testing.T) {
	tests := []struct {
		name    string
		command string
		to      string
		ask     bool
	}{
		{"exit to an unknown name", "exit", "nobody", false},
		{"quit to an actor", "quit", "echo", false},
		{"exit to the admin", "exit", "first.main.admin", false},
		{"exit to an unknown process", "exit", "first.process_7.admin", false},
		{"ask exit of an actor", "exit", "echo", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProcess(t, host.Config{})
			var stopped atomic.Bool
			spawn(t, p, "echo", class("Echo", func() *funcs {
				return &funcs{stop: func(*host.Actor) { stopped.Store(true) }}
			}))
			m := host.Message{Command: tt.command, Recipient: to(tt.to)}
			if tt.ask {
				r, err := p.Ask(context.Background(), m, 5*time.Second)
				if err != nil || r.Command != "is_exiting" {
					t.Fatalf("ask exit: %s %v, want is_exiting", r.Command, err)
				}
			} else if err := p.Send(m); err != nil {
				t.Fatalf("send: %v", err)
			}
			select {
			case <-p.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("the process did not shut down")
			}
			if !stopped.Load() {
				t.Fatal("the actor's stop hook did not run")
			}
		})
	}
}

// ticker counts the "tick" messages of its class and checks their body.
type ticker struct {
	ticks     atomic.Int64
	badBody   atomic.Int64
	afterStop atomic.Int64
	stopped   atomic.Bool
}

func (tk *ticker) class() *goClass {
	return class("Ticker", func() *funcs {
		return &funcs{
			receive: func(_ *host.Actor, m *host.Message) (host.Reply, error) {
				if tk.stopped.Load() {
					tk.afterStop.Add(1)
				}
				if m.Command == "sync" {
					return host.Reply{Command: "synced"}, nil
				}
				if m.Command == "tick" {
					if js(m.Body) != `{"k":"v"}` {
						tk.badBody.Add(1)
					}
					tk.ticks.Add(1)
				}
				return host.Reply{}, nil
			},
			stop: func(*host.Actor) { tk.stopped.Store(true) },
		}
	})
}

func TestTimers(t *testing.T) {
	body := host.Object{{Key: "k", Value: "v"}}

	t.Run("every and cancel", func(t *testing.T) {
		p := newProcess(t, host.Config{})
		var tk ticker
		a := spawn(t, p, "ticker", tk.class())
		id := a.Every(10*time.Millisecond, "tick", body)
		eventually(t, 5*time.Second, "three ticks", func() bool { return tk.ticks.Load() >= 3 })
		if !a.CancelTimer(id) {
			t.Fatal("CancelTimer of a running timer reports it inactive")
		}
		// Ticks queued before the cancel are still handled; then at most
		// one more, from a timer that was firing as we cancelled.
		if r := ask(t, p, "ticker", "sync", nil); r.Command != "synced" {
			t.Fatalf("sync: %s", r.Command)
		}
		n := tk.ticks.Load()
		time.Sleep(100 * time.Millisecond) // ten periods: nothing more may come
		if got := tk.ticks.Load(); got > n+1 {
			t.Fatalf("%d ticks after CancelTimer", got-n)
		}
		if a.CancelTimer(id) {
			t.Fatal("the second CancelTimer reports the timer active")
		}
		if tk.badBody.Load() != 0 {
			t.Fatal("a tick came with the wrong body")
		}
	})

	t.Run("after fires once", func(t *testing.T) {
		p := newProcess(t, host.Config{})
		var tk ticker
		a := spawn(t, p, "ticker", tk.class())
		a.After(20*time.Millisecond, "tick", body)
		eventually(t, 5*time.Second, "the tick", func() bool { return tk.ticks.Load() == 1 })
		time.Sleep(60 * time.Millisecond)
		if got := tk.ticks.Load(); got != 1 {
			t.Fatalf("After fired %d times", got)
		}
	})

	t.Run("cancelled after never fires", func(t *testing.T) {
		p := newProcess(t, host.Config{})
		var tk ticker
		a := spawn(t, p, "ticker", tk.class())
		id := a.After(50*time.Millisecond, "tick", body)
		if !a.CancelTimer(id) {
			t.Fatal("CancelTimer of a pending After reports it inactive")
		}
		time.Sleep(100 * time.Millisecond)
		if got := tk.ticks.Load(); got != 0 {
			t.Fatalf("a cancelled After fired %d times", got)
		}
		if a.CancelTimer(12345) {
			t.Fatal("CancelTimer of an unknown id reports it active")
		}
	})

	t.Run("timers end with the actor", func(t *testing.T) {
		p := newProcess(t, host.Config{})
		var tk ticker
		a := spawn(t, p, "ticker", tk.class())
		a.Every(5*time.Millisecond, "tick", body)
		a.Every(7*time.Millisecond, "tick", body)
		eventually(t, 5*time.Second, "some ticks", func() bool { return tk.ticks.Load() >= 4 })
		if err := p.Remove(context.Background(), "ticker"); err != nil {
			t.Fatal(err)
		}
		n := tk.ticks.Load()
		time.Sleep(60 * time.Millisecond)
		if got := tk.ticks.Load(); got != n {
			t.Fatalf("%d ticks after the actor was removed", got-n)
		}
		if tk.afterStop.Load() != 0 {
			t.Fatalf("%d messages handled after the stop hook", tk.afterStop.Load())
		}
		// A new actor of the same name gets no ticks of the old timers.
		var tk2 ticker
		spawn(t, p, "ticker", tk2.class())
		time.Sleep(30 * time.Millisecond)
		if got := tk2.ticks.Load(); got != 0 {
			t.Fatalf("the new actor got %d ticks of the old one's timers", got)
		}
	})
}

func TestBudget(t *testing.T) {
	p := newProcess(t, host.Config{Budget: 100 * time.Millisecond})
	c := class("Budget", func() *funcs {
		return &funcs{receive: func(a *host.Actor, m *host.Message) (host.Reply, error) {
			switch m.Command {
			case "spin": // runs until the watchdog interrupts it
				ctx := a.BudgetContext()
				<-ctx.Done()
				return host.Reply{}, ctx.Err()
			case "sleep": // sleeping does not count against the budget
				if err := a.Sleep(300 * time.Millisecond); err != nil {
					return host.Reply{}, err
				}
				return host.Reply{Command: "slept"}, nil
			case "ask": // neither does waiting for a reply
				r, err := a.Ask(to("slow"), "wait", nil, 5*time.Second)
				if err != nil {
					return host.Reply{}, err
				}
				return host.Reply{Command: "asked", Body: r.Command}, nil
			case "ping":
				if a.BudgetContext().Err() != nil {
					return host.Reply{}, errors.New("the budget context is already done")
				}
				return host.Reply{Command: "pong"}, nil
			}
			return host.Reply{}, host.ErrNotHandled
		}}
	})
	spawn(t, p, "b", c)
	gate := make(chan struct{})
	spawn(t, p, "slow", class("Slow", func() *funcs {
		return &funcs{receive: func(*host.Actor, *host.Message) (host.Reply, error) {
			<-gate
			return host.Reply{Command: "waited"}, nil
		}}
	}))
	for i := 0; i < 2; i++ {
		start := time.Now()
		r := ask(t, p, "b", "spin", nil)
		if r.Command != "error" {
			t.Fatalf("spin: %s, want error", r.Command)
		}
		if msg, _ := field(t, r.Body, "message").(string); !strings.Contains(msg, host.ErrBudget.Error()) {
			t.Fatalf("spin: message %q does not mention the budget", msg)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("the interruption took %s", d)
		}
		if r := ask(t, p, "b", "ping", nil); r.Command != "pong" {
			t.Fatalf("ping after the interruption: %s %s", r.Command, js(r.Body))
		}
	}
	if r := ask(t, p, "b", "sleep", nil); r.Command != "slept" {
		t.Fatalf("sleep of 3 budgets: %s %s", r.Command, js(r.Body))
	}
	go func() { time.Sleep(300 * time.Millisecond); close(gate) }()
	if r := ask(t, p, "b", "ask", nil); r.Command != "asked" || r.Body != "waited" {
		t.Fatalf("ask of 3 budgets: %s %s", r.Command, js(r.Body))
	}
}

func TestAskAllFromAnActor(t *testing.T) {
	p := newProcess(t, host.Config{})
	spawn(t, p, "e1", echoClass)
	spawn(t, p, "e2", echoClass)
	spawn(t, p, "gatherer", class("Gatherer", func() *funcs {
		return &funcs{receive: func(a *host.Actor, m *host.Message) (host.Reply, error) {
			var reqs []host.Message
			for i, name := range []string{"e1", "nobody", "e2"} {
				reqs = append(reqs, host.Message{Command: "echo", Body: int64(i), Recipient: to(name)})
			}
			var out host.Array
			for _, res := range a.AskAll(reqs, 5*time.Second) {
				if res.Err != nil {
					if !errors.Is(res.Err, host.ErrNoActor) {
						return host.Reply{}, res.Err
					}
					out = append(out, res.Reply.Command)
					continue
				}
				out = append(out, host.Array{res.Reply.Command, res.Reply.Body})
			}
			return host.Reply{Command: "all", Body: out}, nil
		}}
	}))
	r := ask(t, p, "gatherer", "go", nil)
	if got := js(r.Body); r.Command != "all" || got != `[["echoed",0],"actor_is_not_found",["echoed",2]]` {
		t.Fatalf("ask_all: %s %s", r.Command, got)
	}
}

func TestInitFailureFreesTheName(t *testing.T) {
	p := newProcess(t, host.Config{})
	var stops atomic.Int64
	failing := class("FailingInit", func() *funcs {
		return &funcs{
			init: func(*host.Actor) error { return errors.New("no database") },
			stop: func(*host.Actor) { stops.Add(1) },
		}
	})
	_, err := p.Spawn("x", failing, nil)
	if err == nil || !strings.Contains(err.Error(), "no database") {
		t.Fatalf("Spawn: %v, want the init error", err)
	}
	if p.Lookup("x") != nil {
		t.Fatal("the name stays registered after a failed init")
	}
	if stops.Load() != 0 {
		t.Fatal("the stop hook ran for an actor that never started")
	}
	spawn(t, p, "x", echoClass)
}

func TestPrint(t *testing.T) {
	var out bytes.Buffer
	p := newProcess(t, host.Config{Output: &out})
	p.Print("one\n")
	host.PrintLine(&out, p, "two\n")
	if out.String() != "one\ntwo\n" {
		t.Fatalf("output %q", out.String())
	}
}

func TestNewProcessNames(t *testing.T) {
	for _, cfg := range []host.Config{{Host: "a.b"}, {Process: "x y"}, {Host: "a/b"}} {
		if p, err := host.NewProcess(cfg); err == nil {
			p.Shutdown()
			t.Errorf("NewProcess(%+v) accepted a bad name", cfg)
		}
	}
	p := newProcess(t, host.Config{Host: "second", Process: "process_3"})
	if p.AdminName() != "second.process_3.admin" {
		t.Fatalf("AdminName %q", p.AdminName())
	}
	if mid := p.NewMID().String(); !strings.HasPrefix(mid, "second.process_3.") {
		t.Fatalf("mid %q", mid)
	}
}

// TestBudgetOverrunEndingInSuccess: a handler (or init hook) that runs past
// its budget but still returns normally must not leave its spent budget to
// the next handler. In a Lua actor this happens when a handler finishes in
// the instant the watchdog fires; a Go behaviour shows it every time.
func TestBudgetOverrunEndingInSuccess(t *testing.T) {
	c := class("Overrun", func() *funcs {
		return &funcs{
			init: func(a *host.Actor) error {
				<-a.BudgetContext().Done() // overrun, then succeed
				return nil
			},
			receive: func(a *host.Actor, m *host.Message) (host.Reply, error) {
				switch m.Command {
				case "overrun":
					<-a.BudgetContext().Done()
					return host.Reply{Command: "done"}, nil
				case "check":
					if err := a.BudgetContext().Err(); err != nil {
						return host.Reply{}, fmt.Errorf("this handler starts with a spent budget: %w", err)
					}
					return host.Reply{Command: "fresh"}, nil
				}
				return host.Reply{}, host.ErrNotHandled
			},
		}
	})
	p := newProcess(t, host.Config{Budget: 50 * time.Millisecond})
	spawn(t, p, "o", c)
	t.Run("after init", func(t *testing.T) {
		if r := ask(t, p, "o", "check", nil); r.Command != "fresh" {
			t.Fatalf("the first message after an overrunning init: %s %s", r.Command, js(r.Body))
		}
	})
	t.Run("after a handler", func(t *testing.T) {
		ask(t, p, "o", "overrun", nil)
		if r := ask(t, p, "o", "check", nil); r.Command != "fresh" {
			t.Fatalf("the message after an overrunning handler: %s %s", r.Command, js(r.Body))
		}
	})
}

// TestCreateDuringShutdown: an actor whose creation completes while the
// process is shutting down must either be refused or be stopped (its stop
// hook runs) before Done; it must not outlive the shutdown.
func TestCreateDuringShutdown(t *testing.T) {
	release := make(chan struct{})
	var lateStops atomic.Int64
	late := class("Late", func() *funcs {
		return &funcs{stop: func(*host.Actor) { lateStops.Add(1) }}
	})
	var stops atomic.Int64
	stopper := class("Stopper", func() *funcs {
		return &funcs{stop: func(*host.Actor) { stops.Add(1) }}
	})
	p := newProcess(t, host.Config{
		ShutdownTimeout: 3 * time.Second,
		Resolver: resolverFunc(func(ctx context.Context, desc host.ClassDesc) (host.Class, error) {
			select {
			case <-release: // a slow package fetch
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return late, nil
		}),
	})
	spawn(t, p, "s", stopper)
	gate := make(chan struct{})
	entered := make(chan struct{}, 1)
	spawn(t, p, "stuck", gateClass(gate, "late", entered)) // holds the shutdown up
	if err := p.Send(host.Message{Command: "wait", Recipient: to("stuck")}); err != nil {
		t.Fatal(err)
	}
	<-entered
	if err := p.Send(host.Message{Command: "create_actor", Body: createBody("late", "Late"), Recipient: to(p.AdminName())}); err != nil {
		t.Fatal(err)
	}
	p.Shutdown()
	eventually(t, 5*time.Second, "the shutdown to stop the first actor", func() bool { return stops.Load() == 1 })
	close(release) // the fetch completes during the shutdown
	created := false
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) && !created {
		created = p.Lookup("late") != nil
		time.Sleep(5 * time.Millisecond)
	}
	close(gate)
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the process did not shut down")
	}
	if created && (lateStops.Load() != 1 || p.Lookup("late") != nil) {
		t.Fatalf("the actor created during the shutdown outlived it: stop hook ran %d times, still registered: %v",
			lateStops.Load(), p.Lookup("late") != nil)
	}
}

type resolverFunc func(ctx context.Context, desc host.ClassDesc) (host.Class, error)

func (f resolverFunc) Resolve(ctx context.Context, desc host.ClassDesc) (host.Class, error) {
	return f(ctx, desc)
}

// TestRawJSONDeliveredHere: a RawJSON body (written by a Lua actor for a
// link) that is delivered in its own process after all reaches the
// behaviour decoded; a broken one gets a clear error reply.
func TestRawJSONDeliveredHere(t *testing.T) {
	p := newProcess(t, host.Config{})
	spawn(t, p, "echo", echoClass)
	r := ask(t, p, "echo", "echo", host.RawJSON(`{"b":[1,2.5,"x"],"a":null}`))
	if r.Command != "echoed" {
		t.Fatalf("reply %s %s", r.Command, js(r.Body))
	}
	if _, ok := r.Body.(host.Object); !ok || js(r.Body) != `{"b":[1,2.5,"x"],"a":null}` {
		t.Fatalf("the behaviour got %T %s", r.Body, js(r.Body))
	}
	r = ask(t, p, "echo", "echo", host.RawJSON(`{"b":`))
	if r.Command != "error" || !strings.Contains(js(r.Body), "body of") {
		t.Fatalf("a broken raw body: %s %s", r.Command, js(r.Body))
	}
	if got, _ := host.MarshalValue(host.Object{{Key: "r", Value: host.RawJSON(`[1, 2]`)}}); string(got) != `{"r":[1, 2]}` {
		t.Fatalf("RawJSON is written as %s", got)
	}
}

func linkPauses(t *testing.T, p *host.Process) int64 {
	t.Helper()
	r := ask(t, p, "first.main.admin", "get_processes", nil)
	procs, _ := field(t, r.Body, "processes").(host.Array)
	n, _ := field(t, procs[0], "link_pauses").(int64)
	return n
}

// numbered is an actor that blocks "wait" until gate is closed, and keeps
// the bodies of "n" in order.
type numbered struct {
	gate <-chan struct{}
	mu   sync.Mutex
	got  []int64
}

func (nb *numbered) class(asking bool) *goClass {
	return class("Numbered", func() *funcs {
		return &funcs{receive: func(a *host.Actor, m *host.Message) (host.Reply, error) {
			switch {
			case m.Command == "wait" && asking:
				_, err := a.Ask(to("gate"), "wait", nil, time.Minute)
				return host.Reply{}, err
			case m.Command == "wait":
				<-nb.gate
			case m.Command == "n":
				nb.mu.Lock()
				nb.got = append(nb.got, m.Body.(int64))
				nb.mu.Unlock()
			}
			return host.Reply{}, nil
		}}
	})
}

// inOrder reports whether 1..total arrived, each once and in order.
func (nb *numbered) inOrder(total int) bool {
	nb.mu.Lock()
	defer nb.mu.Unlock()
	if len(nb.got) != total {
		return false
	}
	for i, n := range nb.got {
		if n != int64(i+1) {
			return false
		}
	}
	return true
}

// feed delivers "wait", then total numbered messages to "slow" as a link
// reader does, noting the longest mailbox it sees; done is closed when
// every delivery has returned.
func feed(p *host.Process, a *host.Actor, total int) (done chan struct{}, longest *atomic.Int64) {
	done, longest = make(chan struct{}), &atomic.Int64{}
	go func() {
		defer close(done)
		p.DeliverFromLink(host.Message{Command: "wait", Recipient: to("slow")})
		for i := 1; i <= total; i++ {
			p.DeliverFromLink(host.Message{Command: "n", Body: int64(i), Recipient: to("slow")})
			if n := int64(a.MailboxLen()); n > longest.Load() {
				longest.Store(n)
			}
		}
	}()
	return done, longest
}

// closed is a condition for eventually: ch is closed.
func closed(ch <-chan struct{}) func() bool {
	return func() bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
}

// TestLinkBackpressure: a link reader that fills an actor's mailbox waits
// until the actor has worked it down, so that a faster sender in another
// process is held back by its link, not by this process's memory; nothing
// is lost or reordered.
func TestLinkBackpressure(t *testing.T) {
	t.Parallel()
	p := newProcess(t, host.Config{LinkPause: time.Minute})
	gate := make(chan struct{})
	nb := &numbered{gate: gate}
	a := spawn(t, p, "slow", nb.class(false))
	const total = 3 * 4096
	done, longest := feed(p, a, total)
	eventually(t, 10*time.Second, "the link reader to wait", func() bool { return linkPauses(t, p) >= 1 })
	if n := a.MailboxLen(); n > 4096+64 {
		t.Errorf("%d messages queued while the reader waits, want at most 4096 (+ a batch of 64)", n)
	}
	close(gate)
	eventually(t, 20*time.Second, "the reader to finish", closed(done))
	eventually(t, 10*time.Second, "every message in order", func() bool { return nb.inOrder(total) })
	if n := longest.Load(); n > 4096+64 {
		t.Errorf("the mailbox reached %d messages, want at most 4096 (+ a batch of 64)", n)
	}
}

// TestLinkBackpressureReleases: a reader does not wait for an actor whose
// handler waits in an ask (its mailbox cannot shrink then), and waits at
// most Config.LinkPause for one stuck in a handler, once per backlog.
func TestLinkBackpressureReleases(t *testing.T) {
	t.Parallel()
	const total = 3 * 4096
	t.Run("asking", func(t *testing.T) {
		t.Parallel()
		p := newProcess(t, host.Config{LinkPause: time.Minute})
		gate := make(chan struct{})
		spawn(t, p, "gate", gateClass(gate, "opened", nil))
		nb := &numbered{}
		a := spawn(t, p, "slow", nb.class(true))
		done, _ := feed(p, a, total)
		eventually(t, 30*time.Second, "the reader to finish while the actor asks", closed(done))
		close(gate)
		eventually(t, 10*time.Second, "every message in order", func() bool { return nb.inOrder(total) })
	})
	t.Run("stuck", func(t *testing.T) {
		t.Parallel()
		p := newProcess(t, host.Config{LinkPause: 100 * time.Millisecond})
		gate := make(chan struct{})
		nb := &numbered{gate: gate}
		a := spawn(t, p, "slow", nb.class(false))
		done, _ := feed(p, a, total)
		eventually(t, 30*time.Second, "the reader to finish while the actor is stuck", closed(done))
		if n := linkPauses(t, p); n != 1 {
			t.Errorf("link_pauses %d, want 1 (one pause per backlog)", n)
		}
		close(gate)
		eventually(t, 10*time.Second, "every message in order", func() bool { return nb.inOrder(total) })
	})
}

// soloRemote is the Remote of a process that heads a system of one: there
// is no other process to reach.
type soloRemote struct{ head string }

func (r soloRemote) Route(node string, m host.Message) (host.Place, error) {
	return nil, fmt.Errorf("%w: %s", host.ErrNoProcess, node)
}
func (soloRemote) Locate(string) string                              { return "" }
func (soloRemote) Reserve(string, host.ClassDesc, host.Object) error { return nil }
func (soloRemote) Release(string)                                    {}
func (soloRemote) NoteParams(string, host.Object)                    {}
func (r soloRemote) Head() string                                    { return r.head }
func (soloRemote) Nodes() []host.Object                              { return nil }
func (soloRemote) Admin(*host.Process, *host.Message) bool           { return false }
func (soloRemote) Shutdown()                                         {}

// TestLinkReaderSkipsAdoptedActor: a transit for an actor that is moving in
// (adopted, not activated yet) never holds the link reader, however long
// the actor's queue: its activation comes on the same link, behind it.
func TestLinkReaderSkipsAdoptedActor(t *testing.T) {
	t.Parallel()
	p := newProcess(t, host.Config{LinkPause: time.Minute})
	p.SetRemote(soloRemote{head: p.AdminName()})
	const queued = 5000
	queue := make([]host.Message, queued)
	for i := range queue {
		queue[i] = host.Message{Command: "n", Body: int64(i + 1), Recipient: to("slow")}
	}
	nb := &numbered{}
	if err := p.Adopt("slow", nb.class(false), nil, queue); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.DeliverFromLink(host.Message{Command: "n", Body: int64(queued + 1), Recipient: to("slow"), Transit: true})
	}()
	eventually(t, 10*time.Second, "the transit to be delivered without a wait", closed(done))
	if err := p.Activate("slow"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "every message in order", func() bool { return nb.inOrder(queued + 1) })
}

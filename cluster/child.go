package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/net/link"
)

// Child is host.Remote for a child process: everything that is not local
// goes to the head, which routes it.
type Child struct {
	proc *host.Process
	conn *link.Conn
	head string
	log  *slog.Logger
	// Packages follows the system's package set the head sends (set it
	// before Run); nil: the set is ignored.
	Packages func(set string) error
	fwd      *forwarder // this process's events, to the head while it watches (events.go)
	direct   *direct    // direct links to siblings (direct.go); nil: none
}

// NewChild links a child process to its head over conn.
func NewChild(proc *host.Process, conn *link.Conn, log *slog.Logger) *Child {
	c := &Child{proc: proc, conn: conn, head: conn.Peer(), log: log}
	c.fwd = &forwarder{proc: proc, send: func(m host.Message) error {
		m.Recipient = host.Address{Node: c.head}
		return sendForwarded(c.conn, m)
	}}
	return c
}

// Run delivers what the head sends until the link ends (the head is gone
// or stopped this process); then the process shuts down.
func (c *Child) Run() {
	dec := newLinkDecoder()
	err := c.conn.Run(func(p []byte, control bool) {
		m, err := dec.decode(p, control)
		if err != nil {
			c.log.Warn("bad message from the head", "error", err.Error())
			return
		}
		// The head's notices, in link order: only in a control frame
		// (System), never an actor's message that the head passed on.
		if m.System && m.Recipient.Node == c.proc.AdminName() {
			if act := childControl[m.Command]; act != nil {
				act(c, &m)
				return
			}
		}
		c.proc.DeliverFromLink(m)
	})
	c.log.Info("the link to the head ended", "reason", fmt.Sprint(err))
	c.fwd.set(false)
	if c.direct != nil {
		c.direct.close()
	}
	c.proc.Shutdown()
}

// maxGoThreads bounds the threads a head may give a child.
const maxGoThreads = 1 << 12

// Route implements host.Router: m's place on the link to the head, or for
// a message to an actor on its direct route, on that (direct.go).
func (c *Child) Route(_ string, m host.Message) (host.Place, error) {
	if c.direct != nil && m.Recipient.Entity != "" && m.Recipient.Reply == 0 && !m.Transit && !m.System {
		s, _ := c.direct.reserve(m)
		return placeOf(s), nil
	}
	return placeOf(c.conn.Reserve()), nil
}

// Locate implements host.Remote: the head knows.
func (c *Child) Locate(string) string { return c.head }

// Reserve implements host.Remote: the root keeps names unique (the head
// passes it on).
func (c *Child) Reserve(name string, class host.ClassDesc, params host.Object) error {
	return reserveAt(c.proc, c.head, name, class, params)
}

// reserveAt asks the admin at (the root, or a head that passes it on) to
// reserve name for an actor of proc.
func reserveAt(proc *host.Process, at, name string, class host.ClassDesc, params host.Object) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if params == nil {
		params = host.Object{}
	}
	r, err := proc.Ask(ctx, host.Message{System: true, Command: "reserve_name", Recipient: host.Address{Node: at},
		Body: host.Object{{Key: "name", Value: name}, {Key: "node", Value: proc.AdminName()},
			{Key: "class_desc", Value: class.Value()}, {Key: "params", Value: params}}}, 10*time.Second)
	if err != nil {
		return fmt.Errorf("reserve %q with the system's head: %w", name, err)
	}
	switch r.Command {
	case "name_is_reserved":
		return nil
	case "name_is_taken":
		o, _ := r.Body.(host.Object)
		return fmt.Errorf("%w: %s", host.ErrNameTaken, strings.TrimPrefix(o.String("error"), host.ErrNameTaken.Error()+": "))
	}
	return fmt.Errorf("reserve %q with the system's head: %s: %s", name, r.Command, describe(r.Body))
}

// Release implements host.Remote.
func (c *Child) Release(name string) { releaseAt(c.proc, c.head, name) }

func releaseAt(proc *host.Process, at, name string) {
	proc.Send(host.Message{System: true, Command: "release_name", Recipient: host.Address{Node: at},
		Body: host.Object{{Key: "name", Value: name}, {Key: "node", Value: proc.AdminName()}}})
}

// NoteParams implements host.Remote.
func (c *Child) NoteParams(name string, params host.Object) {
	c.proc.Send(host.Message{System: true, Command: "params_known", Recipient: host.Address{Node: c.head},
		Body: host.Object{{Key: "name", Value: name}, {Key: "node", Value: c.proc.AdminName()}, {Key: "params", Value: params}}})
}

// Head implements host.Remote.
func (c *Child) Head() string { return c.head }

// Nodes implements host.Remote (a child knows only itself and the head).
func (c *Child) Nodes() []host.Object {
	return []host.Object{{{Key: "node", Value: c.head}}, {{Key: "node", Value: c.proc.AdminName()}}}
}

// ProcessFields adds to this process's row of get_processes how many
// actors of other child processes it reaches on direct routes (the
// switch done).
func (c *Child) ProcessFields() []host.Field {
	if c.direct == nil {
		return nil
	}
	return []host.Field{{Key: "direct_routes", Value: int64(len(c.DirectRoutes()))}}
}

// Admin implements host.Remote: process commands go to the head.
func (c *Child) Admin(p *host.Process, m *host.Message) bool {
	switch m.Command {
	case "create_process", "remove_process", "get_hosts", "get_actors": // get_actors {"all": true} only
		fwd := *m
		fwd.Recipient = host.Address{Node: c.head}
		if err := sendOn(c.conn, fwd); err != nil {
			p.Reply(m, "error", host.Object{{Key: "mid", Value: m.ID.String()}, {Key: "message", Value: err.Error()}})
		}
		return true
	}
	return false
}

// Shutdown implements host.Remote: a child stops only itself.
func (c *Child) Shutdown() {
	go func() {
		time.Sleep(100 * time.Millisecond) // let the last replies out
		c.conn.Close("exit")
	}()
}

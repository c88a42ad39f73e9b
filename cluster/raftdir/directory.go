package raftdir

import (
	"encoding/json"
	"fmt"
	"maps"
	"sort"
	"strings"

	"github.com/peacepie/peacepie/host"
)

// Ops of a Command.
const (
	// OpReserve claims Name for an actor in Node; it fails if another
	// node holds the name.
	OpReserve = "reserve"
	// OpRelease gives Name back, if Node holds it.
	OpRelease = "release"
	// OpPlace moves Name, which must exist, to Node (the end of a move).
	OpPlace = "place"
	// OpDropHost forgets every name held by a process of Host (a host
	// that died): Result.Names lists them.
	OpDropHost = "drop_host"
)

// A Command changes the directory. It is the payload of a log entry.
type Command struct {
	Op   string `json:"op"`
	Name string `json:"name,omitempty"`
	Node string `json:"node,omitempty"`
	Host string `json:"host,omitempty"`
	// Class and Params (JSON, as the system encodes them) are what makes
	// the actor again elsewhere; OpReserve and OpPlace record them when
	// given.
	Class  json.RawMessage `json:"class,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
}

// An Entry is a name's place in the directory, with what makes its actor
// again (empty when unknown).
type Entry struct {
	Node   string          `json:"node"`
	Class  json.RawMessage `json:"class,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
}

// Result is what applying a Command gave.
type Result struct {
	Names   []string         // OpDropHost: the names it dropped, sorted
	Entries map[string]Entry // OpDropHost: their entries
}

// directory is the replicated state: actor names → the node (process
// admin) that holds each, and the hosts of the members of the group. It is
// changed only by apply and restore, on the replica's loop.
type directory struct {
	Names   map[string]string `json:"names"`
	Makes   map[string]Entry  `json:"makes,omitempty"` // name → its class and params, when known
	Members map[uint64]string `json:"members"`         // raft ID → its context
	// Removed are the IDs removed from the group, which never come back
	// (one per host death or departure: small).
	Removed map[uint64]bool `json:"removed"`
}

func newDirectory() *directory {
	return &directory{Names: map[string]string{}, Makes: map[string]Entry{}, Members: map[uint64]string{}, Removed: map[uint64]bool{}}
}

// note records what makes c.Name's actor, if c says.
func (d *directory) note(c Command) {
	if len(c.Class) > 0 {
		d.Makes[c.Name] = Entry{Node: c.Node, Class: c.Class, Params: c.Params}
	} else if e, ok := d.Makes[c.Name]; ok {
		e.Node = c.Node
		d.Makes[c.Name] = e
	}
}

// entry returns name's entry.
func (d *directory) entry(name string) Entry {
	e := d.Makes[name]
	e.Node = d.Names[name]
	return e
}

// apply runs c against the directory.
func (d *directory) apply(c Command) (Result, error) {
	switch c.Op {
	case OpReserve:
		if c.Name == "" || c.Node == "" {
			return Result{}, fmt.Errorf("reserve needs a name and a node")
		}
		if at, ok := d.Names[c.Name]; ok && at != c.Node {
			return Result{}, fmt.Errorf("%w: %q already exists in %s", host.ErrNameTaken, c.Name, at)
		}
		d.Names[c.Name] = c.Node
		d.note(c)
	case OpRelease:
		if d.Names[c.Name] == c.Node {
			delete(d.Names, c.Name)
			delete(d.Makes, c.Name)
		}
	case OpPlace:
		if _, ok := d.Names[c.Name]; !ok {
			return Result{}, fmt.Errorf("%w: %q", host.ErrNoActor, c.Name)
		}
		d.Names[c.Name] = c.Node
		d.note(c)
	case OpDropHost:
		if c.Host == "" {
			return Result{}, fmt.Errorf("drop_host needs a host")
		}
		var dropped []string
		entries := map[string]Entry{}
		for name, node := range d.Names {
			if hostOf(node) == c.Host {
				dropped = append(dropped, name)
				entries[name] = d.entry(name)
				delete(d.Names, name)
				delete(d.Makes, name)
			}
		}
		sort.Strings(dropped)
		return Result{Names: dropped, Entries: entries}, nil
	default:
		return Result{}, fmt.Errorf("unknown directory op %q", c.Op)
	}
	return Result{}, nil
}

// hostOf is the host of a node "<host>.<process>.admin".
func hostOf(node string) string {
	h, _, _ := strings.Cut(node, ".")
	return h
}

func (d *directory) marshal() ([]byte, error) { return json.Marshal(d) }

// restore replaces the directory with a snapshot's.
func (d *directory) restore(data []byte) error {
	next := newDirectory()
	if len(data) > 0 {
		if err := json.Unmarshal(data, next); err != nil {
			return fmt.Errorf("restore the directory from a snapshot: %w", err)
		}
	}
	if next.Names == nil {
		next.Names = map[string]string{}
	}
	if next.Members == nil {
		next.Members = map[uint64]string{}
	}
	if next.Makes == nil {
		next.Makes = map[string]Entry{}
	}
	if next.Removed == nil {
		next.Removed = map[uint64]bool{}
	}
	*d = *next
	return nil
}

func (d *directory) clone() *directory {
	return &directory{Names: maps.Clone(d.Names), Makes: maps.Clone(d.Makes), Members: maps.Clone(d.Members), Removed: maps.Clone(d.Removed)}
}

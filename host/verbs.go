package host

import (
	"fmt"
	"strings"
)

// The verbs the processes of a system use among themselves: directory
// (names), moves, process supervision, hosts. They are accepted only in a
// message marked System (Message.System): from the process's own Go code,
// or over an authenticated link from another process's system code. An
// admin answers them is_not_handled from anybody else (an actor, the
// console, the REPL), and the link readers of cluster act on them
// only when System is set. docs/protocol.md lists them.
var internalVerbs = map[string]bool{
	// names: a process and the root (through its head)
	"reserve_name": true, "release_name": true, "params_known": true,
	// moves
	"move_out": true, "adopt_actor": true, "activate": true,
	"move_done": true, "move_fate": true, "move_settled": true, // moves whose root is lost (moveout.go)
	"route_flush": true, "route_flushed": true, "route_reflush": true,
	// direct links between children (cluster/direct.go)
	"direct_addr": true, "route_hint": true, "route_switch": true, "route_switched": true, "route_refused": true,
	"route_end": true, "route_ended": true,
	// a head and its children
	"exit_process": true, "process_gone": true, "head_lost": true, "go_threads": true, "restore_process": true,
	// events and stats for watchers (a head and its children; the root and
	// a host whose head is watched)
	"watch_events": true, "child_event": true, "child_stats": true, "watch_system": true,
	// hosts and the root
	"host_join": true, "host_welcome": true, "join_elsewhere": true, "host_processes": true, "exit_host": true,
	"name_here": true, "name_flush": true, "name_flushed": true, "name_gone": true,
	// the directory's replicas (cluster/replicate.go)
	"directory_replica": true, "replica_removed": true,
	// the system's package set (cluster/packages.go)
	"packages": true, "pin_package": true, "fetch_package": true,
}

// IsInternal reports whether command is one of the verbs processes use
// among themselves, accepted only in a System message.
func IsInternal(command string) bool { return internalVerbs[command] }

// GrantAll in a package's grants (Config.Grants) stands for every admin
// command.
const GrantAll = "all"

// GrantableCommands are the admin commands an actor may send only when the
// repo list grants them to its package (Config.Grants). Without a grant,
// create_actor and create_actors are allowed for classes of the actor's
// own package, and remove_actor for actors of its own package. Every other
// public admin command only reads (get_actors, get_actor, seek_actor,
// get_processes, get_hosts, get_commands, get_metrics, get_history) and
// is open to every actor. The
// console, the REPL and the system send them all. Read-only: do not
// modify.
var GrantableCommands = []string{
	"create_actor", "create_actors", "remove_actor", "recreate_actor",
	"create_process", "remove_process", "eval", "exit", "quit", "profile_lua", "get_go_profile", "get_lines", "get_classes",
}

var grantable = func() map[string]bool {
	m := make(map[string]bool, len(GrantableCommands))
	for _, c := range GrantableCommands {
		m[c] = true
	}
	return m
}()

// granted reports whether the repo list grants command to the actors of
// pkg.
func (p *Process) granted(pkg, command string) bool {
	if p.cfg.Grants == nil {
		return false
	}
	for _, g := range p.cfg.Grants(pkg) {
		if g == command || g == GrantAll {
			return true
		}
	}
	return false
}

// restricted reports whether m comes from an actor whose package has no
// grant for its command: the system and operators (the console, the REPL,
// Go code) are not restricted, and neither are the open commands.
func (p *Process) restricted(m *Message) bool {
	return !m.System && m.From != "" && grantable[m.Command] && !p.granted(m.From, m.Command)
}

// permit checks an admin command against what its sender may do (see
// GrantableCommands); nil means it goes ahead. A remove_actor of an actor
// that is not here goes ahead: the admin that has it checks.
func (p *Process) permit(m *Message) error {
	if !p.restricted(m) {
		return nil
	}
	switch m.Command {
	case "create_actor", "create_actors":
		o, _ := m.Body.(Object)
		cd, _ := o.Get("class_desc")
		if desc, err := ClassDescFromValue(cd); err != nil || packageOf(desc.RequiresDist) == m.From {
			return nil // a bad body is refused as such; the package is checked again once resolved
		}
	case "remove_actor":
		o, _ := m.Body.(Object)
		if a := p.Lookup(o.String("name")); a == nil || a.class.Package == m.From {
			return nil
		}
	}
	return p.refusal(m)
}

// permitPackage checks that a restricted sender creates actors of its own
// package only (pkg: the package a create_actor resolved).
func (p *Process) permitPackage(m *Message, pkg string) error {
	if p.restricted(m) && pkg != m.From {
		return p.refusal(m)
	}
	return nil
}

func (p *Process) refusal(m *Message) error {
	what := m.Command
	switch m.Command {
	case "create_actor", "create_actors":
		what += " of another package's class"
	case "remove_actor":
		what += " of another package's actor"
	}
	return fmt.Errorf("%w: the actors of package %q may not send %s: the repo list does not grant it (admin = [%q] in the package's entry)",
		ErrNotAllowed, m.From, what, m.Command)
}

// packageOf returns the package name a requires_dist starts with.
func packageOf(requiresDist string) string {
	s := strings.TrimSpace(requiresDist)
	for i, c := range s {
		if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return s[:i]
		}
	}
	return s
}

package host

// The verbs the processes of a system use among themselves: directory
// (names), moves, process supervision, hosts. They are accepted only in a
// message marked System (Message.System): from the process's own Go code,
// or over an authenticated link from another process's system code. An
// admin answers them is_not_handled from anybody else (an actor, the
// console, the REPL), and the link readers of internal/cluster act on them
// only when System is set. docs/protocol.md lists them.
var internalVerbs = map[string]bool{
	// names: a process and the root (through its head)
	"reserve_name": true, "release_name": true, "params_known": true,
	// moves
	"move_out": true, "adopt_actor": true, "activate": true,
	"route_flush": true, "route_flushed": true, "route_reflush": true,
	// a head and its children
	"exit_process": true, "process_gone": true, "head_lost": true, "go_threads": true, "restore_process": true,
	// hosts and the root
	"host_join": true, "host_welcome": true, "join_elsewhere": true, "host_processes": true, "exit_host": true,
	"name_here": true, "name_flush": true, "name_flushed": true, "name_gone": true,
}

// IsInternal reports whether command is one of the verbs processes use
// among themselves, accepted only in a System message.
func IsInternal(command string) bool { return internalVerbs[command] }

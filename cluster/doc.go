// Package cluster makes the processes and hosts of a peacepie system one
// system. host runs actors inside one process and hands every message it
// cannot deliver there to its host.Remote (host.Router.Route: one call for
// every message that leaves a process); this package is that Remote.
//
// Roles. Each host's main process is a Head: it starts its child processes
// (the same binary, or in-process for tests: clustertest), links to each
// over net/link, supervises and restarts them. A child process is a Child:
// everything that is not local goes up its one link to its head. The first
// host's head is also the root: it keeps the directory of actor names
// (name → node), links to the head of every other host, and runs every
// move (move.go). Other hosts' heads route their own names (names.go) and
// pass the rest to the root. Every head keeps a replica of the directory,
// replicated with Raft (replicate.go, cluster/raftdir); when the root is
// lost, the host whose replica leads takes its role (failover.go).
//
// Routing. A message whose actor is not in the sending process reaches
// the root's Head.Route, which decides its way in one step under
// Head.mu: pushed if the actor is in the root's own process, held if the
// actor is moving, else its place taken on the link to its node. Its bytes
// are encoded and written after the lock is released (outbox.go,
// link.Slot), so a large message never holds up a heartbeat or another
// message's routing.
//
// Order. Messages from one sender to one actor arrive in the order they
// were sent, also while the actor moves: the root holds what arrives for
// a moving actor and delivers it behind the actor's queue (move.go), and a
// process the actor moves into holds its own senders' messages until a
// route flush proves that their earlier ones, sent round by the root, have
// arrived (host.Process.Activate, Head.answerRouteFlush).
//
// Locks. The order of every lock of the engine (host, cluster, net/link)
// is written down once, in docs/architecture.md ("Locks").
package cluster

package cluster

// SkipMoveDone makes roots leave out move_done, as a root that dies
// between a move's activate and its move_done would.
func SkipMoveDone(skip bool) { skipMoveDone.Store(skip) }

// IgnoreLease makes roots skip their lease check (writesRefused), as a
// root paused across it would: only the directory's group then keeps a
// cut-off root from giving a name.
func IgnoreLease(ignore bool) { ignoreLease.Store(ignore) }

// BeforeReservationCommit makes roots call f(name) before they propose a
// new name to the directory's group (nil: no more).
func BeforeReservationCommit(f func(name string)) {
	if f == nil {
		beforeReservationCommit.Store(nil)
		return
	}
	beforeReservationCommit.Store(&f)
}

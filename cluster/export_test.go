package cluster

// SkipMoveDone makes roots leave out move_done, as a root that dies
// between a move's activate and its move_done would.
func SkipMoveDone(skip bool) { skipMoveDone.Store(skip) }

// IgnoreLease makes roots skip their lease check (writesRefused), as a
// root paused across it would: only the directory's group then keeps a
// cut-off root from giving a name.
func IgnoreLease(ignore bool) { ignoreLease.Store(ignore) }

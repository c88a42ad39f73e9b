package cluster

// SkipMoveDone makes roots leave out move_done, as a root that dies
// between a move's activate and its move_done would.
func SkipMoveDone(skip bool) { skipMoveDone.Store(skip) }

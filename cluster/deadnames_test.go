package cluster

import (
	"fmt"
	"testing"
)

// TestDeadNamesAreBounded: the root remembers at most maxDeadNames lost
// names, forgetting the oldest, and its order list stays bounded too
// while names are noted, given again and noted again.
func TestDeadNamesAreBounded(t *testing.T) {
	var d deadNames
	for i := range 3 * maxDeadNames {
		name := fmt.Sprintf("a%d", i)
		d.note(name, "gone")
		if i%3 == 0 {
			d.forget(name)
			d.note(name, "gone again")
		}
	}
	if len(d.reasons) != maxDeadNames || len(d.order) > 2*maxDeadNames {
		t.Fatalf("%d reasons, %d in order; want %d, at most %d", len(d.reasons), len(d.order), maxDeadNames, 2*maxDeadNames)
	}
	if d.why("a0") != "" || d.why(fmt.Sprintf("a%d", 3*maxDeadNames-1)) != "gone" {
		t.Fatalf("the oldest is remembered or the newest forgotten: %q %q", d.why("a0"), d.why(fmt.Sprintf("a%d", 3*maxDeadNames-1)))
	}
}

package system_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/peacepie/peacepie/system"
)

// TestChildArguments: a program's main tells a child's arguments from its
// own, and RunChild refuses arguments a head does not give.
func TestChildArguments(t *testing.T) {
	for _, c := range []struct {
		args  []string
		child bool
	}{
		{[]string{"prog"}, false},
		{[]string{"prog", "-console", "127.0.0.1:0"}, false},
		{[]string{"prog", "run", "child"}, false},
		{[]string{"prog", "child", "--config", "c", "--process", "process_0", "--parent", "127.0.0.1:1"}, true},
	} {
		if got := system.IsChild(c.args); got != c.child {
			t.Errorf("IsChild(%q) = %v, want %v", c.args, got, c.child)
		}
	}
	ctx := context.Background()
	if err := system.RunChild(ctx, []string{"prog", "-console", "x"}, system.Options{}); !errors.Is(err, system.ErrNotAChild) {
		t.Errorf("RunChild of a program's own arguments: %v, want ErrNotAChild", err)
	}
	if err := system.RunChild(ctx, []string{"prog", "child", "--config", "c"}, system.Options{}); err == nil || !strings.Contains(err.Error(), "--parent") {
		t.Errorf("RunChild without --process and --parent: %v", err)
	}
	if err := system.RunChild(ctx, []string{"prog", "child", "--bogus"}, system.Options{}); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("RunChild with an unknown flag: %v", err)
	}
}

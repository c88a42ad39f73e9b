package ratelog_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/peacepie/peacepie/internal/ratelog"
)

// TestRateLog: at most rate lines a second; the next line let through
// after a pause says how many were held back, once; values are cut.
func TestRateLog(t *testing.T) {
	var buf bytes.Buffer
	r := ratelog.New(slog.New(slog.NewTextHandler(&buf, nil)), 3, 256)
	now := time.Unix(1000, 0)
	r.SetClock(func() time.Time { return now })
	for i := 0; i < 10; i++ {
		r.Warn("link refused", "error", "no")
	}
	if got := strings.Count(buf.String(), "link refused"); got != 3 {
		t.Fatalf("10 lines in a second: %d logged, want 3", got)
	}
	now = now.Add(time.Second)
	r.Warn("link refused", "error", strings.Repeat("x", 5000))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	last := lines[len(lines)-1]
	if len(lines) != 4 || !strings.Contains(last, "suppressed=7") {
		t.Fatalf("after a second: %d lines, the last %q; want 4 and suppressed=7", len(lines), last)
	}
	if len(last) > 256+200 {
		t.Fatalf("a line of %d bytes", len(last))
	}
	r.Warn("link refused", "error", "again")
	if strings.Contains(buf.String()[len(strings.Join(lines, "\n")):], "suppressed") {
		t.Fatal("the count of held-back lines was logged twice")
	}
}

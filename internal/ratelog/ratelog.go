// Package ratelog logs lines that strangers can cause (a refused link, a
// console request without the token) at a bounded rate: at most N lines a
// second, the next line let through counting those held back, and string
// values cut to a maximum length. slog's handlers escape what is left.
package ratelog

import (
	"log/slog"
	"sync"
	"time"
)

// Logger logs at most Rate warnings a second. It is safe for concurrent
// use.
type Logger struct {
	log    *slog.Logger
	rate   int
	maxLen int
	now    func() time.Time

	mu         sync.Mutex // guards the fields below
	window     time.Time  // the start of the current second
	n          int        // lines logged in it
	suppressed int        // lines held back since the last logged
}

// New logs to log at most rate lines a second, string attribute values
// cut to maxLen bytes.
func New(log *slog.Logger, rate, maxLen int) *Logger {
	return &Logger{log: log, rate: rate, maxLen: maxLen, now: time.Now}
}

// SetClock replaces time.Now (tests).
func (r *Logger) SetClock(now func() time.Time) { r.now = now }

// Warn logs a warning unless rate lines were logged in the last second;
// the first line after held-back ones has the attribute suppressed=N.
func (r *Logger) Warn(msg string, attrs ...any) {
	r.mu.Lock()
	now := r.now()
	if now.Sub(r.window) >= time.Second {
		r.window, r.n = now, 0
	}
	if r.n >= r.rate {
		r.suppressed++
		r.mu.Unlock()
		return
	}
	r.n++
	if r.suppressed > 0 {
		attrs = append(attrs, "suppressed", r.suppressed)
		r.suppressed = 0
	}
	r.mu.Unlock()
	for i, a := range attrs {
		if s, ok := a.(string); ok && i%2 == 1 {
			attrs[i] = Cut(s, r.maxLen)
		}
	}
	r.log.Warn(msg, attrs...)
}

// Cut returns s, or its first max bytes and "…".
func Cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

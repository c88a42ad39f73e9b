package host

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
)

// LogTee is a slog.Handler that passes records on and, while somebody
// watches, also publishes them as "log" events of a process. Make it before
// the process (the process's logger uses it), then Attach the process.
type LogTee struct {
	next  slog.Handler
	proc  *atomic.Pointer[Process]
	attrs string
}

// NewLogTee wraps next.
func NewLogTee(next slog.Handler) *LogTee {
	return &LogTee{next: next, proc: &atomic.Pointer[Process]{}}
}

// Attach starts publishing to p's watchers.
func (t *LogTee) Attach(p *Process) { t.proc.Store(p) }

// Enabled implements slog.Handler.
func (t *LogTee) Enabled(ctx context.Context, l slog.Level) bool { return t.next.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (t *LogTee) Handle(ctx context.Context, r slog.Record) error {
	if p := t.proc.Load(); p != nil && p.events.watched() {
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s%s", r.Level, r.Message, t.attrs)
		r.Attrs(func(a slog.Attr) bool {
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
			return true
		})
		actor := ""
		if i := strings.Index(t.attrs, " actor="); i >= 0 {
			actor, _, _ = strings.Cut(t.attrs[i+7:], " ")
		}
		p.events.publish(Event{Kind: "log", Node: p.adminName, Actor: actor, Line: b.String()})
	}
	return t.next.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (t *LogTee) WithAttrs(as []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(t.attrs)
	for _, a := range as {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
	}
	return &LogTee{next: t.next.WithAttrs(as), proc: t.proc, attrs: b.String()}
}

// WithGroup implements slog.Handler.
func (t *LogTee) WithGroup(name string) slog.Handler {
	return &LogTee{next: t.next.WithGroup(name), proc: t.proc, attrs: t.attrs}
}

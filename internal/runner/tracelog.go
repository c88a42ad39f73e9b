package runner

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/peacepie/peacepie/internal/termtext"
)

// tracebackHandler is a text log handler that writes a record's
// "traceback" attribute (a Lua handler's stack) as indented lines under
// the record, readable in a terminal, rather than as one quoted string.
// Every other record goes to the text handler as it is. The console's
// log view gets the records before this handler (host.LogTee), with the
// traceback as an attribute.
type tracebackHandler struct {
	slog.Handler // the text handler on w
	w            io.Writer
	mu           *sync.Mutex // one record and its traceback are one write
	opts         *slog.HandlerOptions
	with         []func(slog.Handler) slog.Handler // WithAttrs and WithGroup so far, to replay
}

func newTracebackHandler(w io.Writer, opts *slog.HandlerOptions) *tracebackHandler {
	return &tracebackHandler{Handler: slog.NewTextHandler(w, opts), w: w, mu: &sync.Mutex{}, opts: opts}
}

func (h *tracebackHandler) Handle(ctx context.Context, r slog.Record) error {
	var trace string
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "traceback" {
			trace = a.Value.String()
			return false
		}
		return true
	})
	if trace == "" {
		return h.Handler.Handle(ctx, r)
	}
	plain := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "traceback" {
			plain.AddAttrs(a)
		}
		return true
	})
	var buf bytes.Buffer
	var th slog.Handler = slog.NewTextHandler(&buf, h.opts)
	for _, f := range h.with {
		th = f(th)
	}
	if err := th.Handle(ctx, plain); err != nil {
		return err
	}
	for _, line := range strings.Split(strings.TrimRight(trace, "\n"), "\n") {
		buf.WriteString("    ")
		buf.WriteString(termtext.Line(strings.TrimLeft(line, "\t")))
		buf.WriteByte('\n')
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := h.w.Write(buf.Bytes())
	return err
}

func (h *tracebackHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return h.derive(h.Handler.WithAttrs(as), func(x slog.Handler) slog.Handler { return x.WithAttrs(as) })
}

func (h *tracebackHandler) WithGroup(name string) slog.Handler {
	return h.derive(h.Handler.WithGroup(name), func(x slog.Handler) slog.Handler { return x.WithGroup(name) })
}

func (h *tracebackHandler) derive(inner slog.Handler, f func(slog.Handler) slog.Handler) *tracebackHandler {
	return &tracebackHandler{Handler: inner, w: h.w, mu: h.mu, opts: h.opts, with: append(append([]func(slog.Handler) slog.Handler(nil), h.with...), f)}
}

package runner

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestTracebackIsReadableInTheLog: a record's traceback comes as indented
// lines under it (escaped), with the logger's attributes kept; other
// records are as the text handler writes them.
func TestTracebackIsReadableInTheLog(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(newTracebackHandler(&buf, nil)).With("node", "first.main.admin")
	log.Info("actor is created", "actor", "c")
	log.Error("handler failed", "actor", "c", "error", "counter.lua:4: boom", "traceback", "stack traceback:\n\tcounter.lua:4: in Counter:add\n\t[G]: \x1b[31m?")
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines, want 5:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[0], `msg="actor is created" node=first.main.admin actor=c`) ||
		!strings.Contains(lines[1], `msg="handler failed" node=first.main.admin actor=c error="counter.lua:4: boom"`) || strings.Contains(lines[1], "traceback") {
		t.Errorf("the records:\n%s", buf.String())
	}
	if lines[2] != "    stack traceback:" || lines[3] != "    counter.lua:4: in Counter:add" || strings.Contains(lines[4], "\x1b") {
		t.Errorf("the traceback:\n%q", lines[2:])
	}
}

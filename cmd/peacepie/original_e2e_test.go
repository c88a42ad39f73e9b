package main

import (
	"strings"
	"testing"
)

// TestOriginalConsoleFrames: what the Python original's console sends is
// understood: a timeout as the form's string, and an empty recipient for
// its own process's admin (here the system's head admin); a timeout
// string that is not a number is still refused.
func TestOriginalConsoleFrames(t *testing.T) {
	t.Parallel()
	ws := dial(t, startFresh(t))
	readID := func(id string) answer {
		t.Helper()
		for range 20 {
			if a := ws.read(); strings.Contains(a.String(), `"id":"`+id+`"`) {
				return a
			}
		}
		t.Fatalf("no answer with id %s", id)
		return nil
	}
	ws.writeRaw(`{"id": "o1", "type": "ask", "recipient": "", "command": "get_processes", "timeout": "10"}`)
	if a := readID("o1"); a.command() != "processes" {
		t.Errorf("an empty recipient and a string timeout: %s", a)
	}
	ws.writeRaw(`{"id": "o2", "type": "ask", "recipient": "first.main.admin", "command": "get_processes", "timeout": "ten"}`)
	if a := readID("o2"); a.command() != "error" || !strings.Contains(a.String(), `"timeout\" must be a number of seconds`) {
		t.Errorf("a timeout that is no number: %s", a)
	}
}

package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestProfilesBehindTheToken: the console serves Go's profiles of its
// process to the token's holder only, and go tool pprof reads one.
func TestProfilesBehindTheToken(t *testing.T) {
	t.Parallel()
	in := startFresh(t)
	get := func(path, token string) (int, []byte) { return getWithToken(t, in, path, token) }
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/profile?seconds=1"} {
		if code, _ := get(path, ""); code != http.StatusUnauthorized {
			t.Errorf("%s without the token: %d", path, code)
		}
		if code, _ := get(path, "wrong-"+in.token); code != http.StatusUnauthorized {
			t.Errorf("%s with a wrong token: %d", path, code)
		}
	}
	code, heap := get("/debug/pprof/heap", in.token)
	if code != http.StatusOK || len(heap) == 0 {
		t.Fatalf("the heap profile with the token: %d, %d bytes", code, len(heap))
	}
	file := filepath.Join(t.TempDir(), "heap.pb.gz")
	if err := os.WriteFile(file, heap, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "tool", "pprof", "-top", binPath, file).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "flat") {
		t.Fatalf("go tool pprof -top: %v\n%s", err, out)
	}
}

// TestChildProfilesThroughTheConsole: the console serves a child
// process's Go profiles too (/debug/pprof/node/NODE/PROFILE, asked of the
// child's admin), behind the token: its heap and a one-second CPU profile
// read with go tool pprof; an unknown profile and a CPU profile of ten
// minutes are refused with the reason.
func TestChildProfilesThroughTheConsole(t *testing.T) {
	t.Parallel()
	in := startFresh(t)
	ws := dial(t, in)
	child := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	get := func(path, token string) (int, []byte) { return getWithToken(t, in, path, token) }
	base := "/debug/pprof/node/" + child + "/"
	if code, _ := get(base+"heap", ""); code != http.StatusUnauthorized {
		t.Errorf("a child's heap without the token: %d", code)
	}
	for _, profile := range []string{"heap", "goroutine", "profile?seconds=1"} {
		code, data := get(base+profile, in.token)
		if code != http.StatusOK || len(data) == 0 {
			t.Fatalf("the child's %s: %d %q", profile, code, data)
		}
		file := filepath.Join(t.TempDir(), "profile.pb.gz")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("go", "tool", "pprof", "-top", binPath, file).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "flat") {
			t.Fatalf("go tool pprof -top of the child's %s: %v\n%s", profile, err, out)
		}
	}
	if code, data := get("/debug/pprof/node/first.nosuch.admin/heap", in.token); code != http.StatusNotFound || !strings.Contains(string(data), "not found") {
		t.Errorf("an unknown process's heap: %d %q, want 404", code, data)
	}
	for path, want := range map[string]string{base + "nothing": "no Go profile", base + "profile?seconds=600": "at most 60"} {
		if code, data := get(path, in.token); code != http.StatusBadRequest || !strings.Contains(string(data), want) {
			t.Errorf("%s: %d %q, want 400 with %q", path, code, data, want)
		}
	}
}

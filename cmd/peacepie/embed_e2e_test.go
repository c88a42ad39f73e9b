package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEmbeddedAccountsExample builds examples/accounts, a Go program that
// embeds peacepie (package system), offers the Go service "passwords"
// and builds in the Lua package "accounts", granted that service. Its
// actors hash and check passwords through the service, in the main
// process and in a child process (the program starting itself as its
// child). (That a package not granted a service cannot require it is
// luart's TestServiceNeedsAGrant.)
func TestEmbeddedAccountsExample(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "accounts")
	build := exec.Command("go", "build", "-o", bin, "../../examples/accounts")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build examples/accounts: %v\n%s", err, out)
	}
	in := startCmd(t, t.TempDir(), nil, bin, "-console", "127.0.0.1:0")
	ws := dial(t, in)
	child := ws.expect(admin, "create_process", nil, "process_is_created").bodyString("node")
	for _, at := range []struct{ node, name string }{{admin, "acc_main"}, {child, "acc_child"}} {
		ws.expect(at.node, "create_actor", raw(`{"class_desc": {"requires_dist": "accounts", "class": "Accounts"}, "name": "`+at.name+`"}`), "actor_is_created")
		ws.expect(at.name, "register", raw(`{"user": "ann", "password": "s3cret"}`), "registered")
		ws.expect(at.name, "login", raw(`{"user": "ann", "password": "s3cret"}`), "welcome")
		ws.expect(at.name, "login", raw(`{"user": "ann", "password": "guess"}`), "denied")
		params := ws.expect(at.name, "get_params", nil, "params").String()
		if !strings.Contains(params, `"ann":"$2a$`) || strings.Contains(params, "s3cret") {
			t.Errorf("%s keeps %s, want a bcrypt hash", at.name, params)
		}
	}
	if a := ws.request("send", admin, "exit", nil, 0); a.command() != "sent" {
		t.Fatalf("exit: %s", a)
	}
	select {
	case <-in.done:
	case <-time.After(15 * time.Second):
		t.Fatal("the program did not exit")
	}
}
